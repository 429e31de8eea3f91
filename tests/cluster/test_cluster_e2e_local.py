"""Runs on the real single-node SLURM through LocalRunner (root, this machine): the whole path
submit → status → fetch, and the faults of issue 4 that do not need SSH."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import optuna
import pytest
from support.cluster_runs import make_study_folder, wait_finished

from omniopt_desktop.cluster.commands import LocalRunner
from omniopt_desktop.cluster.registry import Registry
from omniopt_desktop.cluster.remote_env import EnvConfig
from omniopt_desktop.cluster.runs import ClusterProfile, ClusterRuns
from omniopt_desktop.cluster.sbatch import job_names
from omniopt_desktop.cluster.transfer import LocalTransfer
from omniopt_desktop.engine.storage import open_storage
from omniopt_desktop.study.run_layout import storage_url

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def runs(slurm_cluster, tmp_path):
    profile = ClusterProfile(
        host="localhost",
        env=EnvConfig(base=str(tmp_path / "base"), existing_python=sys.executable),
        slurm_prefix=slurm_cluster.shell_prefix,
        controller_interval=1,
        lease_ttl=60,
    )
    return ClusterRuns(
        LocalRunner(env=slurm_cluster.env),
        profile,
        Registry(str(tmp_path / "runs.json")),
        LocalTransfer(),
    )


def _trials(db_url, name):
    study = optuna.load_study(study_name=name, storage=db_url)
    return [(t.number, t.state, t.params, t.values, t.user_attrs) for t in study.trials]


@pytest.mark.parametrize("storage", ["sqlite", "journal", "postgres"])
def test_submit_status_fetch(runs, tmp_path, storage, request):
    url = storage
    if storage == "postgres":
        url = request.getfixturevalue("postgres_server").create_database()
    study, path = make_study_folder(tmp_path / "study", n_trials=12, workers=4, storage=url)
    record = runs.submit(study, str(path))
    seen_all = {}
    st = wait_finished(runs, record, on_status=lambda st, seen: seen_all.update(seen))
    assert st.controller_state == "done", st.to_json()
    assert st.study["storage"] == {"postgres": "postgresql"}.get(storage, storage)
    assert st.counts["COMPLETE"] >= 12 and st.counts["RUNNING"] == 0
    assert sorted(seen_all) == list(range(len(seen_all)))  # incremental polls missed none
    # racing workers may leave one empty WAITING slot (no parameters, never run: the engine's
    # budget rule); every trial that ran is COMPLETE
    odd = [
        t
        for t in seen_all.values()
        if t["state"] != "COMPLETE" and (t["state"], t["params"]) != ("WAITING", {})
    ]
    assert len(odd) <= 1 and all(  # a lease lost on a loaded machine: failed and run again
        t["state"] == "FAIL" and "lost" in t.get("fail_reason", "") for t in odd
    ), odd
    snap = runs.fetch(record, str(tmp_path / "fetched"))
    remote = open_storage(storage_url(record.remote_dir, url))
    assert _trials("sqlite:///" + snap, "quad") == _trials(remote, "quad")
    assert runs.registry.get(record.run_id).snapshots == (snap,)
    from omniopt_desktop.analysis.loader import load_trials  # what `open` shows

    assert len(load_trials(snap)) == len(_trials(remote, "quad"))


def _status_when(runs, record, ready, poll: float = 0.5):
    """The run's status (no trials) once ``ready(status)`` holds; None after 120 s."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st = runs.status(record, since=10**9)
        if ready(st):
            return st
        time.sleep(poll)
    return None


def _running_workers(st):
    return [
        j for j in st.jobs.jobs.values() if j.name.endswith("-wrk") and j.state.value == "RUNNING"
    ]


def _running_worker_once(runs, record, state: str, at_least: int, poll: float):
    """The job key of a RUNNING worker once the run has ``at_least`` trials in ``state``
    (None after 120 s)."""
    st = _status_when(
        runs,
        record,
        lambda st: _running_workers(st) and st.counts.get(state, 0) >= at_least,
        poll,
    )
    return _running_workers(st)[0].key if st else None


def test_a_worker_cancelled_mid_study_does_not_stop_the_study(runs, tmp_path):
    study, path = make_study_folder(
        tmp_path / "study", n_trials=16, workers=3, command="sleep 1; sh ./prog.sh %(x) %(y)"
    )
    record = runs.submit(study, str(path))
    victim = _running_worker_once(runs, record, "COMPLETE", 1, poll=0.5)
    assert victim, "no worker ever ran"
    runs.slurm.cancel([victim])
    st = wait_finished(runs, record)
    assert st.controller_state == "done", st.to_json()
    assert st.counts["COMPLETE"] >= 16
    assert st.study["controller"]["worker_submissions"] >= 4  # the cancelled worker was replaced
    trials = optuna.load_study(
        study_name="quad", storage="sqlite:///" + record.remote_dir + "/study.db"
    ).trials
    interrupted = [t for t in trials if t.state.name == "FAIL"]
    retried = {t.user_attrs.get("oo_retry_of"): t for t in trials if "oo_retry_of" in t.user_attrs}
    for t in interrupted:  # the stopped worker's trial is run again with the same parameters
        assert t.user_attrs["oo_fail_reason"].startswith(
            ("interrupted", "program killed by SIGTERM")
        )
        assert t.number in retried and retried[t.number].params == t.params


