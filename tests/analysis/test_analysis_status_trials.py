"""Status trials (a cluster run's ``controller status`` answer) → analysis columns.

The real check: a run folder with a study written by Optuna, read once through the engine's
status probe and converted, and once through the database loader: the columns agree, also
when the status arrives in two incremental batches.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from omniopt_desktop.analysis.columns import ParamInfo, ParamKind, StudyInfo, TrialState
from omniopt_desktop.analysis.loader import load_trials
from omniopt_desktop.analysis.status_trials import (
    StatusConverter,
    param_infos,
    status_trials_to_columns,
    study_info,
    to_epoch,
)
from omniopt_desktop.engine import controller
from omniopt_desktop.engine.frozen import freeze_study
from omniopt_desktop.study import run_layout as L
from omniopt_desktop.study.model import Objective, Parameter, ParamType, Study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(storage: str = "sqlite") -> Study:
    return Study(
        name="live",
        n_trials=9,
        storage=storage,
        objectives=[Objective("loss")],
        parameters=[
            Parameter("x", ParamType.FLOAT, -3, 3),
            Parameter("n", ParamType.INT, 1, 8),
            Parameter("act", ParamType.CHOICE, values=["relu", "tanh", "gelu"]),
        ],
    )


def _run_folder(tmp_path, storage: str):
    study = _study(storage)
    run_dir = tmp_path / "run"
    url = L.storage_url(run_dir, storage)
    freeze_study(study, str(run_dir), str(tmp_path), url, {"storage": storage})
    if storage == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        backend = JournalStorage(JournalFileBackend(str(run_dir / L.JOURNAL_FILE)))
    else:
        backend = url
    ostudy = optuna.create_study(
        study_name="live", storage=backend, sampler=optuna.samplers.RandomSampler(seed=3)
    )
    return study, run_dir, ostudy


def _add_trials(ostudy, first: int, count: int) -> None:
    for i in range(first, first + count):
        t = ostudy.ask()
        x = t.suggest_float("x", -3, 3)
        t.suggest_int("n", 1, 8)
        t.suggest_categorical("act", ["relu", "tanh", "gelu"])
        t.set_user_attr("oo_worker", f"7_{i % 2}")
        t.set_user_attr("oo_hostname", "node1")
        if i % 4 == 3:
            t.set_user_attr("oo_fail_reason", "exit code 3")
            ostudy.tell(t, state=optuna.trial.TrialState.FAIL)
        elif i % 5 == 4:
            pass  # still RUNNING
        else:
            ostudy.tell(t, x * x)


@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_status_trials_give_the_loaders_columns(tmp_path, storage):
    study, run_dir, ostudy = _run_folder(tmp_path, storage)
    _add_trials(ostudy, 0, 6)
    first = controller.status(str(run_dir))
    conv = StatusConverter.for_study(study, "cluster:run")
    cols = conv.convert(first["trials"])
    pending = [t["number"] for t in first["trials"] if t["state"] in ("RUNNING", "WAITING")]
    assert pending == [4]
    # the running trial ends, new ones arrive: the second status has only what changed
    running = [t for t in ostudy.get_trials() if t.state == optuna.trial.TrialState.RUNNING]
    ostudy.tell(running[0].number, 0.5)
    _add_trials(ostudy, 6, 5)
    second = controller.status(str(run_dir), since=cols.last_number, refresh=pending)
    assert [t["number"] for t in second["trials"]] == [4, 6, 7, 8, 9, 10]
    cols = cols.merged(conv.convert(second["trials"]))

    db = load_trials(str(run_dir / (L.SQLITE_DB if storage == "sqlite" else L.JOURNAL_FILE)))
    assert cols.number.tolist() == db.number.tolist() == list(range(11))
    assert cols.state.tolist() == db.state.tolist()
    assert cols.count(TrialState.FAIL) == 2 and cols.count(TrialState.RUNNING) == 1
    np.testing.assert_allclose(cols.values, db.values, equal_nan=True)
    for name in ("x", "n", "act"):
        np.testing.assert_allclose(cols.params[name], db.params[name], equal_nan=True)
        assert cols.param_info[name].kind is db.param_info[name].kind
    assert cols.param_value("act", 0) == db.param_value("act", 0)
    np.testing.assert_allclose(cols.start, db.start, atol=1e-3)
    np.testing.assert_allclose(cols.complete, db.complete, atol=1e-3, equal_nan=True)
    assert cols.user_attrs["oo_worker"].tolist() == db.user_attrs["oo_worker"].tolist()
    reasons = cols.user_attrs["oo_fail_reason"]
    assert [reasons[i] for i in (3, 7)] == ["exit code 3", "exit code 3"]
    assert cols.study.objective_names == ("loss",) and cols.study.directions == ("minimize",)


def test_choice_indices_stay_stable_across_batches():
    info = StudyInfo("s", ("minimize",), ("value",))
    conv = StatusConverter(
        info, {"act": ParamInfo("act", ParamKind.CATEGORICAL, choices=("a", "b"))}
    )
    one = conv.convert(
        [{"number": 0, "state": "COMPLETE", "values": [1.0], "params": {"act": "b", "k": 3}}]
    )
    two = conv.convert(
        [
            {"number": 2, "state": "COMPLETE", "values": [2.0], "params": {"act": "zzz", "k": 5}},
            {"number": 1, "state": "RUNNING", "values": None, "params": {"act": "a"}},
        ]
    )
    merged = one.merged(two)
    assert merged.number.tolist() == [0, 1, 2]
    assert [merged.param_value("act", i) for i in range(3)] == ["b", "a", "zzz"]
    assert merged.param_info["act"].choices == ("a", "b", "zzz")
    # an undeclared parameter is inferred (int here) and its range grows with the values seen
    k = merged.param_info["k"]
    assert k.kind is ParamKind.INT and (k.low, k.high) == (3.0, 5.0)
    assert merged.param_value("k", 2) == 5 and merged.row_params(1) == {"act": "a"}
    assert math.isnan(merged.values[1, 0])  # RUNNING: no value


def test_timestamps_missing_values_and_empty_batches():
    assert to_epoch("2026-01-02 03:04:05.5") == to_epoch("2026-01-02T03:04:05.500000+00:00")
    assert to_epoch("2026-01-02T03:04:05") == 1767323045.0
    assert math.isnan(to_epoch(None)) and math.isnan(to_epoch("yesterday"))
    study = _study()
    info = study_info(study)
    empty = status_trials_to_columns([], info, param_infos(study))
    assert len(empty) == 0 and empty.study.objective_names == ("loss",)
    cols = status_trials_to_columns(
        [{"number": 5, "state": "FAIL", "values": None, "params": {}, "exit_code": None}],
        info,
        param_infos(study),
    )
    assert cols.state.tolist() == [int(TrialState.FAIL)]
    assert set(cols.params) == {"x", "n", "act"} and np.isnan(cols.params["x"]).all()
    assert cols.user_attrs["oo_exit_code"].dtype.kind == "f"


def test_fixed_and_log_parameters_follow_the_engine():
    study = Study(
        parameters=[
            Parameter("lr", ParamType.FLOAT, 1e-5, 1e-1, log=True, step=0.1),
            Parameter("opt", ParamType.FIXED, value="adam"),
        ]
    )
    infos = param_infos(study)
    assert infos["lr"].log and infos["lr"].step is None  # log floats take no step
    assert infos["opt"].choices == ("adam",)
