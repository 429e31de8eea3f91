"""Empirical distribution (ECDF) of the objective over the completed trials."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from ...analysis import derived
from .base import SinglePlotView
from .model import AnalysisModel

MAX_STEPS = 2_000


class DistributionView(SinglePlotView):
    """``curve``: (sorted values, fraction of trials at or below), drawn as steps."""

    title = "Distribution"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(31, 119, 180, width=2))
        self.plot.addItem(self.curve)
        self.plot.setLabel("left", "fraction of completed trials")
        self.plot.setYRange(0, 1.02, padding=0)
        model.objective_changed.connect(lambda _: self.refresh(force=True))

    def redraw(self) -> None:
        v, f = derived.empirical_distribution(self.model.cols, self.model.objective)
        self.values, self.fractions = v, f
        if len(v) > MAX_STEPS:  # the curve at MAX_STEPS evenly spaced fractions looks the same
            keep = np.unique(np.linspace(0, len(v) - 1, MAX_STEPS).round().astype(int))
            v, f = v[keep], f[keep]
        if len(v):
            x = np.repeat(v, 2)
            y = np.concatenate([[0.0], np.repeat(f, 2)[:-1]])
            self.curve.setData(x=x, y=y)
        else:
            self.curve.setData(x=[], y=[])
        self.plot.setLabel("bottom", self.model.objective_name())
