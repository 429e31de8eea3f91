"""ONE opener for every study storage: SQLite file, Optuna journal file, PostgreSQL.

URLs (see ``study.run_layout.storage_url``):
- ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's convention).
  Busy timeout 60 s and WAL journal mode on local disks. Refused with several workers on a
  network filesystem (NFS, Lustre, GPFS, BeeGFS, CIFS, Ceph...; :mod:`.filesystems`), whose
  locking SQLite cannot trust: the message names the journal file and PostgreSQL.
- ``journal:///path`` — Optuna's ``JournalStorage`` over ``JournalFileBackend``. The file lock is
  ``symlink`` (Optuna's default, NFSv2+) or ``open`` (O_EXCL, NFSv3+); choose it with
  ``?lock=open`` in the URL or the ``OMNIOPT_JOURNAL_LOCK`` environment variable.
- ``postgresql://user@host:port/db`` — never with a password: libpq reads ``PGPASSWORD`` or
  ``~/.pgpass`` on the machine running the workers. One connection per process
  (:mod:`.postgres_storage`).

Every storage returned by :func:`open_storage` retries transient errors ("database is locked",
a dropped connection) with jittered exponential back-off (:mod:`.retries`). Thread safety is
Optuna's: RDB and journal storages may be shared by threads. Several user attrs in one write:
:mod:`.user_attrs`; trials per state: :mod:`.trial_counts`.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple, TypeVar
from urllib.parse import parse_qs, urlsplit

from ..errors import StorageError
from .filesystems import filesystem_type, is_network_filesystem
from .postgres_storage import postgres_storage
from .retries import RetryingStorage, with_retries

T = TypeVar("T")

JOURNAL_LOCKS = ("symlink", "open")


@dataclass(frozen=True)
class StorageSpec:
    kind: str  # "sqlite" | "journal" | "postgresql"
    url: str  # as given (never holds a password)
    path: Optional[str] = None  # sqlite/journal file
    lock: str = "symlink"  # journal only


def parse_storage_url(url: str) -> StorageSpec:
    """Check and split a storage URL; StorageError says what is wrong and what to write."""
    url = (url or "").strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite" or scheme == "journal":
        rest = url[len(scheme) + 1 :]
        if not rest.startswith("///") or len(rest) <= 3:
            raise StorageError(
                f"storage '{url}': write {scheme}:///relative/path or {scheme}:////absolute/path"
            )
        path, _, query = rest[3:].partition("?")
        if scheme == "sqlite":
            return StorageSpec("sqlite", url, path)
        lock = parse_qs(query).get("lock", [os.environ.get("OMNIOPT_JOURNAL_LOCK", "symlink")])[0]
        if lock not in JOURNAL_LOCKS:
            raise StorageError(f"storage '{url}': lock must be 'symlink' or 'open', not '{lock}'")
        return StorageSpec("journal", url.split("?", 1)[0], path, lock)
    if scheme.startswith("postgres"):
        parts = urlsplit(url)
        if parts.password is not None:
            shown = f"{parts.scheme}://{parts.username or ''}@{parts.hostname or ''}"
            raise StorageError(
                f"storage '{shown}...': the URL must not contain a password; put it in ~/.pgpass "
                "(chmod 600) or PGPASSWORD where the workers run"
            )
        if not parts.hostname or not parts.path.strip("/"):
            raise StorageError(
                f"storage '{url}': write postgresql://user@host:port/database (no password)"
            )
        return StorageSpec("postgresql", url)
    raise StorageError(
        f'storage \'{url}\' is not understood; use "sqlite", "journal" or '
        "postgresql://user@host:port/database"
    )


# -- opening --------------------------------------------------------------------------------------
def _sqlite_storage(spec: StorageSpec, workers: int, wal: bool) -> Any:
    import optuna

    path = os.path.abspath(spec.path or "")
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise StorageError(f"storage '{spec.url}': folder {folder} does not exist")
    if workers > 1 and is_network_filesystem(folder):
        raise StorageError(
            f"storage '{spec.url}' is on a network filesystem ({filesystem_type(folder)}), where "
            f'SQLite cannot be shared by {workers} workers; set storage = "journal" in [study] '
            "or use a PostgreSQL URL (postgresql://user@host:port/db)"
        )
    if wal and not is_network_filesystem(folder):
        try:
            con = sqlite3.connect(path, timeout=60)
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()
        except sqlite3.Error as e:
            raise StorageError(f"storage '{spec.url}': cannot open the SQLite file: {e}") from e
    return optuna.storages.RDBStorage(
        "sqlite:///" + path, engine_kwargs={"connect_args": {"timeout": 60}}
    )


def _journal_storage(spec: StorageSpec) -> Any:
    from optuna.storages.journal import (
        BaseJournalBackend,
        JournalFileBackend,
        JournalFileOpenLock,
        JournalFileSymlinkLock,
    )

    class DeferringBackend(BaseJournalBackend):
        """Journal file backend that can hold log lines back until the next append, so that a
        trial's user attrs and its ``tell`` cost one lock + fsync instead of two."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner
            self.deferred: list = []

        def read_logs(self, log_number_from: int) -> Any:
            return self._inner.read_logs(log_number_from)

        def append_logs(self, logs: list) -> None:
            batch, self.deferred = self.deferred + list(logs), []
            self._inner.append_logs(batch)

    path = os.path.abspath(spec.path or "")
    if not os.path.isdir(os.path.dirname(path)):
        raise StorageError(f"storage '{spec.url}': folder {os.path.dirname(path)} does not exist")
    lock_cls = JournalFileOpenLock if spec.lock == "open" else JournalFileSymlinkLock
    from .journal_tally import journal_class

    backend = DeferringBackend(JournalFileBackend(path, lock_obj=lock_cls(path)))
    return journal_class()(backend)


