"""Local runs end to end: real worker processes, real programs, real storages."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from omniopt_desktop.engine.leases import LEASE_KEY
from omniopt_desktop.engine.local_run import prepare_run, run_local
from omniopt_desktop.engine.storage import ensure_study, open_storage
from omniopt_desktop.study import run_layout as L
from omniopt_desktop.study import trial_attrs as A
from omniopt_desktop.study.model import Study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_study(tmp_path, command, n_trials=12, **study):
    d = {
        "study": {"name": "e2e", "n_trials": n_trials, "seed": 7, **study},
        "objective": [{"name": "RESULT", "direction": "minimize"}],
        "program": {"command": command, "workdir": str(tmp_path)},
        "parameter": [
            {"name": "x", "type": "float", "low": 0.0, "high": 10.0},
            {"name": "kind", "type": "choice", "values": ["a", "b"]},
            {"name": "extra", "type": "int", "low": 1, "high": 3, "when": "kind == 'b'"},
        ],
    }
    return Study.from_dict(d)


def trials_of(url, name="e2e"):
    st = open_storage(url)
    return st.get_all_trials(st.get_study_id_from_name(name))


def by_state(trials, state):
    return [t for t in trials if t.state == state]


def test_four_workers_reach_n_trials(storage_url, tmp_path):
    study = make_study(
        tmp_path,
        'echo "OO-Info: extra: %(extra)"; echo "RESULT: %(x)"',
        n_trials=12,
    )
    study.constraints = ["x <= 9.5"]
    run_dir = tmp_path / "run"
    seen = []
    summary = run_local(
        study, str(run_dir), workers=4, storage=storage_url, on_progress=seen.append, poll=0.2
    )
    assert summary.finished and not summary.interrupted
    trials = trials_of(summary.storage_url)
    done = by_state(trials, TrialState.COMPLETE)
    assert 12 <= len(done) <= 12 + 3  # racing workers may overshoot by at most workers - 1
    assert not by_state(trials, TrialState.RUNNING) and not by_state(trials, TrialState.FAIL)
    assert seen and seen[-1].complete == len(done) and seen[-1].best == min(t.value for t in done)
    workers = {t.user_attrs[A.WORKER] for t in done}
    assert len(workers) >= 2
    for t in done:
        folder = run_dir / L.TRIALS_DIR / str(t.number)
        assert (folder / A.CMD_FILE).read_text().strip() == t.user_attrs[A.COMMAND]
        assert (folder / A.STDOUT_FILE).read_text().endswith(f"RESULT: {t.params['x']!r}\n")
        status = json.loads((folder / A.STATUS_FILE).read_text())
        assert status["state"] == "COMPLETE" and status["values"] == [t.value]
        assert t.value == t.params["x"] and t.user_attrs[A.EXIT_CODE] == 0
        assert t.user_attrs[A.TRIAL_DIR] == f"trials/{t.number}"
        if t.params["kind"] == "b":
            assert t.user_attrs["oo_info.extra"] == t.params["extra"]
        else:
            assert "extra" not in t.params and t.user_attrs["oo_info.extra"] == "''"
    for t in by_state(trials, TrialState.PRUNED):  # not run: infeasible (or beyond the budget)
        assert not (run_dir / L.TRIALS_DIR / str(t.number) / A.CMD_FILE).exists()
        if A.CONSTRAINT_VIOLATION in t.user_attrs:
            assert t.params["x"] > 9.5 and t.user_attrs[A.CONSTRAINT_VIOLATION] == "x <= 9.5"
            assert t.user_attrs[A.FAIL_REASON].startswith("not run: constraint violated")
    frozen = json.loads((run_dir / L.FROZEN_STUDY).read_text())
    assert frozen["run"]["storage"] == summary.storage_url and frozen["study"]["n_trials"] == 12


def test_sigkilled_worker_trial_fails_and_is_retried(tmp_path):
    study = make_study(
        tmp_path, 'touch "$OMNIOPT_TRIAL_DIR/started"; sleep 1.5; echo "RESULT: %(x)"', n_trials=6
    )
    run_dir = tmp_path / "run"
    url = L.storage_url(run_dir, "sqlite")
    box = {}
    thread = threading.Thread(
        target=lambda: box.setdefault("s", run_local(study, str(run_dir), workers=2, poll=0.2))
    )
    thread.start()
    victim = None
    deadline = time.time() + 60
    while victim is None and time.time() < deadline:
        time.sleep(0.1)
        if not (run_dir / "study.db").exists():
            continue
        try:
            running = by_state(trials_of(url), TrialState.RUNNING)
        except Exception:
            continue
        for t in running:
            lease = t.system_attrs.get(LEASE_KEY) or {}
            if lease.get("pgid") and (run_dir / "trials" / str(t.number) / "started").exists():
                victim = (t, int(lease["worker"].split(":")[1]), int(lease["pgid"]))
                break
    assert victim is not None, "no trial started"
    trial, worker_pid, pgid = victim
    os.kill(worker_pid, signal.SIGKILL)
    thread.join(120)
    summary = box["s"]
    assert summary.finished
    trials = {t.number: t for t in trials_of(url)}
    lost = trials[trial.number]
    assert lost.state == TrialState.FAIL and "lost" in lost.user_attrs[A.FAIL_REASON]
    retries = [t for t in trials.values() if t.user_attrs.get(A.RETRY_OF) == trial.number]
    assert len(retries) == 1
    assert retries[0].state == TrialState.COMPLETE and retries[0].params == lost.params
    done = by_state(trials.values(), TrialState.COMPLETE)
    assert 6 <= len(done) <= 7
    assert not by_state(trials.values(), TrialState.RUNNING)
    assert any("died" in e for e in summary.events)
    with pytest.raises(ProcessLookupError):  # the dead worker's program was killed too
        os.killpg(pgid, 0)


def test_timeouts_fail_trials_and_max_failures_stops_the_run(tmp_path):
    study = make_study(tmp_path, "sleep 300 & sleep 300", n_trials=5, max_failures=2)
    study.program.timeout = "0.5s"
    summary = run_local(study, str(tmp_path / "run"), workers=1, poll=0.2)
    assert not summary.finished and "consecutive" in summary.stop_reason
    trials = trials_of(summary.storage_url)
    assert len(trials) == 2
    for t in trials:
        assert t.state == TrialState.FAIL and "timeout" in t.user_attrs[A.FAIL_REASON]
        assert t.user_attrs[A.SIGNAL] in ("SIGTERM", "SIGKILL")


def test_failures_say_why_with_stderr_tail(tmp_path):
    study = make_study(
        tmp_path, 'echo "no such module: torch" >&2; exit 2', n_trials=3, max_failures=1
    )
    summary = run_local(study, str(tmp_path / "run"), workers=1, poll=0.2)
    (t,) = trials_of(summary.storage_url)
    reason = t.user_attrs[A.FAIL_REASON]
    assert "exited with status 2" in reason and "no such module: torch" in reason
    assert t.user_attrs[A.EXIT_CODE] == 2


def test_a_command_that_cannot_start_stops_the_run_without_max_failures(tmp_path):
    """Failed trials do not count toward n_trials: without a default limit a typo in the
    command failed trials for ever (thousands a minute) and said nothing."""
    study = make_study(tmp_path, "no-such-program-oo %(x)", n_trials=5)
    assert study.max_failures is None and study.failure_limit == 20
    summary = run_local(study, str(tmp_path / "run"), workers=2, poll=0.2)
    assert not summary.finished
    why = summary.stop_reason
    assert "20 consecutive trials failed" in why and "set study.max_failures" in why, why
    assert "no-such-program-oo" in why and "not found" in why, why
    trials = trials_of(summary.storage_url)
    assert 20 <= len(trials) <= 40 and all(t.state == TrialState.FAIL for t in trials)


def test_the_failure_limit_counts_failures_study_wide(tmp_path):
    """Each worker counted only its own failures, so 4 workers stopped after 4 x the limit
    (2 workers and the default limit of 20: 40 failed trials)."""
    study = make_study(tmp_path, "sleep 0.3; exit 3", n_trials=50, max_failures=8)
    summary = run_local(study, str(tmp_path / "run"), workers=4, poll=0.2)
    assert not summary.finished
    assert "8 consecutive trials failed" in summary.stop_reason, summary.stop_reason
    assert "exited with status 3" in summary.stop_reason, summary.stop_reason
    trials = trials_of(summary.storage_url)
    failed = by_state(trials, TrialState.FAIL)
    # the limit, the 4 trials in flight and at most one more per worker before the STOP file
    assert 8 <= len(failed) < 3 * 8, len(failed)


def test_multi_objective_run(tmp_path):
    study = make_study(
        tmp_path, "echo A: %(x); awk -v x=%(x) 'BEGIN { print \"B: \" 10 - x }'", n_trials=8
    )
    study.objectives = [
        type(study.objectives[0])(name="A"),
        type(study.objectives[0])(name="B"),
    ]
    summary = run_local(study, str(tmp_path / "run"), workers=2, poll=0.2)
    assert summary.finished and summary.progress.pareto >= 1
    done = by_state(trials_of(summary.storage_url), TrialState.COMPLETE)
    assert all(abs(t.values[0] + t.values[1] - 10) < 1e-4 for t in done)


@pytest.mark.slow
def test_program_printing_1gb_keeps_worker_memory_bounded(tmp_path):
    study = make_study(
        tmp_path,
        "head -c 1000000000 /dev/zero | tr '\\0' 'x'; echo; echo RESULT: %(x)",
        n_trials=1,
    )
    run_dir = str(tmp_path / "run")
    url = prepare_run(study, run_dir)
    ensure_study(open_storage(url), study.name, study.directions)
    proc = __import__("subprocess").Popen(
        [sys.executable, "-m", "omniopt_desktop.engine", "worker", "--run-dir", run_dir],
        stderr=open(os.path.join(run_dir, "worker.log"), "wb"),
    )
    # ru_maxrss from wait4 would count the moment between fork and exec, when the child still
    # shows the (large) pytest process's pages; VmHWM of the worker's own image does not.
    peak_kib = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    assert proc.wait() == 0
    peak_mib = peak_kib / 1024
    assert peak_mib > 10, "the worker's memory was never sampled"
    (t,) = trials_of(url)
    assert t.state == TrialState.COMPLETE
    out = os.path.join(run_dir, "trials", "0", A.STDOUT_FILE)
    assert os.path.getsize(out) < (2 << 20) + 200
    assert peak_mib < 300, f"worker peak RSS {peak_mib:.0f} MiB"


def _start_worker(run_dir):
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "omniopt_desktop.engine", "worker", "--run-dir", run_dir],
        stderr=open(os.path.join(run_dir, "worker.log"), "ab"),
    )


def _wait_for(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_sigusr1_kills_the_program_and_fails_the_trial_interrupted(tmp_path):
    """SLURM sends SIGUSR1 (--signal) before the time limit; scancel sends SIGTERM."""
    study = make_study(tmp_path, 'echo $$ > "$OMNIOPT_TRIAL_DIR/pid"; sleep 300', n_trials=3)
    run_dir = str(tmp_path / "run")
    url = prepare_run(study, run_dir)
    ensure_study(open_storage(url), study.name, study.directions)
    proc = _start_worker(run_dir)
    pid_file = tmp_path / "run" / "trials" / "0" / "pid"
    assert _wait_for(pid_file.exists)
    proc.send_signal(signal.SIGUSR1)
    assert proc.wait(60) == 4  # Exit.STOPPED
    (t,) = trials_of(url)
    assert t.state == TrialState.FAIL and t.user_attrs[A.FAIL_REASON].startswith("interrupted")
    assert not os.path.exists(f"/proc/{int(pid_file.read_text())}/cmdline") or open(
        f"/proc/{int(pid_file.read_text())}/stat"
    ).read().split(")")[-1].split()[0] in ("Z", "X")


def test_stop_file_lets_the_running_trial_finish(tmp_path):
    study = make_study(tmp_path, 'touch "$OMNIOPT_TRIAL_DIR/started"; sleep 1; echo RESULT: %(x)')
    run_dir = str(tmp_path / "run")
    url = prepare_run(study, run_dir)
    ensure_study(open_storage(url), study.name, study.directions)
    proc = _start_worker(run_dir)
    assert _wait_for((tmp_path / "run" / "trials" / "0" / "started").exists)
    (tmp_path / "run" / L.STOP_FILE).touch()
    assert proc.wait(60) == 4
    trials = trials_of(url)
    assert [t.state for t in trials] == [TrialState.COMPLETE]


def test_run_local_from_a_script_without_main_guard(tmp_path):
    """Workers are forked from a preloaded server; they must not re-run the caller's script."""
    import subprocess

    script = f"""
import json
from omniopt_desktop.study.model import Study
from omniopt_desktop.engine.local_run import run_local
s = Study.from_dict({{"study": {{"name": "g", "n_trials": 3}}, "objective": [{{"name": "RESULT"}}],
    "program": {{"command": "echo RESULT: %(x)"}},
    "parameter": [{{"name": "x", "type": "float", "low": 0, "high": 1}}]}})
r = run_local(s, {str(tmp_path / "run")!r}, workers=2)
print("COMPLETE", r.progress.complete)
"""
    proc = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("COMPLETE") == 1
    assert "COMPLETE 3" in proc.stdout or "COMPLETE 4" in proc.stdout


def test_grid_run_covers_the_grid_without_worker_crashes(tmp_path):
    study = Study.from_dict(
        {
            "study": {"name": "e2e", "n_trials": 6, "sampler": "grid"},
            "objective": [{"name": "RESULT"}],
            "program": {"command": "echo RESULT: %(x)"},
            "parameter": [{"name": "x", "type": "int", "low": 0, "high": 3}],
        }
    )
    summary = run_local(study, str(tmp_path / "run"), workers=2, poll=0.2)
    assert summary.finished and not any("died" in e for e in summary.events), summary.events
    done = by_state(trials_of(summary.storage_url), TrialState.COMPLETE)
    assert {t.params["x"] for t in done} == {0, 1, 2, 3}
