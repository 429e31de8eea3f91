"""One click on a bundled example: copy it, run it locally, watch its plots fill in.

:class:`ExampleRun` chains what a new user would otherwise do by hand: the example is copied
to the user's data folder and opened (``MainWindow.open_example``); a local run starts at once
in a fresh run folder (``launch.launch_local``, workers from the study, no questions); as soon
as the run's database exists the analysis window opens and follows it live. When the run ends
the window reads the last trials and stops polling.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal

from ..study import run_layout as L
from .tasks import TaskHandle

if TYPE_CHECKING:
    from .main_window import MainWindow


def fresh_run_dir(study_file: str, study_name: str) -> str:
    """The study's run folder, or ``<it>-2``, ``-3``… when it is taken: every click on ▶ Run
    makes a new run (earlier runs stay as they are, nothing is overwritten)."""
    base = L.default_run_dir(study_file, study_name)
    path, n = base, 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}"
    return path


class ExampleRun(QObject):
    """One ▶ Run of an example, from the copy to the live analysis window."""

    run_started = Signal(object)  # the local run's TaskHandle
    analysis_opened = Signal(object)  # the AnalysisWindow, following the run
    ended = Signal()  # the run is over (or never started)

    def __init__(self, window: MainWindow, example_path: str) -> None:
        super().__init__(window)
        self.window = window
        self.example_path = example_path
        self.run: TaskHandle | None = None
        self.run_dir = ""
        self.analysis: Any = None
        self.is_done = False

    def start(self) -> None:
        opening = self.window.open_example(self.example_path)
        # MainWindow._opened (connected first) has shown the copy when this runs
        opening.succeeded.connect(self._opened)
        opening.failed.connect(lambda _e: self._finish())
        opening.cancelled.connect(self._finish)

    def _opened(self, result: tuple[Any, str]) -> None:
        from .launch import launch_local

        study_file = result[1]
        doc = self.window.doc
        if doc is None or doc.path != study_file or not doc.is_valid:
            self._finish()  # the editor shows what is wrong with it
            return
        workers = max(1, min(doc.study.resources.workers, os.cpu_count() or 1))
        self.run_dir = fresh_run_dir(study_file, doc.study.name)
        self.run = launch_local(self.window, workers, self.run_dir)
        if self.run is None:
            self._finish()
            return
        self.run.partial_result_arrived.connect(self._progress)
        self.run.ended.connect(self._run_ended)
        self.run_started.emit(self.run)

    def _progress(self, _progress: Any) -> None:
        if self.analysis is None:
            self._open_analysis(follow=True)

    def _open_analysis(self, follow: bool) -> None:
        from .launch import open_analysis, result_file

        db = result_file(self.run_dir)
        if db is None:
            return
        self.analysis = open_analysis(self.window, db, follow=follow)
        if self.analysis is None:
            return
        panel = getattr(self.analysis, "panel", None)
        if panel is not None:
            panel.loaded.connect(self._first_view, Qt.ConnectionType.SingleShotConnection)
        self.analysis_opened.emit(self.analysis)

    def _first_view(self) -> None:
        """Start on a plot that grows as trials finish (not the summary text)."""
        panel = self.analysis.panel
        cols = panel.model.cols
        multi = cols is not None and cols.study.is_multi_objective
        panel.show_view("pareto" if multi else "history")

    def _run_ended(self) -> None:
        if self.analysis is None:
            self._open_analysis(follow=False)  # a run too quick to watch: show its results
        elif hasattr(self.analysis, "set_following"):
            try:
                self.analysis.panel.poll(self.analysis.path)  # the last trials
                self.analysis.set_following(False)
            except RuntimeError:  # the user closed (and Qt deleted) the window
                pass
        self._finish()

    def _finish(self) -> None:
        if not self.is_done:
            self.is_done = True
            self.ended.emit()
