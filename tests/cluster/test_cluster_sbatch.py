"""sbatch scripts: golden files (whole texts) and rejection of values #SBATCH cannot carry."""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest

from omniopt_desktop.cluster.sbatch import (
    RemoteEnv,
    ScriptContext,
    ScriptValueError,
    preview,
    render_controller_script,
    render_worker_script,
    stop_lead,
)
from omniopt_desktop.study.model import Resources

GOLDEN = pathlib.Path(__file__).parent / "golden"
UPDATE = os.environ.get("OO_UPDATE_GOLDEN") == "1"

FULL = Resources(
    workers=8,
    partition="alpha",
    time="2h",
    cpus_per_task=4,
    mem="16G",
    gpus=2,
    account="p_opt",
    reservation="maint",
    qos="normal",
    constraint="a100&ib",
    exclude="node[01-03]",
    extra_sbatch=["--mail-type=END", "#SBATCH --mail-user=me@example.org"],
)
CTX = ScriptContext(
    run_dir="/home/me/omniopt-desktop/runs/demo-1",
    tag="demo-1",
    env=RemoteEnv(
        python="/home/me/omniopt-desktop/envs/py-abc/bin/python",
        setup_lines=("module load Python/3.9",),
        pythonpath="/home/me/omniopt-desktop/engine/0.1.0-abc",
    ),
    storage_url="journal:///home/me/omniopt-desktop/runs/demo-1/study.journal",
)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"{path} missing; create it with OO_UPDATE_GOLDEN=1"
    assert text == path.read_text()


@pytest.mark.parametrize(
    "name,render,resources,ctx",
    [
        ("controller_full.sh", render_controller_script, FULL, CTX),
        ("worker_full.sh", render_worker_script, FULL, CTX),
        (
            "controller_minimal.sh",
            render_controller_script,
            Resources(),
            ScriptContext("/scratch/r", "t1"),
        ),
        ("worker_minimal.sh", render_worker_script, Resources(), ScriptContext("/scratch/r", "t1")),
    ],
)
def test_scripts_match_golden_files(name, render, resources, ctx):
    _golden(name, render(resources, ctx))


@pytest.mark.parametrize("render", [render_controller_script, render_worker_script])
def test_scripts_are_valid_bash(render, tmp_path):
    script = tmp_path / "job.sh"
    script.write_text(render(FULL, CTX))
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


def test_preview_holds_both_scripts():
    text = preview(FULL, CTX)
    assert render_controller_script(FULL, CTX) in text and render_worker_script(FULL, CTX) in text


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("partition", "a#b", "'#'"),
        ("account", "a\\b", "backslash"),
        ("qos", 'x"y', "quote"),
        ("constraint", "a b", "space"),
        ("reservation", "a\nb", "line break"),
        ("mem", "lots", "not a size"),
        ("time", "soon", "not a duration"),
        ("time", "10s", "under one minute"),
        ("cpus_per_task", 0, "whole number"),
        ("gpus", -1, "whole number"),
        ("exclude", "", "empty"),
    ],
)
def test_rejects_values_sbatch_cannot_carry(field, value, needle):
    r = Resources()
    setattr(r, field, value)
    if field == "exclude":
        r.exclude = None
        r.extra_sbatch = [""]
        field = "extra_sbatch[0]"
    with pytest.raises(ScriptValueError) as info:
        render_worker_script(r, CTX)
    assert info.value.field == f"resources.{field}"
    assert f"resources.{field}" in str(info.value) and needle in str(info.value)
    assert "\n" not in str(info.value)


def test_rejects_extra_line_that_is_not_an_option():
    with pytest.raises(ScriptValueError, match=r"extra_sbatch\[1\].*not an sbatch option"):
        render_worker_script(Resources(extra_sbatch=["--x=1", "mail=END"]), CTX)


def test_rejects_run_folder_with_comment_char():
    with pytest.raises(ScriptValueError, match="remote run folder"):
        render_worker_script(Resources(), ScriptContext("/home/me/#runs", "t"))


def test_stop_lead_is_at_most_half_the_limit_but_a_minute_at_least():
    assert stop_lead(Resources(time="4h")) == 120
    assert stop_lead(Resources(time="3m")) == 90
    assert stop_lead(Resources(time="1m")) == 60
    assert stop_lead(Resources()) == 120


@pytest.mark.parametrize("sig", ["USR1", "TERM"])
def test_worker_script_forwards_the_stop_signal_and_waits(tmp_path, sig):
    """bash runs no trap while a foreground child runs: the script must background the worker,
    forward USR1 (time limit) and TERM (scancel) to it as USR1, and exit with its status."""
    import signal
    import time

    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/bin/bash\n"
        f"trap 'echo \"$@\" > {tmp_path}/args; echo stopping > {tmp_path}/got; exit 5' USR1\n"
        f"touch {tmp_path}/started\n"
        "while :; do sleep 0.1; done\n"
    )
    fake.chmod(0o755)
    ctx = ScriptContext(str(tmp_path), "sig", env=RemoteEnv(python=str(fake)))
    script = tmp_path / "worker.sh"
    script.write_text(render_worker_script(Resources(workers=3), ctx))
    env = {**os.environ, "SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "2"}
    proc = subprocess.Popen(["bash", str(script)], env=env)
    deadline = time.monotonic() + 10
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)
    proc.send_signal(getattr(signal, f"SIG{sig}"))
    assert proc.wait(10) == 5
    assert (tmp_path / "got").read_text().strip() == "stopping"
    args = (tmp_path / "args").read_text()
    assert "--workers 3 --worker-index 2 --worker-id 77_2" in args


def test_a_worker_that_stopped_as_asked_ends_its_job_without_failure(tmp_path):
    """Exit status 4 (STOP file of a cancel, time limit) becomes 0, so SLURM does not show the
    job FAILED; any other failure keeps its status."""
    import subprocess

    from omniopt_desktop.cluster import sbatch
    from omniopt_desktop.engine.worker import Exit

    assert sbatch.WORKER_STOPPED == Exit.STOPPED
    script = tmp_path / "block.sh"
    for code, expected in ((4, 0), (0, 0), (1, 1), (3, 3)):
        block = sbatch._WAIT_BLOCK.format(traps=":", after=sbatch._STOPPED_IS_DONE)
        script.write_text(f"sh -c 'exit {code}' &\n{block}")
        assert subprocess.run(["bash", str(script)]).returncode == expected, code
