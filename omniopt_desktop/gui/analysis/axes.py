"""Axes that read as plain numbers.

pyqtgraph rescales values with an SI prefix ("ERROR (x0.001)" over ticks 100…900 for errors
of 0.1…0.9) and, on log axes, labels every minor tick as ``2·10¹``, ``3·10¹``… which run into
each other on a narrow plot. :class:`ValueAxis` keeps the values as they are and labels a log
axis at 1-2-5 steps (or every n-th decade), as many as fit its length, written as numbers
(``20``, ``0.005``, ``1e+06``); the other tick positions stay as unlabelled minor ticks.
"""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np
import pyqtgraph as pg

# pixels a label needs along the axis: wide numbers on a horizontal axis, one line on a vertical
LABEL_PX = {"horizontal": 60, "vertical": 28}
STEPS = ((1, 2, 3, 5), (1, 2, 5), (1, 5), (1, 3), (1,))  # richest first
MINOR_SPACING = -1.0  # marks the unlabelled level for logTickStrings


def log_label(v: float) -> str:
    """The number at log10 position ``v``: ``20``, ``0.005``, ``1e+06``."""
    x = 10.0**v
    return f"{x:.4g}" if 1e-4 <= x < 1e6 else f"{x:.0e}".replace("e+0", "e+").replace("e-0", "e-")


def log_ticks(lo: float, hi: float, room: int) -> Tuple[List[float], List[float]]:
    """Labelled and unlabelled tick positions (log10) between ``lo`` and ``hi`` when at most
    ``room`` labels fit."""
    first, last = math.floor(lo), math.ceil(hi)
    decades = range(first, last + 1)
    inside = [d + math.log10(m) for d in decades for m in range(1, 10)]
    inside = [t for t in inside if lo - 1e-9 <= t <= hi + 1e-9]
    for steps in STEPS:
        major = [d + math.log10(m) for d in decades for m in steps]
        major = [t for t in major if lo - 1e-9 <= t <= hi + 1e-9]
        if len(major) <= room and len(major) >= 2:
            break
        if steps == (1,):  # too many decades even so: every n-th one
            every = max(1, math.ceil(len(major) / max(1, room)))
            major = [float(d) for d in decades if d % every == 0 and lo - 1e-9 <= d <= hi + 1e-9]
    if len(major) < 2:  # zoomed in within a decade: evenly spaced round numbers
        x_lo, x_hi = 10.0**lo, 10.0**hi
        step = _nice_step((x_hi - x_lo) / max(1, room))
        values = np.arange(math.ceil(x_lo / step) * step, x_hi + step * 1e-9, step)
        major = [float(t) for t in np.log10(values[values > 0])]
    minor = [t for t in inside if not any(abs(t - m) < 1e-9 for m in major)]
    return major, minor


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 × 10^k not below ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    base = 10.0 ** math.floor(math.log10(raw))
    return next(m * base for m in (1, 2, 5, 10) if m * base >= raw * (1 - 1e-9))


class ValueAxis(pg.AxisItem):
    """See the module docstring."""

    def __init__(self, orientation: str, **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, ANN001 - pyqtgraph's
        lo, hi = sorted((float(minVal), float(maxVal)))
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi - lo > 300:
            return []
        px = LABEL_PX["horizontal" if self.orientation in ("bottom", "top") else "vertical"]
        major, minor = log_ticks(lo, hi, max(2, int(size // px)))
        return [(1.0, major), (MINOR_SPACING, minor)]

    def logTickStrings(self, values, scale, spacing):  # noqa: N802, ANN001 - pyqtgraph's
        if spacing == MINOR_SPACING:
            return [""] * len(values)
        return [log_label(v) for v in values]


def value_axes() -> dict:
    """Bottom and left axes for a PlotItem/PlotWidget (``axisItems=``)."""
    return {"bottom": ValueAxis("bottom"), "left": ValueAxis("left")}
