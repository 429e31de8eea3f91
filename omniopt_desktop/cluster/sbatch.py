"""sbatch scripts for a run, rendered from the study's ``[resources]`` by pure functions.

:func:`render_controller_script` and :func:`render_worker_script` return the whole text; the GUI
shows it as a preview, the submitter uploads it. Values that an ``#SBATCH`` line cannot carry
(sbatch tokenises those lines itself: a backslash escapes even inside quotes, ``#`` starts a
comment, quotes are eaten) raise :class:`ScriptValueError` naming the field.

Both scripts run the real work in the background and ``wait`` for it: bash runs a trap only
between foreground commands, so a foreground child would keep the batch shell deaf to the
``--signal=B:USR1@N`` sent before the time limit (and to scancel's SIGTERM).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from ..errors import ClusterError
from ..study.durations import format_slurm_time, parse_duration
from ..study.model import Resources

CONTROLLER_MEM = "1G"
DEFAULT_STOP_LEAD = 120  # seconds before the time limit that workers get USR1
MIN_STOP_LEAD = 60  # SLURM delivers --signal with up to 60 s of slack
TAG_PREFIX = "oo-"
COMMENT_PREFIX = "omniopt-desktop:"

_BAD_CHARS = {"#": "'#'", "\\": "a backslash", "'": "a quote", '"': "a quote", "`": "a backtick"}
_MEM_RE = re.compile(r"\d+[KMGT]?B?", re.I)
_TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")


class ScriptValueError(ClusterError):
    """A resource value cannot be written on an ``#SBATCH`` line; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class RemoteEnv:
    """How a batch script gets the run's Python: setup lines, interpreter, engine on PYTHONPATH."""

    python: str = "python3"
    setup_lines: Tuple[str, ...] = ()
    pythonpath: Optional[str] = None


@dataclass(frozen=True)
class ScriptContext:
    """Everything besides the resources that both scripts need."""

    run_dir: str  # absolute path of the run folder on the cluster
    tag: str  # unique per run; in every job name and comment (see :func:`job_names`)
    env: RemoteEnv = field(default_factory=RemoteEnv)
    storage_url: Optional[str] = None  # None: the engine's default for the run folder
    stop_lead: int = DEFAULT_STOP_LEAD


def job_names(tag: str) -> Tuple[str, str]:
    """(controller job name, worker job name) for a run tag."""
    return f"{TAG_PREFIX}{tag}-ctl", f"{TAG_PREFIX}{tag}-wrk"


def comment_for(tag: str) -> str:
    return f"{COMMENT_PREFIX}{tag}"


# -- checks -------------------------------------------------------------------------------------
def _check_token(field_name: str, value: str, *, spaces: bool = False) -> str:
    text = str(value)
    if text == "":
        raise ScriptValueError(field_name, f"{field_name}: empty value; remove it or give a value")
    for ch, what in _BAD_CHARS.items():
        if ch in text:
            raise ScriptValueError(
                field_name,
                f"{field_name}: {text!r} contains {what}, which an #SBATCH line cannot carry; "
                "remove it",
            )
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ScriptValueError(
            field_name, f"{field_name}: {text!r} contains a line break or control character"
        )
    if not spaces and any(c.isspace() for c in text):
        raise ScriptValueError(
            field_name, f"{field_name}: {text!r} contains a space, which sbatch would split"
        )
    return text


