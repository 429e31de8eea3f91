"""The whole path as a user runs it: the CLI over a real sshd as a non-root account, on the real
single-node SLURM, with a venv made on the "cluster" from uploaded wheels (no internet needed).

submit → status --wait → fetch with 4 workers; every trial COMPLETE; the fetched database holds
exactly the remote study. Then runs, and resume with more trials.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

import optuna
import pytest
from support.cluster_runs import make_study_folder

from omniopt_desktop.cli import main

pytest.importorskip("support.sshd", reason="the SSH layer's sshd fixture is not there")
pytestmark = [pytest.mark.slurm, pytest.mark.sshd, pytest.mark.slow]
optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def remote(sshd_env, slurm_cluster, wheelhouse):
    account = sshd_env.account
    base = os.path.join(account.home, f"oo-test-{secrets.token_hex(3)}")
    config = sshd_env.ssh_config(extra=f"  UserKnownHostsFile {sshd_env.known_hosts_file()}\n")
    common = ["-F", str(config)]
    submit_opts = [
        "--host", "oo-target", *common,
        "--remote-base", base,
        "--python", "/usr/bin/python3",
        "--wheelhouse", str(wheelhouse),
        "--slurm-setup", slurm_cluster.shell_prefix,
        "--controller-interval", "1",
    ]  # fmt: skip
    yield {"base": base, "common": common, "submit": submit_opts, "account": account}
    shutil.rmtree(base, ignore_errors=True)


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _trials(url):
    study = optuna.load_study(study_name="quad", storage=url)
    return [(t.number, t.state, t.params, t.values, t.user_attrs) for t in study.trials]


def test_submit_status_fetch_over_ssh(remote, tmp_path, capsys):
    _, study_path = make_study_folder(tmp_path / "study", n_trials=16, workers=4)
    code, out, err = _cli(capsys, "submit", str(study_path), *remote["submit"])
    assert code == 0, err
    run_id = out.strip().splitlines()[-1]
    assert run_id.startswith("quad-")

    code, out, err = _cli(
        capsys, "status", run_id, "--wait", "--json", "--max-interval", "2", *remote["common"]
    )
    assert code == 0, err
    st = json.loads(out.strip().splitlines()[-1])
    assert st["controller"]["state"] == "done", st
    assert st["counts"]["COMPLETE"] >= 16 and st["counts"]["RUNNING"] == 0
    assert st["storage"] == "sqlite"
    assert [t["number"] for t in st["trials"]] == list(range(len(st["trials"])))
    # every trial COMPLETE; on a loaded machine a worker may lose a lease: that trial must
    # then have been failed and run again (no trial lost)
    # racing workers may leave one empty WAITING slot (no parameters, never run: the engine's
    # budget rule); every trial that ran is COMPLETE
    odd = [
        t
        for t in st["trials"]
        if t["state"] != "COMPLETE" and (t["state"], t["params"]) != ("WAITING", {})
    ]
    assert len(odd) <= 1 and all(
        t["state"] == "FAIL" and "lost" in t.get("fail_reason", "") for t in odd
    ), odd
    workers = {t["worker"] for t in st["trials"] if t.get("worker")}
    assert len(workers) >= 2  # several array tasks shared the study

    code, out, err = _cli(
        capsys, "fetch", run_id, "--dest", str(tmp_path / "snap"), "--logs", *remote["common"]
    )
    assert code == 0, err
    snap = out.strip().splitlines()[-1]
    assert snap.startswith(str(tmp_path / "snap")) and os.path.isfile(snap)
    remote_db = os.path.join(remote["base"], "runs", run_id, "study.db")
    assert _trials("sqlite:///" + snap) == _trials("sqlite:///" + remote_db)
    assert (tmp_path / "snap" / f"{run_id}-logs" / "trials" / "0" / "stdout.txt").exists()
    owner = os.stat(remote_db).st_uid
    assert owner == remote["account"].uid  # the jobs ran as the non-root account

    code, out, _ = _cli(capsys, "runs")
    assert code == 0 and run_id in out

    # resume with more trials: the same study continues, nothing is lost or duplicated
    code, out, err = _cli(
        capsys, "submit", "--resume", run_id, "--add-trials", "4", *remote["common"]
    )
    assert code == 0, err and out.strip().splitlines()[-1] == run_id
    code, out, err = _cli(
        capsys, "status", run_id, "--wait", "--json", "--max-interval", "2", *remote["common"]
    )
    assert code == 0, err
    st = json.loads(out.strip().splitlines()[-1])
    assert st["counts"]["COMPLETE"] >= 20
    numbers = [t["number"] for t in st["trials"]]
    assert numbers == list(range(len(numbers)))


def test_second_submit_reuses_the_environment(remote, tmp_path, capsys):
    _, study_path = make_study_folder(tmp_path / "study", n_trials=2, workers=1)
    for _attempt in range(2):
        code, out, err = _cli(capsys, "submit", str(study_path), *remote["submit"])
        assert code == 0, err
    assert "creating the virtual environment" not in err and "wheels" not in err, err
    run_id = out.strip().splitlines()[-1]
    code, _, err = _cli(
        capsys, "status", run_id, "--wait", "--max-interval", "2", *remote["common"]
    )
    assert code == 0, err
    envs = os.listdir(os.path.join(remote["base"], "envs"))
    assert len(envs) == 1, envs


def test_a_failing_program_stops_the_run_with_the_reason(remote, tmp_path, capsys):
    _, study_path = make_study_folder(
        tmp_path / "study", n_trials=10, workers=2, max_failures=3, command="sh -c 'exit 3'"
    )
    code, out, err = _cli(capsys, "submit", str(study_path), *remote["submit"])
    assert code == 0, err
    run_id = out.strip().splitlines()[-1]
    code, out, err = _cli(
        capsys, "status", run_id, "--wait", "--max-interval", "2", *remote["common"]
    )
    assert code == 1
    assert "consecutive failed trials" in err and "max_failures = 3" in err


def _wrapper(body: str) -> str:
    """A folder (readable by the test account) holding an ``sbatch`` wrapper."""
    folder = tempfile.mkdtemp(prefix="oo-sbatch-wrapper-")
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "sbatch")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return folder


def test_sbatch_that_queues_then_exits_1_gives_exactly_one_controller(
    remote, slurm_cluster, tmp_path, capsys
):
    folder = _wrapper(
        '/usr/bin/sbatch "$@" >/dev/null\n'
        "echo 'sbatch: error: Socket timed out on send/recv operation' >&2\nexit 1\n"
    )
    try:
        _, study_path = make_study_folder(tmp_path / "study", n_trials=4, workers=2)
        argv = [*remote["submit"], "--slurm-setup", f'export PATH={folder}:"$PATH"']
        code, out, err = _cli(capsys, "submit", str(study_path), *argv)
        assert code == 0, err
        run_id = out.strip().splitlines()[-1]
        queued = subprocess.run(
            ["squeue", "-h", "-t", "all", "-n", f"oo-{run_id}-ctl", "-o", "%i"],
            env=slurm_cluster.env, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        assert len(queued) == 1, queued
        code, _, err = _cli(
            capsys, "status", run_id, "--wait", "--max-interval", "2", *remote["common"]
        )
        assert code == 0, err
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_unparsable_sbatch_answer_is_one_line_with_the_raw_text(remote, tmp_path, capsys):
    folder = _wrapper("echo 'Submitted to the moon at 12:00'\n")
    try:
        _, study_path = make_study_folder(tmp_path / "study", n_trials=2, workers=1)
        argv = [*remote["submit"], "--slurm-setup", f'export PATH={folder}:"$PATH"']
        code, out, err = _cli(capsys, "submit", str(study_path), *argv)
        assert code == 1
        line = err.strip().splitlines()[-1]
        assert (
            line.startswith("omniopt-desktop: error:") and "Submitted to the moon at 12:00" in line
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_cancel_over_ssh_fails_running_trials_and_keeps_the_run(remote, tmp_path, capsys):
    _, study_path = make_study_folder(
        tmp_path / "study", n_trials=4, workers=2, command="sleep 20; sh ./prog.sh %(x) %(y)"
    )
    code, out, err = _cli(capsys, "submit", str(study_path), *remote["submit"])
    assert code == 0, err
    run_id = out.strip().splitlines()[-1]
    for _ in range(120):
        code, out, err = _cli(capsys, "status", run_id, "--json", *remote["common"])
        st = json.loads(out.strip().splitlines()[-1])
        if st["stale"]:
            print("stale poll:", st["error"])  # shown when the test fails
        elif st["counts"].get("RUNNING", 0) >= 1:
            break
        time.sleep(0.5)
    code, out, err = _cli(capsys, "cancel", run_id, *remote["common"])
    assert code == 0, err
    assert out.strip().splitlines()[-1] == f"cancelled {run_id}"
    code, out, err = _cli(
        capsys, "status", run_id, "--wait", "--json", "--max-interval", "2", *remote["common"]
    )
    assert code == 1 and "stopped" in err  # the run ended by the cancel, not by its budget
    st = json.loads(out.strip().splitlines()[-1])
    cancelled = [t for t in st["trials"] if t.get("fail_reason") == "cancelled"]
    assert cancelled and st["counts"]["RUNNING"] == 0
    code, out, _ = _cli(capsys, "runs", "--json")
    assert {r["run_id"]: r["state"] for r in json.loads(out)}[run_id] == "cancelled"
