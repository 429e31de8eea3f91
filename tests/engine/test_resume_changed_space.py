"""Resuming after an edit that Optuna cannot take (another kind, log, choices or fixed value):
one clear error before any trial runs, instead of every trial failing 'cannot sample'."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState
from support.cli import run_cli, tiny_study

from omniopt_desktop.engine.space import SearchSpace
from omniopt_desktop.engine.space_check import check_space_unchanged
from omniopt_desktop.engine.storage import ensure_study, open_storage
from omniopt_desktop.errors import StorageError
from omniopt_desktop.study.model import Study

optuna.logging.set_verbosity(optuna.logging.WARNING)

PARAMS = [
    {"name": "x", "type": "float", "low": 0.1, "high": 1.0},
    {"name": "n", "type": "int", "low": 1, "high": 64, "log": True},
    {"name": "act", "type": "choice", "values": ["relu", "tanh"]},
    {"name": "fx", "type": "fixed", "value": 3.5},
]


def study_with(**changes):
    params = [dict(p, **changes.get(p["name"], {})) for p in PARAMS]
    for p in params:
        for k in [k for k, v in p.items() if v is None]:
            del p[k]
    return Study.from_dict(
        {"study": {"name": "s"}, "objective": [{"name": "RESULT"}], "parameter": params}
    )


def stored(url):
    storage = open_storage(url)
    study = study_with()
    ensure_study(storage, "s", study.directions)
    s = optuna.load_study(study_name="s", storage=storage)
    for _ in range(3):
        t = s.ask()
        SearchSpace(study).suggest(t)
        s.tell(t, 1.0)
    return storage


@pytest.mark.parametrize(
    "changes, said",
    [
        ({"fx": {"value": 4}}, "parameter 'fx' is fixed 4 in the study file but fixed 3.5 in"),
        ({"act": {"values": ["relu", "gelu"]}}, "is choice ['relu', 'gelu'] in the study file but"),
        (
            {"x": {"type": "int", "low": 1, "high": 8}},
            "'x' is int 1..8 in the study file but float",
        ),
        ({"n": {"log": None}}, "'n' is int 1..64 in the study file but int 1..64 (log) in"),
        (
            {"x": {"type": "choice", "values": [1, 2], "low": None, "high": None}},
            "'x' is choice [1, 2]",
        ),
    ],
)
def test_incompatible_edit_is_refused(storage_url, changes, said):
    storage = stored(storage_url)
    with pytest.raises(StorageError) as e:
        check_space_unchanged(storage, "s", study_with(**changes))
    assert said in str(e.value)
    assert "undo the change, or start afresh" in str(e.value)


@pytest.mark.parametrize("changes", [{}, {"x": {"low": 0.5, "high": 5.0}}, {"n": {"high": 128}}])
def test_compatible_edit_passes(tmp_path, changes):
    storage = stored(f"sqlite:///{tmp_path}/study.db")
    check_space_unchanged(storage, "s", study_with(**changes))


def test_new_parameter_passes(tmp_path):
    storage = stored(f"sqlite:///{tmp_path}/study.db")
    study = study_with()
    study.parameters += study_with(x={"name": "y"}).parameters[:1]
    check_space_unchanged(storage, "s", study)


STUDY = tiny_study("resume", 0).replace("n_trials = 0", "n_trials = {n}") + (
    '[[parameter]]\nname = "fx"\ntype = "fixed"\nvalue = {fx}\n'
)


def run(path):
    return run_cli("run", str(path), "--quiet")


def test_run_again_after_changing_a_fixed_value(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(n=2, fx=3.5))
    assert run(path).returncode == 0
    frozen = tmp_path / "runs" / "resume" / "study.toml"
    path.write_text(STUDY.format(n=4, fx=4))
    r = run(path)
    assert r.returncode == 1
    (line,) = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert line.startswith("omniopt-desktop: error: parameter 'fx' is fixed 4 in the study file")
    storage = open_storage(f"sqlite:///{tmp_path}/runs/resume/study.db")
    trials = storage.get_all_trials(storage.get_study_id_from_name("resume"))
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2  # no trial was spent on it
    assert "value = 3.5" in frozen.read_text()  # the run folder still describes its trials


def test_run_again_after_changing_the_direction_keeps_the_run_folder(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(n=2, fx=3.5))
    assert run(path).returncode == 0
    frozen = tmp_path / "runs" / "resume" / "study.json"
    before = frozen.read_text()
    path.write_text(
        STUDY.format(n=4, fx=3.5).replace(
            'name = "RESULT"', 'name = "RESULT"\ndirection = "maximize"'
        )
    )
    r = run(path)
    assert r.returncode == 1
    assert "has directions ['minimize'], the study file asks for ['maximize']" in r.stderr
    assert frozen.read_text() == before
