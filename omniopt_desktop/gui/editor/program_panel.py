"""The [program] form: command template with an insert-placeholder menu, working folder,
timeout, and a live preview of one sampled command exactly as a trial would run it."""

from __future__ import annotations

import os
import random

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import OmniOptError
from ...study.document import Change, ChangeKind, StudyDocument, preview_command, sample_values
from ...study.template import format_value
from .fields import FormBuilder, line


class ProgramPanel(QWidget):
    preview_delay_ms = 120

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("program_panel")
        self.doc: StudyDocument | None = None
        self._seed = random.randrange(1 << 30)
        form_box = QWidget()
        self.form = FormBuilder(form_box)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.command = line("python3 train.py --lr %(lr)")
        self.command.setFont(mono)
        self.insert_button = QToolButton()
        self.insert_button.setObjectName("insert_placeholder_button")
        self.insert_button.setText("Insert placeholder")
        self.insert_button.setToolTip("Insert %(name) of a parameter at the cursor (Alt+I)")
        self.insert_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.insert_menu = QMenu(self.insert_button)
        self.insert_menu.setObjectName("insert_placeholder_menu")
        self.insert_menu.aboutToShow.connect(self._fill_menu)
        self.insert_button.setMenu(self.insert_menu)
        self.insert_button.setShortcut("Alt+I")
        self.form.add("&Command:", ("program", "command"), self.command, extra=[self.insert_button])

        self.workdir = line(".")
        browse = QPushButton("&Browse…")
        browse.setObjectName("workdir_browse_button")
        browse.setToolTip("Pick the folder the command runs in")
        browse.clicked.connect(self._browse)
        self.form.add("&Working folder:", ("program", "workdir"), self.workdir, extra=[browse])

        self.timeout = line("e.g. 30m, 1h30m, 01:00:00 (empty = no limit)")
        self.form.add("&Timeout:", ("program", "timeout"), self.timeout, kind="optional_text")

        preview_box = QGroupBox("Preview: one sampled trial runs exactly this")
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("command_preview")
        self.preview.setReadOnly(True)
        self.preview.setFont(mono)
        self.preview.setMaximumHeight(90)
        self.preview.setToolTip(
            "The command of one trial with randomly sampled values, quoted as the shell gets it"
        )
        self.preview_values = QLabel()
        self.preview_values.setObjectName("command_preview_values")
        self.preview_values.setWordWrap(True)
        self.preview_values.setToolTip("The sampled parameter values used in the preview")
        again = QPushButton("&Sample again")
        again.setObjectName("resample_button")
        again.setToolTip("Draw other random values for the preview")
        again.clicked.connect(self.resample)
        pv = QVBoxLayout(preview_box)
        pv.addWidget(self.preview)
        pv.addWidget(self.preview_values)
        pv.addWidget(again)

        layout = QVBoxLayout(self)
        layout.addWidget(form_box)
        layout.addWidget(preview_box)
        layout.addStretch(1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.preview_delay_ms)
        self._timer.timeout.connect(self.update_preview)

    def set_document(self, doc: StudyDocument | None) -> None:
        self.doc = doc
        if doc is not None:
            self.form.bind(doc)
        self.update_preview()

    def on_change(self, change: Change) -> None:
        self.form.on_change(change)
        if change.kind not in (ChangeKind.SAVED, ChangeKind.DIRTY_CHANGED):
            self._timer.start()

    def resample(self) -> None:
        self._seed = random.randrange(1 << 30)
        self.update_preview()

    def update_preview(self) -> None:
        self._timer.stop()
        if self.doc is None:
            self.preview.setPlainText("")
            self.preview_values.setText("")
            return
        study = self.doc.study
        try:
            values = sample_values(study, random.Random(self._seed))
            text = preview_command(study, values)
        except OmniOptError as e:
            self.preview.setPlainText(f"(cannot preview: {e})")
            self.preview_values.setText("")
            return
        self.preview.setPlainText(text)
        inactive = [p.name for p in study.parameters if p.name not in values]
        shown = ", ".join(f"{k} = {format_value(v)}" for k, v in values.items())
        if inactive:
            shown += f"   (inactive: {', '.join(inactive)})"
        self.preview_values.setText(shown)

    def _fill_menu(self) -> None:
        self.insert_menu.clear()
        params = self.doc.study.parameters if self.doc else []
        if not params:
            act = self.insert_menu.addAction("(no parameters yet)")
            act.setEnabled(False)
        for p in params:
            act = self.insert_menu.addAction(f"%({p.name})")
            act.setToolTip(f"{p.type.value} parameter '{p.name}'")
            act.triggered.connect(lambda _=False, n=p.name: self.insert_placeholder(n))

    def insert_placeholder(self, name: str) -> None:
        self.command.setFocus()
        self.command.insert(f"%({name})")
        if self.doc is not None:
            self.doc.set(("program", "command"), self.command.text())

    def _browse(self) -> None:
        if self.doc is None:
            return
        base = os.path.dirname(self.doc.path) if self.doc.path else os.getcwd()
        start = os.path.join(base, self.doc.study.program.workdir or ".")
        folder = QFileDialog.getExistingDirectory(self, "Working folder", start)
        if not folder:
            return
        rel = os.path.relpath(folder, base)
        value = rel if not rel.startswith("..") else folder
        self.workdir.setText(value)
        self.doc.set(("program", "workdir"), value)
