"""Several user attrs of a running trial in one write: one transaction on RDB (one upsert on
SQLite and PostgreSQL), one locked append on a journal, which may even ride with the tell.

Uses Optuna internals that have been stable for years (the RDB session helper and the journal's
on-disk log format); where they are missing, one ``set_trial_user_attr`` per key.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, Dict, Optional

from .journal_writes import append_journal
from .retries import with_retries


def _bulk_upsert(dialect: str, model: Any) -> Optional[Callable[[Any], Any]]:
    """One INSERT .. ON CONFLICT (trial_id, key) DO UPDATE for SQLite and PostgreSQL."""
    if dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 24, 0):
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None

    def build(rows: Any) -> Any:
        stmt = insert(model).values(rows)
        return stmt.on_conflict_do_update(
            index_elements=["trial_id", "key"], set_={"value_json": stmt.excluded.value_json}
        )

    return build


def _batch_writer(
    inner: Any, deferred: bool = False
) -> Optional[Callable[[int, Dict[str, Any]], None]]:
    """A writer of several user attrs in one transaction / one journal append, if available;
    None when Optuna's internals it uses are missing."""
    try:
        import optuna
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
        from optuna.storages.journal._storage import JournalOperation
    except ImportError:
        return None
    backend = getattr(inner, "_backend", inner)
    if isinstance(backend, optuna.storages.RDBStorage) and hasattr(
        backend, "_set_trial_attr_without_commit"
    ):

        def write_rdb(trial_id: int, attrs: Dict[str, Any]) -> None:
            with _create_scoped_session(backend.scoped_session, True) as session:
                upsert = _bulk_upsert(backend.engine.name, models.TrialUserAttributeModel)
                if upsert is None:
                    for key, value in attrs.items():
                        backend._set_trial_attr_without_commit(
                            session, models.TrialUserAttributeModel, trial_id, key, value
                        )
                    return
                trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
                backend.check_trial_is_updatable(trial_id, trial.state)
                rows = [
                    {"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                    for k, v in attrs.items()
                ]
                session.execute(upsert(rows))

        return write_rdb
    if isinstance(inner, optuna.storages.JournalStorage) and all(
        hasattr(inner, a) for a in ("_thread_lock", "_replay_result", "_backend")
    ):

        def write_journal(trial_id: int, attrs: Dict[str, Any]) -> None:
            entries = [(trial_id, {"user_attr": {key: value}}) for key, value in attrs.items()]
            append_journal(inner, JournalOperation.SET_TRIAL_USER_ATTR, entries, deferred)

        return write_journal
    return None


def set_user_attrs(
    storage: Any, trial_id: int, attrs: Dict[str, Any], before_tell: bool = False
) -> None:
    """Set several user attrs of a RUNNING trial at once (one write where the storage allows).

    Raises ``UpdateFinishedTrialError`` when the trial is already finished. ``before_tell``:
    the caller tells the trial next and then calls :func:`drop_deferred`; a journal storage
    then writes the attrs together with the tell (one lock and fsync instead of two).
    """
    if not attrs:
        return
    writer = _batch_writer(getattr(storage, "inner", storage), deferred=before_tell)
    if writer is None:
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
    else:
        with_retries(writer, trial_id, attrs)


def drop_deferred(storage: Any) -> None:
    """Forget attrs held back by :func:`set_user_attrs` that no tell has written."""
    inner = getattr(storage, "inner", storage)
    backend = getattr(inner, "_backend", None)
    lock = getattr(inner, "_thread_lock", None)
    if backend is not None and lock is not None and getattr(backend, "deferred", None):
        with lock:
            backend.deferred = []
