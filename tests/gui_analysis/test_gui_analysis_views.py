"""Each analysis view's plotted data, read back from its pyqtgraph items, on known studies."""

from __future__ import annotations

import numpy as np
import pytest
from support.analysis_columns import T0, multi_objective, single_objective

from omniopt_desktop.analysis import derived
from omniopt_desktop.analysis.columns import TrialState
from omniopt_desktop.gui.analysis import AnalysisPanel


@pytest.fixture
def panel(qtbot):
    p = AnalysisPanel(single_objective())
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    return p


@pytest.fixture
def mo_panel(qtbot):
    p = AnalysisPanel(multi_objective())
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    return p


def xy(item):
    x, y = item.getData()
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def test_history_points_best_curve_and_log_y(panel):
    v = panel.show_view("history")
    x, y = xy(v.points)
    assert x.tolist() == [0, 1, 3, 4] and y.tolist() == [5, 3, 4, 1]
    bx, by = xy(v.best_curve)
    assert bx.tolist() == [0, 1, 1, 4, 4, 4] and by.tolist() == [5, 5, 3, 3, 1, 1]
    assert xy(v.best_point)[0].tolist() == [4] and xy(v.best_point)[1].tolist() == [1]
    v.log_y.setChecked(True)
    assert np.allclose(xy(v.points)[1], np.log10([5, 3, 4, 1]))
    assert np.allclose(xy(v.best_point)[1], [0.0])


def test_slices_per_parameter(panel):
    v = panel.show_view("slices")
    assert set(v.scatters) == {"x", "lr", "act"}
    x, y = xy(v.scatters["x"])
    assert x.tolist() == [-4, -2, 2, 4] and y.tolist() == [5, 3, 4, 1]
    assert np.allclose(xy(v.scatters["lr"])[0], [-4, -3, -1, -2])  # log10
    assert xy(v.scatters["act"])[0].tolist() == [0, 1, 0, 2]  # choice index
    assert xy(v.best["x"])[0].tolist() == [4]


def test_parallel_coordinates_and_brushing_filter_the_table(panel):
    v = panel.show_view("parallel")
    assert v.axes == ["x", "lr", "act", "loss"]
    lines = v.drawn_lines()
    assert lines.shape == (4, 4)
    expected = {
        (0.1, 0.0, 0.0, 1.0),
        (0.3, 1 / 3, 0.5, 0.5),
        (0.7, 1.0, 0.0, 0.75),
        (0.9, 2 / 3, 1.0, 0.0),
    }
    assert {tuple(np.round(r, 6)) for r in lines} == {tuple(np.round(e, 6)) for e in expected}
    v.set_brush(0, 0.5, 1.0)  # x >= 0
    mask = panel.model.selection
    assert mask.tolist() == [False, False, True, True, True, True]
    table = panel.show_view("table")
    assert sorted(panel.model.cols.number[table.table_model.rows].tolist()) == [2, 3, 4, 5]
    v2 = panel.show_view("parallel")
    assert len(v2.drawn_lines()) == 2  # completed trials 3 and 4 stay coloured
    v2.clear_brushes()
    assert panel.model.selection is None
    assert panel.show_view("table").table_model.rowCount() == 6


def test_scatter_2d_of_two_parameters(panel):
    v = panel.show_view("scatter")
    v.set_axes("x", "act")
    pts = {tuple(p) for p in v.points()}
    assert pts == {(-4, 0), (-2, 1), (2, 0), (4, 2)}
    # the best trial (value 1) is in the best colour bin
    best_bin = v.bins[-1].getData()
    assert (4.0, 2.0) in set(zip(best_bin[0], best_bin[1]))


def test_importance_bars(panel):
    v = panel.show_view("importance")
    shares = v.shares()
    assert set(shares) == {"x", "lr", "act"}
    expected = derived.importance(panel.model.cols)
    total = sum(expected.values())
    for name, share in shares.items():
        assert share == pytest.approx(expected[name] / total if total else 0.0)
    assert v.names[-1] == next(iter(expected))  # most important on top


