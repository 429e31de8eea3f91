"""Axis labels read as plain numbers: log axes at 1-2-5 steps that fit, no SI rescaling."""

from __future__ import annotations

import math

from omniopt_desktop.gui.analysis.axes import ValueAxis, log_label, log_ticks


def _labels(lo, hi, room):
    major, minor = log_ticks(math.log10(lo), math.log10(hi), room)
    return [log_label(v) for v in major], len(minor)


def test_log_labels_are_numbers_and_fit_the_room():
    assert _labels(1, 64, 20) == (["1", "2", "3", "5", "10", "20", "30", "50"], 7)
    labels, minor = _labels(1, 64, 5)
    assert len(labels) <= 5 and labels[0] == "1" and "10" in labels and minor > 0
    many, _ = _labels(1e-7, 100, 6)
    assert len(many) <= 6 and "1e-6" in many and "0.01" in many
    assert _labels(2.3, 2.8, 6)[0] == ["2.3", "2.4", "2.5", "2.6", "2.7", "2.8"]  # within a decade


def test_value_axis_labels_log_ticks_and_keeps_values_unscaled(qtbot):
    import pyqtgraph as pg

    w = pg.PlotWidget(axisItems={"bottom": ValueAxis("bottom"), "left": ValueAxis("left")})
    qtbot.addWidget(w)
    bottom, left = w.getPlotItem().getAxis("bottom"), w.getPlotItem().getAxis("left")
    bottom.setLogMode(True)
    levels = bottom.tickValues(0.0, math.log10(64), 300)
    strings = [bottom.tickStrings(vals, 1.0, spacing) for spacing, vals in levels]
    assert strings[0] == ["1", "5", "10", "50"] and set(strings[1]) == {""}
    w.plot([0, 1], [0.1, 0.9])
    w.resize(400, 300)
    w.show()
    qtbot.waitExposed(w)
    assert left.autoSIPrefixScale == 1.0  # 0.1 … 0.9 stays 0.1 … 0.9, no "(x0.001)"
