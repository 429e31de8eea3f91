"""Pareto front of two chosen objectives (multi-objective studies), with its hypervolume."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ...analysis import derived
from .base import SinglePlotView
from .model import AnalysisModel
from .style import BEST_COLOR, MAX_SCATTER_POINTS, FastScatter, sample_rows


class ParetoView(SinglePlotView):
    """``others``: completed trials not on the front; ``front``: the front's points (sorted by
    x) joined by a line; ``hypervolume``: of the whole front in all objectives."""

    title = "Pareto front"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        bar = QHBoxLayout()
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        self.hv_label = QLabel("")
        for w in (QLabel("x"), self.x_combo, QLabel("y"), self.y_combo):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.hv_label)
        self._layout.insertLayout(0, bar)
        self.others = FastScatter(size=4, pen=None, brush=pg.mkBrush(150, 150, 150, 120))
        self.front = pg.PlotDataItem(
            pen=pg.mkPen(BEST_COLOR, width=1),
            symbol="o",
            symbolSize=8,
            symbolBrush=pg.mkBrush(*BEST_COLOR),
            symbolPen=None,
        )
        self.plot.addItem(self.others)
        self.plot.addItem(self.front)
        self.hypervolume: Optional[float] = None
        self._objectives: tuple = ()
        self.x_combo.currentIndexChanged.connect(lambda _: self.refresh(force=True))
        self.y_combo.currentIndexChanged.connect(lambda _: self.refresh(force=True))

    def redraw(self) -> None:
        cols = self.model.cols
        names = cols.study.objective_names
        if names != self._objectives:
            for combo, default in ((self.x_combo, 0), (self.y_combo, 1)):
                combo.blockSignals(True)
                combo.clear()
                combo.addItems(list(names))
                combo.setCurrentIndex(min(default, len(names) - 1))
                combo.blockSignals(False)
            self._objectives = names
        if not cols.study.is_multi_objective:
            self.others.setData(x=[], y=[])
            self.front.setData(x=[], y=[])
            self.hv_label.setText("single-objective study: no Pareto front")
            self.hypervolume = None
            return
        i, j = self.x_combo.currentIndex(), self.y_combo.currentIndex()
        ok = np.flatnonzero(derived.completed_mask(cols))
        loss = derived.losses(cols)
        # the front of the two objectives shown (the all-objective front is in the table)
        front2 = ok[derived.pareto_mask(loss[ok][:, [i, j]])] if len(ok) else ok
        front2 = front2[np.argsort(cols.values[front2, i], kind="stable")]
        rest = np.setdiff1d(ok, front2)
        rest = rest[sample_rows(len(rest), MAX_SCATTER_POINTS)]
        self.others.setData(x=cols.values[rest, i], y=cols.values[rest, j])
        self.front.setData(x=cols.values[front2, i], y=cols.values[front2, j])
        self.plot.setLabel("bottom", names[i])
        self.plot.setLabel("left", names[j])
        full = self.model.pareto_rows()
        if len(full):
            fl = loss[full]
            self.hypervolume = derived.hypervolume(fl, derived.reference_point(loss[ok]))
            self.hv_label.setText(
                f"{len(full)} trials on the front; hypervolume {self.hypervolume:.6g}"
            )
        else:
            self.hypervolume = None
            self.hv_label.setText("no completed trials yet")
