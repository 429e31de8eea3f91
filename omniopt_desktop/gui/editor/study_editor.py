"""The study editor: tabs for study/objectives, parameters, program and resources, and a list
of every current issue (double-click jumps to the field). Listens to one StudyDocument."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...study.document import Change, ChangeKind, StudyDocument
from ...study.unknown_keys import unknown_key_paths
from .fields import INVALID_STYLE
from .general_panels import ResourcesPanel, StudyPanel
from .list_panels import ParameterPanel
from .program_panel import ProgramPanel

TAB_OF_SECTION = {
    "study": 0,
    "objective": 0,
    "constraints": 0,
    "schema_version": 0,
    "parameter": 1,
    "program": 2,
    "resources": 3,
}


class StudyEditor(QWidget):
    """Edits ``document``; emits ``validity_changed(bool)`` when the study becomes (in)valid."""

    validity_changed = Signal(bool)
    document_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("study_editor")
        self.setStyleSheet(INVALID_STYLE)
        self.doc: StudyDocument | None = None
        self._unsubscribe: Any = None
        self.study_panel = StudyPanel()
        self.parameter_panel = ParameterPanel()
        self.program_panel = ProgramPanel()
        self.resources_panel = ResourcesPanel()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("editor_tabs")
        self.tabs.setDocumentMode(True)
        self._titles = ["&Study", "&Parameters", "P&rogram", "Reso&urces"]
        for panel, title in zip(
            (self.study_panel, self.parameter_panel, self.program_panel, self.resources_panel),
            self._titles,
        ):
            wrap = QScrollArea()  # small screens: scroll instead of a huge minimum size
            wrap.setWidgetResizable(True)
            wrap.setFrameShape(QFrame.Shape.NoFrame)
            wrap.setWidget(panel)
            self.tabs.addTab(wrap, title)
        tips = [
            "Name, trials, sampler, storage, objectives and constraints",
            "The search space",
            "The command each trial runs, and its preview",
            "SLURM resources for cluster runs",
        ]
        for i, t in enumerate(tips):
            self.tabs.setTabToolTip(i, t)

        issues_box = QWidget()
        self.issues_title = QLabel()
        self.issues_title.setObjectName("issues_title")
        self.issues = QListWidget()
        self.issues.setObjectName("issues_list")
        self.issues.setToolTip(
            "Everything that keeps the study from running; double-click or Enter jumps to it"
        )
        self.issues.itemActivated.connect(self._jump)
        # keys the file format does not have (max_eval, run_program, typos) match no field
        self.fix_keys = QPushButton("Fix unknown keys")
        self.fix_keys.setObjectName("fix_unknown_keys")
        self.fix_keys.setToolTip(
            "Rename OmniOpt spellings (max_eval → n_trials, run_program → command, min/max → "
            "low/high, …) and remove the other unknown keys; saved with the study"
        )
        self.fix_keys.clicked.connect(self.fix_unknown_keys)
        self.fix_note = QLabel()
        self.fix_note.setObjectName("fix_note")
        title_row = QHBoxLayout()
        title_row.addWidget(self.issues_title)
        title_row.addWidget(self.fix_keys)
        title_row.addWidget(self.fix_note, 1)
        il = QVBoxLayout(issues_box)
        il.setContentsMargins(0, 0, 0, 0)
        il.addLayout(title_row)
        il.addWidget(self.issues)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("editor_splitter")
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(issues_box)
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([600, 90])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self._valid = False

    @property
    def panels(self) -> tuple:
        return (self.study_panel, self.parameter_panel, self.program_panel, self.resources_panel)

    def set_document(self, doc: StudyDocument | None) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        self.doc = doc
        self.fix_note.clear()
        for p in self.panels:
            p.set_document(doc)
        if doc is not None:
            self._unsubscribe = doc.subscribe(self._on_change)
        self._show_issues()

    def _on_change(self, change: Change) -> None:
        for p in self.panels:
            p.on_change(change)
        if change.kind is ChangeKind.ISSUES_CHANGED or (
            change.kind in (ChangeKind.EDITED, ChangeKind.SAVED)
            and (not change.path or change.path[0] == "program")
        ):
            self._show_issues()  # (program warnings depend on the command and the file's folder)
        self.document_changed.emit()

    def _show_issues(self) -> None:
        self.issues.clear()
        issues = self.doc.issues if self.doc else []
        counts = [0, 0, 0, 0]
        for issue in issues:
            item = QListWidgetItem(issue.message)
            item.setData(Qt.ItemDataRole.UserRole, tuple(issue.path))
            item.setToolTip(str(issue))
            self.issues.addItem(item)
            counts[TAB_OF_SECTION.get(str(issue.path[0]) if issue.path else "study", 0)] += 1
        n = len(issues)
        warnings = self._program_warnings() if n == 0 else []
        for warning in warnings:
            item = QListWidgetItem(f"⚠ {warning}")
            item.setData(Qt.ItemDataRole.UserRole, ("program", "command"))
            item.setToolTip("A warning: the study can run, but its trials would fail here")
            item.setForeground(QColor("#9a5b00"))
            self.issues.addItem(item)
        title = "No problems: the study can run." if n == 0 else f"{n} problem{'s' * (n != 1)}:"
        if warnings:
            title += f" {len(warnings)} warning{'s' * (len(warnings) != 1)}:"
        self.issues_title.setText(title)
        self.fix_keys.setVisible(bool(self.doc is not None and unknown_key_paths(self.doc)))
        for i, title in enumerate(self._titles):
            self.tabs.setTabText(i, f"{title} ⚠{counts[i]}" if counts[i] else title)
        valid = self.doc is not None and not issues
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)

    def fix_unknown_keys(self) -> list[str]:
        """Clean up the unknown keys of the document (not saved yet); say what was done."""
        if self.doc is None:
            return []
        done = self.doc.fix_unknown_keys()
        if done:
            self.fix_note.setText(f"{len(done)} key{'s' * (len(done) != 1)} fixed; save to keep")
            self.fix_note.setToolTip("\n".join(done))
        return done

    def _program_warnings(self) -> list[str]:
        """Does the program the command starts exist here? (only for a saved file: the
        workdir is relative to its folder)"""
        if self.doc is None or not self.doc.path:
            return []
        from ...study.program_check import program_warnings

        return program_warnings(self.doc.study, os.path.dirname(os.path.abspath(self.doc.path)))

    @property
    def is_valid(self) -> bool:
        return self._valid

    def _jump(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        self.focus_path(tuple(path))

    def focus_path(self, path: tuple) -> None:
        """Show the tab holding ``path`` and put the keyboard focus on its field or cell."""
        if not path:
            return
        tab = TAB_OF_SECTION.get(str(path[0]), 0)
        self.tabs.setCurrentIndex(tab)
        section = path[0]
        if section == "parameter" and len(path) >= 2:
            panel = self.parameter_panel
            fields = panel.model.fields
            col = fields.index(path[2]) if len(path) > 2 and path[2] in fields else 0
            if len(path) > 2 and path[2] == "value":
                col = panel.model.VALUES
            panel.select_row(int(path[1]), col)
            panel.view.setFocus()
            return
        if section == "objective" and len(path) >= 2:
            self.study_panel.objectives.select_row(int(path[1]))
            self.study_panel.objectives.view.setFocus()
            return
        if section == "constraints" and len(path) >= 3:
            self.study_panel.constraints.select_row(int(path[2]))
            self.study_panel.constraints.view.setFocus()
            return
        for panel in self.panels:
            form = getattr(panel, "form", None)
            for b in form.bindings if form else []:
                if b.path == tuple(path[:2]):
                    b.widget.setFocus()
                    return
