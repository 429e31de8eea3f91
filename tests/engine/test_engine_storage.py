"""The storage contract, one suite over SQLite, the journal file and a real PostgreSQL server,
plus the opener's URL checks, filesystem detection and retries."""

from __future__ import annotations

import multiprocessing as mp
import time

import optuna
import pytest
from optuna.trial import TrialState

from omniopt_desktop.engine import storage as S
from omniopt_desktop.engine.filesystems import is_network_filesystem
from omniopt_desktop.engine.leases import ATTEMPT, LEASE_KEY, make_lease, reap_stale
from omniopt_desktop.engine.retries import with_retries
from omniopt_desktop.errors import StorageError
from omniopt_desktop.study import trial_attrs as A

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(url, name="s", directions=("minimize",)):
    st = S.open_storage(url, workers=4)
    S.ensure_study(st, name, list(directions))
    return st, optuna.load_study(study_name=name, storage=st)


# -- the shared contract ----------------------------------------------------------------------
def test_ensure_study_is_idempotent_and_checks_directions(storage_url):
    st, study = _study(storage_url)
    S.ensure_study(st, "s", ["minimize"])
    assert [s.study_name for s in optuna.get_all_study_summaries(st)] == ["s"]
    with pytest.raises(StorageError, match="directions"):
        S.ensure_study(st, "s", ["maximize"])


def test_attrs_round_trip_and_late_tell_is_harmless(storage_url):
    st, study = _study(storage_url)
    t = study.ask()
    x = t.suggest_float("x", 0, 1)
    st.set_trial_user_attr(t._trial_id, A.COMMAND, "prog --x 1")
    st.set_trial_system_attr(t._trial_id, LEASE_KEY, make_lease("w1", "h", 60, 123))
    st.set_trial_state_values(t._trial_id, TrialState.FAIL)  # a reaper got there first
    study.tell(t, 1.0, skip_if_finished=True)  # the worker's late tell: ignored
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        st.set_trial_user_attr(t._trial_id, A.EXIT_CODE, 0)
    # a second handle (another process) sees the same thing
    st2 = S.open_storage(storage_url)
    ft = st2.get_all_trials(st2.get_study_id_from_name("s"))[0]
    assert ft.state == TrialState.FAIL and ft.params == {"x": x}
    assert ft.user_attrs[A.COMMAND] == "prog --x 1"
    assert ft.system_attrs[LEASE_KEY]["worker"] == "w1"


def _ask_tell_many(url, n, q):
    st = S.open_storage(url, workers=4)
    study = optuna.load_study(study_name="s", storage=st)
    got = []
    for _ in range(n):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        st.set_trial_user_attr(t._trial_id, A.WORKER, str(mp.current_process().pid))
        study.tell(t, t.params["x"])
        got.append(t.number)
    q.put(got)


def test_concurrent_processes_get_distinct_trials(storage_url):
    _study(storage_url)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_ask_tell_many, args=(storage_url, 8, q)) for _ in range(4)]
    for p in procs:
        p.start()
    numbers = sorted(n for _ in procs for n in q.get(timeout=120))
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert numbers == list(range(32))
    st = S.open_storage(storage_url)
    trials = st.get_all_trials(st.get_study_id_from_name("s"))
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 32


def test_reaper_fails_expired_lease_and_retries_once(storage_url):
    st, study = _study(storage_url)
    t = study.ask()
    t.suggest_int("n", 1, 9)
    st.set_trial_system_attr(t._trial_id, LEASE_KEY, make_lease("dead:1", "h", ttl=-1))
    alive = study.ask()
    alive.suggest_int("n", 1, 9)
    st.set_trial_system_attr(alive._trial_id, LEASE_KEY, make_lease("ok:2", "h", ttl=600))

    reaped = reap_stale(st, "s", max_retries=1)
    assert [r.number for r in reaped] == [t.number]
    assert reap_stale(S.open_storage(storage_url), "s", max_retries=1) == []  # no double reaping
    trials = {x.number: x for x in st.get_all_trials(st.get_study_id_from_name("s"))}
    assert trials[t.number].state == TrialState.FAIL
    assert "dead:1" in trials[t.number].user_attrs[A.FAIL_REASON]
    assert trials[alive.number].state == TrialState.RUNNING
    retry = trials[reaped[0].retry_number]
    assert retry.state == TrialState.WAITING
    assert retry.user_attrs[A.RETRY_OF] == t.number and retry.user_attrs[ATTEMPT] == 1

    # the retry is what the next ask gets, with the same parameters; its own loss is final
    r = study.ask()
    assert r.number == retry.number and r.suggest_int("n", 1, 9) == t.params["n"]
    st.set_trial_system_attr(r._trial_id, LEASE_KEY, make_lease("dead:3", "h", ttl=-1))
    again = reap_stale(st, "s", max_retries=1)
    assert [(x.number, x.retry_number) for x in again] == [(r.number, None)]


