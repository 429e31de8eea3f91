"""The analysis window: the panel, a File menu, and reload when the snapshot is replaced."""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from PySide6.QtCore import QFileSystemWatcher, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from ...analysis.columns import TrialColumns
from ...analysis.loader import fingerprint
from .panel import AnalysisPanel

FOLLOW_MS = 2000


class AnalysisWindow(QMainWindow):
    """An analysis window for a loaded study or a path. When the file is replaced by a newer
    snapshot (a fetch), the window reloads it."""

    def __init__(
        self,
        source: Union[TrialColumns, str, None] = None,
        parent: Optional[QWidget] = None,
        tasks: Any = None,
        study_name: Optional[str] = None,
    ) -> None:
        super().__init__(parent)
        self.resize(1280, 860)
        self.panel = AnalysisPanel(None, self, tasks=tasks, study_name=study_name)
        self.setCentralWidget(self.panel)
        self.path: Optional[str] = None
        self._fingerprint = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._file_changed)
        self._watcher.directoryChanged.connect(self._file_changed)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(500)
        self._reload_timer.timeout.connect(self._maybe_reload)
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(FOLLOW_MS)
        self._follow_timer.timeout.connect(self._follow_tick)
        self.panel.loaded.connect(self._loaded)
        self.panel.model.columns_changed.connect(self._loaded)  # appends update the title too
        self.panel.load_failed.connect(self._load_failed)
        self._build_menu()
        self.setWindowTitle("OmniOpt analysis")
        if isinstance(source, TrialColumns):
            self.panel.set_columns(source)
        elif source:
            self.open(os.fspath(source))

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for text, slot, key in (
            ("&Open result database…", self._open_clicked, QKeySequence.StandardKey.Open),
            ("&Reload", self.reload, QKeySequence.StandardKey.Refresh),
            ("&Export view…", self.panel._export_clicked, None),
            ("&Close", self.close, QKeySequence.StandardKey.Close),
        ):
            action = QAction(text, self)
            if key is not None:
                action.setShortcut(key)
            action.triggered.connect(slot)
            menu.addAction(action)
        self.follow_action = QAction("Follow &live (read new trials every 2 s)", self)
        self.follow_action.setCheckable(True)
        self.follow_action.setToolTip(
            "For a study that is still running: new trials appear as they finish"
        )
        self.follow_action.toggled.connect(self.set_following)
        self.menuBar().addMenu("&View").addAction(self.follow_action)

    def set_following(self, on: bool) -> None:
        """Live monitor of a running local study: poll only what changed, every FOLLOW_MS."""
        if self.follow_action.isChecked() != on:
            self.follow_action.setChecked(on)  # re-enters through toggled
            return
        if on:
            self._follow_timer.start()
        else:
            self._follow_timer.stop()
        self._loaded()

    def _follow_tick(self) -> None:
        if self.path and os.path.exists(self.path):
            self.panel.poll(self.path)

    def open(self, path: str) -> None:
        from ...analysis.loader import find_result_file
        from ...errors import AnalysisError

        try:
            path = find_result_file(path)
        except AnalysisError as e:
            self._load_failed(str(e))
            return
        self.path = os.path.abspath(path)
        self._fingerprint = fingerprint(self.path)
        for p in self._watcher.files() + self._watcher.directories():
            self._watcher.removePath(p)
        if os.path.exists(self.path):
            self._watcher.addPath(self.path)
            self._watcher.addPath(os.path.dirname(self.path))
        self.panel.load(self.path)

    def reload(self) -> None:
        if self.path:
            self.open(self.path)

    def _file_changed(self, _path: str) -> None:
        self._reload_timer.start()

    def _maybe_reload(self) -> None:
        now = fingerprint(self.path) if self.path else None
        if now is None or now == self._fingerprint:
            return
        if (
            self._follow_timer.isActive()
            and self._fingerprint is not None
            and now.inode == self._fingerprint.inode
        ):
            # a study being written while we follow it: the poll reads only what changed;
            # a full reload is for a file replaced by a newer snapshot (another inode)
            self._fingerprint = now
            return
        self.reload()

    def _loaded(self) -> None:
        cols = self.panel.model.cols
        if cols is not None:
            where = f" — {self.path}" if self.path else ""
            live = ", following live" if self._follow_timer.isActive() else ""
            self.setWindowTitle(
                f"{cols.study.name} ({len(cols)} trials{live}){where} — OmniOpt analysis"
            )

    def _load_failed(self, line: str) -> None:
        self.statusBar().showMessage(line)
        if self.isVisible():
            QMessageBox.warning(self, "Cannot open the results", line)

    def _open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a result database",
            "",
            "Optuna studies (*.db *.sqlite *.sqlite3 *.journal *.log);;All files (*)",
        )
        if path:
            self.open(path)