_CREATION_RACE = ("alembic_version", "already exists", "duplicate key", "unique constraint")


def _creating(fn: Callable[..., T], *args: Any) -> T:
    """Open an RDB storage; when another process is creating the same schema at this very
    moment (first opening), one of the two loses a unique-key race: open again."""
    for attempt in range(6):
        try:
            return with_retries(fn, *args)
        except Exception as e:
            text = str(e).lower()
            if attempt == 5 or not any(t in text for t in _CREATION_RACE):
                raise
            time.sleep(0.05 * (attempt + 1) + random.uniform(0, 0.05))
    raise AssertionError("unreachable")  # pragma: no cover


def open_storage(
    url: str, workers: int = 1, wal: bool = True, incremental: bool = False
) -> RetryingStorage:
    """Open the storage at ``url`` for a study shared by ``workers`` processes.

    ``incremental``: on SQLite and PostgreSQL, a worker's cache that re-reads only the trials
    that changed (:mod:`.trial_cache`; attributes of unfinished trials may be stale — read them
    with :func:`.trial_cache.fresh_trials`). Otherwise Optuna's own cache."""
    spec = parse_storage_url(url)
    try:
        if spec.kind == "sqlite":
            inner = _creating(_sqlite_storage, spec, workers, wal)
        elif spec.kind == "journal":
            inner = _journal_storage(spec)
        else:
            inner = _creating(postgres_storage, spec)
    except StorageError:
        raise
    except ImportError as e:
        raise StorageError(
            f"storage '{spec.url}': a driver is missing ({e}); pip install 'psycopg[binary]'"
        ) from e
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StorageError(f"storage '{spec.url}' cannot be opened: {first}") from e
    if spec.kind != "journal":
        import optuna

        from .trial_cache import incremental_cache

        # Optuna's own cache of finished trials, which it adds to every RDB storage it opens
        cached = incremental_cache(inner) if incremental else None
        inner = cached if cached is not None else optuna.storages.get_storage(inner)
    return RetryingStorage(inner, spec)


def ensure_study(storage: Any, name: str, directions: Tuple[str, ...] | list) -> None:
    """Create the Optuna study ``name`` if it is missing; refuse other directions."""
    import optuna

    study = with_retries(
        optuna.create_study,
        storage=storage,
        study_name=name,
        directions=list(directions),
        load_if_exists=True,
    )
    where = getattr(storage, "spec", None) and storage.spec.url
    check_directions(name, study.directions, directions, where)


def check_directions(name: str, stored: Any, wanted: Any, where: Any) -> None:
    """Refuse a study file whose objective directions differ from the stored study's."""
    have = [d.name.lower() for d in stored]  # optuna StudyDirection values
    if have != [d.lower() for d in wanted]:
        raise StorageError(
            f"study '{name}' in {where} has directions {have}, the study file asks for "
            f"{list(wanted)}; undo the change, or use a new run folder (--run-dir) or a new "
            "study name"
        )
