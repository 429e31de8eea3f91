"""Derived series on known values, and PED-ANOVA / hypervolume against Optuna's own."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from support.analysis_optuna import fill_study
from support.analysis_studies import make_bulk_db

from omniopt_desktop.analysis import derived
from omniopt_desktop.analysis.columns import StudyInfo, TrialColumns
from omniopt_desktop.analysis.loader import load_trials


def _cols(values, directions=("minimize",), states=None, attrs=None):
    values = np.asarray(values, dtype=float).reshape(len(values), -1)
    n = len(values)
    return TrialColumns(
        study=StudyInfo("t", tuple(directions), tuple(f"v{i}" for i in range(len(directions)))),
        number=np.arange(n),
        state=np.array(states if states is not None else [1] * n, dtype=np.int8),
        values=values,
        start=np.zeros(n),
        complete=np.ones(n),
        user_attrs=attrs or {},
    )


def test_best_so_far_min_and_max():
    c = _cols([5, 3, np.nan, 4, 1], states=[1, 1, 3, 1, 1])
    b = derived.best_so_far(c)
    assert list(b.number) == [0, 1, 3, 4]
    assert list(b.best) == [5, 3, 3, 1]
    assert derived.best_row(c) == 4
    m = derived.best_so_far(_cols([1, 3, 2], directions=("maximize",)))
    assert list(m.best) == [1, 3, 3]


def test_pareto_front_2d_and_hypervolume():
    pts = [[1, 5], [2, 3], [3, 4], [4, 1], [2, 3], [5, 5]]
    c = _cols(pts, directions=("minimize", "minimize"))
    rows = derived.pareto_front_rows(c)
    assert sorted(rows.tolist()) == [0, 1, 3, 4]
    front = np.array([[1, 5], [2, 3], [4, 1]], dtype=float)
    assert derived.hypervolume(front, np.array([6.0, 6.0])) == pytest.approx(1 * 1 + 2 * 3 + 2 * 5)


def test_pareto_with_a_maximised_objective():
    c = _cols([[1, 1], [2, 3], [3, 2]], directions=("minimize", "maximize"))
    assert sorted(derived.pareto_front_rows(c).tolist()) == [0, 1]


@pytest.mark.parametrize("k", [3, 4])
def test_nd_front_and_hypervolume_match_optuna(k):
    from optuna._hypervolume import compute_hypervolume

    rng = np.random.default_rng(k)
    loss = rng.uniform(0, 1, (300, k))
    mask = derived.pareto_mask(loss)
    le = (loss[:, None, :] <= loss[None, :, :]).all(axis=2)
    lt = (loss[:, None, :] < loss[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)  # [j, i]: j dominates i
    assert mask.tolist() == (~dominated).tolist()
    ref = np.full(k, 1.1)
    expected = compute_hypervolume(loss[mask], ref)
    assert derived.hypervolume(loss[mask], ref) == pytest.approx(
        expected, rel=1e-9 if k == 3 else 2e-2
    )


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_importance_matches_optuna_ped_anova(tmp_path, direction):
    import optuna
    from optuna.distributions import json_to_distribution
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

    make_bulk_db(str(tmp_path / "imp.db"), 400, n_params=6, directions=(direction,), seed=5)
    cols = load_trials(str(tmp_path / "imp.db"))
    # the same trials in an in-memory Optuna study, for Optuna's own evaluator
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction=direction)
    con = sqlite3.connect(tmp_path / "imp.db")
    dists = {
        n: json_to_distribution(d)
        for n, d in con.execute("SELECT DISTINCT param_name, distribution_json FROM trial_params")
    }
    con.close()
    for i in np.flatnonzero(cols.state == 1):
        params = {n: dists[n].to_external_repr(cols.params[n][i]) for n in cols.param_names}
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=dists, value=cols.values[i, 0])
        )
    expected = get_param_importances(
        study, evaluator=PedAnovaImportanceEvaluator(), normalize=False
    )
    got = derived.importance(cols)
    assert list(got) == list(expected)
    for name in expected:
        assert got[name] == pytest.approx(expected[name], rel=1e-6, abs=1e-12)


def test_failures_by_reason_and_counts(tmp_path):
    fill_study(f"sqlite:///{tmp_path / 's.db'}", n=20)
    c = load_trials(str(tmp_path / "s.db"))
    assert derived.failures_by_reason(c) == [("exit code 2", 2), ("timeout after 30s", 2)]
    counts = derived.counts_by_state(c)
    assert counts["FAIL"] == 4 and counts["PRUNED"] == 1 and counts["RUNNING"] == 1
    assert counts["COMPLETE"] == 15
    labels, idx = derived.worker_labels(c)
    # in order of first appearance; the RUNNING trial has no worker yet
    assert labels == [
        "host0:100",
        "host1:101",
        "host0:102",
        "host1:100",
        "host0:101",
        "host1:102",
        "?",
    ]
    assert len(idx) == len(c)


def test_empirical_distribution():
    v, f = derived.empirical_distribution(_cols([3, 1, 2, np.nan], states=[1, 1, 1, 3]))
    assert v.tolist() == [1, 2, 3] and f.tolist() == pytest.approx([1 / 3, 2 / 3, 1])


def test_merged_segments_join_close_bars_per_row():
    start = np.array([0.0, 1.2, 5.0, 0.0, 10.0, 0.5])
    end = np.array([1.0, 2.0, 6.0, 3.0, 11.0, 0.8])
    row = np.array([0, 0, 0, 1, 1, 0])
    s, e, r = derived.merged_segments(start, end, row, gap=0.5)
    assert list(zip(s, e, r)) == [(0.0, 2.0, 0), (5.0, 6.0, 0), (0.0, 3.0, 1), (10.0, 11.0, 1)]
