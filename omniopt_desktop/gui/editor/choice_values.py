"""A dialog to edit the value list of a choice parameter, one value per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .table_models import format_scalar, parse_scalar


class ChoiceValuesDialog(QDialog):
    """Edit ``values``; :meth:`values` gives the result (numbers and true/false are typed)."""

    def __init__(self, name: str, values: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Values of '{name}'")
        self.setObjectName("choice_values_dialog")
        self.list = QListWidget()
        self.list.setObjectName("choice_values_list")
        self.list.setToolTip(
            "One value per row. F2 or double-click edits; numbers and true/false are typed, "
            'wrap a value in quotes to keep it text ("3").'
        )
        for v in values:
            self._add_item(format_scalar(v))
        add = QPushButton("&Add")
        add.setToolTip("Add a value (Insert)")
        remove = QPushButton("&Remove")
        remove.setToolTip("Remove the selected value (Delete)")
        up = QPushButton("Move &up")
        up.setToolTip("Move the selected value up (Alt+Up)")
        down = QPushButton("Move &down")
        down.setToolTip("Move the selected value down (Alt+Down)")
        add.clicked.connect(self.add_value)
        remove.clicked.connect(self.remove_value)
        up.clicked.connect(lambda: self._move(-1))
        down.clicked.connect(lambda: self._move(1))
        for key, slot in (
            ("Ins", self.add_value),
            ("Del", self.remove_value),
            ("Alt+Up", lambda: self._move(-1)),
            ("Alt+Down", lambda: self._move(1)),
        ):
            sc = QShortcut(QKeySequence(key), self.list)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(slot)
        buttons = QVBoxLayout()
        for b in (add, remove, up, down):
            buttons.addWidget(b)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Values the sampler chooses from for '{name}':"))
        layout.addLayout(row)
        layout.addWidget(box)
        self.resize(420, 320)

    def _add_item(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    def add_value(self) -> None:
        item = self._add_item("value")
        self.list.setCurrentItem(item)
        self.list.editItem(item)

    def remove_value(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)

    def _move(self, delta: int) -> None:
        row = self.list.currentRow()
        new = row + delta
        if row < 0 or not 0 <= new < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(new, item)
        self.list.setCurrentRow(new)

    def values(self) -> list[Any]:
        texts = [self.list.item(i).text() for i in range(self.list.count())]
        return [parse_scalar(t) for t in texts if t.strip()]
