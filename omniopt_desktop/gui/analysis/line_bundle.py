"""One item drawing many polylines through evenly spaced axes (the parallel coordinates)."""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QImage, QPaintEngine, QPainter, QTransform

NAN_Y = -0.05  # where a missing value is drawn (below "low")


class LineBundle(pg.GraphicsObject):
    """Polylines through the axes 0..k-1, in groups of one pen each, painted by one item.

    ``cached``: the lines are drawn once into an image of the device's pixels (white
    background) and that image is multiplied onto the plot at each paint until the lines or the
    view change: an append drawn by another item does not repaint thousands of lines. (Over
    the white plot background this gives the same pixels as drawing the lines; Qt's own item
    cache was repainted at each paint here, into a transparent pixmap, five times slower.)
    Vector output (SVG) gets the lines themselves."""

    def __init__(self, pens: List[object], cached: bool = False) -> None:
        super().__init__()
        self.pens = pens
        self.k = 0
        self.cached = cached
        self._groups: List[np.ndarray] = [np.empty((0, 0)) for _ in pens]
        self._paths: List[object] = [None for _ in pens]
        self._image: Optional[QImage] = None
        self._image_key: tuple = ()

    def set_lines(self, groups: List[np.ndarray], k: int) -> None:
        """``groups[i]``: (lines, k) y values drawn with ``pens[i]``."""
        self.prepareGeometryChange()
        self.k = k
        self._groups = [np.asarray(g, dtype=float).reshape(-1, k) for g in groups]
        self._changed()

    def add_lines(self, groups: List[np.ndarray]) -> None:
        for i, g in enumerate(groups):
            if len(g):
                self._groups[i] = np.vstack([self._groups[i], np.asarray(g, dtype=float)])
        self._changed()

    def _changed(self) -> None:
        self._paths = [None for _ in self.pens]
        self._image = None
        self.update()

    def lines(self, group: Optional[int] = None) -> np.ndarray:
        """(lines, k) y values drawn (of one group, or all), missing values at ``NAN_Y``."""
        parts = self._groups if group is None else [self._groups[group]]
        return np.vstack(parts) if parts else np.empty((0, self.k))

    def __len__(self) -> int:
        return sum(len(g) for g in self._groups)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(0.0, NAN_Y, float(max(self.k - 1, 0)), 1.0 - NAN_Y)

    def paint(self, p: QPainter, *args: object) -> None:
        if not len(self) or self.k < 2:
            return
        if not self.cached or p.paintEngine().type() != QPaintEngine.Type.Raster:
            self._draw(p)
            return
        t = p.worldTransform()
        rect = t.mapRect(self.boundingRect()).toAlignedRect().adjusted(-2, -2, 2, 2)
        dpr = p.device().devicePixelRatioF()
        key = (t, rect, dpr)
        if self._image is None or self._image_key != key:
            img = QImage(rect.size() * dpr, QImage.Format.Format_RGB32)
            img.setDevicePixelRatio(dpr)
            img.fill(0xFFFFFFFF)
            q = QPainter(img)
            # with a clip Qt strokes these thin lines directly (without: five times slower)
            q.setClipRect(QRect(0, 0, rect.width(), rect.height()))
            q.setTransform(t * QTransform.fromTranslate(-rect.x(), -rect.y()))
            self._draw(q)
            q.end()
            self._image, self._image_key = img, key
        p.save()
        p.resetTransform()
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Multiply)
        p.drawImage(rect.topLeft(), self._image)
        p.restore()

    def _draw(self, p: QPainter) -> None:
        k = self.k
        for i, (pen, ys) in enumerate(zip(self.pens, self._groups)):
            if not len(ys):
                continue
            if self._paths[i] is None:
                n = len(ys)
                x = np.tile(np.arange(k, dtype=float), n)
                connect = np.ones(n * k, dtype=bool)
                connect[k - 1 :: k] = False
                self._paths[i] = pg.arrayToQPath(x, ys.reshape(-1), connect)
            p.setPen(pen)
            p.drawPath(self._paths[i])