def test_empirical_distribution(panel):
    v = panel.show_view("distribution")
    x, y = xy(v.curve)
    assert x.tolist() == [1, 1, 3, 3, 4, 4, 5, 5]
    assert y.tolist() == pytest.approx([0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0])


def test_pareto_front_multi_objective(mo_panel):
    v = mo_panel.show_view("pareto")
    fx, fy = xy(v.front)
    assert fx.tolist() == [1, 2, 4] and fy.tolist() == [1, 3, 5]
    ox, oy = xy(v.others)
    assert sorted(zip(ox.tolist(), oy.tolist())) == [(3, 2), (5, 4)]
    loss = derived.losses(mo_panel.model.cols)
    ref = derived.reference_point(loss)
    assert v.hypervolume == pytest.approx(derived.hypervolume(loss[[0, 1, 3]], ref))


def test_pareto_view_on_a_single_objective_study(panel):
    v = panel.show_view("pareto")
    assert v.hypervolume is None and "single-objective" in v.hv_label.text()


def test_timeline_segments_by_worker_and_state(panel):
    v = panel.show_view("timeline")
    v.now = lambda: T0 + 99.0
    v.refresh(force=True)
    assert v.workers == ["a:1", "b:2"]
    x, y = xy(v.segments[TrialState.COMPLETE])
    bars = set(zip(x[0::2].tolist(), x[1::2].tolist(), y[0::2].tolist()))
    assert bars == {
        (T0, T0 + 5, 0),
        (T0 + 10, T0 + 15, 1),
        (T0 + 30, T0 + 35, 1),
        (T0 + 40, T0 + 45, 0),
    }
    assert (y[0::2] == y[1::2]).all()
    fx, fy = xy(v.segments[TrialState.FAIL])
    assert fx.tolist() == [T0 + 20, T0 + 25] and fy.tolist() == [0, 0]
    rx, _ = xy(v.segments[TrialState.RUNNING])
    assert rx.tolist() == [T0 + 50, T0 + 99]


def test_table_sort_filter_and_best_highlight(panel, qtbot):
    from PySide6.QtCore import Qt

    v = panel.show_view("table")
    m = v.table_model
    titles = [c.title for c in m.columns]
    assert titles[:6] == ["#", "state", "loss", "x", "lr", "act"]
    assert m.rowCount() == 6
    m.sort(2, Qt.SortOrder.AscendingOrder)
    assert [m.data(m.index(r, 0)) for r in range(6)] == ["4", "1", "3", "0", "2", "5"]
    assert m.data(m.index(0, 0), Qt.ItemDataRole.BackgroundRole) is not None  # best
    assert m.data(m.index(1, 0), Qt.ItemDataRole.BackgroundRole) is None
    assert m.data(m.index(0, 5)) == "gelu"
    v.state_combo.setCurrentIndex(v.state_combo.findData(int(TrialState.FAIL)))
    assert m.rowCount() == 1 and m.data(m.index(0, 0)) == "2"
    v.state_combo.setCurrentIndex(0)
    v.search.setText("tanh")
    assert sorted(m.data(m.index(r, 0)) for r in range(m.rowCount())) == ["1", "5"]


def test_summary_counts_and_reasons(panel):
    v = panel.show_view("summary")
    text = v.text.toPlainText()
    assert "Best trial #4" in text and "exit code 3" in text
    assert v.best_command() is None and not v.copy_button.isEnabled()  # no study.json


def test_objective_choice_redraws(mo_panel):
    v = mo_panel.show_view("history")
    assert xy(v.points)[1].tolist() == [1, 2, 3, 4, 5]
    mo_panel.objective_combo.setCurrentIndex(1)
    assert xy(v.points)[1].tolist() == [1, 3, 2, 5, 4]
    assert xy(v.best_point)[1].tolist() == [5]  # maximised


