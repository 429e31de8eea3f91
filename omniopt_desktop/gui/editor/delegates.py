"""Cell editors for the study tables: a combo box for enumerations, a checked line edit for
numbers. Both commit as soon as the value is chosen, so validation follows the keyboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QRegularExpression,
)
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex
NUMBER = QRegularExpression(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d*)?$|^$")


class ComboDelegate(QStyledItemDelegate):
    def __init__(self, options: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.options = list(options)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        box = QComboBox(parent)
        box.addItems(self.options)
        box.setToolTip(str(index.data(0x0003) or ""))  # ToolTipRole
        box.activated.connect(lambda _=0, b=box: self.commitData.emit(b))
        return box

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        i = editor.findText(str(index.data()))
        editor.setCurrentIndex(max(i, 0))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentText())


class NumberDelegate(QStyledItemDelegate):
    """A line edit that accepts numbers only (1, -2.5, 1e-3) or nothing."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        edit = QLineEdit(parent)
        edit.setValidator(QRegularExpressionValidator(NUMBER, edit))
        return edit
