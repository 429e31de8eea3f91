"""The trial table's model: a QAbstractTableModel over the numpy columns.

Rows are an index array into the columns (filtered and sorted with numpy), so 100,000 trials
stay instant: Qt only asks for the cells it shows. The best trial (or the Pareto front) is
highlighted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QBrush, QColor

from ...analysis.columns import TrialColumns, TrialState, state_name
from ...study import trial_attrs as A
from .model import AnalysisModel

HIGHLIGHT = QBrush(QColor(255, 240, 150))


@dataclass(frozen=True)
class Column:
    title: str
    key: Callable[[TrialColumns], np.ndarray]  # sort key over all rows
    text: Callable[[TrialColumns, int], str]
    full: Optional[Callable[[TrialColumns, int], str]] = None  # tooltip: the value in full


def _num(v: Any) -> str:
    if v is None:
        return ""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return ""
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else f"{f:.6g}"


def _attr_text(key: str) -> Callable[[TrialColumns, int], str]:
    def text(c: TrialColumns, i: int) -> str:
        a = c.user_attrs.get(key)
        if a is None:
            return ""
        v = a[i]
        return _num(v) if a.dtype.kind == "f" else ("" if v is None else str(v))

    return text


def _attr_key(key: str) -> Callable[[TrialColumns], np.ndarray]:
    def k(c: TrialColumns) -> np.ndarray:
        a = c.user_attrs.get(key)
        if a is None:
            return np.zeros(len(c))
        return a if a.dtype.kind == "f" else np.array(["" if v is None else str(v) for v in a])

    return k


def columns_for(cols: TrialColumns) -> List[Column]:
    out = [
        Column("#", lambda c: c.number, lambda c, i: str(int(c.number[i]))),
        Column("state", lambda c: c.state, lambda c, i: state_name(c.state[i])),
    ]
    for j, name in enumerate(cols.study.objective_names):
        out.append(
            Column(name, lambda c, j=j: c.values[:, j], lambda c, i, j=j: _num(c.values[i, j]))
        )
    for name in cols.param_names:
        out.append(
            Column(
                name,
                lambda c, n=name: c.params[n],
                lambda c, i, n=name: c.param_info[n].label(c.params[n][i]),
                lambda c, i, n=name: c.param_info[n].text(c.params[n][i]),
            )
        )
    runtime = _runtime_key(cols)
    out.append(Column("runtime", lambda c: runtime, lambda c, i: _num(runtime[i])))
    for key, title in ((A.HOSTNAME, "host"), (A.EXIT_CODE, "exit"), (A.FAIL_REASON, "fail reason")):
        if key in cols.user_attrs:
            text = _attr_text(key)
            out.append(Column(title, _attr_key(key), text, text if key == A.FAIL_REASON else None))
    return out


def _runtime_key(c: TrialColumns) -> np.ndarray:
    rt = c.user_attrs.get(A.RUNTIME)
    if rt is not None and rt.dtype.kind == "f":
        return rt
    return c.complete - c.start


_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class TrialTableModel(QAbstractTableModel):
    def __init__(self, model: AnalysisModel, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.model = model
        self.columns: List[Column] = []
        self.rows = np.empty(0, dtype=int)
        self.sort_column = 0
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.state_filter: Optional[int] = None
        self.text_filter = ""
        self._highlight: set = set()

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section].title if section < len(self.columns) else None
        return None

    def data(self, index: QModelIndex, role: int = _DISPLAY) -> Any:
        # called for every visible cell and role at each paint: the cheap answers first
        if role == _DISPLAY:
            cols = self.model.cols
            if cols is None or not index.isValid():
                return None
            return self.columns[index.column()].text(cols, int(self.rows[index.row()]))
        if role == _ALIGNMENT:
            return None if index.column() == 1 else _RIGHT
        if role == _BACKGROUND and self._highlight and index.isValid():
            return HIGHLIGHT if int(self.rows[index.row()]) in self._highlight else None
        if role == _TOOLTIP and index.isValid() and self.model.cols is not None:
            full = self.columns[index.column()].full
            return None if full is None else full(self.model.cols, int(self.rows[index.row()]))
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column, self.sort_order = column, order
        self.rebuild()

    # -- rows ----------------------------------------------------------------------------------
    def set_state_filter(self, state: Optional[int]) -> None:
        self.state_filter = state
        self.rebuild()

    def set_text_filter(self, text: str) -> None:
        self.text_filter = text.strip()
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute columns, filtered rows and their order from the model's trials."""
        cols = self.model.cols
        self.beginResetModel()
        try:
            if cols is None:
                self.columns, self.rows = [], np.empty(0, dtype=int)
                return
            self.columns = columns_for(cols)
            mask = np.ones(len(cols), dtype=bool)
            if self.state_filter is not None:
                mask &= cols.state == self.state_filter
            sel = self.model.selection
            if sel is not None and len(sel) == len(cols):
                mask &= sel
            if self.text_filter:
                mask &= self._text_mask(cols, self.text_filter)
            rows = np.flatnonzero(mask)
            col = min(self.sort_column, len(self.columns) - 1)
            key = np.asarray(self.columns[col].key(cols))[rows]
            if key.dtype.kind in "fiu":
                k = key.astype(float)
                value = np.nan_to_num(k)
                if self.sort_order != Qt.SortOrder.AscendingOrder:
                    value = -value
                order = np.lexsort((rows, value, np.isnan(k)))  # NaN last, then by value
            else:
                order = np.argsort(key, kind="stable")
                if self.sort_order == Qt.SortOrder.DescendingOrder:
                    order = order[::-1]
            self.rows = rows[order]
            self._highlight = set(int(r) for r in self.model.highlighted_rows())
        finally:
            self.endResetModel()

    @staticmethod
    def _text_mask(cols: TrialColumns, text: str) -> np.ndarray:
        t = text.lower()
        mask = np.zeros(len(cols), dtype=bool)
        if t.isdigit():
            mask |= cols.number == int(t)
        names = np.array([s.name.lower() for s in TrialState])
        state_text = names[np.clip(cols.state.astype(int), 0, len(names) - 1)]
        mask |= np.char.find(state_text.astype(str), t) >= 0
        for key in (A.HOSTNAME, A.WORKER, A.FAIL_REASON, A.COMMAND):
            a = cols.user_attrs.get(key)
            if a is not None and a.dtype.kind == "O":
                s = np.array(["" if v is None else str(v).lower() for v in a])
                mask |= np.char.find(s, t) >= 0
        for name in cols.param_names:
            info = cols.param_info[name]
            if info.is_categorical:
                hit = [i for i, c in enumerate(info.choices) if t in str(c).lower()]
                if hit:
                    mask |= np.isin(cols.params[name], hit)
        return mask

    def row_of_index(self, index: QModelIndex) -> Optional[int]:
        return int(self.rows[index.row()]) if index.isValid() else None

    def view_row_of(self, row: int) -> Optional[int]:
        hit = np.flatnonzero(self.rows == row)
        return int(hit[0]) if len(hit) else None
