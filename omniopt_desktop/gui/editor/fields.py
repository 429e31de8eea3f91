"""Form fields bound to one path of a :class:`StudyDocument`, marked when invalid.

A :class:`FieldBinding` writes the widget's value into the document as the user types and
reads it back when the document changes; when an issue names its path, the widget gets the
``invalid`` property (styled red) and the message appears in the label beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from ...study.document import Change, ChangeKind, StudyDocument
from .tips import tip

INVALID_STYLE = """
*[invalid="true"] { border: 1px solid #c62828; background: #ffebee; }
QLabel[role="issue"] { color: #c62828; }
"""

INT_TEXT = QRegularExpression(r"^-?\d*$")


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """Mark ``widget`` (and restyle it) when ``invalid`` changes."""
    if bool(widget.property("invalid")) != invalid:
        widget.setProperty("invalid", invalid)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def issue_label() -> QLabel:
    label = QLabel()
    label.setProperty("role", "issue")
    label.setWordWrap(True)
    label.setVisible(False)
    return label


def show_issues(label: QLabel, messages: Sequence[str]) -> None:
    label.setText("\n".join(messages))
    label.setVisible(bool(messages))


class FieldBinding:
    """Binds ``widget`` to ``path``. ``kind`` is one of: text, optional_text, optional_int,
    int, choice (combo box), lines (one list item per line)."""

    def __init__(self, path: tuple, widget: QWidget, kind: str, message: QLabel) -> None:
        self.path = path
        self.widget = widget
        self.kind = kind
        self.message = message
        self.doc: StudyDocument | None = None
        self._updating = False
        base = tip(path)
        widget.setToolTip(base)
        widget.setWhatsThis(base)
        self._base_tip = base
        self._connect()

    # -- widget → document -----------------------------------------------------------------
    def _connect(self) -> None:
        w = self.widget
        if isinstance(w, QLineEdit):
            if self.kind == "optional_int":
                w.setValidator(QRegularExpressionValidator(INT_TEXT, w))
            w.textEdited.connect(self._commit)
        elif isinstance(w, QSpinBox):
            w.valueChanged.connect(self._commit)
        elif isinstance(w, QComboBox):
            if w.isEditable():
                w.editTextChanged.connect(self._commit)
            w.currentTextChanged.connect(self._commit)
        elif isinstance(w, QPlainTextEdit):
            w.textChanged.connect(self._commit)

    def _value(self) -> Any:
        w = self.widget
        if isinstance(w, QSpinBox):
            return w.value()
        if isinstance(w, QComboBox):
            return w.currentText().strip()
        if isinstance(w, QPlainTextEdit):
            return [line.strip() for line in w.toPlainText().splitlines() if line.strip()]
        text = w.text()
        if self.kind == "optional_text":
            return text.strip() or None
        if self.kind == "optional_int":
            t = text.strip()
            return int(t) if t not in ("", "-") else None
        return text

    def _commit(self, *_: Any) -> None:
        if self._updating or self.doc is None:
            return
        self.doc.set(self.path, self._value())

    # -- document → widget -----------------------------------------------------------------
    def bind(self, doc: StudyDocument) -> None:
        self.doc = doc
        self.refresh()
        self.mark()

    def on_change(self, change: Change) -> None:
        if change.kind is ChangeKind.ISSUES_CHANGED:
            self.mark()
        elif change.kind is ChangeKind.RESET or (
            change.kind is ChangeKind.EDITED and change.path == self.path
        ):
            self.refresh()

    def refresh(self) -> None:
        if self.doc is None:
            return
        value = self.doc.get(self.path)
        if value == self._value_or_none():
            return
        self._updating = True
        try:
            w = self.widget
            if isinstance(w, QSpinBox):
                w.setValue(int(value or 0))
            elif isinstance(w, QComboBox):
                text = "" if value is None else str(value)
                i = w.findText(text)
                if i >= 0:
                    w.setCurrentIndex(i)
                if w.isEditable():
                    w.setEditText(text)
            elif isinstance(w, QPlainTextEdit):
                w.setPlainText("\n".join(value or []))
            else:
                w.setText("" if value is None else str(value))
        finally:
            self._updating = False

    def _value_or_none(self) -> Any:
        try:
            return self._value()
        except ValueError:
            return None

    def mark(self) -> None:
        if self.doc is None:
            return
        issues = self.doc.issues_at(self.path, prefix=True)
        messages = [i.message for i in issues]
        set_invalid(self.widget, bool(messages))
        self.widget.setToolTip(
            "\n".join([self._base_tip, *messages]) if messages else self._base_tip
        )
        show_issues(self.message, messages)


class FormBuilder:
    """Builds a QFormLayout of bound fields; each row is label, editor, message below it."""

    def __init__(self, parent: QWidget) -> None:
        self.layout = QFormLayout(parent)
        self.layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.bindings: list[FieldBinding] = []

    def add(
        self,
        label: str,
        path: tuple,
        widget: QWidget,
        kind: str = "text",
        extra: Sequence[QWidget] = (),
        object_name: str | None = None,
    ) -> FieldBinding:
        widget.setObjectName(object_name or "field_" + "_".join(str(p) for p in path))
        message = issue_label()
        message.setObjectName(widget.objectName() + "_issue")
        binding = FieldBinding(path, widget, kind, message)
        box = QWidget()
        col = QHBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(widget, 1)
        for w in extra:
            col.addWidget(w)
        lab = QLabel(label)
        lab.setBuddy(widget)
        lab.setToolTip(binding._base_tip)
        self.layout.addRow(lab, box)
        self.layout.addRow("", message)
        self.bindings.append(binding)
        return binding

    def bind(self, doc: StudyDocument) -> None:
        for b in self.bindings:
            b.bind(doc)

    def on_change(self, change: Change) -> None:
        for b in self.bindings:
            b.on_change(change)


def spin(low: int, high: int) -> QSpinBox:
    s = QSpinBox()
    s.setRange(low, high)
    s.setAccelerated(True)
    return s


def combo(items: Sequence[str], editable: bool = False) -> QComboBox:
    c = QComboBox()
    c.addItems(list(items))
    c.setEditable(editable)
    return c


def line(placeholder: str = "", mono: bool = False) -> QLineEdit:
    e = QLineEdit()
    e.setPlaceholderText(placeholder)
    e.setClearButtonEnabled(False)
    if mono:
        f = e.font()
        f.setFamily("monospace")
        e.setFont(f)
    return e


Committer = Callable[[Any], None]
