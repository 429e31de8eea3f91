"""ONE opener for every study storage: SQLite file, Optuna journal file, PostgreSQL.

URLs (see ``study.run_layout.storage_url``):
- ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's convention).
  Busy timeout 60 s and WAL journal mode on local disks. Refused with several workers on a
  network filesystem (NFS, Lustre, GPFS, BeeGFS, CIFS, Ceph...), whose locking SQLite cannot
  trust: the message names the journal file and PostgreSQL.
- ``journal:///path`` — Optuna's ``JournalStorage`` over ``JournalFileBackend``. The file lock is
  ``symlink`` (Optuna's default, NFSv2+) or ``open`` (O_EXCL, NFSv3+); choose it with
  ``?lock=open`` in the URL or the ``OMNIOPT_JOURNAL_LOCK`` environment variable.
- ``postgresql://user@host:port/db`` — never with a password: libpq reads ``PGPASSWORD`` or
  ``~/.pgpass`` on the machine running the workers. A process holds at most one connection
  (``pool_size=1, max_overflow=0``), not pinged before use: a dropped connection fails its
  next statement, is invalidated and the call retried on a new one.

Every storage returned by :func:`open_storage` retries transient errors ("database is locked",
a dropped connection) with jittered exponential back-off. A retried write that had in fact
succeeded shows up as :class:`optuna.exceptions.UpdateFinishedTrialError`, which callers treat
as "already done". Thread safety is Optuna's: RDB and journal storages may be shared by threads.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import random
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar
from urllib.parse import parse_qs, urlsplit

from ..errors import StorageError

T = TypeVar("T")
_log = logging.getLogger("omniopt.storage")

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "lustre", "gpfs", "beegfs", "fuse.beegfs", "cifs", "smb3", "smbfs",
        "ceph", "fuse.ceph", "fuse.cephfs", "glusterfs", "fuse.glusterfs", "fuse.sshfs",
        "9p", "afs", "pvfs2", "orangefs", "panfs", "wekafs", "quobyte", "fuse.quobyte",
    }
)  # fmt: skip
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


# -- filesystems ----------------------------------------------------------------------------------
def _unescape_mount(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")


def filesystem_type(path: str, mounts_text: Optional[str] = None) -> str:
    """Type of the filesystem holding ``path`` ("ext4", "nfs4", ...; "" when unknown)."""
    target = os.path.realpath(os.path.abspath(path))  # missing parts are kept as written
    if mounts_text is None:
        try:
            with open("/proc/mounts") as f:
                mounts_text = f.read()
        except OSError:
            mounts_text = ""
    best, best_type = "", ""
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mnt, fstype = _unescape_mount(fields[1]), fields[2]
        inside = target == mnt or target.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, best_type = mnt, fstype
    if best_type:
        return best_type
    try:
        existing = target
        while not os.path.exists(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)
        out = subprocess.run(
            ["stat", "-f", "-c", "%T", existing], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def is_network_filesystem(path: str, mounts_text: Optional[str] = None) -> bool:
    fstype = filesystem_type(path, mounts_text).lower()
    return fstype in NETWORK_FILESYSTEMS or fstype.startswith("nfs")


# -- retries --------------------------------------------------------------------------------------
_TRANSIENT_TEXT = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "could not connect",
    "connection refused",
    "server closed the connection",
    "connection reset",
    "connection timed out",
    "terminating connection",
    "could not serialize",
    "deadlock detected",
    "ssl syscall error",
    "too many clients",
    "remaining connection slots",
    "the database system is",  # starting up, shutting down, not yet accepting connections...
    "connection failed",
    "the connection is closed",
    "the connection is lost",
    "consuming input failed",
    "server conn crashed",  # PgBouncer
    "no more connections allowed",  # PgBouncer
)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: lock contention and dropped connections, never logic errors.
    Optuna wraps a failed commit in ``StorageInternalError``: its cause is looked at too."""
    seen = 0
    while exc is not None and seen < 5:
        if _is_transient_one(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1  # type: ignore[assignment]
    return False


def _is_transient_one(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.EAGAIN, errno.ESTALE, errno.EBUSY):
        return True
    try:
        from sqlalchemy import exc as sa_exc
    except ImportError:  # pragma: no cover - optuna depends on SQLAlchemy
        return False
    if isinstance(exc, sa_exc.DBAPIError) and getattr(exc, "connection_invalidated", False):
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        text = str(exc).lower()
        return any(t in text for t in _TRANSIENT_TEXT)
    return isinstance(exc, (sa_exc.TimeoutError, sa_exc.InvalidatePoolError))


def with_retries(
    fn: Callable[..., T],
    *args: Any,
    attempts: int = 12,
    base: float = 0.05,
    cap: float = 5.0,
    **kwargs: Any,
) -> T:
    """Call ``fn``; retry transient errors with full-jitter exponential back-off (about 30 s in
    all at most: a PostgreSQL restart or a full server rides through). Each retry is logged
    as a "transient storage error" warning."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if attempt == attempts - 1 or not is_transient(e):
                raise
            delay = random.uniform(0, min(cap, base * (2**attempt)))
            text = str(e).strip().splitlines()
            _log.warning(
                "transient storage error (attempt %d of %d, retry in %.2f s): %s",
                attempt + 1,
                attempts,
                delay,
                text[0][:200] if text else type(e).__name__,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class RetryingStorage:
    """Wraps an Optuna storage: every method call retries transient errors (see module doc).
    Parameters set inside :func:`.param_batch.batched_params` are written together."""

    def __init__(self, inner: Any, spec: StorageSpec) -> None:
        self._inner = inner
        self.spec = spec
        self.param_batch = threading.local()

    def set_trial_param(self, trial_id: int, name: str, value: float, distribution: Any) -> None:
        held = getattr(self.param_batch, "items", None)
        if held is not None:
            held.append((trial_id, name, value, distribution))
            return
        with_retries(self._inner.set_trial_param, trial_id, name, value, distribution)

    @property
    def inner(self) -> Any:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return with_retries(attr, *args, **kwargs)

        return call


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


def _sqlalchemy_pg_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    if "+" in scheme:
        return url
    try:
        import psycopg2  # noqa: F401

        return "postgresql://" + rest
    except ImportError:
        return "postgresql+psycopg://" + rest


def _postgres_storage(spec: StorageSpec) -> Any:
    import optuna
    from sqlalchemy.pool import NullPool

    url = _sqlalchemy_pg_url(spec.url)
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
            inner = _creating(_postgres_storage, spec)
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
    """A writer of several user attrs in one transaction / one journal append, if available.

    Uses Optuna internals that have been stable for years (the RDB session helper and the
    journal's on-disk log format); returns None when they are missing, and callers fall back to
    one ``set_trial_user_attr`` per key.
    """
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
            with inner._thread_lock:
                wid = inner._replay_result.worker_id
                logs = [
                    {
                        "op_code": JournalOperation.SET_TRIAL_USER_ATTR,
                        "worker_id": wid,
                        "trial_id": trial_id,
                        "user_attr": {key: value},
                    }
                    for key, value in attrs.items()
                ]
                backend = inner._backend
                if deferred and hasattr(backend, "deferred"):
                    backend.deferred.extend(logs)  # written with the next append (the tell)
                    return
                backend.append_logs(logs)
                inner._sync_with_backend()

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


def count_states(storage: Any, study_id: int) -> Dict[str, int]:
    """Number of trials per state name ("COMPLETE", "RUNNING", ...); one COUNT query on RDB."""
    from optuna.trial import TrialState

    counts = {s.name: 0 for s in TrialState}
    inner = getattr(storage, "inner", storage)
    if getattr(inner, "oo_fast", False):  # the worker's cache on PostgreSQL (rdb_fast)
        counts.update(with_retries(inner.oo_counts, study_id))
        return counts
    backend = getattr(inner, "_backend", inner)
    try:
        import optuna
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
        from sqlalchemy import func

        rdb = isinstance(backend, optuna.storages.RDBStorage)
    except ImportError:
        rdb = False
    if rdb:

        def query() -> list:
            with _create_scoped_session(backend.scoped_session) as session:
                return (
                    session.query(models.TrialModel.state, func.count(models.TrialModel.trial_id))
                    .filter(models.TrialModel.study_id == study_id)
                    .group_by(models.TrialModel.state)
                    .all()
                )

        for state, n in with_retries(query):
            counts[TrialState(state).name if not isinstance(state, TrialState) else state.name] = n
        return counts
    from .journal_tally import journal_tally

    journal = journal_tally(storage)
    if journal is not None:
        counts.update(with_retries(journal[1].counts, journal[0], study_id))
        return counts
    for t in storage.get_all_trials(study_id, deepcopy=False):
        counts[t.state.name] += 1
    return counts


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
    have = [d.name.lower() for d in study.directions]
    if have != [d.lower() for d in directions]:
        raise StorageError(
            f"study '{name}' in {getattr(storage, 'spec', None) and storage.spec.url} has "
            f"directions {have}, the study file asks for {list(directions)}; use a new run folder "
            "(--run-dir) or a new study name"
        )
