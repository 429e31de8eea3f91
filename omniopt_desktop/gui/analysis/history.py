"""Optimisation history: each completed trial's value by trial number, and the best so far."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QWidget

from ...analysis import derived
from .base import SinglePlotView, add_drawn, new_rows
from .model import AnalysisModel
from .style import (
    BEST_COLOR,
    MAX_HISTORY_POINTS,
    POINT_COLOR,
    AppendableScatter,
    sample_rows,
    set_label,
)


class HistoryView(SinglePlotView):
    """Items: ``points`` (all completed trials), ``best_curve`` (best so far, a step line),
    ``best_point``. With ``log_y`` checked, y is drawn as log10 on a log axis."""

    title = "History"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        bar = QHBoxLayout()
        self.log_y = QCheckBox("log y")
        self.log_y.toggled.connect(self._log_toggled)
        bar.addWidget(self.log_y)
        bar.addStretch(1)
        self._layout.insertLayout(0, bar)
        self.points = AppendableScatter(self.plot, size=4, pen=None, brush=pg.mkBrush(*POINT_COLOR))
        self.best_curve = pg.PlotCurveItem(pen=pg.mkPen(BEST_COLOR, width=2))
        self.best_point = pg.ScatterPlotItem(
            size=14, symbol="star", pen=pg.mkPen("k"), brush=pg.mkBrush(*BEST_COLOR)
        )
        for item in (self.best_curve, self.best_point):
            self.plot.addItem(item)
        self.plot.setLabel("bottom", "trial number")
        self._drawn: Optional[np.ndarray] = None  # numbers of the points drawn
        self._drawn_key: tuple = ()
        self.sampled = False
        model.objective_changed.connect(lambda _: self.refresh(force=True))

    def _y(self, v: np.ndarray) -> np.ndarray:
        if not self.log_y.isChecked():
            return v
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(v)

    def _log_toggled(self, on: bool) -> None:
        self.plot.getAxis("left").setLogMode(on)
        self._drawn = None
        self.refresh(force=True)

    def redraw(self) -> None:
        m = self.model
        bsf = derived.best_so_far(m.cols, m.objective)
        set_label(self.plot, "left", m.objective_name())
        key = (m.objective, self.log_y.isChecked(), m.reloads)
        incremental = self._drawn is not None and self._drawn_key == key
        x = bsf.number.astype(float)
        if incremental:
            new = new_rows(self._drawn, bsf.number)
            if new.any():
                self.points.append(x[new], self._y(bsf.value[new]))
                self._drawn = add_drawn(self._drawn, bsf.number[new])
        else:
            # above MAX_HISTORY_POINTS a fixed sample is drawn (plus the latest trials)
            rows = sample_rows(
                len(x), MAX_HISTORY_POINTS, keep=np.arange(max(0, len(x) - 1000), len(x))
            )
            self.sampled = len(rows) < len(x)
            self.points.set(x[rows], self._y(bsf.value[rows]))
            self._drawn = bsf.number  # every trial considered, drawn or left out
        self._drawn_key = key
        if len(x):
            # best so far as a step line through the trials where it improved, to the last one
            change = np.flatnonzero(np.r_[True, bsf.best[1:] != bsf.best[:-1]])
            kx = np.r_[x[change], x[-1]]
            ky = np.r_[bsf.best[change], bsf.best[-1]]
            sx = np.repeat(kx, 2)[1:-1]
            sy = np.repeat(ky, 2)[:-2]
            self.best_curve.setData(x=sx, y=self._y(sy))
            b = m.best_row()
            self.best_point.setData(
                x=[float(m.cols.number[b])], y=self._y(np.array([m.cols.values[b, m.objective]]))
            )
        else:
            self.best_curve.setData(x=[], y=[])
            self.best_point.setData(x=[], y=[])
        positive = len(bsf.value) == 0 or bool((bsf.value > 0).all())
        self.log_y.setEnabled(positive or self.log_y.isChecked())
