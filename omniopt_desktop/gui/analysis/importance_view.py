"""Parameter importance (PED-ANOVA), as horizontal bars, most important on top."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from .base import SinglePlotView
from .model import AnalysisModel
from .style import fit_axis_to_labels


class ImportanceView(SinglePlotView):
    """``bars`` (BarGraphItem): bar i is ``names[i]`` with width = its share of the total."""

    title = "Importance"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        self.bars = pg.BarGraphItem(
            x0=[], y=[], height=0.6, width=[], brush=pg.mkBrush(31, 119, 180)
        )
        self.plot.addItem(self.bars)
        self.plot.setLabel("bottom", "importance (share, PED-ANOVA)")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.names: list = []
        self.raw: Dict[str, float] = {}
        model.objective_changed.connect(lambda _: self.refresh(force=True))

    def redraw(self) -> None:
        imp = self.model.importance()
        if imp is self.raw and self.names:  # kept across a small append: nothing to draw
            return
        self.raw = imp
        names = list(imp)[::-1]  # most important on top (highest y)
        vals = np.array([imp[n] for n in names], dtype=float)
        total = vals.sum()
        share = vals / total if total > 0 else vals
        self.names = names
        y = np.arange(len(names), dtype=float)
        self.bars.setOpts(x0=np.zeros(len(names)), y=y, width=share, height=0.6)
        self.plot.getAxis("left").setTicks([[(float(i), n) for i, n in enumerate(names)]])
        fit_axis_to_labels(self.plot.getAxis("left"), names)
        self.plot.setYRange(-0.7, max(len(names) - 0.3, 0.3), padding=0)
        self.plot.setXRange(
            0, max(float(share.max()) if len(share) else 1.0, 1e-9) * 1.05, padding=0
        )
        n = self.model.importance_trials()
        self.plot.setTitle(f"importance for {self.model.objective_name()} ({n:,} trials)")

    def shares(self) -> Dict[str, float]:
        return dict(zip(self.names, np.asarray(self.bars.opts["width"], dtype=float)))
