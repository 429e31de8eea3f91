"""32 real engine workers on one study, a storage fault mid-run: nothing lost, doubled or left
RUNNING, no worker killed by the storage, exactly ``n_trials`` trials COMPLETE."""

from __future__ import annotations

import os
import time

import pytest
from support import scale as S
from support.postgres import postgres_server  # noqa: F401  (fixture)

from omniopt_desktop.engine.local_run import prepare_run
from omniopt_desktop.engine.storage import ensure_study, open_storage
from omniopt_desktop.engine.trial_counts import count_states

W = 32
N_TRIALS = 200
SLEEP = 0.3
# longer than the longest storage stall injected (Optuna frees a dead worker's journal lock after
# 30 s): a RUNNING trial whose worker waits that long for the storage must not be reaped
LEASE_TTL = 45.0


def _start(tmp_path, url):
    study = S.sleep_study(N_TRIALS, SLEEP)
    run_dir = str(tmp_path / "run")
    prepare_run(study, run_dir, url)
    st = open_storage(url)
    ensure_study(st, study.name, study.directions)
    workers = S.Workers(run_dir, url, W, lease_ttl=LEASE_TTL)
    return study, run_dir, st, workers


def _wait_complete(st, name, n, timeout=300.0):
    sid = st.get_study_id_from_name(name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count_states(st, sid)["COMPLETE"] >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} trials COMPLETE after {timeout} s")


def _check(run_dir, url, study, codes):
    a = S.audit(run_dir, url, study.name, study.n_trials)
    assert a.ok, (a.line(), a.lost, a.doubled, a.running, a.states)
    assert a.states.get("COMPLETE") == study.n_trials, a.states
    assert all(c == 0 for c in codes.values()), codes
    return a


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restart_mid_run(tmp_path, postgres_server):  # noqa: F811
    url = postgres_server.create_database()
    study, run_dir, st, workers = _start(tmp_path, url)
    try:
        _wait_complete(st, study.name, N_TRIALS // 3)
        S.restart_postgres(postgres_server, mode="immediate")  # every connection drops
        codes = workers.wait(timeout=600)
    finally:
        workers.kill_all()
    a = _check(run_dir, url, study, codes)
    # the fault was seen and ridden through, and no trial failed because of it
    assert a.retried_errors > 0 or "storage unavailable" in S.worker_logs(run_dir)
    assert not a.failed_reasons, a.failed_reasons


@pytest.mark.slow
@pytest.mark.parametrize("lock", ["symlink"])  # Optuna's default; "open" behaves the same
def test_journal_lock_left_by_killed_worker(tmp_path, lock):
    url = f"journal:///{tmp_path}/study.journal?lock={lock}"
    study, run_dir, st, workers = _start(tmp_path, url)
    try:
        _wait_complete(st, study.name, N_TRIALS // 3)
        # a worker dies by SIGKILL holding the journal lock: its trial stays RUNNING and the
        # lock file stays behind (made here as the dead worker would have left it)
        victim = workers.kill(0)
        lock_file = f"{tmp_path}/study.journal.lock"
        while True:  # take the lock the moment a live worker lets go of it, and keep it
            try:
                if lock == "symlink":
                    os.symlink(f"{tmp_path}/study.journal", lock_file)
                else:
                    os.close(os.open(lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                break
            except FileExistsError:
                time.sleep(0.001)
        del workers.procs[0]
        codes = workers.wait(timeout=600)
    finally:
        workers.kill_all()
    assert victim > 0
    a = _check(run_dir, url, study, codes)
    assert not os.path.lexists(lock_file)
    # only the dead worker's trial failed, and it was retried (COMPLETE == n_trials above)
    assert set(a.failed_reasons) <= {r for r in a.failed_reasons if "lost" in r}, a.failed_reasons
