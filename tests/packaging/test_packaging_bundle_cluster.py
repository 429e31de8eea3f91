"""The bundle as a user installs it submits to a cluster: linked into ``~/bin``, started from
the home folder with a clean environment (``env -i HOME=… PATH=…``), it checks the login
(``ssh-check``, accepting the host key by its fingerprint), submits a copy of the quadratic
example over the real loopback sshd to the real single-node SLURM, waits for it (``status
--wait``) and fetches the result database. The engine it ships is the sources it carries, in
the same folder (same key) a pip install of this checkout would use."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import optuna
import pytest
from support.bundle import ROOT

import omniopt_desktop
from omniopt_desktop.cluster.remote_env import engine_files, engine_key

pytestmark = [pytest.mark.slow, pytest.mark.sshd, pytest.mark.slurm]
N_TRIALS = 8


def _user_home(tmp_path: Path, bundle: Path, sshd_env) -> Path:
    """A fresh home with the bundle linked into ~/bin and the cluster in ~/.ssh/config (no
    known_hosts entry: the host key is accepted once, by fingerprint)."""
    home = tmp_path / "home"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "omniopt-desktop").symlink_to(bundle)
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700)
    sshd_env.ssh_config(path=ssh / "config", alias="mycluster")
    study = home / "work" / "quadratic"
    shutil.copytree(ROOT / "resources" / "examples" / "quadratic", study)
    toml = study / "study.toml"
    text = toml.read_text().replace("n_trials = 40", f"n_trials = {N_TRIALS}")
    toml.write_text(
        text.replace("workers = 4", "workers = 2").replace('mem = "1G"', 'mem = "200M"')
    )
    return home


def _app(home: Path, *argv: str, timeout: float = 300, code: int = 0) -> str:
    """Run ``~/bin/omniopt-desktop ARGV`` from ``home`` with only HOME and PATH set; returns
    stdout (the exit code must be ``code``)."""
    proc = subprocess.run(
        [str(home / "bin" / "omniopt-desktop"), *argv],
        env={"HOME": str(home), "PATH": f"{home / 'bin'}:/usr/bin:/bin"},
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == code, f"{argv[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_the_bundle_submits_watches_and_fetches_a_cluster_run(
    bundle, sshd_env, slurm_cluster, wheelhouse, tmp_path
):
    home = _user_home(tmp_path, bundle, sshd_env)
    base = os.path.join(sshd_env.account.home, f"oo-bundle-{secrets.token_hex(3)}")
    slurm = slurm_cluster.shell_prefix
    try:
        fingerprint = sshd_env.server.host_fingerprint()
        # this test cluster has no accounting storage: sacct is optional, the check passes
        out = _app(home, "ssh-check", "mycluster", "--accept-host-key", fingerprint,
                   "--slurm-setup", slurm)  # fmt: skip
        assert fingerprint in out and "\nsbatch: works" in out and "\nsacct: not available" in out
        out = _app(home, "submit", "work/quadratic/study.toml", "--host", "mycluster",
                   "--remote-base", base, "--python", "/usr/bin/python3",
                   "--wheelhouse", str(wheelhouse), "--slurm-setup", slurm,
                   "--controller-interval", "1", timeout=900)  # fmt: skip
        run_id = out.strip().splitlines()[-1]
        assert run_id.startswith("quadratic-"), out

        # the engine went up from the bundle's own copy of the sources, keyed by their contents
        # as from a checkout (test_packaging_engine_sources: same sources, same key)
        carried = bundle.parent / "_internal" / "omniopt_desktop"
        [shipped] = os.listdir(os.path.join(base, "engine"))
        assert shipped == engine_key(carried)
        assert shipped.startswith(omniopt_desktop.__version__ + "-")
        for name, path in engine_files(carried):
            assert Path(base, "engine", shipped, name).read_bytes() == path.read_bytes(), name

        out = _app(home, "status", run_id, "--wait", "--json", "--max-interval", "2", timeout=600)
        status = json.loads(out.strip().splitlines()[-1])
        assert status["controller"]["state"] == "done", status
        assert status["counts"]["COMPLETE"] >= N_TRIALS, status["counts"]

        snapshot = Path(_app(home, "fetch", run_id).strip().splitlines()[-1])
        data = home / ".local" / "share" / "omniopt-desktop"
        assert snapshot.is_relative_to(data / "snapshots") and snapshot.is_file(), snapshot
        study = optuna.load_study(study_name="quadratic", storage=f"sqlite:///{snapshot}")
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(done) >= N_TRIALS
        assert all(set(t.params) == {"x", "y", "n", "shape"} for t in done)
        assert run_id in _app(home, "runs")
    finally:
        shutil.rmtree(base, ignore_errors=True)
