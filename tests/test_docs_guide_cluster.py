"""The cluster commands of the user guide, run as a user runs them, on a real cluster.

Each command line is taken from docs/guide.md (its ```sh blocks and the commands its prose
names), so a changed guide changes this test; ``RUN`` becomes the run id that ``submit`` printed
and ``SHA256:...`` the server's real fingerprint. They run as subprocesses
(``python -m omniopt_desktop.cli``) in a workstation HOME whose ``~/.ssh/config`` defines
``Host mycluster``, against a real sshd and the suite's single-node SLURM
(tests/support/guide_cluster.py: the cluster has a ``module`` command standing in for Lmod, so
the guide's ``--setup "module load Python"`` runs as written).

The order is the guide's: its command blocks as they come (ssh-check, submit, runs, status
--wait); the commands named in its prose where the run is in the state they describe (fetch
--logs when trials are done, cancel while the resumed run goes, fetch and status after it).
The quadratic example runs from a copy with fewer trials; its command line is the guide's.
A second test takes the guide's cluster without internet: its submit fails at the environment
step, and works with the wheelhouse of the guide's ``pip download`` line (``--wheelhouse``).
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
import time

import optuna
import pytest
from support.guide_cluster import GuideCluster, GuideCommand, guide_commands
from support.slurm import slurm_cluster  # noqa: F401  (fixture)
from support.sshd import sshd_account, sshd_factory, sshd_root  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slurm, pytest.mark.sshd, pytest.mark.slow]
optuna.logging.set_verbosity(optuna.logging.WARNING)

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide.md"
N_TRIALS = 8  # the copy's budget (the example's 40 take longer on a cluster than a test may)
RUN_ID = re.compile(r"quadratic-\d{8}-\d{6}-[0-9a-f]{4}")
TRIALS = re.compile(r"trials: (\d+)/(\d+) COMPLETE, (\d+) RUNNING")


def _is(sub: str, *, has: tuple[str, ...] = (), lacks: tuple[str, ...] = ()):
    def match(c: GuideCommand) -> bool:
        words = c.text.split()
        return (
            c.subcommand == sub
            and all(w in words for w in has)
            and not any(w in words for w in lacks)
        )

    return match


# every cluster command of the guide, in the order this test runs them
STEPS = {
    "ssh-check": _is("ssh-check", lacks=("--accept-host-key",)),
    "ssh-check --accept-host-key": _is("ssh-check", has=("--accept-host-key",)),
    "submit": _is("submit", lacks=("--resume", "--wheelhouse")),
    "runs": _is("runs"),
    "status --wait": _is("status", has=("--wait",)),
    "fetch --logs": _is("fetch", has=("--logs",)),
    "submit --resume": _is("submit", has=("--resume",)),
    "cancel": _is("cancel"),
    "fetch": _is("fetch", lacks=("--logs",)),
    "status": _is("status", lacks=("--wait",)),
}
# exercised by test_the_guides_wheelhouse_makes_the_environment_without_internet below
ELSEWHERE = {"submit --wheelhouse": _is("submit", has=("--wheelhouse",))}


def _guide_steps() -> dict[str, str]:
    commands = guide_commands(GUIDE)
    by_step: dict[str, str] = {}
    for c in commands:
        keys = [k for k, match in {**STEPS, **ELSEWHERE}.items() if match(c)]
        assert len(keys) == 1, f"guide line {c.line}: {c.text!r} matches steps {keys}"
        assert by_step.setdefault(keys[0], c.text) == c.text, (
            f"guide line {c.line}: {c.text!r} differs from {by_step[keys[0]]!r} named before"
        )
    missing = (set(STEPS) | set(ELSEWHERE)) - set(by_step)
    assert not missing, f"the guide no longer shows {missing}: update STEPS"
    # the command blocks run in the guide's order
    blocks = [next(k for k, m in STEPS.items() if m(c)) for c in commands if c.where == "sh block"]
    assert blocks == [k for k in STEPS if k in blocks], blocks
    return by_step


def test_every_cluster_command_of_the_guide_has_a_step():
    _guide_steps()


def _last_line(proc) -> str:
    lines = proc.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def _ok(proc, command: str):
    assert proc.returncode == 0, f"{command}\nexit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _checked(proc, command: str, fp: str):
    """ssh-check's report. This test cluster, like some real ones, has no accounting storage, so
    sacct fails; the check still passes (the app needs only sbatch and squeue: it falls back to
    squeue and scontrol, guide section 8)."""
    out = proc.stdout
    assert proc.returncode == 0, f"{command}\nexit {proc.returncode}\n{out}\n{proc.stderr}"
    assert f"host key: ssh-ed25519 {fp}" in out and "authenticated by: publickey" in out, out
    assert "python3: Python 3." in out and "sbatch: works" in out and "squeue: works" in out, out
    assert "sacct: not available" in out and "accounting storage is disabled" in out, out
    return proc


def _study(path: str) -> optuna.Study:
    return optuna.load_study(study_name=None, storage=f"sqlite:///{path}")


def _states(study: optuna.Study) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in study.trials:
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


@pytest.fixture
def clusters(sshd_account, slurm_cluster, sshd_factory):  # noqa: F811
    """``clusters(offline=False)`` → a started GuideCluster; all removed at the end."""
    made: list[GuideCluster] = []

    def make(offline: bool = False) -> GuideCluster:
        made.append(GuideCluster(sshd_account, slurm_cluster, offline=offline))
        return made[-1].start(sshd_factory)

    yield make
    for c in made:
        c.remove()


@pytest.fixture
def cwd(tmp_path) -> pathlib.Path:
    """A copy of the repository's resources/ with the quadratic example's budget lowered."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "resources", work / "resources", symlinks=True)
    toml = work / "resources" / "examples" / "quadratic" / "study.toml"
    text, n = re.subn(r"(?m)^n_trials = \d+$", f"n_trials = {N_TRIALS}", toml.read_text())
    assert n == 1, "the quadratic example has no 'n_trials = N' line any more"
    toml.write_text(text)
    return work


