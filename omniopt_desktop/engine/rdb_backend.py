"""One SQL query on Optuna's RDBStorage behind a storage the app opened (SQLite, PostgreSQL).

The counts, the budget check and the resume check ask the database one question instead of
loading every trial; on a journal they take another path. Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from .retries import with_retries

T = TypeVar("T")


def rdb_backend(storage: Any) -> Any:
    """Optuna's RDBStorage behind ``storage`` (past the retry wrapper and the caches), or None
    for a journal or in-memory storage."""
    import optuna

    inner = getattr(storage, "inner", storage)
    backend = getattr(inner, "_backend", inner)
    return backend if isinstance(backend, optuna.storages.RDBStorage) else None


def rdb_query(backend: Any, query: Callable[[Any], T]) -> T:
    """``query(session)`` in a scoped SQLAlchemy session of ``backend``, retried on transient
    errors (a locked SQLite file, a restarted PostgreSQL)."""
    from optuna.storages._rdb.storage import _create_scoped_session

    def run() -> T:
        with _create_scoped_session(backend.scoped_session) as session:
            return query(session)

    return with_retries(run)
