"""Qt table models over the list sections of a StudyDocument: parameters, objectives,
constraints. Edits go through the document; cells named by an issue are marked (red
background, ``ISSUE_ROLE`` = the messages, tooltip = the messages)."""

from __future__ import annotations

import csv
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ...study.document import Change, ChangeKind, StudyDocument
from ...study.model import Direction, ParamType
from ...study.template import format_value
from .tips import tip

ISSUE_ROLE = Qt.ItemDataRole.UserRole + 1
INVALID_BRUSH = QBrush(QColor("#ffcdd2"))
DISABLED_BRUSH = QBrush(QColor("#9e9e9e"))
Index = QModelIndex | QPersistentModelIndex


def parse_scalar(text: str) -> Any:
    """A value as typed: true/false → bool, whole number → int, number → float, else text."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_number(text: str, integer: bool) -> int | float | None:
    """Empty → None; raises ValueError when not a number."""
    t = text.strip()
    if not t:
        return None
    if integer:
        try:
            return int(t)
        except ValueError:
            pass
    value = float(t)
    return int(value) if integer and value.is_integer() else value


def format_scalar(v: Any) -> str:
    if isinstance(v, str):
        return v if (v == v.strip() and "," not in v and parse_scalar(v) == v) else f'"{v}"'
    return format_value(v)


def parse_list(text: str) -> list[Any]:
    """Comma-separated values; "quoted, text" keeps its comma."""
    row = next(csv.reader([text], skipinitialspace=True), [])
    return [parse_scalar(x) for x in row if x.strip() != ""]


class _DocTableModel(QAbstractTableModel):
    section = ""
    headers: list[str] = []
    fields: list[str] = []

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.doc: StudyDocument | None = None

    # -- document --------------------------------------------------------------------------
    def set_document(self, doc: StudyDocument | None) -> None:
        self.beginResetModel()
        self.doc = doc
        self.endResetModel()

    def on_change(self, change: Change) -> None:
        k = change.kind
        if k is ChangeKind.RESET or (
            k in (ChangeKind.INSERTED, ChangeKind.REMOVED, ChangeKind.MOVED)
            and change.path[:1] == (self.section,)
        ):
            self.beginResetModel()
            self.endResetModel()
        elif k is ChangeKind.EDITED and change.path[:1] == (self.section,):
            row = self._row_of(change.path)
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
        elif k is ChangeKind.ISSUES_CHANGED and self.rowCount():
            self.dataChanged.emit(
                self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1)
            )

    def _row_of(self, path: tuple) -> int:
        return int(path[1])

    def items(self) -> list:
        raise NotImplementedError

    # -- Qt --------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.doc is None else len(self.items())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation is Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.headers[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return tip((self.section, self.fields[section]))
        elif role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None

    def cell_path(self, row: int, column: int) -> tuple:
        return (self.section, row, self.fields[column])

    def cell_issues(self, row: int, column: int) -> list[str]:
        if self.doc is None:
            return []
        path = self.cell_path(row, column)
        msgs = [i.message for i in self.doc.issues_at(path, prefix=True)]
        if column == 0:  # row-level issues ("parameter", i) show on the first cell
            msgs += [i.message for i in self.doc.issues_at(path[:-1])]
        return msgs

    def row_issues(self, row: int) -> list[str]:
        if self.doc is None:
            return []
        return [i.message for i in self.doc.issues_at((self.section, row), prefix=True)]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.doc is None:
            return None
        r, c = index.row(), index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self.text(r, c, role == Qt.ItemDataRole.EditRole)
        if role == Qt.ItemDataRole.CheckStateRole:
            return self.check_state(r, c)
        if role == ISSUE_ROLE:
            return self.cell_issues(r, c)
        if role == Qt.ItemDataRole.BackgroundRole:
            return INVALID_BRUSH if self.cell_issues(r, c) else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return None if self.applies(r, c) else DISABLED_BRUSH
        if role == Qt.ItemDataRole.ToolTipRole:
            msgs = self.cell_issues(r, c)
            base = tip(self.cell_path(r, c))
            return "\n".join([*msgs, base]) if msgs else base
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid() or not self.applies(index.row(), index.column()):
            return f
        if self.check_state(index.row(), index.column()) is not None:
            return f | Qt.ItemFlag.ItemIsUserCheckable
        return f | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if self.doc is None or not index.isValid():
            return False
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.CheckStateRole:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            self.doc.set(self.cell_path(r, c), checked)
            return True
        if role != Qt.ItemDataRole.EditRole:
            return False
        try:
            path, parsed = self.parse(r, c, str(value))
        except ValueError:
            return False
        self.doc.set(path, parsed)
        return True

    # -- per-model -------------------------------------------------------------------------
    def text(self, row: int, column: int, editing: bool) -> str:
        raise NotImplementedError

    def parse(self, row: int, column: int, text: str) -> tuple[tuple, Any]:
        return self.cell_path(row, column), text

    def applies(self, row: int, column: int) -> bool:
        return True

    def check_state(self, row: int, column: int) -> Qt.CheckState | None:
        return None


class ParameterTableModel(_DocTableModel):
    section = "parameter"
    headers = ["Name", "Type", "Low", "High", "Step", "Log", "Values / value", "When"]
    fields = ["name", "type", "low", "high", "step", "log", "values", "when"]
    NAME, TYPE, LOW, HIGH, STEP, LOG, VALUES, WHEN = range(8)

    def items(self) -> list:
        return self.doc.study.parameters if self.doc else []

    def cell_path(self, row: int, column: int) -> tuple:
        if column == self.VALUES and self.items()[row].type is ParamType.FIXED:
            return ("parameter", row, "value")
        return ("parameter", row, self.fields[column])

    def applies(self, row: int, column: int) -> bool:
        t = self.items()[row].type
        ranged = t in (ParamType.FLOAT, ParamType.INT)
        if column in (self.LOW, self.HIGH, self.STEP, self.LOG):
            return ranged
        if column == self.VALUES:
            return not ranged
        return True

    def check_state(self, row: int, column: int) -> Qt.CheckState | None:
        if column != self.LOG or not self.applies(row, column):
            return None
        return Qt.CheckState.Checked if self.items()[row].log else Qt.CheckState.Unchecked

    def text(self, row: int, column: int, editing: bool) -> str:
        p = self.items()[row]
        if column == self.NAME:
            return p.name
        if column == self.TYPE:
            return p.type.value
        if not self.applies(row, column):
            return "" if editing else "—"
        if column in (self.LOW, self.HIGH, self.STEP):
            v = getattr(p, self.fields[column])
            return "" if v is None else format_value(v)
        if column == self.LOG:
            return ""
        if column == self.VALUES:
            if p.type is ParamType.FIXED:
                return "" if p.value is None else format_scalar(p.value)
            return ", ".join(format_scalar(v) for v in p.values)
        return p.when or ""

    def parse(self, row: int, column: int, text: str) -> tuple[tuple, Any]:
        p = self.items()[row]
        path = self.cell_path(row, column)
        if column == self.TYPE:
            return path, ParamType(text)
        if column in (self.LOW, self.HIGH, self.STEP):
            return path, parse_number(text, p.type is ParamType.INT)
        if column == self.VALUES:
            if p.type is ParamType.FIXED:
                return path, (parse_scalar(text) if text.strip() else None)
            return path, parse_list(text)
        if column == self.WHEN:
            return path, text.strip() or None
        return path, text.strip()


class ObjectiveTableModel(_DocTableModel):
    section = "objective"
    headers = ["Name", "Direction"]
    fields = ["name", "direction"]

    def items(self) -> list:
        return self.doc.study.objectives if self.doc else []

    def text(self, row: int, column: int, editing: bool) -> str:
        o = self.items()[row]
        return o.name if column == 0 else o.direction.value

    def parse(self, row: int, column: int, text: str) -> tuple[tuple, Any]:
        path = self.cell_path(row, column)
        return path, (text.strip() if column == 0 else Direction(text))


class ConstraintListModel(_DocTableModel):
    section = "constraints"
    headers = ["Constraint"]
    fields = ["rules"]

    def items(self) -> list:
        return self.doc.study.constraints if self.doc else []

    def _row_of(self, path: tuple) -> int:
        return int(path[2]) if len(path) > 2 else int(path[1])

    def cell_path(self, row: int, column: int) -> tuple:
        return ("constraints", "rules", row)

    def cell_issues(self, row: int, column: int) -> list[str]:
        if self.doc is None:
            return []
        return [i.message for i in self.doc.issues_at(self.cell_path(row, column))]

    def row_issues(self, row: int) -> list[str]:
        return self.cell_issues(row, 0)

    def text(self, row: int, column: int, editing: bool) -> str:
        return self.items()[row]

    def parse(self, row: int, column: int, text: str) -> tuple[tuple, Any]:
        return self.cell_path(row, column), text.strip()
