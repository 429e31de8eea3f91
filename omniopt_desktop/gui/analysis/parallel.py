"""Parallel coordinates of the parameters and the objective, with brushing.

Each axis is scaled to 0..1 (log parameters in log space, choices by index). Dragging the
band on an axis keeps only trials inside it: the selection is published on the model, the
trial table filters by it. At most ``MAX_LINES`` lines are drawn; brushing uses every trial.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from ...analysis import derived
from .base import SinglePlotView
from .model import AnalysisModel
from .style import BEST_COLOR, MAX_LINES, bin_colors, sample_rows, value_bins

BRUSH_HALF_WIDTH = 0.12


class ParallelView(SinglePlotView):
    """``axes`` are the axis names (parameters, then the objective); ``normalized()`` their 0..1
    columns; ``curves`` one PlotCurveItem per colour bin (worst → best); ``brushes`` the bands."""

    title = "Parallel coordinates"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        bar = QHBoxLayout()
        self.info = QLabel("")
        clear = QPushButton("Clear brushes")
        clear.clicked.connect(self.clear_brushes)
        bar.addWidget(self.info, 1)
        bar.addWidget(clear)
        self._layout.insertLayout(0, bar)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getAxis("left").setTicks([[(0, "low"), (1, "high")]])
        self.axes: List[str] = []
        self.curves: List[pg.PlotCurveItem] = []
        self.dimmed = pg.PlotCurveItem(pen=pg.mkPen(200, 200, 200, 60))
        self.best_curve = pg.PlotCurveItem(pen=pg.mkPen(BEST_COLOR, width=3))
        self.brushes: List[pg.LinearRegionItem] = []
        self._labels: List[pg.TextItem] = []
        self._labelled: List[Tuple[str, str]] = []
        self._norm: Optional[np.ndarray] = None  # (n, axes) in 0..1
        self._norm_version = -1
        self._emitting = False
        model.objective_changed.connect(lambda _: self.refresh(force=True))
        model.selection_changed.connect(self._selection_changed)

    # -- data ----------------------------------------------------------------------------------
    def normalized(self) -> np.ndarray:
        m = self.model
        if self._norm is not None and self._norm_version == (m.version, m.objective):
            return self._norm
        cols = m.cols
        n, width = len(cols), len(cols.param_names) + 1
        prev, rows = self._norm, None
        if (
            prev is not None
            and self._norm_version == (m.version - 1, m.objective)
            and m.last_change == "append"
            and prev.shape[1] == width
            and len(prev) <= n
        ):
            tail = m.appended_rows[m.appended_rows >= len(prev)]
            if len(tail) == n - len(prev):  # the rows before are the same trials
                rows = m.appended_rows  # only new and re-read trials need scaling
        if rows is None:
            out = np.full((n, width), np.nan)
            rows = slice(None)
        else:
            out = np.empty((n, width))
            out[: len(prev)] = prev
        self._ranges: List[Tuple[str, str]] = []
        for j, name in enumerate(cols.param_names):
            info = cols.param_info[name]
            x = cols.params[name]
            if info.is_categorical:
                k = max(len(info.choices) - 1, 1)
                out[rows, j] = x[rows] / k if len(info.choices) > 1 else 0.5
                self._ranges.append((str(info.choices[0]), str(info.choices[-1])))
                continue
            lo = info.low if info.low is not None else np.nanmin(x)
            hi = info.high if info.high is not None else np.nanmax(x)
            if info.low is None or info.high is None:
                rows_j: object = slice(None)  # the range may have moved: the whole column
            else:
                rows_j = rows
            x = x[rows_j]
            if info.log and lo > 0:
                x, lo_t, hi_t = np.log(x), np.log(lo), np.log(hi)
            else:
                lo_t, hi_t = lo, hi
            out[rows_j, j] = (x - lo_t) / (hi_t - lo_t) if hi_t > lo_t else 0.5
            self._ranges.append((_short(lo), _short(hi)))
        v = cols.values[:, m.objective]
        ok = np.isfinite(v) & derived.completed_mask(cols)
        out[:, -1] = np.nan
        if ok.any():
            lo, hi = float(v[ok].min()), float(v[ok].max())
            out[ok, -1] = (v[ok] - lo) / (hi - lo) if hi > lo else 0.5
            self._ranges.append((_short(lo), _short(hi)))
        else:
            self._ranges.append(("", ""))
        self._norm, self._norm_version = out, (m.version, m.objective)
        return out

    # -- drawing -------------------------------------------------------------------------------
    def _build_axes(self, names: List[str]) -> None:
        for item in [*self.curves, *self.brushes, *self._labels, self.dimmed, self.best_curve]:
            if item.scene() is not None:
                self.plot.removeItem(item)
        self.axes = names
        k = len(names)
        colors = bin_colors()
        for c in colors:
            c.setAlpha(90)
        self.curves = [pg.PlotCurveItem(pen=pg.mkPen(c, width=1)) for c in colors]
        self.plot.addItem(self.dimmed)
        for c in self.curves:
            self.plot.addItem(c)
        self.plot.addItem(self.best_curve)
        self.plot.getAxis("bottom").setTicks([[(float(i), n) for i, n in enumerate(names)]])
        self.plot.setXRange(-0.5, k - 0.5, padding=0)
        self.plot.setYRange(-0.08, 1.08, padding=0)
        self.brushes = []
        for i in range(k):
            span = ((i + 0.5 - BRUSH_HALF_WIDTH) / k, (i + 0.5 + BRUSH_HALF_WIDTH) / k)
            region = pg.LinearRegionItem(
                values=(0.0, 1.0),
                orientation="horizontal",
                bounds=(0.0, 1.0),
                span=span,
                brush=pg.mkBrush(100, 100, 100, 25),
            )
            region.setZValue(10)
            region.sigRegionChangeFinished.connect(self._brushed)
            self.plot.addItem(region)
            self.brushes.append(region)
        self._labels = []
        self._labelled = []

    def redraw(self) -> None:
        m = self.model
        cols = m.cols
        names = [*cols.param_names, m.objective_name()]
        if names != self.axes:
            self._build_axes(names)
        norm = self.normalized()
        if self._ranges != self._labelled:
            self._label_axes()
        ok = np.flatnonzero(derived.completed_mask(cols))

        rows = ok[sample_rows(len(ok), MAX_LINES, keep=np.arange(max(0, len(ok) - 300), len(ok)))]
        sel = m.selection
        chosen = rows if sel is None else rows[sel[rows]]
        dimmed = np.empty(0, dtype=int) if sel is None else rows[~sel[rows]]
        bins = value_bins(
            cols.values[chosen, m.objective], cols.study.directions[m.objective] != "maximize"
        )
        k = norm.shape[1]
        for b, curve in enumerate(self.curves):
            _set_lines(curve, norm[chosen[bins == b]], k)
        _set_lines(self.dimmed, norm[dimmed], k)
        best = m.best_row()
        _set_lines(self.best_curve, norm[[best]] if best is not None else norm[:0], k)
        shown = len(chosen)
        total = len(ok) if sel is None else int(sel[ok].sum())
        self.info.setText(
            f"{total} of {len(ok)} completed trials selected"
            + (f" ({shown} lines drawn)" if shown < total else "")
        )

    def _label_axes(self) -> None:
        for item in self._labels:
            self.plot.removeItem(item)
        self._labels = []
        for i, (lo, hi) in enumerate(self._ranges):
            for y, text, anchor in ((0.0, lo, (0.5, 0.0)), (1.0, hi, (0.5, 1.0))):
                t = pg.TextItem(text, color=(80, 80, 80), anchor=anchor)
                t.setPos(i, y)
                self.plot.addItem(t)
                self._labels.append(t)
        self._labelled = list(self._ranges)

    def drawn_lines(self) -> np.ndarray:
        """The (lines, axes) y values currently drawn in colour (all bins together)."""
        parts = []
        k = len(self.axes)
        for c in self.curves:
            _, y = c.getData()
            if y is not None and len(y):
                parts.append(np.asarray(y).reshape(-1, k))
        return np.vstack(parts) if parts else np.empty((0, k))

    # -- brushing ------------------------------------------------------------------------------
    def set_brush(self, axis: int, low: float, high: float) -> None:
        """Keep only trials whose value on ``axis`` (0..1 scale) is within low..high."""
        self.brushes[axis].setRegion((low, high))
        self._brushed()

    def clear_brushes(self) -> None:
        self._emitting = True
        try:
            for b in self.brushes:
                b.setRegion((0.0, 1.0))
        finally:
            self._emitting = False
        self.model.set_selection(None)

    def selection_mask(self) -> Optional[np.ndarray]:
        active = []
        for i, b in enumerate(self.brushes):
            lo, hi = b.getRegion()
            if lo > 1e-9 or hi < 1 - 1e-9:
                active.append((i, lo, hi))
        if not active:
            return None
        norm = self.normalized()
        mask = np.ones(len(norm), dtype=bool)
        for i, lo, hi in active:
            col = norm[:, i]
            with np.errstate(invalid="ignore"):
                mask &= (col >= lo) & (col <= hi)
        return mask

    def _brushed(self, *_: object) -> None:
        if self._emitting or self.model.cols is None:
            return
        self.model.set_selection(self.selection_mask())

    def _selection_changed(self) -> None:
        self.dirty = True
        if self.isVisible():
            self.refresh()


def _set_lines(curve: pg.PlotCurveItem, ys: np.ndarray, k: int) -> None:
    n = len(ys)
    if n == 0:
        curve.setData(x=[], y=[])
        return
    x = np.tile(np.arange(k, dtype=float), n)
    y = np.nan_to_num(ys, nan=-0.05).reshape(-1)
    connect = np.ones(n * k, dtype=bool)
    connect[k - 1 :: k] = False
    curve.setData(x=x, y=y, connect=connect)


def _short(v: float) -> str:
    return f"{v:.4g}"
