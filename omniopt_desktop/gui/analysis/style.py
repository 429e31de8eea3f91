"""Shared look and helpers of the analysis views: state colours, colour maps, export."""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from ...analysis.columns import ParamInfo, TrialState
from ...errors import OmniOptError

STATE_COLORS = {
    TrialState.COMPLETE: (31, 119, 180),
    TrialState.FAIL: (214, 39, 40),
    TrialState.PRUNED: (255, 127, 14),
    TrialState.RUNNING: (44, 160, 44),
    TrialState.WAITING: (127, 127, 127),
}
BEST_COLOR = (230, 40, 40)
POINT_COLOR = (31, 119, 180, 150)
N_COLOR_BINS = 12
MAX_SCATTER_POINTS = 20_000  # per scatter in slice plots / 2-D scatter (sampled above that)
MAX_LINES = 1_500
MAX_HISTORY_POINTS = 20_000  # history scatter (sampled above that; the best-so-far uses all)  # parallel coordinates lines drawn (sampled above that; brushing uses all)

pg.setConfigOptions(antialias=False, background="w", foreground="k")


def colormap() -> pg.ColorMap:
    return pg.colormap.get("viridis")


def bin_colors(n: int = N_COLOR_BINS) -> List[QColor]:
    """Colours of value bins, worst (0) to best (n-1)."""
    cmap = colormap()
    return [cmap.map(i / max(n - 1, 1), mode="qcolor") for i in range(n)]


def value_bins(values: np.ndarray, lower_is_better: bool, n: int = N_COLOR_BINS) -> np.ndarray:
    """Bin index per value by rank (0 = worst, n-1 = best); NaN → -1."""
    out = np.full(len(values), -1, dtype=int)
    ok = np.isfinite(values)
    if not ok.any():
        return out
    v = values[ok] if not lower_is_better else -values[ok]  # higher is better from here
    ranks = np.argsort(np.argsort(v, kind="stable"), kind="stable")
    if len(v) == 1:
        out[ok] = n - 1
    else:
        out[ok] = np.floor(ranks * (n - 1) / (len(v) - 1) + 0.5).astype(int).clip(0, n - 1)
    return out


def bin_edges(values: np.ndarray, bins: np.ndarray, lower_is_better: bool, n: int) -> np.ndarray:
    """Thresholds of the value bins ``bins`` (from :func:`value_bins` of ``values``): the lowest
    value (higher is better) of each bin above the first, non-decreasing. Values appended later
    are binned by these (:func:`bins_by_edges`) until the next full draw ranks them all."""
    hb = -values if lower_is_better else values
    edges = np.array([hb[bins == b].min() if (bins == b).any() else np.inf for b in range(1, n)])
    return np.minimum.accumulate(edges[::-1])[::-1]


def bins_by_edges(edges: np.ndarray, values: np.ndarray, lower_is_better: bool) -> np.ndarray:
    """Bin index of each value by ``edges`` (see :func:`bin_edges`); NaN → -1."""
    out = np.searchsorted(edges, -values if lower_is_better else values, side="right")
    out[~np.isfinite(values)] = -1
    return out


def sample_rows(n: int, limit: int, keep: Sequence[int] = (), seed: int = 0) -> np.ndarray:
    """All rows when n <= limit, else a fixed random sample of ``limit`` rows plus ``keep``."""
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=limit, replace=False))
    if len(keep):
        rows = np.union1d(rows, np.asarray(keep, dtype=int))
    return rows


def param_axis_values(info: ParamInfo, x: np.ndarray) -> np.ndarray:
    """Plot coordinates of a parameter: log10 for log params, the index for choices."""
    if info.log and not info.is_categorical:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(x)
    return x


def categorical_ticks(info: ParamInfo) -> List[Tuple[float, str]]:
    return [(float(i), str(c)) for i, c in enumerate(info.choices)]


def export_scene(item: object, path: str, width: Optional[int] = None) -> str:
    """Save a pyqtgraph item (PlotItem, GraphicsLayout or scene) as PNG or SVG by extension."""
    import pyqtgraph.exporters as ex

    ext = os.path.splitext(path)[1].lower()
    if ext == ".svg":
        _export_svg(item, path)
        return path
    if ext in (".png", ".jpg", ".jpeg", ".bmp"):
        exporter = ex.ImageExporter(item)
        if width:
            exporter.parameters()["width"] = int(width)
    else:
        raise OmniOptError(f"{path}: export as .png or .svg")
    exporter.export(path)
    if not os.path.exists(path):
        raise OmniOptError(f"{path}: the plot could not be written")
    return path


def fit_axis_to_labels(
    axis: pg.AxisItem, labels: Sequence[str], margin: int = 16, titled: bool = False
) -> None:
    """Make a vertical axis wide enough for its longest tick label (pyqtgraph drops labels
    that do not fit), and for its rotated title beside them when ``titled``."""
    from PySide6.QtGui import QFontMetrics

    fm = QFontMetrics(axis.style.get("tickFont") or axis.font())
    width = max((fm.horizontalAdvance(t) for t in labels), default=0) + margin
    if titled:
        width += QFontMetrics(axis.label.font()).height() + 4
    axis.setWidth(max(width, 40))


