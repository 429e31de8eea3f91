"""Several log lines of an Optuna journal storage in one locked append (one lock + fsync).

Used for a trial's parameters (:mod:`.param_batch`) and its user attrs (:mod:`.user_attrs`).
Writes Optuna's own on-disk log format (stable for years); callers check first that the
journal's internals are there.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Tuple


def append_journal(
    inner: Any, op_code: Any, entries: Iterable[Tuple[int, Dict[str, Any]]], deferred: bool = False
) -> None:
    """One log line ``op_code`` per ``(trial_id, fields)``, appended at once under the storage's
    lock. ``deferred``: held back by the backend (see ``storage._journal_storage``) and written
    with its next append."""
    with inner._thread_lock:
        wid = inner._replay_result.worker_id
        logs = [
            {"op_code": op_code, "worker_id": wid, "trial_id": trial_id, **fields}
            for trial_id, fields in entries
        ]
        backend = inner._backend
        if deferred and hasattr(backend, "deferred"):
            backend.deferred.extend(logs)  # written with the next append (the tell)
            return
        backend.append_logs(logs)
        inner._sync_with_backend()