def test_a_program_that_always_fails_stops_after_max_failures(runs, tmp_path):
    study, path = make_study_folder(
        tmp_path / "study", n_trials=20, workers=2, max_failures=3, command="sh -c 'exit 7'"
    )
    record = runs.submit(study, str(path))
    st = wait_finished(runs, record)
    assert st.controller_state == "failed"
    assert "consecutive failed trials" in st.reason and "max_failures = 3" in st.reason
    assert st.counts["COMPLETE"] == 0


def test_killed_controller_resumes_without_losing_or_duplicating_trials(runs, tmp_path):
    study, path = make_study_folder(
        tmp_path / "study", n_trials=10, workers=2, command="sleep 1; sh ./prog.sh %(x) %(y)"
    )
    record = runs.submit(study, str(path))
    _status_when(runs, record, lambda st: st.counts.get("COMPLETE", 0) >= 2)
    runs.slurm.cancel([record.job_ids[0]])  # the controller only
    # resume refuses while the controller job is still active (e.g. COMPLETING under load)
    ctl = job_names(record.tag)[0]
    deadline = time.monotonic() + 120
    while any(j.state.is_active for j in runs.slurm.find_by_names([ctl])):
        assert time.monotonic() < deadline, "the cancelled controller never left the queue"
        time.sleep(1)
    record = runs.resume(runs.registry.get(record.run_id), add_trials=4)
    assert len(record.job_ids) == 2
    st = wait_finished(runs, record)
    assert st.controller_state == "done", st.to_json()
    full = runs.status(record)
    numbers = [t["number"] for t in full.trials]
    assert numbers == list(range(len(numbers)))
    assert full.counts["COMPLETE"] >= 14 and full.counts["RUNNING"] == 0


def test_cancel_fails_running_trials_and_keeps_the_database(runs, tmp_path):
    study, path = make_study_folder(
        tmp_path / "study", n_trials=50, workers=2, command="sleep 30; sh ./prog.sh %(x) %(y)"
    )
    record = runs.submit(study, str(path))
    _status_when(runs, record, lambda st: st.counts.get("RUNNING", 0) >= 1)
    cancelled = runs.cancel(runs.registry.get(record.run_id))
    assert cancelled
    st = wait_finished(runs, record, timeout=120)
    full = runs.status(record)
    assert full.counts["RUNNING"] == 0
    reasons = {t["number"]: t.get("fail_reason") for t in full.trials}
    assert all(reasons[n] == "cancelled" for n in cancelled)
    assert runs.registry.get(record.run_id).state == "cancelled"
    assert st.controller_state in ("stopped", "queued") or st.controller_gone
    # scancel'ed, or ended as asked by the STOP file before scancel reached them: never FAILED
    ended = ("CANCELLED", "COMPLETED")
    jobs = list(st.jobs.jobs.values())
    assert any(j.name.endswith("-wrk") for j in jobs), st.to_json()["jobs"]
    assert all(j.state.value in ended for j in jobs), st.to_json()["jobs"]


def test_trial_of_a_killed_worker_is_failed_and_retried(runs, tmp_path):
    """SIGKILL leaves the worker no chance to release its trial: the controller sees the job
    gone, fails the RUNNING trial and enqueues a retry with the same parameters."""
    study, path = make_study_folder(
        tmp_path / "study", n_trials=6, workers=2, command="sleep 4; sh ./prog.sh %(x) %(y)"
    )
    record = runs.submit(study, str(path))
    victim = _running_worker_once(runs, record, "RUNNING", 2, poll=0.3)
    assert victim
    # SIGKILL the worker process itself (a crash, the OOM killer): its batch job then ends
    pids = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _cmdline(p).endswith(f"--worker-id {victim}")
    ]
    assert pids, f"no worker process for {victim}"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    st = wait_finished(runs, record)
    assert st.controller_state == "done", st.to_json()
    trials = optuna.load_study(
        study_name="quad", storage="sqlite:///" + record.remote_dir + "/study.db"
    ).trials
    lost = [t for t in trials if t.state.name == "FAIL"]
    assert lost, [(t.number, t.state, t.user_attrs.get("oo_fail_reason")) for t in trials]
    assert all("lost" in t.user_attrs["oo_fail_reason"] for t in lost), [
        (victim, t.number, t.user_attrs) for t in lost
    ]
    retried = {t.user_attrs.get("oo_retry_of"): t for t in trials if "oo_retry_of" in t.user_attrs}
    for t in lost:
        assert t.number in retried and retried[t.number].params == t.params
    assert not [t for t in trials if t.state.name == "RUNNING"]


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def test_controller_near_its_time_limit_queues_its_successor(runs, tmp_path, slurm_cluster):
    """USR1 before the time limit (sent here by scancel -b -s USR1): the controller queues the
    next controller (singleton dependency: never two at once) and the study completes."""
    import subprocess

    study, path = make_study_folder(
        tmp_path / "study", n_trials=10, workers=2, command="sleep 1; sh ./prog.sh %(x) %(y)"
    )
    record = runs.submit(study, str(path))
    _status_when(
        runs,
        record,
        lambda st: st.counts.get("COMPLETE", 0) >= 2 and st.controller_state == "running",
    )
    ctl = record.job_ids[0]
    subprocess.run(["scancel", "-b", "-s", "USR1", ctl], env=slurm_cluster.env, check=True)
    st = wait_finished(runs, record)
    assert st.controller_state == "done", st.to_json()
    controllers = [j for j in st.jobs.jobs.values() if j.name.endswith("-ctl")]
    assert len(controllers) == 2 and st.study["controller"]["job_id"] != ctl
    full = runs.status(record)
    numbers = [t["number"] for t in full.trials]
    assert numbers == list(range(len(numbers))) and full.counts["COMPLETE"] >= 10
