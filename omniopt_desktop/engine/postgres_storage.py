"""Opening a PostgreSQL study storage: the SQLAlchemy driver URL and the connection pool.

A process holds at most one connection (``pool_size=1, max_overflow=0``), not pinged before
use: a dropped connection fails its next statement, is invalidated and the call retried on a new
one (:mod:`.retries`). No server-side prepared statements (PgBouncer in transaction mode).

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .storage import StorageSpec


def sqlalchemy_pg_url(url: str) -> str:
    """``postgresql://...`` with the driver that is installed (psycopg2, else psycopg 3)."""
    scheme, rest = url.split("://", 1)
    if "+" in scheme:
        return url
    try:
        import psycopg2  # noqa: F401

        return "postgresql://" + rest
    except ImportError:
        return "postgresql+psycopg://" + rest


def postgres_storage(spec: StorageSpec) -> Any:
    import optuna
    from sqlalchemy.pool import NullPool

    url = sqlalchemy_pg_url(spec.url)
    # psycopg 3 prepares a statement on the server once it ran 5 times: behind PgBouncer in
    # transaction mode (docs/scaling.md) the next transaction may land on another server
    # connection, where that prepared statement does not exist. No server-side prepares.
    connect_args = {"prepare_threshold": None} if url.startswith("postgresql+psycopg:") else {}
    # Creating the schema the first time needs two connections at once (Optuna's alembic
    # set-up and its schema check): do both without a pool, then keep one pooled connection.
    first = optuna.storages.RDBStorage(
        url, engine_kwargs={"poolclass": NullPool, "connect_args": connect_args}
    )
    first.engine.dispose()
    return optuna.storages.RDBStorage(
        url,
        engine_kwargs={
            "connect_args": connect_args,
            "pool_size": 1,
            "max_overflow": 0,
            # no ping before each use (a quarter of all round trips per trial): a connection
            # that died is invalidated by its first failing statement, which is retried
            "pool_pre_ping": False,
            "pool_recycle": 600,
        },
        skip_table_creation=True,
        skip_compatibility_check=True,  # checked by the first opening
    )
