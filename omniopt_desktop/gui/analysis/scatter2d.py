"""Two chosen parameters against each other, trials coloured by objective, over a heat map of
the mean objective per cell (a coarse contour of the response surface).

Trials appended live are added to the points (coloured by the value bins of the last full
draw) without redrawing the others; after ``RECENT_POINTS`` of them, or another choice of axes
or objective, everything (heat map included) is drawn again from a fresh sample."""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from ...analysis import derived
from .base import SinglePlotView
from .model import AnalysisModel
from .style import (
    MAX_SCATTER_POINTS,
    N_COLOR_BINS,
    AppendableScatter,
    bin_colors,
    bin_edges,
    bins_by_edges,
    categorical_ticks,
    colormap,
    param_axis_values,
    sample_rows,
    set_label,
    set_ticks,
    value_bins,
)

GRID = 32
MIN_NEIGHBOURS = 3
RECENT_POINTS = 3_000


def _box3(a: np.ndarray) -> np.ndarray:
    """Sum of each cell and its 8 neighbours."""
    p = np.pad(a, 1)
    return sum(
        p[1 + dx : 1 + dx + a.shape[0], 1 + dy : 1 + dy + a.shape[1]]
        for dx in (-1, 0, 1)
        for dy in (-1, 0, 1)
    )


class Scatter2DView(SinglePlotView):
    """``bins[b]`` are the points of each colour bin (worst → best, AppendableScatter);
    ``heat`` the ImageItem."""

    title = "2-D scatter"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        bar = QHBoxLayout()
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        bar.addWidget(QLabel("x"))
        bar.addWidget(self.x_combo)
        bar.addWidget(QLabel("y"))
        bar.addWidget(self.y_combo)
        self.legend = QLabel("")  # what the colours mean
        bar.addSpacing(16)
        bar.addWidget(self.legend)
        bar.addStretch(1)
        self._layout.insertLayout(0, bar)
        self.heat = pg.ImageItem()
        self.heat.setOpacity(0.45)
        self.plot.addItem(self.heat)
        colors = bin_colors()
        self.bins = [
            AppendableScatter(self.plot, size=5, pen=None, brush=pg.mkBrush(c)) for c in colors
        ]
        self._names: List[str] = []
        self._edges: Optional[np.ndarray] = None  # bin thresholds of the last full draw
        self._drawn_key: tuple = ()
        self._recent = 0  # points appended since
        self.x_combo.currentIndexChanged.connect(lambda _: self.refresh(force=True))
        self.y_combo.currentIndexChanged.connect(lambda _: self.refresh(force=True))
        model.objective_changed.connect(lambda _: self.refresh(force=True))

    def set_axes(self, x: str, y: str) -> None:
        self.x_combo.setCurrentText(x)
        self.y_combo.setCurrentText(y)
        self.refresh(force=True)

    def redraw(self) -> None:
        m = self.model
        cols = m.cols
        names = list(cols.param_names)
        if names != self._names:
            for combo, default in ((self.x_combo, 0), (self.y_combo, 1)):
                combo.blockSignals(True)
                combo.clear()
                combo.addItems(names)
                combo.setCurrentIndex(min(default, len(names) - 1))
                combo.blockSignals(False)
            self._names = names
        if len(names) < 1:
            return
        xn, yn = self.x_combo.currentText(), self.y_combo.currentText()
        xi, yi = cols.param_info[xn], cols.param_info[yn]
        lower_better = cols.study.directions[m.objective] != "maximize"
        completed = derived.completed_mask(cols)
        key = (xn, yn, m.objective, m.reloads)
        if (
            self._edges is not None
            and key == self._drawn_key
            and m.last_change == "append"
            and self.drawn_version == m.version - 1
        ):
            added = m.added_rows(self.drawn_version, completed)
            if self._recent + len(added) <= RECENT_POINTS:
                x, y, v = self._xyv(added)
                bins = bins_by_edges(self._edges, v, lower_better)
                for b, item in enumerate(self.bins):
                    if (bins == b).any():
                        item.append(x[bins == b], y[bins == b])
                self._recent += len(added)
                return
        self.legend.setText(
            f"colour: {m.objective_name()} (mean of nearby trials behind the points) — "
            "purple worst … yellow best"
        )
        rows = np.flatnonzero(completed)
        x, y, v = self._xyv(rows[sample_rows(len(rows), MAX_SCATTER_POINTS)])
        bins = value_bins(v, lower_better)
        for b, item in enumerate(self.bins):
            sel = bins == b
            item.set(x[sel], y[sel])
        self._edges = bin_edges(v, bins, lower_better, len(self.bins))
        self._drawn_key, self._recent = key, 0
        for axis, info in (("bottom", xi), ("left", yi)):
            ax = self.plot.getAxis(axis)
            set_ticks(ax, [categorical_ticks(info)] if info.is_categorical else None)
            log = bool(info.log and not info.is_categorical)
            if ax.logMode != log:
                ax.setLogMode(log)
        set_label(self.plot, "bottom", xn)
        set_label(self.plot, "left", yn)
        self._heat_map(x, y, v, lower_better)

    def _xyv(self, rows: np.ndarray) -> tuple:
        """Plot coordinates and objective values of ``rows`` where both parameters are set."""
        cols, m = self.model.cols, self.model
        xn, yn = self.x_combo.currentText(), self.y_combo.currentText()
        x = param_axis_values(cols.param_info[xn], cols.params[xn][rows])
        y = param_axis_values(cols.param_info[yn], cols.params[yn][rows])
        v = cols.values[rows, m.objective]
        present = ~np.isnan(x) & ~np.isnan(y)
        return x[present], y[present], v[present]

    def _heat_map(self, x: np.ndarray, y: np.ndarray, v: np.ndarray, lower_better: bool) -> None:
        if len(v) < 20 or np.ptp(x) == 0 or np.ptp(y) == 0:
            self.heat.clear()
            return
        # cells of about two trials each (8 x 8 for 100 trials, GRID x GRID from 2,000 on): a
        # fixed fine grid left a few isolated patches where trials are sparse
        grid = int(np.clip(np.sqrt(len(v) / 2), 8, GRID))
        sums, xe, ye = np.histogram2d(x, y, bins=grid, weights=v)
        counts, _, _ = np.histogram2d(x, y, bins=[xe, ye])
        # mean over each cell's 3x3 neighbourhood: a smooth surface where trials are dense,
        # nothing where fewer than MIN_NEIGHBOURS trials fall
        sums, counts = _box3(sums), _box3(counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts >= MIN_NEIGHBOURS, sums / counts, np.nan)
        finite = np.isfinite(mean)
        if not finite.any():
            self.heat.clear()
            return
        lo, hi = float(mean[finite].min()), float(mean[finite].max())
        score = (mean - lo) / (hi - lo) if hi > lo else np.full_like(mean, 0.5)
        if lower_better:
            score = 1.0 - score
        rgba = (
            colormap()
            .map(np.nan_to_num(score, nan=0.0).ravel(), mode="byte")
            .reshape(grid, grid, -1)
        )
        rgba[..., 3] = np.where(finite, 255, 0)
        self.heat.setImage(rgba, levels=None)
        self.heat.setRect(pg.QtCore.QRectF(xe[0], ye[0], xe[-1] - xe[0], ye[-1] - ye[0]))

    def points(self) -> np.ndarray:
        """(x, y) of every point drawn, all colour bins together (for tests)."""
        parts = [np.column_stack(item.getData()) for item in self.bins if len(item.getData()[0])]
        return np.vstack(parts) if parts else np.empty((0, 2))


__all__ = ["Scatter2DView", "N_COLOR_BINS"]
