"""The analysis window's state: the loaded trials, the chosen objective, the brushed selection.

Qt-side only in that it announces changes by signal; views listen and never change each other.
Derived series are computed once per change and cached here so views share them.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...analysis import derived
from ...analysis.columns import TrialColumns

IMPORTANCE_REFRESH = 0.01  # recompute importance after appends once the study grew by 1 %


class AnalysisModel(QObject):
    columns_changed = Signal()  # new trials (loaded or appended): views redraw
    objective_changed = Signal(int)
    selection_changed = Signal()  # brushing in the parallel coordinates

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.cols: Optional[TrialColumns] = None
        self.path: str = ""
        self.objective = 0
        self.selection: Optional[np.ndarray] = None  # bool mask over rows, None = all
        self.version = 0
        self.last_change = "reload"  # "reload" | "append": views may draw only what is new
        # after an append: rows (in ``cols``) of the trials just merged, new or re-read
        self.appended_rows: np.ndarray = np.empty(0, dtype=np.int64)
        self.reloads = 0  # counts set_columns: a view drawn since the last one may only add
        self._cache: Dict[Any, Any] = {}
        # importance per objective, kept across appends: (trials when computed, result)
        self._importance: Dict[int, Any] = {}

    # -- changes -------------------------------------------------------------------------------
    def set_columns(self, cols: TrialColumns, path: str = "") -> None:
        self.cols = cols
        self.path = path or cols.study.source
        if self.objective >= cols.study.n_objectives:
            self.objective = 0
        self.selection = None
        self.last_change = "reload"
        self.appended_rows = np.empty(0, dtype=np.int64)
        self.reloads += 1
        self._importance.clear()
        self._changed()

    def append(self, new: TrialColumns) -> int:
        """Merge newer trials (new numbers appended, re-read ones replaced); returns how many."""
        if self.cols is None:
            self.set_columns(new)
            return len(new)
        self.cols = self.cols.merged(new)
        self.appended_rows = np.searchsorted(self.cols.number, new.number)
        if self.selection is not None and len(self.selection) != len(self.cols):
            self.selection = None
        self.last_change = "append"
        self._changed()
        return len(new)

    def added_rows(self, drawn_version: int, completed: np.ndarray) -> np.ndarray:
        """Rows whose trials may be new to a view last drawn at ``drawn_version`` (of the
        same load): the rows just appended when it missed one append, else all ``completed``
        rows (a boolean mask or row indices)."""
        rows = completed if completed.dtype != bool else np.flatnonzero(completed)
        if drawn_version == self.version - 1 and self.last_change == "append":
            mask = np.zeros(len(self.cols), dtype=bool)
            mask[rows] = True
            return self.appended_rows[mask[self.appended_rows]]
        return rows

    def set_objective(self, index: int) -> None:
        if index != self.objective:
            self.objective = index
            self._cache.clear()
            self.objective_changed.emit(index)

    def set_selection(self, mask: Optional[np.ndarray]) -> None:
        self.selection = mask
        self.selection_changed.emit()

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()
        self.columns_changed.emit()

    # -- shared derived series -----------------------------------------------------------------
    def _cached(self, key: Any, fn: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]

    @property
    def n(self) -> int:
        return 0 if self.cols is None else len(self.cols)

    def best_row(self) -> Optional[int]:
        if self.cols is None:
            return None
        return self._cached(
            ("best", self.objective), lambda: derived.best_row(self.cols, self.objective)
        )

    def pareto_rows(self) -> np.ndarray:
        if self.cols is None or not self.cols.study.is_multi_objective:
            return np.empty(0, dtype=int)
        return self._cached("pareto", lambda: derived.pareto_front_rows(self.cols))

    def importance(self) -> Dict[str, float]:
        """PED-ANOVA importance of the current objective. After appends it is computed again
        only once the study has grown by IMPORTANCE_REFRESH (1 %) since the last time: at
        100,000 trials a live poll of 100 new ones cannot change the shares visibly, and the
        computation costs more than the whole redraw of the other views."""
        if self.cols is None:
            return {}
        n = len(self.cols)
        kept = self._importance.get(self.objective)
        if kept is None or not kept[0] <= n < kept[0] + max(1, int(kept[0] * IMPORTANCE_REFRESH)):
            kept = (n, derived.importance(self.cols, self.objective))
            self._importance[self.objective] = kept
        return kept[1]

    def importance_trials(self) -> int:
        """How many trials the importance shown was computed from."""
        kept = self._importance.get(self.objective)
        return kept[0] if kept else 0

    def highlighted_rows(self) -> np.ndarray:
        """Best trial (single objective) or the Pareto front (multi-objective)."""
        if self.cols is None:
            return np.empty(0, dtype=int)
        if self.cols.study.is_multi_objective:
            return self.pareto_rows()
        b = self.best_row()
        return np.array([], dtype=int) if b is None else np.array([b])

    def objective_name(self) -> str:
        if self.cols is None:
            return "value"
        return self.cols.study.objective_names[self.objective]