def _check_positive(field_name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScriptValueError(
            field_name, f"{field_name}: {value!r} must be a whole number >= {minimum}"
        )
    return value


def slurm_time(field_name: str, value: str) -> str:
    try:
        seconds = parse_duration(value)
    except ValueError as e:
        raise ScriptValueError(field_name, f"{field_name}: {e}") from e
    if seconds < 60:
        raise ScriptValueError(field_name, f"{field_name}: {value!r} is under one minute")
    return format_slurm_time(seconds)


def _extra_line(index: int, line: str) -> str:
    name = f"resources.extra_sbatch[{index}]"
    text = str(line).strip()
    if text.upper().startswith("#SBATCH"):
        text = text[len("#SBATCH") :].strip()
    _check_token(name, text, spaces=True)
    if not text.startswith("-"):
        raise ScriptValueError(
            name, f"{name}: {line!r} is not an sbatch option; write e.g. '--mail-type=END'"
        )
    return text


def resource_directives(resources: Resources) -> List[str]:
    """The ``#SBATCH`` options (without the prefix) common to worker jobs, in a fixed order."""
    r = resources
    out: List[str] = []
    if r.partition:
        out.append(f"--partition={_check_token('resources.partition', r.partition)}")
    if r.time:
        out.append(f"--time={slurm_time('resources.time', r.time)}")
    out.append(f"--cpus-per-task={_check_positive('resources.cpus_per_task', r.cpus_per_task, 1)}")
    if r.mem:
        mem = _check_token("resources.mem", r.mem)
        if not _MEM_RE.fullmatch(mem):
            raise ScriptValueError(
                "resources.mem", f"resources.mem: {mem!r} is not a size; write e.g. '4G' or '500M'"
            )
        out.append(f"--mem={mem}")
    gpus = _check_positive("resources.gpus", r.gpus, 0)
    if gpus:
        out.append(f"--gres=gpu:{gpus}")
    for key, opt in (
        ("account", "account"),
        ("reservation", "reservation"),
        ("qos", "qos"),
        ("constraint", "constraint"),
        ("exclude", "exclude"),
    ):
        value = getattr(r, key)
        if value:
            out.append(f"--{opt}={_check_token('resources.' + key, value)}")
    out.extend(_extra_line(i, line) for i, line in enumerate(r.extra_sbatch or []))
    return out


def _check_context(ctx: ScriptContext) -> None:
    _check_token("remote run folder", ctx.run_dir)
    if not ctx.run_dir.startswith("/"):
        raise ScriptValueError(
            "remote run folder", f"remote run folder: {ctx.run_dir!r} must be an absolute path"
        )
    if not _TAG_RE.fullmatch(ctx.tag):
        raise ScriptValueError("run tag", f"run tag: {ctx.tag!r} must be letters, digits, . _ -")


def stop_lead(resources: Resources, requested: int = DEFAULT_STOP_LEAD) -> int:
    """Seconds before the time limit for USR1: at most half the limit, at least a minute."""
    lead = max(MIN_STOP_LEAD, int(requested))
    if resources.time:
        limit = parse_duration(resources.time)
        lead = max(MIN_STOP_LEAD, min(lead, int(limit // 2)))
    return lead


# -- rendering ----------------------------------------------------------------------------------
def _env_lines(env: RemoteEnv) -> List[str]:
    lines = [str(line) for line in env.setup_lines]
    if env.pythonpath:
        q = shlex.quote(env.pythonpath)
        lines.append(f'export PYTHONPATH={q}"${{PYTHONPATH:+:$PYTHONPATH}}"')
    lines.append(f"PY={shlex.quote(env.python)}")
    return lines


_WAIT_BLOCK = """\
child=$!
{traps}
# `wait` returns early when a trapped signal arrives: wait again until the child is gone
status=0
while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
done
{after}exit "$status"
"""
# exit status of an engine worker or controller that stopped as asked (STOP file of a cancel,
# time limit, signal)
WORKER_STOPPED = 4
# ... which is no failure of its job: without this a job that saw the STOP file of a cancel
# before `scancel` reached it ended FAILED (NonZeroExitCode) in squeue, beside CANCELLED ones
_STOPPED_IS_DONE = f'[ "$status" -eq {WORKER_STOPPED} ] && status=0\n'


def _script(directives: Sequence[str], body: Sequence[str]) -> str:
    head = ["#!/bin/bash"] + [f"#SBATCH {d}" for d in directives]
    return "\n".join(head) + "\n\n" + "\n".join(body) + "\n"


def _engine_body(
    ctx: ScriptContext, module: str, args: Sequence[str], traps: str, after: str = ""
) -> list[str]:
    """The job's shell lines: environment, ``python -m module`` on the run folder in the
    background, ``traps`` forwarding signals to it, and its exit status as the job's
    (``after``: shell lines that may change ``$status`` first)."""
    cmd = [f'"$PY" -m {module}', f"--run-dir {shlex.quote(ctx.run_dir)}"]
    if ctx.storage_url:
        cmd.append(f"--storage {shlex.quote(ctx.storage_url)}")
    return [
        "set -u",
        *_env_lines(ctx.env),
        f"cd {shlex.quote(ctx.run_dir)}",
        " ".join([*cmd, *args]) + " &",
        _WAIT_BLOCK.format(traps=traps, after=after).rstrip("\n"),
    ]


def render_controller_script(resources: Resources, ctx: ScriptContext) -> str:
    """The controller job: one small task that creates the study and keeps the workers up."""
    _check_context(ctx)
    base = resource_directives(resources)  # validates every field even where unused
    ctl_name, _ = job_names(ctx.tag)
    directives = [
        f"--job-name={ctl_name}",
        f"--comment={comment_for(ctx.tag)}",
        f"--output={ctx.run_dir}/logs/controller-%j.out",
        "--open-mode=append",
    ]
    keep = ("--partition=", "--time=", "--account=", "--reservation=", "--qos=")
    directives += [d for d in base if d.startswith(keep)]
    directives += ["--ntasks=1", "--cpus-per-task=1", f"--mem={CONTROLLER_MEM}"]
    directives.append(f"--signal=B:USR1@{MIN_STOP_LEAD}")
    # USR1 (time limit near: the controller queues its successor) and TERM (scancel) as they come
    traps = "\n".join(
        f"trap 'kill -{sig} \"$child\" 2>/dev/null' {sig}" for sig in ("USR1", "TERM", "INT")
    )
    body = _engine_body(ctx, "omniopt_desktop.engine.controller run", (), traps, _STOPPED_IS_DONE)
    return _script(directives, body)


def render_worker_script(resources: Resources, ctx: ScriptContext) -> str:
    """One worker per array task (``sbatch --array=...`` is given by the controller)."""
    _check_context(ctx)
    _, wrk_name = job_names(ctx.tag)
    directives = [
        f"--job-name={wrk_name}",
        f"--comment={comment_for(ctx.tag)}",
        f"--output={ctx.run_dir}/logs/worker-%A_%a.out",
        "--ntasks=1",
        *resource_directives(resources),
        f"--signal=B:USR1@{stop_lead(resources, ctx.stop_lead)}",
    ]
    workers = _check_positive("resources.workers", resources.workers, 1)
    args = (
        f'--workers {workers} --worker-index "${{SLURM_ARRAY_TASK_ID:-0}}"',
        '--worker-id "${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}_${SLURM_ARRAY_TASK_ID:-0}"',
    )
    # time limit near (USR1) or scancel (TERM): the worker stops its trial, which is retried
    traps = 'forward() { kill -USR1 "$child" 2>/dev/null; }\ntrap forward USR1 TERM INT'
    body = _engine_body(ctx, "omniopt_desktop.engine worker", args, traps, _STOPPED_IS_DONE)
    return _script(directives, body)


def preview(resources: Resources, ctx: ScriptContext) -> str:
    """Both scripts, as the GUI shows them before a submission."""
    return (
        "# --- controller job ---\n"
        + render_controller_script(resources, ctx)
        + "\n# --- worker array (one task per worker) ---\n"
        + render_worker_script(resources, ctx)
    )
