"""Timeline: each trial as a bar from start to end on its worker's row, coloured by state."""

from __future__ import annotations

import time
from typing import Dict, List, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

from ...analysis import derived
from ...analysis.columns import TrialState
from .base import SinglePlotView
from .model import AnalysisModel
from .style import STATE_COLORS, fit_axis_to_labels, set_label, set_ticks

MAX_SEGMENTS_PER_ROW = 2_000  # segments closer than span/this are drawn as one


class TimelineView(SinglePlotView):
    """``segments[state]``: PlotCurveItem of (start, end) pairs at y = worker index;
    ``workers``: the row labels. Running trials end at the time of drawing."""

    title = "Timeline"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        self.plot.setAxisItems({"bottom": pg.DateAxisItem()})
        self.segments: Dict[TrialState, pg.PlotCurveItem] = {}
        for state, color in STATE_COLORS.items():
            if state is TrialState.WAITING:
                continue  # queued, running nowhere (also a trial handed back unrun): no bar
            pen = pg.mkPen(color, width=6)
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            item = pg.PlotCurveItem(pen=pen)
            self.segments[state] = item
            self.plot.addItem(item)
        legend = self.plot.addLegend(offset=(-10, 4), colCount=len(self.segments))
        for state, item in self.segments.items():
            legend.addItem(item, state.name.lower())
        self.plot.getViewBox().setDefaultPadding(0.08)  # room for the legend above the top row
        self.workers: List[str] = []
        self.now = time.time
        self.merge = True  # join segments closer than a pixel or so
        self.drawn_segments = 0
        self.gap = 0.0
        self._zoom_timer = QTimer(self)
        self._zoom_timer.setSingleShot(True)
        self._zoom_timer.setInterval(150)
        self._zoom_timer.timeout.connect(self._zoomed)
        self.plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._zoom_timer.start())

    def _zoomed(self) -> None:
        """Zoomed in or out: join bars closer than a pixel of the new range (when that differs)."""
        lo, hi = self.plot.getViewBox().viewRange()[0]
        gap = max(hi - lo, 0.0) / MAX_SEGMENTS_PER_ROW
        if (
            self.model.cols is not None
            and self.merge
            and not (0.5 * self.gap <= gap <= 2 * self.gap)
        ):
            self._view_gap = gap
            self.refresh(force=True)

    def redraw(self) -> None:
        cols = self.model.cols
        start = cols.start
        shown = ~np.isnan(start) & (cols.state != int(TrialState.WAITING))
        labels, idx = derived.worker_labels(cols)
        used = np.unique(idx[shown])  # a row only for workers with a bar
        remap = np.full(len(labels), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        labels, idx = [labels[i] for i in used], remap[idx]
        self.workers = labels
        end = np.where(np.isnan(cols.complete), self.now(), cols.complete)
        finite = start[shown]
        span = float(end[shown].max() - finite.min()) if len(finite) else 0.0
        gap = span / MAX_SEGMENTS_PER_ROW if self.merge else 0.0
        if self.merge and 0 < getattr(self, "_view_gap", 0.0) < gap:
            gap = self._view_gap  # zoomed in: finer bars
        self.gap = gap
        self.drawn_segments = 0
        for state, item in self.segments.items():
            sel = (cols.state == int(state)) & shown
            if not sel.any():
                item.setData(x=[], y=[])
                continue
            s0, e0, r0 = start[sel], end[sel], idx[sel].astype(float)
            if gap > 0 and state is not TrialState.COMPLETE:
                e0 = np.maximum(e0, s0 + gap)  # a failure stays visible as at least a pixel
            if gap > 0:
                s0, e0, r0 = derived.merged_segments(s0, e0, r0, gap)
            n = len(s0)
            self.drawn_segments += n
            x = np.empty(2 * n)
            x[0::2], x[1::2] = s0, e0
            item.setData(x=x, y=np.repeat(r0, 2), connect="pairs")
        ticks = [(float(i), w) for i, w in enumerate(labels)]
        step = max(1, len(ticks) // 30)
        axis = self.plot.getAxis("left")
        if getattr(axis, "_oo_ticks", None) != [ticks[::step]]:
            set_ticks(axis, [ticks[::step]])
            fit_axis_to_labels(axis, labels[::step], titled=True)
        set_label(self.plot, "left", "worker")
