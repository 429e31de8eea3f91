"""The trial table with filters, CSV export and one trial's command/stdout/stderr on demand."""

from __future__ import annotations

import threading
from typing import Callable, Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QWidget,
)

from ...analysis import run_files
from ...analysis.columns import TrialState
from ...analysis.export import export_csv
from .base import AnalysisView
from .model import AnalysisModel
from .table_model import TrialTableModel

FilesProvider = Callable[[str, int], "run_files.TrialFiles"]


class _FilesRelay(QObject):
    arrived = Signal(object)


class TrialTableView(AnalysisView):
    """``table_model`` holds the rows; ``files_provider(db_path, number)`` fetches a trial's
    files (default: the run folder beside the database; the monitor may pass a remote one)."""

    title = "Trials"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        self.files_provider: FilesProvider = run_files.trial_files
        bar = QHBoxLayout()
        self.state_combo = QComboBox()
        self.state_combo.addItem("all states", None)
        for s in TrialState:
            self.state_combo.addItem(s.name.lower(), int(s))
        self.search = QLineEdit()
        self.search.setPlaceholderText("filter: number, state, host, reason, choice…")
        self.count_label = QLabel("")
        export = QPushButton("Export CSV…")
        export.clicked.connect(self._export_clicked)
        for w in (self.state_combo, self.search):
            bar.addWidget(w)
        bar.addWidget(self.count_label, 1)
        bar.addWidget(export)
        self._layout.addLayout(bar)
        self.table_model = TrialTableModel(model, self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)  # a long fail reason fits
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.details = QTabWidget()
        self.command_text, self.stdout_text, self.stderr_text = (QPlainTextEdit() for _ in range(3))
        for w, name in (
            (self.command_text, "command"),
            (self.stdout_text, "stdout"),
            (self.stderr_text, "stderr"),
        ):
            w.setReadOnly(True)
            self.details.addTab(w, name)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setSizes([500, 160])
        self._layout.addWidget(split, 1)
        self._relay = _FilesRelay()
        self._relay.arrived.connect(self._show_files)
        self._wanted: Optional[int] = None
        self.state_combo.currentIndexChanged.connect(
            lambda _: self.table_model.set_state_filter(self.state_combo.currentData())
        )
        self.search.textChanged.connect(self._search_changed)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _: self._row_chosen(cur))
        model.selection_changed.connect(self._selection_changed)

    def redraw(self) -> None:
        self.table_model.rebuild()
        self._update_count()

    def _selection_changed(self) -> None:
        self.dirty = True
        self.refresh()

    def _search_changed(self, text: str) -> None:
        self.table_model.set_text_filter(text)
        self._update_count()

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.table_model.rowCount()} of {self.model.n} trials")

    # -- a trial's files -------------------------------------------------------------------------
    def _row_chosen(self, index: object) -> None:
        row = self.table_model.row_of_index(index)
        if row is None or self.model.cols is None:
            return
        self.show_trial(int(self.model.cols.number[row]))

    def show_trial(self, number: int, wait: bool = False) -> None:
        """Show a trial's command/stdout/stderr (read off the GUI thread)."""
        self._wanted = number
        for w in (self.command_text, self.stdout_text, self.stderr_text):
            w.setPlainText("loading…")
        path, provider = self.model.path, self.files_provider

        def work() -> None:
            try:
                files = provider(path, number)
            except Exception as e:  # noqa: BLE001 - shown in the panel
                files = e
            self._relay.arrived.emit((number, files))

        t = threading.Thread(target=work, daemon=True)
        t.start()
        if wait:
            t.join()

    def _show_files(self, payload: object) -> None:
        number, files = payload  # type: ignore[misc]
        if number != self._wanted:
            return
        if isinstance(files, Exception):
            for w in (self.command_text, self.stdout_text, self.stderr_text):
                w.setPlainText(f"cannot read the files of trial {number}: {files}")
            return
        cmd = files.command
        if cmd is None and self.model.cols is not None:
            row = self.model.cols.row_of(number)
            attr = self.model.cols.user_attrs.get("oo_command")
            cmd = None if (row is None or attr is None) else attr[row]
        missing = f"(no such file in {files.folder})"
        self.command_text.setPlainText(cmd if cmd else missing)
        self.stdout_text.setPlainText(files.stdout if files.stdout is not None else missing)
        self.stderr_text.setPlainText(files.stderr if files.stderr is not None else missing)

    # -- export --------------------------------------------------------------------------------
    def export_csv(self, path: str) -> int:
        """The rows shown (filters applied), in trial-number order."""
        cols = self.model.cols
        rows = self.table_model.rows
        return export_csv(cols.take(rows[rows.argsort()]), path)

    def export(self, path: str) -> str:
        self.export_csv(path)
        return path

    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export trials as CSV", "trials.csv", "CSV (*.csv)"
        )
        if path:
            self.export_csv(path)
