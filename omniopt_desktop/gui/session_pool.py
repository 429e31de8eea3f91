"""Open SSH sessions of the app, one per cluster (host + ssh config), shared by the polls of
every run on it and by the trial-file reads of the live monitors (:mod:`.live_runs`)."""

from __future__ import annotations

import threading
from typing import Any

from ..cluster.registry import Registry, RunRecord
from ..cluster.runs import ClusterProfile, ClusterRuns


class SessionPool:
    """Open SSH sessions keyed by (host, ssh config); reconnects a lost one on next use.

    Thread-safe: polls of several runs on one cluster share a session (each command is its own
    channel); connecting is done once under the key's lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], dict[str, Any]] = {}

    def runs_for(self, record: RunRecord, callbacks: Any) -> ClusterRuns:
        key = (record.host, record.ssh_config)
        with self._lock:
            entry = self._entries.setdefault(key, {"lock": threading.Lock(), "session": None})
        with entry["lock"]:
            if entry.get("runner") is None or not _usable(entry["session"]):
                self._connect(entry, record, callbacks)
            profile = ClusterProfile(
                host=record.host, slurm_prefix=record.slurm_prefix, ssh_config=record.ssh_config
            )
            return ClusterRuns(entry["runner"], profile, Registry(), entry["transfer"])

    def _connect(self, entry: dict[str, Any], record: RunRecord, callbacks: Any) -> None:
        from ..cli.cmd_submit import LOCAL_HOST, SftpTransfer

        if record.host == LOCAL_HOST:
            from ..cluster.commands import LocalRunner
            from ..cluster.transfer import LocalTransfer

            entry.update(runner=LocalRunner(), transfer=LocalTransfer())
            return
        session = entry["session"]
        if session is None:
            from ..cli.cmd_submit import _remote

            mod = _remote("session")
            options = mod.SessionOptions(ssh_config=record.ssh_config or None)
            session = mod.Session(record.host, callbacks, options)
            entry["session"] = session
            session.connect()
        else:
            session.callbacks = callbacks
            session.reconnect()
        entry.update(runner=session.runner(), transfer=SftpTransfer(session))

    def close(self, host: str, ssh_config: str) -> None:
        with self._lock:
            entry = self._entries.pop((host, ssh_config), None)
        if entry and entry["session"] is not None:
            entry["session"].close()

    def close_all(self) -> None:
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            if entry["session"] is not None:
                entry["session"].close()

    def session(self, host: str, ssh_config: str) -> Any:
        """The open session for a cluster (None when there is none)."""
        with self._lock:
            entry = self._entries.get((host, ssh_config))
        return entry["session"] if entry else None

    def keys(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._entries)


def _usable(session: Any) -> bool:
    return session is None or session.transport_is_active()  # None: a local runner
