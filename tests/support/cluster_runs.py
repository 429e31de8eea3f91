"""Helpers of the cluster tests: a study folder with a trivial program, waiting for a run."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from omniopt_desktop.cli import main as cli_main
from omniopt_desktop.cluster.registry import Registry, RunRecord
from omniopt_desktop.cluster.runs import ClusterRuns, RunMonitor, RunStatus
from omniopt_desktop.study.model import Parameter, ParamType, Program, Resources, Study
from omniopt_desktop.study.toml_io import dumps_study


def make_study_folder(
    folder: Path,
    *,
    name: str = "quad",
    n_trials: int = 12,
    workers: int = 4,
    command: str = "sh ./prog.sh %(x) %(y)",
    max_failures: int | None = None,
    storage: str = "sqlite",
    program: str = 'awk -v x="$1" -v y="$2" \'BEGIN { print "RESULT: " x * x + y }\'\n',
) -> tuple[Study, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prog.sh").write_text("#!/bin/sh\n" + program)
    study = Study(
        name=name,
        n_trials=n_trials,
        seed=1,
        max_failures=max_failures,
        storage=storage,
        parameters=[Parameter("x", ParamType.FLOAT, -3, 3), Parameter("y", ParamType.INT, 0, 5)],
        program=Program(command=command, workdir="."),
        resources=Resources(workers=workers, mem="200M", time="30m"),
    )
    path = folder / "study.toml"
    path.write_text(dumps_study(study))
    return study, path


def wait_finished(
    runs: ClusterRuns, record: RunRecord, timeout: float = 300, on_status=None
) -> RunStatus:
    """Poll as the GUI does (RunMonitor: incremental); returns the first finished status."""
    monitor = RunMonitor(runs, record, interval=0.5, max_interval=2.0)
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = monitor.poll()
        if not st.stale and on_status:
            on_status(st, dict(monitor.trials))
        if st.finished:
            return st
        time.sleep(monitor.interval)
    raise AssertionError(f"run {record.run_id} did not finish; last status {st and st.to_json()}")


def build_wheelhouse(folder: Path, python: str = "/usr/bin/python3") -> Path:
    """Wheels of this machine's optuna (and its dependencies) for ``python``'s version: what a
    user prepares for a cluster without internet (``pip download``)."""
    import subprocess
    import sys
    from importlib import metadata

    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
         "--python-version", version, "-d", str(folder), f"optuna=={metadata.version('optuna')}"],
        check=True,
    )  # fmt: skip
    return folder


def submit_over_ssh(
    sshd_env, slurm_cluster, wheelhouse: Path, study_path: Path, tmp_path: Path, prefix: str
) -> tuple[Path, str, RunRecord]:
    """Submit ``study_path`` with the CLI to the sshd fixture's account ("oo-target") under a
    fresh ``~/<prefix>-<hex>`` folder; returns the ssh config, that folder and the run's record
    (from the run registry of ``XDG_DATA_HOME``)."""
    config = sshd_env.ssh_config(
        path=tmp_path / "ssh_config",
        extra=f"  UserKnownHostsFile {sshd_env.known_hosts_file()}\n",
    )
    base = os.path.join(sshd_env.account.home, f"{prefix}-{secrets.token_hex(3)}")
    code = cli_main([
        "submit", str(study_path), "--host", "oo-target", "-F", str(config),
        "--remote-base", base, "--python", "/usr/bin/python3",
        "--wheelhouse", str(wheelhouse), "--slurm-setup", slurm_cluster.shell_prefix,
        "--controller-interval", "1",
    ])  # fmt: skip
    assert code == 0
    [record] = [r for r in Registry().all() if r.remote_dir.startswith(base)]
    return config, base, record
