"""The worker's hot path on PostgreSQL (engine/rdb_fast.py, engine/rdb_rows.py): what it writes
is what Optuna writes (plain Optuna reads it back the same), trial numbers stay dense and unique
under concurrent creation, a finished (reaped) trial gets nothing, and the counts equal Optuna's.
"""

from __future__ import annotations

import math
import threading

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from support.postgres import postgres_server  # noqa: F401  (fixture)

from omniopt_desktop.engine import rdb_fast
from omniopt_desktop.engine.budget import claimed_before
from omniopt_desktop.engine.param_batch import batched_params
from omniopt_desktop.engine.rdb_rows import RowLoader
from omniopt_desktop.engine.retries import with_retries
from omniopt_desktop.engine.storage import ensure_study, open_storage
from omniopt_desktop.engine.trial_counts import count_states

optuna.logging.set_verbosity(optuna.logging.WARNING)
NAME = "fast"


@pytest.fixture
def url(postgres_server):  # noqa: F811
    return postgres_server.create_database()


def _plain(url):
    """Optuna's own view: RDBStorage without any of the engine's caches."""
    from omniopt_desktop.engine.postgres_storage import sqlalchemy_pg_url

    return optuna.storages.RDBStorage(sqlalchemy_pg_url(url), skip_compatibility_check=True)


def _worker_storage(url, monkeypatch, level="2"):
    monkeypatch.setenv("OMNIOPT_WORKER_CACHE", level)
    st = open_storage(url, workers=2, incremental=True)
    ensure_study(st, NAME, ["minimize"])
    return st


def _mixed_study(url):
    """Trials in every state, with params, values (one infinite), attrs, intermediate values."""
    st = open_storage(url)
    ensure_study(st, NAME, ["minimize"])
    study = optuna.load_study(study_name=NAME, storage=st, sampler=optuna.samplers.RandomSampler(0))
    for i in range(4):
        t = study.ask()
        t.suggest_float("x", -5.0, 5.0)
        t.suggest_int("n", 1, 8)
        t.set_user_attr("oo_note", {"i": i, "s": "ü"})
        study.tell(t, float(i) if i != 2 else math.inf)
    t = study.ask()
    t.suggest_float("x", -5.0, 5.0)
    t.report(0.5, 1)
    t.report(-math.inf, 2)
    study.tell(t, state=TrialState.PRUNED)
    t = study.ask()
    t.suggest_float("x", -5.0, 5.0, log=False)
    study.tell(t, state=TrialState.FAIL)
    study.enqueue_trial({"x": 1.5})  # WAITING, fixed params in system attrs
    t = study.ask()  # takes the WAITING one: RUNNING
    t.suggest_float("x", -5.0, 5.0)
    st.set_trial_system_attr(t._trial_id, "oo_lease", {"until": 1.0})
    study.ask()  # RUNNING, nothing yet
    return st, study


def test_row_loader_builds_what_optuna_builds(url):
    st, study = _mixed_study(url)
    backend = st.inner._backend
    sid = study._study_id
    theirs = backend._get_trials(sid, None, set(), -1)
    loader = RowLoader(backend)
    with rdb_fast.autocommit(backend) as conn:
        mine = loader.load(conn, sid)
        some = loader.load(conn, sid, ids=[theirs[1]._trial_id], above=theirs[-3]._trial_id)
    assert len(theirs) == 8
    assert [t.__dict__ for t in mine] == [t.__dict__ for t in theirs]
    assert [t.number for t in some] == [1, 6, 7]
    assert some[0].__dict__ == theirs[1].__dict__