def test_each_view_exports_png_and_svg(panel, tmp_path):
    for key in (
        "history",
        "slices",
        "parallel",
        "scatter",
        "importance",
        "distribution",
        "pareto",
        "timeline",
    ):
        for ext in ("png", "svg"):
            path = panel.export_view(str(tmp_path / f"{key}.{ext}"), key)
            data = open(path, "rb").read()
            assert data.startswith(b"\x89PNG") if ext == "png" else b"<svg" in data[:2000]
    csv = panel.export_view(str(tmp_path / "t.csv"), "table")
    assert open(csv).read().splitlines()[0].startswith("trial_index,submit_time")


def test_timeline_joins_bars_narrower_than_a_pixel_until_zoomed_in(qtbot):
    from support.analysis_columns import single_objective

    from omniopt_desktop.analysis.columns import TrialColumns

    base = single_objective()
    n = 4000  # 4,000 one-second trials back to back on one worker
    cols = TrialColumns(
        study=base.study,
        number=np.arange(n),
        state=np.ones(n, dtype=np.int8),
        values=np.arange(n, dtype=float).reshape(n, 1),
        start=T0 + np.arange(n) * 1.0,
        complete=T0 + np.arange(n) * 1.0 + 0.9,
        params={},
        param_info={},
        user_attrs={"oo_worker": np.array(["w"] * n, dtype=object)},
    )
    p = AnalysisPanel(cols)
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    v = p.show_view("timeline")
    assert v.drawn_segments < 100  # joined: 0.1 s gaps are far below a pixel
    v.plot.getViewBox().setXRange(T0, T0 + 20, padding=0)
    qtbot.waitUntil(lambda: v.drawn_segments >= 20, timeout=5000)


def _later_trials(first, last, done_from_before=()):
    """Trials ``first..last`` (complete, value = number / 2) plus re-read ones now complete."""
    from dataclasses import replace

    base = single_objective()
    numbers = np.array([*done_from_before, *range(first, last + 1)])
    n = len(numbers)
    rng = np.random.default_rng(int(first))
    return replace(
        base,
        number=numbers,
        state=np.ones(n, dtype=np.int8),
        values=(numbers / 2.0).reshape(n, 1),
        start=T0 + numbers * 10.0,
        complete=T0 + numbers * 10.0 + 5,
        params={
            "x": rng.uniform(-5, 5, n),
            "lr": 10 ** rng.uniform(-4, -1, n),
            "act": rng.integers(0, 3, n).astype(float),
        },
        user_attrs={k: v[:1].repeat(n) for k, v in base.user_attrs.items()},
    )


def _points(item):
    x, y = xy(item)
    return sorted(zip(x.tolist(), y.tolist()))


@pytest.mark.parametrize("flush_between", [True, False])
def test_appended_points_equal_a_full_redraw(qtbot, flush_between):
    """Live appends (a running trial that completed, new trials; one or two appends per
    redraw) leave each view's items with the points a full redraw of the same trials draws."""
    live = AnalysisPanel(single_objective())
    qtbot.addWidget(live)
    live.resize(1000, 700)
    live.show()
    keys = ("history", "slices", "scatter", "parallel", "timeline")
    for key in keys:
        live.show_view(key)
    for key in keys:
        live.show_view(key)
        live.append_trials(_later_trials(6, 8, done_from_before=[5]))
        if flush_between:
            live.flush()
        live.append_trials(_later_trials(9, 12))
        live.flush()
        live.model.append(_later_trials(13, 13))  # not redrawn yet: the next view draws it
    fresh = AnalysisPanel(live.model.cols)
    qtbot.addWidget(fresh)
    fresh.show()
    assert len(live.model.cols) == 14
    for key in keys:
        a, b = live.show_view(key), fresh.show_view(key)
        if key == "history":
            assert _points(a.points) == _points(b.points)
            assert len(_points(a.points)) == 13  # 0, 1, 3, 4 and 5..13
            assert _points(a.best_curve) == _points(b.best_curve)
        elif key == "slices":
            for name in b.scatters:
                assert _points(a.scatters[name]) == _points(b.scatters[name]), name
                assert _points(a.best[name]) == _points(b.best[name]), name
        elif key == "scatter":
            assert sorted(map(tuple, a.points().tolist())) == sorted(
                map(tuple, b.points().tolist())
            )
        elif key == "parallel":
            np.testing.assert_array_equal(a.normalized(), b.normalized())  # brushing uses all
            np.testing.assert_array_equal(
                np.sort(a.drawn_lines(), axis=0), np.sort(b.drawn_lines(), axis=0)
            )
        else:
            for state, item in b.segments.items():
                assert _points(a.segments[state]) == _points(item), state


