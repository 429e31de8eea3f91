"""Table panels for the list sections: parameters, objectives, constraints.

Each is a table view over a document model with add / remove / (duplicate) / move buttons and
keyboard shortcuts (Insert, Delete, Ctrl+D, Alt+Up, Alt+Down while the table has focus), plus
a message line under the table with the issues of the selected row.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...study.document import Change, StudyDocument
from ...study.model import Direction, ParamType
from .choice_values import ChoiceValuesDialog
from .delegates import ComboDelegate, NumberDelegate
from .fields import issue_label, show_issues
from .table_models import (
    ConstraintListModel,
    ObjectiveTableModel,
    ParameterTableModel,
    _DocTableModel,
)


class ListPanel(QWidget):
    """A document list shown as a table with buttons."""

    row_selected = Signal(int)

    def __init__(
        self,
        model: _DocTableModel,
        name: str,
        noun: str,
        duplicate: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name + "_panel")
        self.model = model
        self.doc: StudyDocument | None = None
        self.noun = noun
        self.view = QTableView()
        self.view.setObjectName(name + "_table")
        self.view.setModel(model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.view.setTabKeyNavigation(True)
        self.view.setCornerButtonEnabled(False)
        self.view.setAlternatingRowColors(True)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.setToolTip(
            f"{noun.capitalize()}s: F2 or typing edits a cell; Tab moves on; Insert adds, "
            "Delete removes, Alt+Up/Alt+Down reorders"
            + (", Ctrl+D duplicates" if duplicate else "")
        )
        self.message = issue_label()
        self.message.setObjectName(name + "_issues")
        self.buttons = QHBoxLayout()
        self.add_button = self._button("&Add", f"Add a {noun} (Insert)", self.add, "Ins")
        self.dup_button = None
        if duplicate:
            self.dup_button = self._button(
                "D&uplicate", f"Duplicate the selected {noun} (Ctrl+D)", self.duplicate, "Ctrl+D"
            )
        self.remove_button = self._button(
            "&Remove", f"Remove the selected {noun} (Delete)", self.remove, "Del"
        )
        self.up_button = self._button("Move up", f"Move the {noun} up (Alt+Up)", self.up, "Alt+Up")
        self.down_button = self._button(
            "Move down", f"Move the {noun} down (Alt+Down)", self.down, "Alt+Down"
        )
        self.buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        layout.addLayout(self.buttons)
        self.view.selectionModel().currentChanged.connect(lambda *_: self._selection_changed())
        model.modelReset.connect(self._update_buttons)
        model.dataChanged.connect(lambda *_: self._show_row_issues())

    def _button(self, text: str, tooltip: str, slot: Callable[[], None], key: str) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tooltip)
        b.setObjectName(f"{self.objectName()}_{text.replace('&', '').replace(' ', '_').lower()}")
        b.clicked.connect(slot)
        self.buttons.addWidget(b)
        sc = QShortcut(QKeySequence(key), self.view)
        sc.setContext(Qt.ShortcutContext.WidgetShortcut)
        sc.activated.connect(slot)
        return b

    # -- document --------------------------------------------------------------------------
    min_column_width = 72

    def set_document(self, doc: StudyDocument | None) -> None:
        self.doc = doc
        self.model.set_document(doc)
        self.fit_columns()
        self._selection_changed()

    def fit_columns(self) -> None:
        """Columns as wide as their content, never cramped; the last one takes the rest."""
        self.view.resizeColumnsToContents()
        header = self.view.horizontalHeader()
        for c in range(self.model.columnCount() - 1):
            if header.sectionSize(c) < self.min_column_width:
                header.resizeSection(c, self.min_column_width)

    def on_change(self, change: Change) -> None:
        self.model.on_change(change)

    # -- selection -------------------------------------------------------------------------
    def current_row(self) -> int:
        idx = self.view.currentIndex()
        return idx.row() if idx.isValid() else -1

    def select_row(self, row: int, column: int = 0) -> None:
        if 0 <= row < self.model.rowCount():
            idx = self.model.index(row, column)
            self.view.selectionModel().setCurrentIndex(
                idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.view.scrollTo(idx)
        self._selection_changed()

    def _selection_changed(self) -> None:
        self._update_buttons()
        self._show_row_issues()
        self.row_selected.emit(self.current_row())

    def _show_row_issues(self) -> None:
        row = self.current_row()
        if self.doc is None:
            show_issues(self.message, [])
            return
        if row >= 0:
            msgs = self.model.row_issues(row)
        else:  # nothing selected: every issue of the list
            msgs = [i.message for i in self.doc.issues_at((self.model.section,), prefix=True)]
        show_issues(self.message, list(dict.fromkeys(msgs)))

    def _update_buttons(self) -> None:
        row, n = self.current_row(), self.model.rowCount()
        has_doc = self.doc is not None
        self.add_button.setEnabled(has_doc)
        for b in (self.remove_button, self.dup_button):
            if b is not None:
                b.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < n - 1)

    # -- actions (subclasses call the document) ---------------------------------------------
    def _after(self, row: int) -> None:
        col = max(self.view.currentIndex().column(), 0)
        self.select_row(row, col)
        self.view.setFocus()

    def add(self) -> None:
        raise NotImplementedError

    def duplicate(self) -> None:
        pass

    def remove(self) -> None:
        raise NotImplementedError

    def move(self, row: int, new_row: int) -> None:
        raise NotImplementedError

    def up(self) -> None:
        row = self.current_row()
        if row > 0:
            self.move(row, row - 1)
            self._after(row - 1)

    def down(self) -> None:
        row = self.current_row()
        if 0 <= row < self.model.rowCount() - 1:
            self.move(row, row + 1)
            self._after(row + 1)


class ParameterPanel(ListPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            ParameterTableModel(), "parameter", "parameter", duplicate=True, parent=parent
        )
        m = ParameterTableModel
        self.view.setItemDelegateForColumn(
            m.TYPE, ComboDelegate([t.value for t in ParamType], self)
        )
        numbers = NumberDelegate(self)
        for col in (m.LOW, m.HIGH, m.STEP):
            self.view.setItemDelegateForColumn(col, numbers)
        self.values_button = self._button(
            "Edit &values…",
            "Edit the value list of the selected choice parameter",
            self.edit_values,
            "Ctrl+E",
        )
        self.hint = QLabel(
            "Use a parameter in the command as %(name). Choice values: comma-separated, "
            "or Edit values…"
        )
        self.hint.setWordWrap(True)
        self.layout().insertWidget(0, self.hint)

    def _update_buttons(self) -> None:
        super()._update_buttons()
        if hasattr(self, "values_button"):
            row = self.current_row()
            is_choice = (
                self.doc is not None
                and 0 <= row < len(self.doc.study.parameters)
                and self.doc.study.parameters[row].type is ParamType.CHOICE
            )
            self.values_button.setEnabled(is_choice)

    def on_change(self, change: Change) -> None:
        super().on_change(change)
        self._update_buttons()

    def add(self) -> None:
        if self.doc is not None:
            row = self.current_row()
            self._after(self.doc.add_parameter(index=row + 1 if row >= 0 else None))

    def duplicate(self) -> None:
        row = self.current_row()
        if self.doc is not None and row >= 0:
            self._after(self.doc.duplicate_parameter(row))

    def remove(self) -> None:
        row = self.current_row()
        if self.doc is not None and row >= 0:
            self.doc.remove_parameter(row)
            self._after(min(row, self.model.rowCount() - 1))

    def move(self, row: int, new_row: int) -> None:
        if self.doc is not None:
            self.doc.move_parameter(row, new_row)

    def edit_values(self) -> None:
        row = self.current_row()
        if self.doc is None or row < 0:
            return
        p = self.doc.study.parameters[row]
        if p.type is not ParamType.CHOICE:
            return
        dialog = ChoiceValuesDialog(p.name, p.values, self)
        if dialog.exec():
            self.doc.set(("parameter", row, "values"), dialog.values())


class ObjectivePanel(ListPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(ObjectiveTableModel(), "objective", "objective", parent=parent)
        self.view.setItemDelegateForColumn(1, ComboDelegate([d.value for d in Direction], self))

    def add(self) -> None:
        if self.doc is not None:
            self._after(self.doc.add_objective())

    def remove(self) -> None:
        row = self.current_row()
        if self.doc is not None and row >= 0:
            self.doc.remove_objective(row)
            self._after(min(row, self.model.rowCount() - 1))

    def move(self, row: int, new_row: int) -> None:
        if self.doc is not None:
            self.doc.move_objective(row, new_row)


class ConstraintPanel(ListPanel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(ConstraintListModel(), "constraint", "constraint", parent=parent)

    def add(self) -> None:
        if self.doc is not None:
            row = self.doc.add_constraint("")
            self._after(row)
            self.view.edit(self.model.index(row, 0))

    def remove(self) -> None:
        row = self.current_row()
        if self.doc is not None and row >= 0:
            self.doc.remove_constraint(row)
            self._after(min(row, self.model.rowCount() - 1))

    def move(self, row: int, new_row: int) -> None:
        if self.doc is not None:
            self.doc.move_constraint(row, new_row)
