"""Open SSH sessions of the app, one per cluster (host + ssh config), shared by every remote
operation of the GUI: the polls and trial-file reads of :mod:`.live_runs`, and Submit, Fetch,
Cancel and Load partitions of :mod:`.cluster_launch`.

A user whose cluster asks for a one-time code types it once per app session per cluster: a
session is connected (its prompts shown as dialogs) only when there is none or it was lost, and
stays open (its liveness keepalives keep idle logins alive) until :meth:`SessionPool.close_all`,
which the main window calls when it closes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..cluster.commands import CommandRunner
from ..cluster.registry import Registry, RunRecord
from ..cluster.runs import ClusterProfile, ClusterRuns
from ..cluster.transfer import FileTransfer
from ..errors import RemoteError
from .tasks import TaskCancelled

Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class Connection:
    """A cluster's command runner and file transfer over its one session (None: ``local``)."""

    runner: CommandRunner
    transfer: FileTransfer
    session: Any = None


class _Entry:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # held while connecting: one login at a time per cluster
        self.session: Any = None
        self.connection: Connection | None = None


class SessionPool:
    """Open SSH sessions keyed by (host, ssh config); a lost one is connected again on next use.

    Thread-safe: any number of worker threads use one cluster's session at once (paramiko runs
    each command on its own channel of the one transport; SFTP users take turns on the
    session's ``sftp_lock``, which ``Transfer`` and ``SftpReader`` hold). Connecting is done
    under the cluster's lock, so threads that find no session wait for the one login instead
    of starting their own; a waiting thread stops waiting when its ``cancelled()`` turns true.
    Call the blocking methods off the GUI thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._closed = False

    # -- getting a connection -----------------------------------------------------------------
    def connection(
        self, host: str, ssh_config: str, callbacks: Any, cancelled: Cancelled | None = None
    ) -> Connection:
        """The cluster's open connection; connects (asking through ``callbacks``) when there is
        none or it was lost. Raises RemoteError with the reason when connecting fails."""
        with self._lock:
            if self._closed:
                raise RemoteError(f"not connecting to {host}: the app is closing")
            entry = self._entries.setdefault((host, ssh_config), _Entry())
        _acquire(entry.lock, cancelled)
        try:
            if entry.connection is None or not _usable(entry.session):
                self._connect(entry, host, ssh_config, callbacks)
            assert entry.connection is not None
            return entry.connection
        finally:
            entry.lock.release()

    def runs_for(
        self,
        record: RunRecord,
        callbacks: Any,
        progress: Callable[[str, float], None] | None = None,
        cancelled: Cancelled | None = None,
    ) -> ClusterRuns:
        """A :class:`ClusterRuns` for ``record``'s cluster over the pooled connection."""
        conn = self.connection(record.host, record.ssh_config, callbacks, cancelled)
        return ClusterRuns(conn.runner, runs_profile(record), Registry(), conn.transfer, progress)

    def call(
        self,
        host: str,
        ssh_config: str,
        callbacks: Any,
        work: Callable[[Connection], Any],
        *,
        cancelled: Cancelled | None = None,
        retry: Callable[[], bool] | bool = True,
    ) -> Any:
        """``work(connection)`` over the cluster's session. When the connection is lost during
        ``work`` (and not cancelled) it is connected again once and, if ``retry`` (or
        ``retry()``) is true, ``work`` runs once more; a second loss, a failed reconnect or no
        retry raises RemoteError with one line that says what to do."""
        conn = self.connection(host, ssh_config, callbacks, cancelled)
        try:
            return work(conn)
        except Exception as e:
            if not _is_lost(conn, e) or (cancelled is not None and cancelled()):
                raise
            first = e
        try:
            conn = self.connection(host, ssh_config, callbacks, cancelled)
        except (RemoteError, OSError) as e:
            raise RemoteError(
                f"lost the connection to {host} ({_one_line(first)}) and could not connect "
                f"again: {_one_line(e)}"
            ) from e
        if not (retry() if callable(retry) else retry):
            raise RemoteError(
                f"lost the connection to {host} during the operation ({_one_line(first)}); "
                "connected again, but it was not repeated: check the runs list, then try again"
            ) from first
        try:
            return work(conn)
        except Exception as e:
            if not _is_lost(conn, e):
                raise
            raise RemoteError(
                f"lost the connection to {host} again right after connecting again "
                f"({_one_line(e)}); check the network or VPN, then try again"
            ) from e

    def is_open(self, host: str, ssh_config: str) -> bool:
        """A connected session (or the local runner) is there for the cluster."""
        with self._lock:
            entry = self._entries.get((host, ssh_config))
        return bool(entry and entry.connection and _usable(entry.session))

    def _connect(self, entry: _Entry, host: str, ssh_config: str, callbacks: Any) -> None:
        from ..cli.cmd_submit import LOCAL_HOST, SftpTransfer, _remote

        if host == LOCAL_HOST:
            from ..cluster.commands import LocalRunner
            from ..cluster.transfer import LocalTransfer

            entry.connection = Connection(LocalRunner(), LocalTransfer())
            return
        session = entry.session
        if session is None:
            mod = _remote("session")
            options = mod.SessionOptions(ssh_config=ssh_config or None)
            session = mod.Session(host, callbacks, options)
            entry.session = session
            session.connect()
        else:
            session.callbacks = callbacks  # the dialogs of the task that connects now
            session.reconnect()
        entry.connection = Connection(session.runner(), SftpTransfer(session), session)

    # -- the open sessions --------------------------------------------------------------------
    def session(self, host: str, ssh_config: str) -> Any:
        """The cluster's session (None when there is none)."""
        with self._lock:
            entry = self._entries.get((host, ssh_config))
        return entry.session if entry else None

    def keys(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._entries)

    def close_all(self, background: bool = False) -> threading.Thread | None:
        """Close every session; later requests are refused (the app is closing). With
        ``background`` the sessions are closed on a thread that is returned (closing sends
        on the socket, which a frozen network could block)."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
            self._closed = True
        sessions = [e.session for e in entries if e.session is not None]

        def close() -> None:
            for session in sessions:
                session.close()

        if not background:
            close()
            return None
        thread = threading.Thread(target=close, daemon=True, name="close ssh sessions")
        thread.start()
        return thread


def on_cluster(
    pool: SessionPool,
    host: str,
    ssh_config: str,
    prompts: Any,
    state: Any,
    work: Any,
    retry: Any = True,
) -> Any:
    """``work(connection)`` over the cluster's pooled session (worker thread): it connects,
    asking through ``prompts``, only when there is no session or it was lost; a connection lost
    during ``work`` is connected again once (see :meth:`SessionPool.call`; ``state`` is the task's
    :class:`~.tasks.TaskState`)."""
    reused = pool.is_open(host, ssh_config)
    state.set_progress(
        None,
        f"Connecting to {host}: the open session is used" if reused else f"Connecting to {host}…",
    )

    def checked(conn: Any) -> Any:
        state.check_cancelled()
        return work(conn)

    return pool.call(
        host, ssh_config, prompts, checked, cancelled=lambda: state.cancelled, retry=retry
    )


def runs_profile(record: RunRecord) -> ClusterProfile:
    return ClusterProfile(
        host=record.host, slurm_prefix=record.slurm_prefix, ssh_config=record.ssh_config
    )


def _acquire(lock: threading.Lock, cancelled: Cancelled | None) -> None:
    """Wait for ``lock`` (another task may be logging in); TaskCancelled once cancelled."""
    while not lock.acquire(timeout=0.1):
        if cancelled is not None and cancelled():
            raise TaskCancelled()


def _usable(session: Any) -> bool:
    return session is None or session.transport_is_active()  # None: a local runner


def _is_lost(conn: Connection, e: BaseException) -> bool:
    """``e`` came from a connection that broke (not from the command or the cluster)."""
    if isinstance(e, TaskCancelled) or conn.session is None:
        return False
    from ..cli.cmd_submit import _remote

    return (
        isinstance(e, _remote("session").ConnectionLost) or not conn.session.transport_is_active()
    )


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