def test_importance_is_kept_across_small_appends_and_recomputed_as_the_study_grows(qtbot):
    """PED-ANOVA is the costliest redraw of a live append: after appends it is computed again
    once the study has grown by 1 % (here 2 trials of 200), and then equals a fresh one."""
    p = AnalysisPanel(_later_trials(0, 199))
    qtbot.addWidget(p)
    p.show()
    v = p.show_view("importance")
    first = p.model.importance()
    assert first and p.model.importance_trials() == 200
    assert "(200 trials)" in v.plot.titleLabel.text
    p.append_trials(_later_trials(200, 200))
    p.flush()
    assert p.model.importance() is first  # 1 new trial of 200: kept
    p.append_trials(_later_trials(201, 201))
    p.flush()
    again = p.model.importance()
    assert again is not first and p.model.importance_trials() == 202
    assert again == pytest.approx(derived.importance(p.model.cols))
    assert v.shares() == pytest.approx({k: x / sum(again.values()) for k, x in again.items()})
    assert "(202 trials)" in v.plot.titleLabel.text


def test_parallel_appends_draw_only_the_new_lines_until_an_axis_moves(qtbot):
    """An append inside the axes' ranges adds its lines on top (coloured by the bins of the
    last full draw) and leaves the cached image of the others; the lines equal a full redraw.
    A value beyond the objective's range rescales that axis: everything is drawn again."""
    from dataclasses import replace

    live = AnalysisPanel(_later_trials(0, 199))  # values 0 .. 99.5, minimised
    qtbot.addWidget(live)
    live.resize(1000, 700)
    live.show()
    v = live.show_view("parallel")
    v.grab()
    image = v.lines._image
    assert image is not None and len(v.lines) == 200 and len(v.recent) == 0
    new = _later_trials(200, 209)
    new = replace(new, values=((new.number - 200) * 9.0 + 0.25).reshape(-1, 1))  # 0.25 .. 81.25
    live.append_trials(new)
    live.flush()
    v.grab()
    assert len(v.lines) == 200 and len(v.recent) == 10
    assert v.lines._image is image  # the 200 lines drawn before were not painted again
    fresh = AnalysisPanel(live.model.cols)
    qtbot.addWidget(fresh)
    fresh.show()
    f = fresh.show_view("parallel")
    np.testing.assert_array_equal(
        np.sort(v.drawn_lines(), axis=0), np.sort(f.drawn_lines(), axis=0)
    )
    # the new trial of value 0.25 (second best) is drawn in the best colour, as in a full draw
    row = int(np.searchsorted(live.model.cols.number, 200))
    line = v.normalized()[row]
    for view in (v, f):
        best = view.drawn_lines(len(view.lines.pens) - 1)
        assert any(np.allclose(line, b) for b in best)
    live.append_trials(replace(_later_trials(210, 210), values=np.array([[500.0]])))
    live.flush()
    assert len(v.recent) == 0 and len(v.lines) == 211  # the objective axis moved: all drawn


