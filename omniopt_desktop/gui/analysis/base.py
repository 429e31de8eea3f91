"""A view of the analysis window: redraws from the model when asked, exports PNG/SVG."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .axes import value_axes
from .model import AnalysisModel
from .style import cache_axes, export_scene


class AnalysisView(QWidget):
    """Subclasses set ``title`` and implement :meth:`redraw`. The panel calls :meth:`refresh`
    (throttled) after model changes; only visible views redraw, hidden ones when shown."""

    title = "view"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.model = model
        self.dirty = True
        self.drawn_version = -1
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(2, 2, 2, 2)

    def refresh(self, force: bool = False) -> None:
        if (self.dirty or force) and self.model.cols is not None:
            self.redraw()
            self.dirty = False
            self.drawn_version = self.model.version

    def redraw(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def export_item(self) -> object:
        """The pyqtgraph item exported as PNG/SVG."""
        raise NotImplementedError

    def export(self, path: str) -> str:
        self.refresh()
        return export_scene(self.export_item(), path)


def new_rows(drawn: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Which of ``numbers`` are not in the sorted array ``drawn`` (as a boolean mask)."""
    if not len(drawn):
        return np.ones(len(numbers), dtype=bool)
    i = np.clip(np.searchsorted(drawn, numbers), 0, len(drawn) - 1)
    return drawn[i] != numbers


def add_drawn(drawn: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """``drawn`` (sorted) with ``numbers`` (not in it) added, still sorted."""
    if not len(numbers):
        return drawn
    numbers = np.sort(numbers)
    if not len(drawn) or numbers[0] > drawn[-1]:
        return np.concatenate([drawn, numbers])
    return np.insert(drawn, np.searchsorted(drawn, numbers), numbers)


class SinglePlotView(AnalysisView):
    """A view holding one PlotWidget."""

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        self.plot_widget = pg.PlotWidget(axisItems=value_axes())
        self.plot = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        cache_axes(self.plot)
        self._layout.addWidget(self.plot_widget)

    def export_item(self) -> object:
        return self.plot
