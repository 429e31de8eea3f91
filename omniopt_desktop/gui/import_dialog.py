"""Import from OmniOpt: paste a source or open a file; see the study it becomes, what was
ignored and what was approximated, then create it. Conversion runs through the task runner."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..study.model import Study
from .tasks import TaskRunner

SOURCE_FILTER = "OmniOpt sources (*.ini *.txt *.sh *.toml *.yaml *.yml *.json);;All files (*)"


def _convert_text(state: Any, text: str, filename: str | None, base: str | None) -> Any:
    from ..study.importers import import_text

    return import_text(text, filename, base_dir=base)


def _convert_file(state: Any, path: str) -> tuple[str, Any]:
    from ..study.importers import import_file

    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return text, import_file(path)


def _as_toml(result: Any) -> str:
    from ..study.toml_io import dumps_study

    return dumps_study(result.study)


class ImportDialog(QDialog):
    """After ``exec()`` returns true, ``study`` holds the imported study."""

    convert_delay_ms = 300

    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("import_dialog")
        self.setWindowTitle("Import from OmniOpt")
        self.tasks = tasks
        self.study: Study | None = None
        self.result: Any = None
        self._filename: str | None = None
        self._base: str | None = None
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        intro = QLabel(
            "Paste an OmniOpt 1 <tt>config.ini</tt>, an OmniOpt 2 command line (also the web "
            "GUI's <tt>curl … | bash -s -- …</tt> line) or an OmniOpt 2 TOML/YAML/JSON config, "
            "or open such a file."
        )
        intro.setWordWrap(True)
        self.source = QPlainTextEdit()
        self.source.setObjectName("import_source")
        self.source.setFont(mono)
        self.source.setPlaceholderText("./omniopt --parameter x range -5 5 float --run_program …")
        self.source.setToolTip("The OmniOpt source; it is converted as you type")
        self.source.setTabChangesFocus(True)
        self.source.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.source.textChanged.connect(self._source_edited)
        open_button = QPushButton("&Open file…")
        open_button.setObjectName("import_open_button")
        open_button.setToolTip("Read an OmniOpt config.ini, command-line file or config file")
        open_button.clicked.connect(self._open_file)

        self.status = QLabel()
        self.status.setObjectName("import_status")
        self.status.setWordWrap(True)
        self.notes = QListWidget()
        self.notes.setObjectName("import_notes")
        self.notes.setWordWrap(True)
        self.notes.setToolTip("Options that were ignored and forms that have no exact equivalent")
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("import_preview")
        self.preview.setReadOnly(True)
        self.preview.setFont(mono)
        self.preview.setToolTip("The study.toml the source becomes")

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("OmniOpt source:"))
        ll.addWidget(self.source, 1)
        row = QHBoxLayout()
        row.addWidget(open_button)
        row.addStretch(1)
        ll.addLayout(row)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("Resulting study:"))
        rl.addWidget(self.preview, 3)
        rl.addWidget(QLabel("Ignored / approximated:"))
        rl.addWidget(self.notes, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Create study")
        self.ok_button.setObjectName("import_create_button")
        self.ok_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(1000, 620)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.convert_delay_ms)
        self._timer.timeout.connect(self.convert)
        self._loading = False

    # -- conversion ------------------------------------------------------------------------
    def _source_edited(self) -> None:
        if not self._loading:
            self._filename, self._base = None, None
        self.ok_button.setEnabled(False)
        self._timer.start()

    def convert(self) -> Any:
        self._timer.stop()
        text = self.source.toPlainText()
        if not text.strip():
            self._show(None, "")
            return None
        self.status.setText("Converting…")
        h = self.tasks.submit(
            _convert_text,
            text,
            self._filename,
            self._base,
            name="importing",
            channel="import",
            handles_errors=True,
        )
        h.succeeded.connect(lambda r: self._show(r, ""))
        h.failed.connect(lambda e: self._show(None, str(e)))
        return h

    def load_file(self, path: str) -> Any:
        h = self.tasks.submit(
            _convert_file, path, name=f"importing {path}", channel="import", handles_errors=True
        )

        def done(r: tuple[str, Any]) -> None:
            text, result = r
            self._loading = True
            self.source.setPlainText(text)
            self._loading = False
            self._timer.stop()
            self._filename, self._base = path, os.path.dirname(path)
            self._show(result, "")

        h.succeeded.connect(done)
        h.failed.connect(lambda e: self._show(None, str(e)))
        return h

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open OmniOpt source", "", SOURCE_FILTER)
        if path:
            self.load_file(path)

    def _show(self, result: Any, error: str) -> None:
        self.result = result
        self.notes.clear()
        if result is None:
            self.preview.setPlainText("")
            self.status.setText(error)
            self.status.setStyleSheet("color: #c62828;" if error else "")
            self.ok_button.setEnabled(False)
            return
        for text in result.ignored:
            self.notes.addItem(f"ignored: {text}")
        for text in result.approximations:
            self.notes.addItem(f"approximated: {text}")
        self.preview.setPlainText(_as_toml(result))
        kind = getattr(result.source_kind, "label", str(result.source_kind))
        n = len(result.study.parameters)
        self.status.setStyleSheet("")
        self.status.setText(
            f"Read as {kind}: {n} parameter{'s' * (n != 1)}, "
            f"{len(result.ignored)} ignored, {len(result.approximations)} approximated."
        )
        self.ok_button.setEnabled(True)

    def accept(self) -> None:
        if self.result is not None:
            self.study = self.result.study
            super().accept()
