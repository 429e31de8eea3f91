"""Background polling of running cluster runs: one :class:`RunPoller` per run, one SSH session
per cluster (host + ssh config) shared by every poll.

A poller polls while someone subscribes (the runs list while it is visible, a monitor window
while it is open) and the run has not finished. Each poll is one task on the app's
:class:`TaskRunner` (never on the GUI thread) running :meth:`RunMonitor.poll`; the next poll is
scheduled after ``monitor.interval`` (it grows while nothing changes and when the cluster cannot
be reached, and drops back when news arrive). Subscribers that want trials (monitor windows) get
them converted to analysis columns on the worker thread: all of them once, then only the new or
changed ones of each poll.

A monitor window reads one trial's files from the run folder on demand
(:meth:`RunPoller.trial_files`, on the table's thread) over the same session, connecting again
when the session was closed or lost. The sessions stay open while the app runs (Submit, Fetch
and Cancel use them too, so a one-time code is typed once per cluster) and are closed with the
main window (:meth:`LiveRuns.close`).
"""

from __future__ import annotations

import json
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from ..cluster.registry import Registry, RunRecord
from ..cluster.runs import ClusterRuns, RunMonitor, RunStatus
from ..errors import RemoteError
from ..study import run_layout as L
from .session_pool import SessionPool
from .tasks import TaskHandle, TaskRunner, TaskState

POLL_INTERVAL = 2.0  # seconds, after a poll with news
MAX_INTERVAL = 30.0  # the back-off's cap (nothing changes, or the cluster does not answer)
LIVE_STATES = ("submitted",)  # registry states of runs worth polling
CLOSE_WAIT = 1.0  # seconds the closing window waits for its SSH sessions to close

OpenRuns = Callable[[RunRecord, Any], ClusterRuns]


@dataclass(frozen=True)
class LiveUpdate:
    """One poll's result handed to subscribers. ``columns``: the new or changed trials as
    analysis columns (all trials when ``full``), None when no subscriber wants trials."""

    status: RunStatus
    columns: Any = None
    full: bool = False


def _study_of(runs: ClusterRuns, record: RunRecord) -> Any:
    """The run's frozen study (read once from the cluster; the local study file otherwise)."""
    from ..study.model import Study

    q = shlex.quote(f"{record.remote_dir}/{L.FROZEN_STUDY}")
    try:
        result = runs.runner.run(f"cat {q}", timeout=60)
        if result.ok:
            return Study.from_dict(json.loads(result.stdout))
    except Exception:  # noqa: BLE001 - fall back to the study file submitted
        pass
    try:
        from ..study.toml_io import load_study

        return load_study(record.study_file).study
    except Exception:  # noqa: BLE001 - parameters are then inferred from the trials
        return Study(name=record.study_name)