def test_scatter_appends_add_points_coloured_by_the_last_full_draw(qtbot):
    """Appended trials join the 2-D scatter without a full redraw (the items of the points
    drawn before keep their data); the points equal a full redraw, the best new trial is in the
    best colour; another choice of axes draws everything again."""
    from dataclasses import replace

    live = AnalysisPanel(_later_trials(0, 199))  # values 0 .. 99.5, minimised
    qtbot.addWidget(live)
    live.show()
    v = live.show_view("scatter")
    before = [item.base.data for item in v.bins]  # the points array of each base item
    new = _later_trials(200, 209)
    new = replace(new, values=((new.number - 200) * 9.0 + 0.25).reshape(-1, 1))
    live.append_trials(new)
    live.flush()
    assert all(item.base.data is b for item, b in zip(v.bins, before))
    assert sum(len(item.recent.getData()[0]) for item in v.bins) == 10
    fresh = AnalysisPanel(live.model.cols)
    qtbot.addWidget(fresh)
    fresh.show()
    f = fresh.show_view("scatter")
    assert sorted(map(tuple, v.points().tolist())) == sorted(map(tuple, f.points().tolist()))
    x_new = float(new.params["x"][0])  # the trial of value 0.25
    for view in (v, f):
        assert x_new in set(view.bins[-1].getData()[0].tolist())
    v.set_axes("lr", "x")
    assert sum(len(item.recent.getData()[0]) for item in v.bins) == 0
    assert len(v.points()) == 210


def test_timeline_draws_no_bar_for_a_waiting_trial(qtbot):
    """A trial handed back unrun (budget taken by other workers) stays WAITING with a start
    time: drawn up to 'now' it stretched the axis and added a '?' worker row."""
    from omniopt_desktop.analysis.columns import TrialColumns

    base = single_objective()
    state = np.array([1, 1, int(TrialState.WAITING)], dtype=np.int8)
    cols = TrialColumns(
        study=base.study,
        number=np.arange(3),
        state=state,
        values=np.array([[1.0], [2.0], [np.nan]]),
        start=np.array([T0, T0 + 2, T0 + 4]),
        complete=np.array([T0 + 1, T0 + 3, np.nan]),
        params={},
        param_info={},
        user_attrs={"oo_worker": np.array(["w1", "w2", None], dtype=object)},
    )
    p = AnalysisPanel(cols)
    qtbot.addWidget(p)
    v = p.show_view("timeline")
    v.now = lambda: T0 + 10_000
    v.refresh(force=True)
    assert v.workers == ["w1", "w2"]
    assert TrialState.WAITING not in v.segments
    x, y = xy(v.segments[TrialState.COMPLETE])
    assert x.max() == T0 + 3 and sorted(set(y.tolist())) == [0.0, 1.0]


def test_table_shows_float_parameters_short_and_in_full_on_hover():
    """A log-scale float filled its cell with '1.982574085...' (cut off); a step value
    showed as '0.350000000...'."""

    from omniopt_desktop.analysis.columns import ParamInfo, ParamKind

    width = ParamInfo("width", ParamKind.FLOAT, 1.0, 64.0, log=True)
    assert width.label(1.9825740851234567) == "1.98257"
    assert width.text(1.9825740851234567) == repr(1.9825740851234567)
    dropout = ParamInfo("dropout", ParamKind.FLOAT, 0.0, 0.6, step=0.05)
    assert dropout.label(0.05 * 7) == "0.35" and dropout.text(0.05 * 7) == "0.35"
    assert dropout.label(0.0) == "0" and ParamInfo("n", ParamKind.INT, 1, 9).label(3.0) == "3"


def test_table_cell_tooltip_holds_the_full_value(panel):
    from PySide6.QtCore import Qt

    m = panel.show_view("table").table_model
    lr = [c.title for c in m.columns].index("lr")
    assert m.data(m.index(1, lr), Qt.ItemDataRole.ToolTipRole) == "0.001"
    assert m.data(m.index(1, 0), Qt.ItemDataRole.ToolTipRole) is None


def test_the_fail_reason_column_takes_the_free_width_and_hovers_in_full(panel):
    from PySide6.QtCore import Qt

    v = panel.show_view("table")
    m = v.table_model
    reason = [c.title for c in m.columns].index("fail reason")
    assert reason == len(m.columns) - 1 and v.table.horizontalHeader().stretchLastSection()
    row = [m.data(m.index(r, 0)) for r in range(m.rowCount())].index("2")
    assert m.data(m.index(row, reason), Qt.ItemDataRole.ToolTipRole) == "exit code 3"
