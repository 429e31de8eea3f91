"""The worker's incremental view of the study (engine/trial_cache.py) and batched parameter
writes (engine/param_batch.py): what another worker changes is seen at the next read, nothing
unchanged is loaded again, and the reaper still sees live leases."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState
from support.postgres import postgres_server  # noqa: F401  (fixture)

from omniopt_desktop.engine.leases import LEASE_KEY, make_lease, reap_stale
from omniopt_desktop.engine.param_batch import batched_params
from omniopt_desktop.engine.storage import ensure_study, open_storage
from omniopt_desktop.engine.trial_cache import fresh_trials
from omniopt_desktop.engine.trial_counts import count_states

optuna.logging.set_verbosity(optuna.logging.WARNING)
NAME = "cache"


@pytest.fixture(params=["sqlite", "postgres"])
def rdb_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/study.db"
    return request.getfixturevalue("postgres_server").create_database()


def _open(url, incremental):
    st = open_storage(url, workers=2, incremental=incremental)
    ensure_study(st, NAME, ["minimize"])
    study = optuna.load_study(
        study_name=NAME, storage=st, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    return st, study


def _suggest(trial):
    trial.suggest_float("x", -5.0, 5.0)
    trial.suggest_int("n", 1, 8)


def _by_number(st, sid):
    return {t.number: t for t in st.get_all_trials(sid, deepcopy=False)}


def test_other_workers_changes_are_seen_at_next_read(rdb_url):
    me, my_study = _open(rdb_url, incremental=True)
    other, other_study = _open(rdb_url, incremental=False)
    assert me.inner.oo_incremental
    sid = my_study._study_id
    for _ in range(5):
        t = other_study.ask()
        _suggest(t)
        other_study.tell(t, 1.0)
    running = other_study.ask()  # RUNNING, no parameters yet
    assert len(_by_number(me, sid)) == 6
    assert _by_number(me, sid)[running.number].params == {}

    # nothing changed: a read loads no trial
    before = me.inner.oo_reads
    me.get_all_trials(sid, deepcopy=False)
    assert me.inner.oo_reads == before

    # the other worker sets its RUNNING trial's parameters: seen at the next read
    _suggest(running)
    seen = _by_number(me, sid)[running.number]
    assert seen.state == TrialState.RUNNING and set(seen.params) == {"x", "n"}
    assert me.inner.oo_reads == before + 1

    # ... and finishes it, with a user attr: seen, in full
    other.set_trial_user_attr(running._trial_id, "oo_note", "done")
    other_study.tell(running, 2.0)
    seen = _by_number(me, sid)[running.number]
    assert seen.state == TrialState.COMPLETE and seen.values == [2.0]
    assert seen.user_attrs["oo_note"] == "done"

    # a trial created by me, then finished by the other handle
    mine = my_study.ask()
    _suggest(mine)
    other.set_trial_state_values(mine._trial_id, TrialState.FAIL)
    assert _by_number(me, sid)[mine.number].state == TrialState.FAIL
    # everything agrees with a fresh read
    fresh = {t.number: (t.state, t.params, t.values) for t in fresh_trials(other, sid)}
    assert {n: (t.state, t.params, t.values) for n, t in _by_number(me, sid).items()} == fresh
    for states in [(TrialState.RUNNING,), (TrialState.WAITING, TrialState.RUNNING), None]:
        got = [t.number for t in me.get_all_trials(sid, deepcopy=False, states=states)]
        assert got == [t.number for t in fresh_trials(other, sid, states)]


def test_unchanged_running_trials_are_not_reloaded(rdb_url):
    me, my_study = _open(rdb_url, incremental=True)
    _, other_study = _open(rdb_url, incremental=False)
    sid = my_study._study_id
    for _ in range(20):
        _suggest(other_study.ask())  # 20 RUNNING trials of other workers
    me.get_all_trials(sid, deepcopy=False)
    before = me.inner.oo_reads
    for _ in range(5):
        t = my_study.ask()
        _suggest(t)
        my_study.tell(t, 0.5)
    # only my own 5 trials were loaded again (after their parameters / their end), never the 20
    assert me.inner.oo_reads - before <= 10


def test_reaper_reads_live_leases_past_the_cache(rdb_url):
    me, my_study = _open(rdb_url, incremental=True)
    other, other_study = _open(rdb_url, incremental=False)
    sid = my_study._study_id
    t = other_study.ask()
    _suggest(t)
    other.set_trial_system_attr(t._trial_id, LEASE_KEY, make_lease("w1", "h", -10.0))  # expired
    me.get_all_trials(sid, deepcopy=False)  # the cache now holds the expired lease
    other.set_trial_system_attr(t._trial_id, LEASE_KEY, make_lease("w1", "h", 600.0))  # renewed
    assert reap_stale(me, NAME, max_retries=0) == []
    assert fresh_trials(me, sid)[0].system_attrs[LEASE_KEY]["until"] > 0
    other.set_trial_system_attr(t._trial_id, LEASE_KEY, make_lease("w1", "h", -10.0))
    assert [r.number for r in reap_stale(me, NAME, max_retries=0)] == [t.number]


@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgres"])
def test_parameters_written_together(kind, tmp_path, request):
    if kind == "postgres":
        url = request.getfixturevalue("postgres_server").create_database()
    else:
        url = f"{kind}:///{tmp_path}/study.{kind}"
    me, my_study = _open(url, incremental=True)
    other, _ = _open(url, incremental=False)
    sid = my_study._study_id
    trial = my_study.ask()
    with batched_params(me):
        _suggest(trial)
        trial.suggest_float("y", 0.0, 1.0)
        assert fresh_trials(other, sid)[0].params == {}  # held back
        assert set(trial.params) == {"x", "n", "y"}  # the trial has them meanwhile
    assert fresh_trials(other, sid)[0].params == trial.params
    my_study.tell(trial, 1.0)
    if kind == "journal":
        return  # Optuna's journal checks distributions on replay, not on write
    # a later trial with an incompatible distribution is still refused
    t2 = my_study.ask()
    with pytest.raises(ValueError):
        with batched_params(me):
            t2.suggest_int("x", 1, 3)


def test_journal_counts_follow_other_writers(tmp_path):
    url = f"journal:///{tmp_path}/study.journal"
    me, my_study = _open(url, incremental=True)
    other, other_study = _open(url, incremental=False)
    sid = my_study._study_id
    asked = [other_study.ask() for _ in range(6)]
    assert count_states(me, sid)["RUNNING"] == 6
    for t in asked[:3]:
        other_study.tell(t, 1.0)
    other_study.tell(asked[3], state=TrialState.FAIL)
    c = count_states(me, sid)
    assert (c["COMPLETE"], c["FAIL"], c["RUNNING"]) == (3, 1, 2)
    my_study.enqueue_trial({"x": 1.0, "n": 2})
    assert count_states(me, sid)["WAITING"] == 1
    full = {s.name: 0 for s in TrialState}
    for t in fresh_trials(other, sid):
        full[t.state.name] += 1
    assert count_states(me, sid) == full
    # the journal's question for unfinished states, answered from the tally, is Optuna's answer
    _suggest(my_study.ask())  # takes the WAITING trial
    other_study.enqueue_trial({"x": 2.0, "n": 3})
    for states in [(TrialState.WAITING,), (TrialState.RUNNING,), (TrialState.COMPLETE,), None]:
        got = [(t.number, t.state) for t in me.get_all_trials(sid, deepcopy=False, states=states)]
        want = [t for t in fresh_trials(other, sid) if states is None or t.state in states]
        assert got == [(t.number, t.state) for t in want]


def _tpe_run(url, incremental):
    """My TPE proposals while another handle asks, suggests and tells around me."""
    import random

    from omniopt_desktop.engine.window_sampler import windowed_tpe

    me = open_storage(url, workers=2, incremental=incremental)
    ensure_study(me, NAME, ["minimize"])
    sampler = windowed_tpe(seed=1, multivariate=True, constant_liar=True, n_startup_trials=5)
    my_study = optuna.load_study(study_name=NAME, storage=me, sampler=sampler)
    _, other_study = _open(url, incremental=False)
    rnd, running, proposals = random.Random(5), [], []
    for _ in range(25):
        t = other_study.ask()
        _suggest(t)
        running.append(t)
        if len(running) > 3:  # the other worker finishes its oldest trial, or it fails
            done = running.pop(0)
            if rnd.random() < 0.8:
                other_study.tell(done, (done.params["x"] - 1.0) ** 2)
            else:
                other_study.tell(done, state=TrialState.FAIL)
        mine = my_study.ask()
        _suggest(mine)
        proposals.append((mine.params["x"], mine.params["n"]))
        my_study.tell(mine, (mine.params["x"] - 1.0) ** 2)
    return proposals


def test_tpe_proposes_the_same_with_the_incremental_cache(tmp_path):
    """The sampler sees the same study through the incremental cache as through Optuna's."""
    a = _tpe_run(f"sqlite:///{tmp_path}/a.db", incremental=True)
    b = _tpe_run(f"sqlite:///{tmp_path}/b.db", incremental=False)
    assert a == b


def test_a_waiting_trial_is_taken_by_one_handle_only(tmp_path):
    """Optuna's pop reads WAITING, then writes RUNNING; the worker's cache takes the trial in
    one conditional UPDATE, so a second taker (a handle that read WAITING too) gets False."""
    import optuna
    from optuna.trial import TrialState

    from omniopt_desktop.engine.storage import ensure_study, open_storage

    url = f"sqlite:///{tmp_path}/study.db"
    a = open_storage(url, workers=2, incremental=True)
    b = open_storage(url, workers=2, incremental=True)
    ensure_study(a, "w", ["minimize"])
    optuna.load_study(study_name="w", storage=a).enqueue_trial({"x": 1.0})
    sid = a.get_study_id_from_name("w")
    [waiting] = a.get_all_trials(sid, deepcopy=False, states=(TrialState.WAITING,))
    assert a.set_trial_state_values(waiting._trial_id, TrialState.RUNNING) is True
    assert b.set_trial_state_values(waiting._trial_id, TrialState.RUNNING) is False
    assert b.get_trial(waiting._trial_id).state == TrialState.RUNNING