def test_hot_path_writes_what_plain_optuna_reads(url, monkeypatch):
    st = _worker_storage(url, monkeypatch)
    inner = st.inner
    assert inner.oo_fast
    sid = st.get_study_id_from_name(NAME)
    study = optuna.load_study(study_name=NAME, storage=st, sampler=optuna.samplers.RandomSampler(1))
    numbers, ids = [], []
    for i in range(3):
        t = study.ask()  # rdb_fast.create_trial
        with batched_params(st):
            t.suggest_float("x", -5.0, 5.0)
            t.suggest_int("n", 1, 8)
        st.set_trial_system_attr(t._trial_id, "oo_lease", {"until": float(i)})
        st.set_trial_system_attr(t._trial_id, "oo_lease", {"until": float(i) + 0.5})
        numbers.append(t.number)
        ids.append(t._trial_id)
        inner.oo_finish(t._trial_id, TrialState.COMPLETE, [float(i)], {"oo_host": "h", "k": i})
    assert numbers == [0, 1, 2]
    plain = _plain(url)
    trials = plain.get_all_trials(sid)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert [t.values for t in trials] == [[0.0], [1.0], [2.0]]
    assert all(set(t.params) == {"x", "n"} for t in trials)
    assert trials[0].distributions == {
        "x": FloatDistribution(-5.0, 5.0),
        "n": IntDistribution(1, 8),
    }
    assert trials[1].user_attrs == {"oo_host": "h", "k": 1}
    assert trials[2].system_attrs["oo_lease"] == {"until": 2.5}
    assert set(trials[2].system_attrs) == {"oo_lease", rdb_fast.CREATED_BY}
    assert all(t.datetime_complete >= t.datetime_start for t in trials)
    # Optuna's own study API agrees (best trial, a new ask numbered after ours)
    other = optuna.load_study(study_name=NAME, storage=plain)
    assert other.best_trial.number == 0 and other.ask().number == 3
    assert study.ask().number == 4


def test_finished_trial_gets_nothing(url, monkeypatch):
    st = _worker_storage(url, monkeypatch)
    inner = st.inner
    study = optuna.load_study(study_name=NAME, storage=st, sampler=optuna.samplers.RandomSampler(2))
    t = study.ask()
    with batched_params(st):
        t.suggest_float("x", -5.0, 5.0)
    plain = _plain(url)
    plain.set_trial_user_attr(t._trial_id, "oo_fail_reason", "worker lost")
    plain.set_trial_state_values(t._trial_id, TrialState.FAIL)  # a reaper won
    with pytest.raises(UpdateFinishedTrialError):
        inner.oo_finish(t._trial_id, TrialState.COMPLETE, [1.0], {"oo_fail_reason": "late"})
    with pytest.raises(UpdateFinishedTrialError):
        rdb_fast.set_system_attr(inner._backend, t._trial_id, "oo_lease", {"until": 9.0})
    with pytest.raises(UpdateFinishedTrialError):
        rdb_fast.write_params(
            inner._backend, [(t._trial_id, "y", 0.5, FloatDistribution(0.0, 1.0))]
        )
    got = plain.get_trial(t._trial_id)
    assert got.state == TrialState.FAIL and got.values is None
    assert got.user_attrs == {"oo_fail_reason": "worker lost"}
    assert set(got.params) == {"x"} and set(got.system_attrs) == {rdb_fast.CREATED_BY}


def test_concurrent_creation_keeps_numbers_dense_and_unique(url, monkeypatch):
    stores = [_worker_storage(url, monkeypatch) for _ in range(4)]
    plain_study = optuna.load_study(study_name=NAME, storage=_plain(url))
    sid = stores[0].get_study_id_from_name(NAME)
    errors = []

    def create(st):
        try:
            for _ in range(15):
                st.create_new_trial(sid)
        except Exception as e:  # pragma: no cover - shown by the assert below
            errors.append(e)

    threads = [threading.Thread(target=create, args=(st,)) for st in stores]
    threads.append(threading.Thread(target=lambda: [plain_study.ask() for _ in range(15)]))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    numbers = sorted(t.number for t in _plain(url).get_all_trials(sid))
    assert numbers == list(range(75))