class RunPoller(QObject):
    """Polls one cluster run while subscribed and not finished (see the module docstring)."""

    updated = Signal(object)  # LiveUpdate
    finished = Signal(object)  # the last RunStatus
    polling_changed = Signal(bool)
    unsubscribed = Signal()

    def __init__(
        self,
        record: RunRecord,
        tasks: TaskRunner,
        pool: SessionPool,
        open_runs: OpenRuns | None = None,
        interval: float = POLL_INTERVAL,
        max_interval: float = MAX_INTERVAL,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.record = record
        self.tasks = tasks
        self.pool = pool
        self.open_runs = open_runs or pool.runs_for
        self.base_interval, self.max_interval = interval, max_interval
        self.monitor: RunMonitor | None = None
        self.converter: Any = None
        self.last: RunStatus | None = None
        self.polls = 0
        self._subscribers: dict[int, bool] = {}  # id(owner) -> wants trials
        self._needs_full = False
        self._lock = threading.Lock()  # one poll at a time touches the monitor
        self._handle: TaskHandle | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.poll_now)
        self._prompts: Any = None

    # -- subscribers ------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Polling (a poll is in flight or scheduled)."""
        return self._timer.isActive() or (self._handle is not None and not self._handle.is_done)

    @property
    def is_finished(self) -> bool:
        return self.monitor is not None and self.monitor.finished

    def subscribe(self, owner: object, trials: bool = False) -> None:
        """Start (or keep) polling for ``owner``; with ``trials`` the updates carry columns
        (all trials in the next update)."""
        self._subscribers[id(owner)] = trials or self._subscribers.get(id(owner), False)
        if trials:
            self._needs_full = True
        if trials or not self.active:
            self.poll_now()  # a new window gets its trials now, not after the back-off

    def unsubscribe(self, owner: object) -> None:
        self._subscribers.pop(id(owner), None)
        if not self._subscribers:
            self.stop()
        self.unsubscribed.emit()

    @property
    def watched(self) -> bool:
        """A subscriber wants trials (a monitor window is open)."""
        return any(self._subscribers.values())

    def stop(self) -> None:
        was = self.active
        self._timer.stop()
        if self._handle is not None and not self._handle.is_done:
            self._handle.cancel()
        self._handle = None
        if was:
            self.polling_changed.emit(False)

    # -- polling ----------------------------------------------------------------------------
    def poll_now(self) -> TaskHandle | None:
        if self._handle is not None and not self._handle.is_done:
            return self._handle
        if self.is_finished and not self._needs_full:
            return None  # nothing changes any more (a new monitor window still gets trials)
        was_active = self.active
        self._timer.stop()
        if self._prompts is None:
            from .profiles.prompts import GuiPrompts

            self._prompts = GuiPrompts(_dialog_parent(self))
        want_trials = any(self._subscribers.values())
        full, self._needs_full = self._needs_full, False
        handle = self.tasks.submit(
            self._poll_task,
            want_trials,
            full,
            name=f"polling {self.record.run_id}",
            handles_errors=True,
        )
        self._handle = handle
        handle.succeeded.connect(self._polled)
        handle.failed.connect(lambda e: self._polled(None, e))
        if not was_active:
            self.polling_changed.emit(True)
        return handle

    def _poll_task(self, state: TaskState, want_trials: bool, full: bool) -> LiveUpdate:
        with self._lock:
            self._prompts.bind(state)
            if self.monitor is None:
                self.monitor = RunMonitor(
                    None, self.record, interval=self.base_interval, max_interval=self.max_interval
                )  # type: ignore[arg-type]
            try:
                runs = self.open_runs(self.record, self._prompts)
            except Exception as e:  # noqa: BLE001 - cannot connect: stale, try again later
                return LiveUpdate(self.monitor.unreachable(_one_line(e)))
            self.monitor.runs = runs
            state.check_cancelled()
            st = self.monitor.poll()
            self._remember_end(st)
            if not want_trials:
                return LiveUpdate(st)
            if st.stale:  # nothing new; a full update is owed until a poll gets through
                return LiveUpdate(st, None, full)
            if self.converter is None:
                from ..analysis.status_trials import StatusConverter

                study = _study_of(runs, self.record)
                self.converter = StatusConverter.for_study(
                    study, f"{self.record.host}:{self.record.remote_dir}"
                )
            trials = self.monitor.all_trials() if full else st.trials
            return LiveUpdate(st, self.converter.convert(trials), full)

    def _remember_end(self, st: RunStatus) -> None:
        """As ``status --wait`` does: the newest trial number seen, and done/failed at the end."""
        if st.stale or self.monitor is None:
            return
        changes: dict[str, Any] = {}
        if self.monitor.last_number > self.record.last_number:
            changes["last_number"] = self.monitor.last_number
        if st.finished and st.controller_state in ("done", "failed"):
            changes["state"] = st.controller_state
        if changes:
            try:
                self.record = Registry().update(self.record.run_id, **changes)
            except Exception:  # noqa: BLE001 - the registry is a convenience here
                pass

    def _polled(self, update: LiveUpdate | None, error: BaseException | None = None) -> None:
        self._handle = None
        self.polls += 1
        if update is None:  # a bug in the poll itself: say it, keep the last states, back off
            if self.monitor is None:
                self.monitor = RunMonitor(
                    None, self.record, interval=self.base_interval, max_interval=self.max_interval
                )  # type: ignore[arg-type]
            update = LiveUpdate(self.monitor.unreachable(_one_line(error)))
        if update.full and update.columns is None:
            self._needs_full = True  # the full update did not happen (stale): next time
        self.last = update.status
        self.updated.emit(update)
        if self.is_finished:
            self._timer.stop()
            self.polling_changed.emit(False)
            self.finished.emit(update.status)
            return
        if self._subscribers:
            # a subscriber waiting for its trials does not wait for the back-off
            wait = 0.0 if self._needs_full and not update.status.stale else self.next_interval
            self._timer.start(int(wait * 1000))
        else:
            self.polling_changed.emit(False)

    @property
    def next_interval(self) -> float:
        return self.monitor.interval if self.monitor else self.base_interval

    # -- a trial's files ----------------------------------------------------------------------
    def trial_files(self, number: int) -> Any:
        """Trial ``number``'s command/stdout/stderr/status (``analysis.run_files.TrialFiles``)
        read from the run folder on the cluster, head and tail of long files only. Blocks:
        call it off the GUI thread. A session found lost is connected again once; raises an
        error with one line when the files cannot be read."""
        from ..cli.cmd_submit import LOCAL_HOST, _remote
        from ..cluster.trial_files import LocalReader, read_trial_files

        record = self.record
        if record.host == LOCAL_HOST:
            return read_trial_files(LocalReader(), record.remote_dir, number)
        lost = _remote("session").ConnectionLost
        for attempt in (1, 2):
            reader = _remote("sftp_reader").SftpReader(self._files_session())
            try:
                return read_trial_files(reader, record.remote_dir, number)
            except lost:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _files_session(self) -> Any:
        """The cluster's session of the pool, connected (again) when there is none or it is
        lost (the polls then use it too)."""
        from ..cli.cmd_submit import _remote

        record = self.record
        prompts = self._prompts or _remote("callbacks").NoPrompts()
        try:
            return self.pool.connection(record.host, record.ssh_config, prompts).session
        except Exception as e:  # noqa: BLE001 - one line for the trial table
            raise RemoteError(f"cannot connect to {record.host}: {_one_line(e)}") from e


