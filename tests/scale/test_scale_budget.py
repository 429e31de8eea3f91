"""Racing workers do not overshoot ``n_trials`` (the "61/60 trials COMPLETE" bug)."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState
from support.postgres import postgres_server  # noqa: F401  (fixture)

from omniopt_desktop.engine.budget import claimed_before, is_surplus, release
from omniopt_desktop.engine.local_run import run_local
from omniopt_desktop.engine.storage import ensure_study, open_storage
from omniopt_desktop.study.model import Study

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(params=["sqlite", "journal", "postgres"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/s.db"
    if request.param == "journal":
        return f"journal:///{tmp_path}/s.journal"
    return request.getfixturevalue("postgres_server").create_database()


def test_claimed_before_and_release(url):
    st = open_storage(url)
    ensure_study(st, "b", ["minimize"])
    study = optuna.load_study(study_name="b", storage=st)
    done = study.ask()
    study.tell(done, 1.0)  # 0 COMPLETE
    failed = study.ask()
    study.tell(failed, state=TrialState.FAIL)  # 1 FAIL
    a, b, c = study.ask(), study.ask(), study.ask()  # 2, 3, 4 RUNNING
    sid = study._study_id
    assert claimed_before(st, sid, c.number) == 1 + 2
    assert claimed_before(st, sid, a.number) == 1
    assert not is_surplus(st, sid, b.number, n_trials=3)  # 0 + 2 + itself
    assert is_surplus(st, sid, c.number, n_trials=3)
    release(st, c._trial_id)
    assert st.get_trial(c._trial_id).state == TrialState.WAITING
    again = study.ask()  # the empty slot is taken first
    assert again.number == c.number and again.params == {}


def _echo_study(tmp_path, n_trials, sampler="tpe"):
    return Study.from_dict(
        {
            "study": {"name": "race", "n_trials": n_trials, "seed": 2, "sampler": sampler},
            "objective": [{"name": "RESULT", "direction": "minimize"}],
            "program": {"command": "echo RESULT: %(x)", "workdir": str(tmp_path)},
            "parameter": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
        }
    )


@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_many_racing_workers_stop_at_n_trials(tmp_path, storage):
    study = _echo_study(tmp_path, 40, sampler="random")
    summary = run_local(study, str(tmp_path / "run"), workers=8, storage=storage, poll=0.1)
    st = open_storage(summary.storage_url)
    trials = st.get_all_trials(st.get_study_id_from_name("race"))
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) == 40
    assert not {TrialState.RUNNING, TrialState.FAIL, TrialState.PRUNED} & set(states)
    for t in trials:  # slots given back by a race are empty
        if t.state == TrialState.WAITING:
            assert t.params == {} and t.user_attrs == {}