def test_counts_and_budget_equal_optunas(url, monkeypatch):
    st, study = _mixed_study(url)
    sid = study._study_id
    fast = _worker_storage(url, monkeypatch, "2")
    assert fast.inner.oo_fast
    monkeypatch.setenv("OMNIOPT_WORKER_CACHE", "1")
    slow = open_storage(url, workers=2, incremental=True)
    assert not getattr(slow.inner, "oo_fast", False)
    assert count_states(fast, sid) == count_states(slow, sid)
    for number in range(9):
        assert claimed_before(fast, sid, number) == claimed_before(slow, sid, number)
    t = study.ask()  # another worker's new trial, then its tell: seen live by both
    assert claimed_before(fast, sid, 99) == claimed_before(slow, sid, 99)
    study.tell(t, 3.0)
    assert count_states(fast, sid) == count_states(slow, sid)
    assert claimed_before(fast, sid, 99) == claimed_before(slow, sid, 99)


def test_dropped_connection_is_retried(url, monkeypatch, postgres_server):  # noqa: F811
    st = _worker_storage(url, monkeypatch)
    sid = st.get_study_id_from_name(NAME)
    study = optuna.load_study(study_name=NAME, storage=st, sampler=optuna.samplers.RandomSampler(3))
    first = study.ask()  # the worker's pooled connection is open now
    db = url.rsplit("/", 1)[1]
    kill = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{db}' AND pid <> pg_backend_pid()"
    )
    postgres_server.psql(kill)
    second = study.ask()  # creation (one pipeline) on a dead connection: retried on a new one
    postgres_server.psql(kill)
    with_retries(st.inner.oo_finish, second._trial_id, TrialState.COMPLETE, [1.0], {})
    with pytest.raises(UpdateFinishedTrialError):  # as the retry of a write that committed
        st.inner.oo_finish(second._trial_id, TrialState.COMPLETE, [1.0], {})
    postgres_server.psql(kill)
    assert count_states(st, sid)["RUNNING"] == 1 and (first.number, second.number) == (0, 1)


def test_creation_whose_answer_was_lost_is_adopted_not_orphaned(url, monkeypatch):
    st = _worker_storage(url, monkeypatch)
    inner = st.inner
    sid = st.get_study_id_from_name(NAME)
    # a creation that committed, its answer lost (connection dropped): the retry finds it
    tid, number, _, system = rdb_fast.create_trial(inner._backend, sid, "mark-1")
    assert system == {rdb_fast.CREATED_BY: "mark-1"}
    inner._oo_pending = (sid, "mark-1")
    assert st.create_new_trial(sid) == tid
    # one that did not commit: a new trial
    inner._oo_pending = (sid, "mark-never-written")
    other = st.create_new_trial(sid)
    assert other != tid
    trials = _plain(url).get_all_trials(sid)
    assert [t.number for t in trials] == [0, 1] and number == 0
    assert all(t.state == TrialState.RUNNING for t in trials)
    assert trials[0].system_attrs == {rdb_fast.CREATED_BY: "mark-1"}


def test_parameter_write_retried_after_its_commit_is_harmless(url, monkeypatch):
    st = _worker_storage(url, monkeypatch)
    study = optuna.load_study(study_name=NAME, storage=st, sampler=optuna.samplers.RandomSampler(4))
    t = study.ask()
    items = [(t._trial_id, "y", 0.25, FloatDistribution(0.0, 1.0))]
    rdb_fast.write_params(st.inner._backend, items)
    rdb_fast.write_params(st.inner._backend, items)  # as a retry whose first answer was lost
    assert _plain(url).get_trial(t._trial_id).params == {"y": 0.25}


def test_no_server_side_prepared_statements(url, monkeypatch):
    """psycopg 3 prepares a statement after 5 runs; behind PgBouncer in transaction mode the
    next transaction may land on a server connection that lacks it. The worker's connection
    must hold none after many trials."""
    from sqlalchemy import text

    st = _worker_storage(url, monkeypatch)
    study = optuna.load_study(study_name=NAME, storage=st, sampler=optuna.samplers.RandomSampler(1))
    for i in range(12):
        t = study.ask()
        with batched_params(st):
            t.suggest_float("x", -5.0, 5.0)
        study.tell(t, float(i))
    inner = st
    while not hasattr(inner, "engine"):  # the caches wrap Optuna's RDBStorage
        inner = getattr(inner, "inner", None) or inner._backend
    engine = inner.engine
    with engine.connect() as con:  # the pool holds one connection: the one used above
        assert con.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() == 0