def _dialog_parent(obj: QObject) -> Any:
    """The nearest widget among ``obj``'s parents (dialogs asking for passwords sit on it)."""
    from PySide6.QtWidgets import QWidget

    p = obj.parent()
    while p is not None and not isinstance(p, QWidget):
        p = p.parent()
    return p


def _one_line(e: BaseException | None) -> str:
    text = str(e) if e is not None else ""
    return text.splitlines()[0] if text else type(e).__name__


class LiveRuns(QObject):
    """The pollers of the app (one per run id) and the app's session pool (one SSH session per
    cluster, used by the pollers and by :mod:`.cluster_launch`'s Submit, Fetch, Cancel, partitions)."""

    def __init__(
        self,
        tasks: TaskRunner,
        parent: QObject | None = None,
        open_runs: OpenRuns | None = None,
        interval: float = POLL_INTERVAL,
        max_interval: float = MAX_INTERVAL,
    ) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.pool = SessionPool()
        self.open_runs = open_runs
        self.interval, self.max_interval = interval, max_interval
        self.pollers: dict[str, RunPoller] = {}
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)

    def poller(self, record: RunRecord) -> RunPoller:
        p = self.pollers.get(record.run_id)
        if p is None:
            p = RunPoller(
                record, self.tasks, self.pool, self.open_runs, self.interval, self.max_interval,
                self,
            )  # fmt: skip
            self.pollers[record.run_id] = p
        return p

    def get(self, run_id: str) -> RunPoller | None:
        return self.pollers.get(run_id)

    def close(self) -> None:
        """Stop polling and close the sessions (the app or its main window is closing)."""
        for p in self.pollers.values():
            p.stop()
        closing = self.pool.close_all(background=True)
        if closing is not None:
            closing.join(CLOSE_WAIT)  # a clean goodbye, but never a hang of the GUI
