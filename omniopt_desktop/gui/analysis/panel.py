"""The analysis panel: every view of one study in tabs, fed by one :class:`AnalysisModel`.

Loading runs off the GUI thread. ``append_trials`` merges newer trials (the live monitor's
path) and redraws the visible view at most every ``REDRAW_MS``; hidden views redraw when shown.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Union

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...analysis.columns import TrialColumns
from .base import AnalysisView
from .distribution import DistributionView
from .history import HistoryView
from .importance_view import ImportanceView
from .model import AnalysisModel
from .parallel import ParallelView
from .pareto import ParetoView
from .scatter2d import Scatter2DView
from .slices import SlicesView
from .summary import SummaryView
from .table import TrialTableView
from .timeline import TimelineView

REDRAW_MS = 250

VIEW_CLASSES = (
    SummaryView,
    HistoryView,
    SlicesView,
    ParallelView,
    Scatter2DView,
    ImportanceView,
    DistributionView,
    ParetoView,
    TimelineView,
    TrialTableView,
)
VIEW_KEYS = {
    "summary": SummaryView,
    "history": HistoryView,
    "slices": SlicesView,
    "parallel": ParallelView,
    "scatter": Scatter2DView,
    "importance": ImportanceView,
    "distribution": DistributionView,
    "pareto": ParetoView,
    "timeline": TimelineView,
    "table": TrialTableView,
}


class AnalysisPanel(QWidget):
    """Takes a loaded :class:`TrialColumns` or a path (study.db, study.journal, run folder)."""

    loaded = Signal()  # trials are in the model (after a load or reload)
    load_failed = Signal(str)  # one line

    def __init__(
        self,
        source: Union[TrialColumns, str, None] = None,
        parent: Optional[QWidget] = None,
        tasks: Any = None,
        study_name: Optional[str] = None,
    ) -> None:
        super().__init__(parent)
        self.model = AnalysisModel(self)
        self.tasks = tasks
        self.study_name = study_name
        self._worker: Any = None
        # the follower whose read is in flight, and whether another read was asked meanwhile:
        # a follower moves on with each read, so a read cancelled for a newer one would lose
        # the trials it had read (the newer read starts after them)
        self._polling: Any = None
        self._poll_again = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.objective_combo = QComboBox()
        self.objective_combo.currentIndexChanged.connect(self._objective_chosen)
        self.status = QLabel("")
        export = QPushButton("Export view…")
        export.clicked.connect(self._export_clicked)
        bar.addWidget(QLabel("objective"))
        bar.addWidget(self.objective_combo)
        bar.addWidget(self.status, 1)
        bar.addWidget(export)
        layout.addLayout(bar)
        self.tabs = QTabWidget()
        self.views: Dict[str, AnalysisView] = {}
        for key, cls in VIEW_KEYS.items():
            view = cls(self.model)
            self.views[key] = view
        for cls in VIEW_CLASSES:
            key = next(k for k, c in VIEW_KEYS.items() if c is cls)
            self.tabs.addTab(self.views[key], cls.title)
        self.tabs.currentChanged.connect(lambda _: self._refresh_visible())
        layout.addWidget(self.tabs, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._refresh_visible)
        self.model.columns_changed.connect(self._columns_changed)
        if isinstance(source, TrialColumns):
            self.set_columns(source)
        elif source:
            self.load(os.fspath(source))

    # -- data in -------------------------------------------------------------------------------
    def load(self, path: str) -> None:
        """Load ``path`` off the GUI thread; ``loaded`` or ``load_failed`` follows. Later
        :meth:`poll` calls read only what changed."""
        from ...analysis.loader import StudyFollower

        self.status.setText(f"loading {path} …")
        try:
            self._follower = StudyFollower(path, self.study_name)
        except Exception as e:  # noqa: BLE001 - AnalysisError and the like, shown as one line
            self._failed(e)
            return
        self._run_poll(self._follower)

    def poll(self, path: Optional[str] = None) -> None:
        """Read what changed in the file (new trials, and those running or waiting before)
        off the GUI thread and merge it: the live monitor's path."""
        from ...analysis.loader import StudyFollower

        path = path or self.model.path
        follower = getattr(self, "_follower", None)
        if follower is None or (path and os.path.abspath(path) != os.path.abspath(follower.path)):
            if not path:
                return
            follower = StudyFollower(path, self.study_name)
            if self.model.cols is not None:
                follower.seed(self.model.cols)
            self._follower = follower
        self._run_poll(follower)

    @property
    def reading(self) -> bool:
        """A read of the file is in flight (its answer will reach the views)."""
        w = self._worker
        if w is None:
            return False
        done = getattr(w, "is_done", None)
        return not done if done is not None else bool(getattr(w, "is_running", False))

    def _run_poll(self, follower: Any) -> None:
        if self._polling is follower:  # one read of a follower at a time; the next one after it
            self._poll_again = True
            return
        self._polling, self._poll_again = follower, False
        if self.tasks is not None:
            handle = self.tasks.submit(
                lambda _state, f: f.poll(),
                follower,
                name=f"read {os.path.basename(follower.path)}",
                channel=f"analysis-load:{id(self)}",
                handles_errors=True,
            )
            handle.succeeded.connect(lambda result: self._polled(result, follower.path))
            handle.failed.connect(self._failed)
            handle.ended.connect(lambda: self._poll_ended(follower))
            self._worker = handle
            return
        from superqt.utils import create_worker

        worker = create_worker(follower.poll, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result: self._polled(result, follower.path))
        worker.errored.connect(self._failed)
        worker.finished.connect(lambda: self._poll_ended(follower))
        self._worker = worker
        worker.start()

    def _poll_ended(self, follower: Any) -> None:
        if self._polling is not follower:
            return  # a read of a follower since replaced (a new file): its successor runs
        self._polling = None
        if self._poll_again and getattr(self, "_follower", None) is follower:
            self._run_poll(follower)

    def _polled(self, result: Any, path: str) -> None:
        if result.full or self.model.cols is None:
            self.set_columns(result.columns, path)
        elif len(result.columns):
            self.append_trials(result.columns)

    def set_columns(self, cols: TrialColumns, path: str = "") -> None:
        self.model.set_columns(cols, path)
        self.objective_combo.blockSignals(True)
        self.objective_combo.clear()
        self.objective_combo.addItems(list(cols.study.objective_names))
        self.objective_combo.setCurrentIndex(self.model.objective)
        self.objective_combo.blockSignals(False)
        self._refresh_visible()
        self.loaded.emit()

    def append_trials(self, new: TrialColumns) -> int:
        """Merge newer trials; the visible view redraws within ``REDRAW_MS`` (throttled)."""
        return self.model.append(new)

    def _failed(self, error: BaseException) -> None:
        line = str(error).splitlines()[0] if str(error) else type(error).__name__
        self.status.setText(line)
        self.load_failed.emit(line)

    # -- redraw --------------------------------------------------------------------------------
    def _columns_changed(self) -> None:
        for view in self.views.values():
            view.dirty = True
        cols = self.model.cols
        if cols is not None:
            self.status.setText(f"{cols.study.name}: {len(cols)} trials")
        if not self._timer.isActive():
            self._timer.start()

    def _refresh_visible(self) -> None:
        view = self.tabs.currentWidget()
        if isinstance(view, AnalysisView):
            view.refresh()

    def flush(self) -> None:
        """Redraw the visible view now (instead of at the next throttle tick)."""
        self._timer.stop()
        self._refresh_visible()

    def _objective_chosen(self, index: int) -> None:
        if index >= 0:
            self.model.set_objective(index)

    def current_view(self) -> AnalysisView:
        return self.tabs.currentWidget()  # type: ignore[return-value]

    def show_view(self, key: str) -> AnalysisView:
        view = self.views[key]
        self.tabs.setCurrentWidget(view)
        view.refresh()
        return view

    # -- export --------------------------------------------------------------------------------
    def export_view(self, path: str, key: Optional[str] = None) -> str:
        """The current (or named) view as PNG/SVG (the table: CSV; the summary: HTML)."""
        view = self.views[key] if key else self.current_view()
        view.refresh()
        return view.export(path)

    def _export_clicked(self) -> None:
        view = self.current_view()
        if isinstance(view, TrialTableView):
            filters = "CSV (*.csv)"
        elif isinstance(view, SummaryView):
            filters = "HTML (*.html)"
        else:
            filters = "PNG image (*.png);;SVG image (*.svg)"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {view.title}", "", filters)
        if path:
            view.export(path)


def view_keys() -> List[str]:
    return list(VIEW_KEYS)