def test_trial_without_lease_is_reaped_after_grace(storage_url):
    st, study = _study(storage_url)
    t = study.ask()
    assert reap_stale(st, "s", max_retries=0, grace=600) == []
    assert [
        x.number for x in reap_stale(st, "s", max_retries=0, grace=0.0, now=time.time() + 5)
    ] == [t.number]


# -- opener ------------------------------------------------------------------------------------
def test_password_in_url_is_refused_without_echoing_it():
    with pytest.raises(StorageError) as e:
        S.parse_storage_url("postgresql://bob:s3cret@db.example.org:5432/optuna")
    assert "s3cret" not in str(e.value) and "pgpass" in str(e.value)


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "sqlite:/x.db", "journal://host/x", "postgresql://host", ""]
)
def test_bad_urls_are_refused(url):
    with pytest.raises(StorageError):
        S.parse_storage_url(url)


def test_journal_lock_choice(monkeypatch):
    assert S.parse_storage_url("journal:////a/b.journal").lock == "symlink"
    assert S.parse_storage_url("journal:////a/b.journal?lock=open").lock == "open"
    monkeypatch.setenv("OMNIOPT_JOURNAL_LOCK", "open")
    spec = S.parse_storage_url("journal:////a/b.journal")
    assert spec.lock == "open" and spec.path == "/a/b.journal"
    with pytest.raises(StorageError, match="lock"):
        S.parse_storage_url("journal:////a/b.journal?lock=flock")


MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export/home /home nfs4 rw,relatime 0 0
10.0.0.1@o2ib:/scratch /scratch lustre rw 0 0
/dev/sdb1 /home/local ext4 rw 0 0
gpfs1 /gpfs gpfs rw 0 0
beegfs_nodev /mnt/beegfs beegfs rw 0 0
/dev/sdc1 /mnt/with\\040space xfs rw 0 0
"""


@pytest.mark.parametrize(
    "path, network",
    [
        ("/home/alice/run", True),
        ("/home/local/run", False),
        ("/scratch/p/run", True),
        ("/gpfs/x", True),
        ("/mnt/beegfs/y", True),
        ("/mnt/with space/z", False),
        ("/tmp/x", False),
    ],
)
def test_network_filesystem_detection(path, network):
    assert is_network_filesystem(path, MOUNTS) is network


def test_sqlite_with_workers_on_network_fs_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "is_network_filesystem", lambda path, mounts=None: True)
    monkeypatch.setattr(S, "filesystem_type", lambda path, mounts=None: "nfs4")
    url = f"sqlite:///{tmp_path}/study.db"
    with pytest.raises(StorageError, match="journal.*PostgreSQL"):
        S.open_storage(url, workers=4)
    S.open_storage(url, workers=1)  # one worker is fine


def test_transient_errors_are_retried_others_not():
    from sqlalchemy.exc import OperationalError

    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("UPDATE ...", {}, Exception("database is locked"))
        return "ok"

    assert with_retries(flaky, base=0.001) == "ok" and len(calls) == 3

    def broken():
        calls.append(1)
        raise OperationalError("SELECT", {}, Exception("no such table: trials"))

    calls.clear()
    with pytest.raises(OperationalError):
        with_retries(broken, base=0.001)
    assert len(calls) == 1


def _open_only(url, q):
    try:
        S.open_storage(url, workers=4)
        q.put("ok")
    except Exception as e:  # noqa: BLE001 - reported to the test
        q.put(repr(e)[:300])


def test_first_opening_by_several_processes_at_once(storage_url):
    """A GUI/monitor may open the storage while the run creates it: nobody may fail."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_open_only, args=(storage_url, q)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert results == ["ok"] * 4