def _export_svg(item: object, path: str) -> None:
    """Render a pyqtgraph item (or a whole scene) into an SVG file with Qt's SVG generator.

    (pyqtgraph's SVGExporter cannot parse the path data Qt 6.12 writes.)
    """
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator
    from PySide6.QtWidgets import QGraphicsScene

    if isinstance(item, QGraphicsScene):
        scene, source = item, item.sceneRect()
    else:
        scene, source = item.scene(), item.sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(QSize(int(source.width()), int(source.height())))
    gen.setViewBox(QRectF(0, 0, source.width(), source.height()))
    gen.setTitle(os.path.basename(path))
    painter = QPainter(gen)
    try:
        scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


class FastScatter(pg.ScatterPlotItem):
    """A ScatterPlotItem for points that all share the item's style (no per-point symbol,
    size, pen or brush). pyqtgraph looks each point's symbol up in its atlas one by one in
    Python (a quarter of a second for 20,000 points); here one lookup serves every point. Any
    other use falls back to pyqtgraph's own code."""

    def updateSpots(self, dataSet: Optional[np.ndarray] = None) -> None:  # noqa: N802,N803
        data = self.data if dataSet is None else dataSet
        if not (self.opts["pxMode"] and self.opts["useCache"]) or not _uniform(data):
            super().updateSpots(dataSet)
            return
        new = data["sourceRect"]["w"] == 0
        if new.any():
            style = (self.opts["symbol"], self.opts["size"], self.opts["pen"], self.opts["brush"])
            data["sourceRect"][new] = self.fragmentAtlas[[style]][0]
            self._maybeRebuildAtlas()
        self._updateMaxSpotSizes(data=data)
        if new.any():
            self.invalidate()


def _uniform(data: np.ndarray) -> bool:
    """No point of ``data`` carries a style of its own (nor is hovered)."""
    if not len(data):
        return True
    if not (data["size"] == -1).all() or data["hovered"].any():
        return False
    return all((data[k] == None).all() for k in ("symbol", "pen", "brush"))  # noqa: E711


def set_label(plot: pg.PlotItem, axis: str, text: str) -> None:
    """Set an axis label only when it changes (each call redraws the whole axis)."""
    ax = plot.getAxis(axis)
    if getattr(ax, "_oo_label", None) != text:
        plot.setLabel(axis, text)
        ax._oo_label = text


def set_ticks(axis: pg.AxisItem, ticks: Optional[list]) -> None:
    """Set fixed ticks (None: automatic) only when they change."""
    if getattr(axis, "_oo_ticks", "unset") != ticks:
        axis.setTicks(ticks)
        axis._oo_ticks = ticks


def cache_axes(plot: pg.PlotItem) -> None:
    """Paint the axes and title from a cached pixmap: they change far less often than the
    data (their text costs more to draw than thousands of points)."""
    from PySide6.QtWidgets import QGraphicsItem

    mode = QGraphicsItem.CacheMode.DeviceCoordinateCache
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(mode)
    plot.titleLabel.setCacheMode(mode)


class AppendableScatter:
    """A scatter that appends cheaply: a large ``base`` item set at full redraws and a small
    ``recent`` item that takes appended points (pyqtgraph's addPoints copies and re-indexes
    the whole item). Above ``RECENT_LIMIT`` appended points the next append folds them in."""

    RECENT_LIMIT = 5_000

    def __init__(self, plot: pg.PlotItem, **opts: object) -> None:
        self.base = FastScatter(**opts)
        self.recent = FastScatter(**opts)
        plot.addItem(self.base)
        plot.addItem(self.recent)
        self._rx = np.empty(0)
        self._ry = np.empty(0)

    def set(self, x: np.ndarray, y: np.ndarray) -> None:
        self.base.setData(x=np.asarray(x, dtype=float), y=np.asarray(y, dtype=float))
        self._rx, self._ry = np.empty(0), np.empty(0)
        self.recent.setData(x=self._rx, y=self._ry)

    def append(self, x: np.ndarray, y: np.ndarray) -> None:
        rx = np.concatenate([self._rx, np.asarray(x, dtype=float)])
        ry = np.concatenate([self._ry, np.asarray(y, dtype=float)])
        if len(rx) > self.RECENT_LIMIT:
            bx, by = self.base.getData()
            self.set(np.concatenate([bx, rx]), np.concatenate([by, ry]))
            return
        self._rx, self._ry = rx, ry
        self.recent.setData(x=rx, y=ry)

    def getData(self) -> tuple:  # noqa: N802 - reads like the pyqtgraph items it stands for
        bx, by = self.base.getData()
        return np.concatenate([bx, self._rx]), np.concatenate([by, self._ry])

    def clear(self) -> None:
        self.set(np.empty(0), np.empty(0))
