"""The live monitor of a cluster run: the analysis views fed by the run's poller, its SLURM
jobs, Cancel and Fetch snapshot.

The window subscribes to the run's :class:`~.live_runs.RunPoller` (the one the runs list uses,
so both share each poll and the SSH session) asking for trials: the first update carries every
trial, later ones only the new or changed trials, appended to the views (the panel redraws at
most every ``REDRAW_MS``). Closing the window unsubscribes; polling stops when nobody watches.
A trial chosen in the table shows its command, stdout and stderr read from the run folder on the
cluster (:meth:`RunPoller.trial_files`, off the GUI thread).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..cluster.run_summary import state_text, trials_text
from .analysis.panel import AnalysisPanel
from .confirm import ask_yes_no
from .jobs_panel import JobsPanel
from .live_runs import LiveUpdate, RunPoller

if TYPE_CHECKING:
    from .main_window import MainWindow

RunAction = Callable[[str], Any]  # run id -> TaskHandle | None


class RemoteMonitorWindow(QMainWindow):
    """Live view of one cluster run (see the module docstring)."""

    def __init__(
        self,
        poller: RunPoller,
        tasks: Any = None,
        cancel: RunAction | None = None,
        fetch: RunAction | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("remote_monitor")
        self.poller = poller
        self.record = poller.record
        self._cancel_action = cancel
        self._fetch_action = fetch
        self.updates = 0
        self.resize(1280, 860)
        self.setWindowTitle(
            f"{self.record.study_name} — {self.record.run_id} on {self.record.host} (live)"
        )
        self.panel = AnalysisPanel(None, self, tasks=tasks, study_name=self.record.study_name)
        self.panel.views["table"].files_provider = self._trial_files  # from the cluster
        self.header = QLabel(f"Connecting to {self.record.host}…")
        self.header.setObjectName("monitor_header")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.panel, 1)
        self.setCentralWidget(central)

        self.jobs = JobsPanel()
        self.cancel_button = QPushButton("&Cancel run…")
        self.cancel_button.setObjectName("monitor_cancel_button")
        self.cancel_button.setToolTip("Stop every job of this run (running trials end as failed)")
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.fetch_button = QPushButton("&Fetch snapshot")
        self.fetch_button.setObjectName("monitor_fetch_button")
        self.fetch_button.setToolTip(
            "Download a consistent copy of the study database and open it offline"
        )
        self.fetch_button.clicked.connect(self.fetch_clicked)
        self.fetch_logs = QCheckBox("with trial logs")
        self.fetch_logs.setObjectName("monitor_fetch_logs")
        self.fetch_logs.setToolTip(
            "Also download each trial's command, stdout and stderr, so that the offline window "
            "shows them (can be large for long runs)"
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.fetch_button)
        buttons.addWidget(self.fetch_logs)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.jobs, 1)
        side_layout.addLayout(buttons)
        dock = QDockWidget("Jobs", self)
        dock.setObjectName("monitor_jobs_dock")
        dock.setWidget(side)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [360], Qt.Orientation.Horizontal)
        self.jobs_dock = dock

        poller.updated.connect(self._updated)
        if poller.last is not None:
            self._show_status(poller.last)
        poller.subscribe(self, trials=True)

    # -- updates ------------------------------------------------------------------------------
    def _updated(self, update: LiveUpdate) -> None:
        self.updates += 1
        cols = update.columns
        if cols is not None:
            if update.full or self.panel.model.cols is None:
                self.panel.set_columns(cols, f"{self.record.host}:{self.record.remote_dir}")
            elif len(cols):
                self.panel.append_trials(cols)  # throttled redraw of the visible view
        self._show_status(update.status)

    def _show_status(self, st: Any) -> None:
        self.jobs.show_status(st)
        parts = [f"<b>{state_text(st) if st.study else 'waiting for the first answer'}</b>"]
        counts = trials_text(st)
        if counts:
            parts.append(counts)
        best = st.study.get("best") if st.study else None
        if best:
            parts.append(f"best {best['value']:.6g} (trial {best['number']})")
        if st.reason:
            parts.append(st.reason)
        where = f"<span style='color:#666'>{self.record.run_id} on {self.record.host}</span>"
        text = " · ".join(parts) + f"<br>{where}"
        if st.stale:
            text += (
                f"<br><span style='color:#b35900'>STALE — the cluster did not answer, last known "
                f"states shown (retrying every {self.poller.next_interval:.0f} s): "
                f"{_escape(st.error or '')}</span>"
            )
        elif st.finished:
            text += " — the run has ended: <i>Fetch snapshot</i> opens its database offline."
        self.header.setText(text)
        self.cancel_button.setEnabled(not st.finished and self._cancel_action is not None)

    def _trial_files(self, _where: str, number: int) -> Any:
        return self.poller.trial_files(number)  # on the table's thread

    # -- actions ------------------------------------------------------------------------------
    def cancel_clicked(self) -> Any:
        asked = ask_yes_no(
            self,
            "confirm_cancel_box",
            QMessageBox.Icon.Warning,
            "Cancel the cluster run",
            f"Cancel run {self.record.run_id} on {self.record.host}?",
            (
                "Every job of the run is stopped; running trials end as failed ('cancelled'). "
                "The study database stays: Fetch snapshot still works, and the run can be resumed."
            ),
            yes="Cancel run",
            no="Keep running",
        )
        if not asked or self._cancel_action is None:
            return None
        self.cancel_button.setEnabled(False)
        handle = self._cancel_action(self.record.run_id)
        if handle is not None:
            handle.ended.connect(self.poller.poll_now)  # show the ended jobs at once
        return handle

    def fetch_clicked(self) -> Any:
        if self._fetch_action is None:
            return None
        return self._fetch_action(self.record.run_id, self.fetch_logs.isChecked())

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt
        self.poller.unsubscribe(self)
        try:
            self.poller.updated.disconnect(self._updated)
        except (RuntimeError, TypeError):
            pass
        super().closeEvent(event)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def open_remote_monitor(window: MainWindow, run_id: str) -> RemoteMonitorWindow | None:
    """The runs list's Open results for a cluster run that may still be going."""
    from .cluster_launch import cancel_remote_run, fetch_remote_run

    poller = window.runs.live_poller(run_id)
    if poller is None:
        window.reporter.report(f"run {run_id} is not in the run registry; press Refresh")
        return None
    for w in getattr(window, "_monitor_windows", []):
        if w.poller is poller and w.isVisible():
            w.raise_()
            w.activateWindow()
            return w
    w = RemoteMonitorWindow(
        poller,
        tasks=window.tasks,
        cancel=lambda rid: cancel_remote_run(window, rid),
        fetch=lambda rid, logs=False: fetch_remote_run(window, rid, logs=logs),
        parent=window,
    )
    window.child_windows.adopt(w, "_monitor_windows")
    w.show()
    return w
