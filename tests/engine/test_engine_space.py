"""Search space suggestion (conditional, fixed, steps, log), constraints and samplers."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from omniopt_desktop.engine.samplers import build_sampler, worker_seed
from omniopt_desktop.engine.space import SearchSpace
from omniopt_desktop.errors import OmniOptError
from omniopt_desktop.study.model import Study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_study(**over):
    d = {
        "study": {"name": "t", "n_trials": 10, "seed": 3},
        "objective": [{"name": "RESULT", "direction": "minimize"}],
        "program": {"command": "prog %(lr) %(layers) %(act) %(epochs) %(momentum)"},
        "parameter": [
            {"name": "lr", "type": "float", "low": 1e-5, "high": 1e-1, "log": True},
            {"name": "layers", "type": "int", "low": 1, "high": 8},
            {"name": "act", "type": "choice", "values": ["relu", "tanh", "gelu"]},
            {"name": "epochs", "type": "fixed", "value": 10},
            {
                "name": "momentum",
                "type": "float",
                "low": 0.0,
                "high": 0.99,
                "when": "act == 'relu'",
            },
            {"name": "drop", "type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        ],
        "constraints": {"rules": ["layers * 2 <= 12"]},
    }
    d["study"].update(over.pop("study", {}))
    d.update(over)
    return Study.from_dict(d)


def test_suggest_follows_types_and_conditions():
    space = SearchSpace(make_study())
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_acts = set()
    for _ in range(40):
        t = study.ask()
        v = space.suggest(t)
        seen_acts.add(v["act"])
        assert ("momentum" in v) == (v["act"] == "relu")
        assert v["epochs"] == 10 and isinstance(v["layers"], int)
        assert 1e-5 <= v["lr"] <= 1e-1
        assert round(v["drop"] * 10, 9) == int(round(v["drop"] * 10))
        study.tell(t, 0.0)
    assert seen_acts == {"relu", "tanh", "gelu"}
    dists = study.trials[0].distributions
    assert isinstance(dists["lr"], FloatDistribution) and dists["lr"].log
    assert isinstance(dists["layers"], IntDistribution)
    assert dists["epochs"] == CategoricalDistribution([10])


def test_constraints_are_checked_and_recorded_for_the_sampler():
    space = SearchSpace(make_study())
    assert space.violations({"layers": 6}) == []
    assert space.violations({"layers": 7}) == [(0, "layers * 2 <= 12")]
    assert space.violations({}) == []  # rule over an inactive parameter: not applicable
    study = optuna.create_study()
    t = study.ask()
    space.record_constraints(t, [(0, "layers * 2 <= 12")])
    study.tell(t, state=optuna.trial.TrialState.PRUNED)
    assert study.trials[0].constraints == {"rule0": 1.0}


def test_tpe_learns_to_avoid_infeasible_region():
    """Infeasible trials told PRUNED with set_constraint steer TPE away (Optuna 5 API)."""
    s = make_study(
        parameter=[{"name": "x", "type": "int", "low": 0, "high": 99}],
        constraints={"rules": ["x < 20"]},
    )
    space = SearchSpace(s)
    study = optuna.create_study(sampler=build_sampler(s))
    late_bad = 0
    for i in range(80):
        t = study.ask()
        v = space.suggest(t)
        broken = space.violations(v)
        space.record_constraints(t, broken)
        if broken:
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
            late_bad += i >= 40
        else:
            study.tell(t, float(v["x"]))
    assert late_bad < 15  # random search would break the rule ~32 times out of 40


def test_grid_needs_steps_for_floats():
    s = make_study(
        study={"sampler": "grid"},
        parameter=[
            {"name": "a", "type": "float", "low": 0.0, "high": 1.0, "step": 0.5},
            {"name": "b", "type": "int", "low": 1, "high": 5, "step": 2},
            {"name": "c", "type": "choice", "values": ["x", "y"]},
        ],
        constraints={"rules": []},
    )
    assert SearchSpace(s).grid() == {"a": [0.0, 0.5, 1.0], "b": [1, 3, 5], "c": ["x", "y"]}
    assert isinstance(build_sampler(s), optuna.samplers.GridSampler)
    s.parameters[0].step = None
    with pytest.raises(OmniOptError, match="step"):
        build_sampler(s)


@pytest.mark.parametrize(
    "name, cls", [("tpe", "TPESampler"), ("random", "RandomSampler"), ("nsga2", "NSGAIISampler")]
)
def test_samplers_by_name(name, cls):
    assert type(build_sampler(make_study(study={"sampler": name}))).__name__ == cls


def test_tpe_uses_constant_liar_with_several_workers():
    s = make_study()
    assert build_sampler(s, n_workers=4)._constant_liar is True
    assert build_sampler(s, n_workers=1)._constant_liar is False


def test_unknown_or_unavailable_sampler_says_what_to_do():
    with pytest.raises(OmniOptError, match="unknown"):
        build_sampler(make_study(study={"sampler": "bogus"}))
    try:
        import cmaes  # noqa: F401
    except ImportError:
        with pytest.raises(OmniOptError, match="pip install cmaes"):
            build_sampler(make_study(study={"sampler": "cmaes"}))


def test_workers_get_distinct_seeds():
    seeds = {worker_seed(1, i) for i in range(8)}
    assert len(seeds) == 8 and worker_seed(None, 3) is None
