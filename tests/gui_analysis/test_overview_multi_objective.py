"""`open --screenshot` of a multi-objective study: the distribution view that the Pareto front
replaces must not stay on screen (it was painted over the history plot: deleteLater waits for
the event loop, and the screenshot is taken before it runs)."""

from __future__ import annotations

import optuna

from omniopt_desktop.analysis.loader import load_trials
from omniopt_desktop.gui.analysis.distribution import DistributionView
from omniopt_desktop.gui.analysis.open_app import Overview
from omniopt_desktop.gui.analysis.pareto import ParetoView


def make_two_objective_db(path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.create_study(
        storage=f"sqlite:///{path}", study_name="mo", directions=["minimize", "maximize"]
    )
    s.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=8)


def test_pareto_replaces_the_distribution_view_before_any_event_loop(qtbot, tmp_path):
    db = tmp_path / "mo.db"
    make_two_objective_db(db)
    overview = Overview(load_trials(str(db)), str(db))
    qtbot.addWidget(overview)
    assert isinstance(overview.views[2], ParetoView)
    left = [w for w in overview.findChildren(DistributionView) if not w.isHidden()]
    assert left == []


def test_a_study_without_trials_says_so(qtbot, tmp_path):
    db = tmp_path / "none.db"
    optuna.create_study(storage=f"sqlite:///{db}", study_name="none")
    overview = Overview(load_trials(str(db)), str(db))
    qtbot.addWidget(overview)
    assert "no trials yet" in overview.header.text() and "()" not in overview.header.text()