def _wait_for_more_trials(cluster, home, cwd, run_id: str, done: int, timeout=240) -> dict:
    """Poll (``status RUN --json``, not a guide command) until a trial beyond ``done`` is done."""
    deadline = time.monotonic() + timeout
    st: dict = {}
    while time.monotonic() < deadline:
        proc = cluster.cli(f"omniopt-desktop status {run_id} --json", home, cwd)
        if proc.returncode == 0:
            st = json.loads(_last_line(proc))
            if not st["stale"] and st["counts"].get("COMPLETE", 0) > done:
                return st
        time.sleep(1)
    raise AssertionError(f"no trial beyond {done} completed after the resume; last status {st}")


def test_the_cluster_commands_of_the_guide_run_in_order(clusters, cwd, tmp_path):
    steps = _guide_steps()
    cluster = clusters()
    home = cluster.workstation(tmp_path)
    fp = cluster.fingerprint()

    # ssh-check: the first time, the fingerprint is shown and asked about (a user types yes)
    command = steps["ssh-check"]
    proc = _checked(cluster.cli(command, home, cwd, terminal_input="yes\n"), command, fp)
    assert "Are you sure you want to continue connecting (yes/no)?" in proc.stderr, proc.stderr
    assert fp in proc.stderr, proc.stderr
    server = cluster.server  # the accepted key went to ~/.ssh/known_hosts, as ssh does it
    assert (home / ".ssh" / "known_hosts").read_text() == server.known_hosts_line() + "\n"

    # in scripts (no terminal, a workstation that has not seen the key): the fingerprint given
    command = steps["ssh-check --accept-host-key"].replace("SHA256:...", fp)
    proc = _checked(cluster.cli(command, cluster.workstation(tmp_path), cwd), command, fp)
    assert f"{fp} of " in proc.stderr and "(as given)" in proc.stderr, proc.stderr

    # submit: the last line is the run id; the --setup line ran on the login node
    command = steps["submit"]
    proc = _ok(cluster.cli(command, home, cwd), command)
    run_id = _last_line(proc)
    assert RUN_ID.fullmatch(run_id), proc.stdout
    cluster.run_ids.append(run_id)
    assert "login load Python" in cluster.module_log.read_text()

    proc = _ok(cluster.cli(steps["runs"], home, cwd), steps["runs"])
    assert run_id in proc.stdout and "mycluster" in proc.stdout, proc.stdout

    # status quadratic --wait: until the budget is met
    command = steps["status --wait"]
    proc = _ok(cluster.cli(command, home, cwd), command)
    complete, total, running = map(int, TRIALS.search(proc.stdout).groups())
    assert (total, running) == (N_TRIALS, 0) and complete >= N_TRIALS, proc.stdout
    assert "controller: done" in proc.stdout, proc.stdout
    in_jobs = [
        ln for ln in cluster.module_log.read_text().splitlines() if ln != "login load Python"
    ]
    assert len({ln.split()[0] for ln in in_jobs}) >= 2, in_jobs  # controller and worker jobs
    assert all(ln.endswith(" load Python") for ln in in_jobs), in_jobs

    # fetch RUN --logs: the study database and every trial's folder
    command = steps["fetch --logs"].replace("RUN", run_id)
    proc = _ok(cluster.cli(command, home, cwd), command)
    snapshot = pathlib.Path(_last_line(proc))
    assert snapshot.is_file() and snapshot.is_relative_to(home), proc.stdout
    study = _study(str(snapshot))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) >= N_TRIALS, _states(study)
    logs = snapshot.parent / f"{run_id}-logs" / "trials"
    for t in done:
        assert "RESULT: " in (logs / str(t.number) / "stdout.txt").read_text()
        assert "quadratic.py" in (logs / str(t.number) / "command.txt").read_text()

    # submit --resume RUN --add-trials 100: the same study goes on with a larger budget ...
    command = steps["submit --resume"].replace("RUN", run_id)
    added = int(re.search(r"--add-trials (\d+)", command).group(1))
    proc = _ok(cluster.cli(command, home, cwd), command)
    assert _last_line(proc) == run_id, proc.stdout
    st = _wait_for_more_trials(cluster, home, cwd, run_id, len(done))
    assert st["n_trials"] == N_TRIALS + added, {k: v for k, v in st.items() if k != "trials"}

    # ... until cancel RUN ends every job of it
    command = steps["cancel"].replace("RUN", run_id)
    proc = _ok(cluster.cli(command, home, cwd), command)
    assert _last_line(proc) == f"cancelled {run_id}", proc.stdout
    assert cluster.wait_no_jobs(run_id) == [], "jobs left after cancel"

    # fetch RUN: the database stayed intact, with the trials of both submissions
    command = steps["fetch"].replace("RUN", run_id)
    proc = _ok(cluster.cli(command, home, cwd), command)
    study = _study(_last_line(proc))
    states = _states(study)
    assert len(done) < states["COMPLETE"] < N_TRIALS + added and "RUNNING" not in states, states
    assert [t.number for t in study.trials] == list(range(len(study.trials)))
    for t in done:  # nothing of the first submission was lost or changed
        assert (
            study.trials[t.number].params == t.params and study.trials[t.number].values == t.values
        )

    # status (with the run named): which storage the run uses, and the counts
    command = steps["status"]
    command += "" if "RUN" in command else " RUN"
    proc = _ok(cluster.cli(command.replace("RUN", run_id), home, cwd), command)
    assert f"run {run_id} on mycluster: storage sqlite on " in proc.stdout, proc.stdout
    complete, total, running = map(int, TRIALS.search(proc.stdout).groups())
    assert (complete, total, running) == (states["COMPLETE"], N_TRIALS + added, 0), proc.stdout


