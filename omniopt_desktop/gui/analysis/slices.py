"""Slice plots: the objective against each parameter, one small plot per parameter."""

from __future__ import annotations

from typing import Dict, List, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from ...analysis import derived
from .axes import value_axes
from .base import AnalysisView, add_drawn, new_rows
from .model import AnalysisModel
from .style import (
    BEST_COLOR,
    POINT_COLOR,
    AppendableScatter,
    cache_axes,
    categorical_ticks,
    param_axis_values,
    sample_rows,
    set_label,
)

COLUMNS = 3
MAX_SLICE_POINTS = 5_000  # per slice plot (a fixed sample above that, plus the latest)


class SlicesView(AnalysisView):
    """``plots[name]`` is the PlotItem and ``scatters[name]`` the ScatterPlotItem of a parameter;
    x is log10 for log parameters and the choice index for categorical ones."""

    title = "Slices"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self._layout.addWidget(self.graphics)
        self.plots: Dict[str, pg.PlotItem] = {}
        self.scatters: Dict[str, AppendableScatter] = {}
        self.best: Dict[str, pg.ScatterPlotItem] = {}
        self._names: List[str] = []
        self.sampled = False
        self._drawn = None
        self._drawn_names: List[str] = []
        self._drawn_key = -1
        self._drawn_load = -1
        self._star: tuple = ()
        model.objective_changed.connect(lambda _: self.refresh(force=True))

    def export_item(self) -> object:
        return self.graphics.scene()

    def _build(self, names: List[str]) -> None:
        self.graphics.clear()
        self.plots.clear()
        self.scatters.clear()
        self.best.clear()
        for i, name in enumerate(names):
            plot = self.graphics.addPlot(
                row=i // COLUMNS, col=i % COLUMNS, title=name, axisItems=value_axes()
            )
            plot.showGrid(x=True, y=True, alpha=0.2)
            cache_axes(plot)
            info = self.model.cols.param_info[name]
            if info.is_categorical:
                plot.getAxis("bottom").setTicks([categorical_ticks(info)])
            elif info.log:
                plot.getAxis("bottom").setLogMode(True)
            sc = AppendableScatter(plot, size=4, pen=None, brush=pg.mkBrush(*POINT_COLOR))
            best = pg.ScatterPlotItem(
                size=12, symbol="star", pen=pg.mkPen("k"), brush=pg.mkBrush(*BEST_COLOR)
            )
            plot.addItem(best)
            self.plots[name], self.scatters[name], self.best[name] = plot, sc, best
        self._names = names

    def redraw(self) -> None:
        m = self.model
        cols = m.cols
        names = list(cols.param_names)
        if names != self._names:
            self._build(names)
        ok = np.flatnonzero(derived.completed_mask(cols))
        best = m.best_row()
        incremental = (
            self._drawn_load == m.reloads
            and names == self._drawn_names
            and self._drawn_key == m.objective
            and self._drawn is not None
        )
        if incremental:
            cand = m.added_rows(self.drawn_version, ok)
            rows = cand[new_rows(self._drawn, cols.number[cand])]
            self._drawn = add_drawn(self._drawn, cols.number[rows])
        else:
            keep = np.arange(max(0, len(ok) - 500), len(ok))
            rows = ok[sample_rows(len(ok), MAX_SLICE_POINTS, keep=keep)]
            self.sampled = len(rows) < len(ok)
            self._drawn = cols.number[ok]  # every trial considered, drawn or left out
        self._drawn_names, self._drawn_key, self._drawn_load = names, m.objective, m.reloads
        y = cols.values[rows, m.objective]
        for name in names:
            info = cols.param_info[name]
            x = param_axis_values(info, cols.params[name][rows])
            present = ~np.isnan(x)
            if incremental:
                if present.any():
                    self.scatters[name].append(x[present], y[present])
            else:
                self.scatters[name].set(x[present], y[present])
            set_label(self.plots[name], "left", m.objective_name())
        star = (m.reloads, m.objective, None if best is None else int(cols.number[best]))
        if incremental and star == self._star:
            return  # the best trial is the one marked already
        self._star = star
        for name in names:
            info = cols.param_info[name]
            if best is not None and not np.isnan(cols.params[name][best]):
                bx = param_axis_values(info, cols.params[name][best : best + 1])
                self.best[name].setData(x=bx, y=[cols.values[best, m.objective]])
            else:
                self.best[name].setData(x=[], y=[])
