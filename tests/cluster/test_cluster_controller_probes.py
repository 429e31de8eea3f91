"""The controller's run-folder probes (status, snapshot, cancel-trials, add-trials) on real
SQLite and journal studies, compared with what Optuna itself reads."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pytest

from omniopt_desktop.engine import controller as C
from omniopt_desktop.engine.frozen import freeze_study
from omniopt_desktop.engine.storage import open_storage
from omniopt_desktop.study import run_layout as L
from omniopt_desktop.study.model import Parameter, ParamType, Study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _make(run_dir, kind, n=30):
    model = Study(
        name="demo",
        n_trials=n,
        parameters=[
            Parameter("x", ParamType.FLOAT, -5, 5),
            Parameter("k", ParamType.INT, 1, 9),
            Parameter("c", ParamType.CHOICE, values=["a", "b"]),
        ],
    )
    freeze_study(model, str(run_dir), str(run_dir), kind)
    storage = open_storage(L.storage_url(str(run_dir), kind))
    study = optuna.create_study(study_name="demo", storage=storage)

    def objective(t):
        v = t.suggest_float("x", -5, 5) ** 2 + t.suggest_int("k", 1, 9)
        t.suggest_categorical("c", ["a", "b"])
        if t.number % 7 == 3:
            raise optuna.TrialPruned()
        return v

    study.optimize(objective, n_trials=n)
    return study


def _kind(request, kind):
    if kind == "postgres":
        return request.getfixturevalue("postgres_server").create_database()
    return kind


@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgres"])
def test_status_matches_optuna_and_is_incremental(tmp_path, kind, request):
    study = _make(tmp_path, _kind(request, kind))
    running = study.ask()
    st = C.status(str(tmp_path), since=25, refresh=[2])
    assert st["storage"] == {"postgres": "postgresql"}.get(kind, kind)
    assert st["counts"]["COMPLETE"] == sum(t.state.name == "COMPLETE" for t in study.trials)
    assert st["counts"]["PRUNED"] == sum(t.state.name == "PRUNED" for t in study.trials)
    assert st["counts"]["RUNNING"] == 1
    assert [t["number"] for t in st["trials"]] == [2, 26, 27, 28, 29, running.number]
    assert st["best"] == {"value": study.best_value, "number": study.best_trial.number}
    by_number = {t.number: t for t in study.trials}
    for rec in st["trials"]:
        assert rec["params"] == by_number[rec["number"]].params
        assert rec["values"] == by_number[rec["number"]].values
    # the running trial finishes with a new best: counts and best follow (cache stays right)
    study.tell(running, -100.0)
    again = C.status(str(tmp_path), since=running.number - 1)
    assert again["counts"]["RUNNING"] == 0 and again["best"]["value"] == -100.0
    assert [t["number"] for t in again["trials"]] == [running.number]
    assert C.status(str(tmp_path), since=running.number)["trials"] == []
    full = C.status(str(tmp_path))
    assert len(full["trials"]) == len(study.trials)


def test_status_cache_counts_equal_a_full_count(tmp_path):
    study = _make(tmp_path, "sqlite", n=12)
    for _ in range(3):
        C.status(str(tmp_path), since=1000)
        study.optimize(lambda t: t.suggest_float("x", -5, 5), n_trials=4)
    st = C.status(str(tmp_path), since=1000)
    assert st["counts"]["COMPLETE"] + st["counts"]["PRUNED"] == len(study.trials)
    assert st["best"]["value"] == study.best_value


def test_status_command_prints_one_json_line(tmp_path):
    _make(tmp_path, "sqlite", n=5)
    out = subprocess.run(
        [sys.executable, "-m", "omniopt_desktop.engine.controller", "status", "--run-dir",
         str(tmp_path), "--since", "3"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert len(out.strip().splitlines()) == 1
    assert [t["number"] for t in json.loads(out)["trials"]] == [4]


@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgres"])
def test_snapshot_is_a_sqlite_copy_with_every_trial(tmp_path, kind, request):
    study = _make(tmp_path, _kind(request, kind), n=10)
    snap = C.snapshot(str(tmp_path))
    assert snap["path"].startswith(str(tmp_path / "snapshots")) and snap["size"] > 0
    copy = optuna.load_study(study_name="demo", storage="sqlite:///" + snap["path"])
    assert [(t.number, t.state, t.params, t.values) for t in copy.trials] == [
        (t.number, t.state, t.params, t.values) for t in study.trials
    ]


def test_cancel_trials_fails_running_ones_with_the_reason(tmp_path):
    study = _make(tmp_path, "sqlite", n=3)
    t = study.ask()
    assert C.cancel_trials(str(tmp_path)) == [t.number]
    after = study.trials[t.number]
    assert after.state.name == "FAIL" and after.user_attrs["oo_fail_reason"] == "cancelled"


def test_cancel_before_the_controller_created_the_study_is_not_an_error(tmp_path):
    # the database exists (another study in it) but this run's study does not yet
    model = Study(name="demo", n_trials=3, parameters=[Parameter("x", ParamType.FLOAT, 0, 1)])
    freeze_study(model, str(tmp_path), str(tmp_path), "sqlite")
    optuna.create_study(study_name="other", storage=L.storage_url(str(tmp_path), "sqlite"))
    assert C.cancel_trials(str(tmp_path)) == []


def test_add_trials_raises_the_budget(tmp_path):
    _make(tmp_path, "sqlite", n=3)
    assert C.add_trials(str(tmp_path), 4) == 7
    data = json.loads((tmp_path / "study.json").read_text())
    assert data["study"]["n_trials"] == 7 and data["run"]["storage"] == "sqlite"


def test_journal_status_reads_only_what_was_appended(tmp_path):
    """Polls that continue from the previous one replay only the new journal bytes (cached
    state in the run folder) and agree with Optuna's own reading every time."""
    study = _make(tmp_path, "journal", n=20)
    last = C.status(str(tmp_path), since=10**6)  # primes the cache
    assert last["trials"] == []
    cache = tmp_path / C.JOURNAL_CACHE
    offset = json.loads(cache.read_text())["state"]["offset"]
    since, running = len(study.trials) - 1, None
    for _ in range(3):
        if running is not None:
            study.tell(running, 0.5)
        study.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2, n_trials=4)
        running = study.ask({"x": optuna.distributions.FloatDistribution(-5, 5)})
        st = C.status(str(tmp_path), since=since, refresh=[since])
        new_offset = json.loads(cache.read_text())["state"]["offset"]
        assert new_offset > offset  # resumed where the last poll stopped
        offset = new_offset
        trials = study.get_trials(deepcopy=False)
        expected = [t for t in trials if t.number > since or t.number == since]
        assert [(r["number"], r["state"], r["params"], r["values"]) for r in st["trials"]] == [
            (t.number, t.state.name, t.params, t.values) for t in expected
        ]
        counts = {s: sum(t.state.name == s for t in trials) for s in C.TRIAL_STATES}
        assert st["counts"] == counts
        assert st["best"] == {"value": study.best_value, "number": study.best_trial.number}
        since = running.number