def _pip_download_line() -> str:
    """The guide's command that fills the wheelhouse (a ```sh line or a prose span)."""
    text = GUIDE.read_text()
    lines = [ln for b in re.findall(r"```sh\n(.*?)```", text, re.S) for ln in b.splitlines()]
    lines += re.findall(r"`([^`\n]+)`", text)
    [line] = {ln.strip() for ln in lines if "pip download" in ln}
    return line


def test_the_guides_wheelhouse_makes_the_environment_without_internet(clusters, cwd, tmp_path):
    """On a cluster without internet the guide's submit fails at the environment step; with
    the wheels of the guide's ``pip download`` line (``--wheelhouse``) it works."""
    steps = _guide_steps()
    submit, with_wheels = steps["submit"], steps["submit --wheelhouse"]
    folder = re.search(r"--wheelhouse (\S+)", with_wheels).group(1)
    cluster = clusters(offline=True)
    home = cluster.workstation(tmp_path)
    command = steps["ssh-check --accept-host-key"].replace("SHA256:...", cluster.fingerprint())
    _checked(cluster.cli(command, home, cwd), command, cluster.fingerprint())

    proc = cluster.cli(submit, home, cwd)
    assert proc.returncode == 1, f"{submit}\n{proc.stdout}\n{proc.stderr}"
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("omniopt-desktop: error: environment setup on mycluster failed")
    assert "optuna" in error, error

    # the wheelhouse, made on the workstation for the cluster's Python version
    line = _pip_download_line()
    assert f"-d {folder}" in line, (line, with_wheels)
    python3 = shutil.which("python3", path=cluster.path)
    version = subprocess.run(
        [python3, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    line = re.sub(r"--python-version \S+", f"--python-version {version}", line)
    (cwd / ".venv").symlink_to(pathlib.Path(sys.executable).parents[1])
    pip = subprocess.run(["bash", "-c", line], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, f"{line}\n{pip.stdout}\n{pip.stderr}"

    proc = _ok(cluster.cli(with_wheels, home, cwd), with_wheels)
    run_id = _last_line(proc)
    assert RUN_ID.fullmatch(run_id), proc.stdout
    cluster.run_ids.append(run_id)
    remote = cluster.home / "omniopt-desktop"
    [wheels] = (remote / "wheels").iterdir()
    assert {p.name for p in wheels.glob("*.whl")} == {p.name for p in (cwd / folder).glob("*.whl")}
    [venv] = [p for p in (remote / "envs").iterdir() if ".tmp-" not in p.name]
    assert (venv / ".omniopt-ready").exists()

    command = steps["cancel"].replace("RUN", run_id)
    _ok(cluster.cli(command, home, cwd), command)
    assert cluster.wait_no_jobs(run_id) == [], "jobs left after cancel"
