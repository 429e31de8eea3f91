"""The windowed TPE sampler: same proposals as TPE on small studies, a bounded model on big ones."""

from __future__ import annotations

import random

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from omniopt_desktop.engine.window_sampler import (
    TrialWindow,
    select_window,
    window_size_from_env,
    windowed_tpe,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

DIST = {"x": FloatDistribution(0.0, 1.0), "y": FloatDistribution(0.0, 1.0)}


def _trial(number, state, values=None):
    t = create_trial(
        state=state if state != TrialState.RUNNING else TrialState.RUNNING,
        params={"x": 0.5, "y": 0.5},
        distributions=DIST,
        values=values,
    )
    t.number = number
    return t


@pytest.mark.parametrize(
    "directions", [[StudyDirection.MINIMIZE], [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE]]
)
def test_incremental_window_equals_reference(directions):
    """Trials are created over time and finish out of order; the incremental window is always
    the reference window."""
    rnd = random.Random(3)
    states = []  # (state, values) per trial number
    window = TrialWindow(directions, best=6, recent=10)
    for _step in range(60):
        for _ in range(rnd.randint(0, 4)):
            states.append([TrialState.RUNNING, None])
        for s in states:
            if s[0] == TrialState.RUNNING and rnd.random() < 0.3:
                s[0] = rnd.choice([TrialState.COMPLETE] * 6 + [TrialState.PRUNED, TrialState.FAIL])
                if s[0] == TrialState.COMPLETE:
                    s[1] = [rnd.random() for _ in directions]
        trials = [_trial(i, st, vals) for i, (st, vals) in enumerate(states)]
        got = [t.number for t in window.update(trials)]
        want = [t.number for t in select_window(trials, directions, 6, 10)]
        assert got == want
    finished = sum(1 for st, _ in states if st in (TrialState.COMPLETE, TrialState.PRUNED))
    running = sum(1 for st, _ in states if st == TrialState.RUNNING)
    assert finished > 16 and len(got) <= 6 + 10 + running


def test_reference_window_keeps_best_recent_running():
    trials = [
        _trial(i, TrialState.COMPLETE, [float(100 - i) if i % 2 else float(i)]) for i in range(50)
    ]
    trials.append(_trial(50, TrialState.RUNNING))
    got = {t.number for t in select_window(trials, [StudyDirection.MINIMIZE], 3, 5)}
    assert got == {0, 2, 4} | {45, 46, 47, 48, 49} | {50}


def _run(sampler, n, workers=1):
    study = optuna.create_study(sampler=sampler)
    out = []
    pending = []
    for _i in range(n):
        t = study.ask()
        x, y = t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)
        pending.append((t, (x - 0.3) ** 2 + (y - 0.7) ** 2))
        out.append((x, y))
        if len(pending) >= workers:
            t, v = pending.pop(0)
            study.tell(t, v)
    return study, out


def test_small_study_same_proposals_as_tpe():
    kw = dict(seed=5, multivariate=True, constant_liar=True)
    _, plain = _run(optuna.samplers.TPESampler(**kw), 60, workers=3)
    _, windowed = _run(windowed_tpe(**kw), 60, workers=3)
    assert windowed == plain


def test_big_study_model_is_bounded():
    sampler = windowed_tpe(best=10, recent=20, seed=1, multivariate=True, constant_liar=True)
    seen = []
    orig = TrialWindow.update

    def spy(self, trials):
        w = orig(self, trials)
        seen.append((len(trials), len(w)))
        return w

    TrialWindow.update = spy
    try:
        study, _ = _run(sampler, 120)
    finally:
        TrialWindow.update = orig
    assert seen[-1][0] == 120 and all(w <= 10 + 20 + 1 for _, w in seen)
    assert study.best_value < 0.05  # still optimises


def test_window_size_from_env(monkeypatch):
    monkeypatch.delenv("OMNIOPT_TPE_WINDOW", raising=False)
    assert window_size_from_env() == (100, 400)
    monkeypatch.setenv("OMNIOPT_TPE_WINDOW", "0")
    assert window_size_from_env() is None
    monkeypatch.setenv("OMNIOPT_TPE_WINDOW", "20,80")
    assert window_size_from_env() == (20, 80)
