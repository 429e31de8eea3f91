"""SLURM job states and ids, parsed from ``squeue``, ``sacct --parsable2`` and ``scontrol -o``.

Every state SLURM documents has a member; a state this code does not know (a future SLURM)
becomes :attr:`JobState.UNKNOWN` with the raw text kept — it is neither finished nor failed.
Flags and decorations are dropped: ``CANCELLED by 0`` → CANCELLED, ``RUNNING+`` → RUNNING,
``COMPLETING|CONFIGURING`` style combinations take the first word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Dict, Iterable, List, Optional, Tuple

from ..errors import ClusterError


class JobState(str, Enum):
    PENDING = "PENDING"
    CONFIGURING = "CONFIGURING"
    RUNNING = "RUNNING"
    COMPLETING = "COMPLETING"
    SUSPENDED = "SUSPENDED"
    STOPPED = "STOPPED"
    RESIZING = "RESIZING"
    SIGNALING = "SIGNALING"
    STAGE_OUT = "STAGE_OUT"
    REQUEUED = "REQUEUED"
    REQUEUE_FED = "REQUEUE_FED"
    REQUEUE_HOLD = "REQUEUE_HOLD"
    RESV_DEL_HOLD = "RESV_DEL_HOLD"
    SPECIAL_EXIT = "SPECIAL_EXIT"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    PREEMPTED = "PREEMPTED"
    NODE_FAIL = "NODE_FAIL"
    BOOT_FAIL = "BOOT_FAIL"
    DEADLINE = "DEADLINE"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    REVOKED = "REVOKED"
    UNKNOWN = "UNKNOWN"  # a state this code does not know; never finished, never failed

    @property
    def is_active(self) -> bool:
        """Queued or running: the job may still do work."""
        return self in _ACTIVE

    @property
    def is_finished(self) -> bool:
        """Ended for good (successfully or not). UNKNOWN is not finished."""
        return self in _FINISHED

    @property
    def is_failure(self) -> bool:
        return self in _FINISHED and self is not JobState.COMPLETED

    @property
    def worth_resubmitting(self) -> bool:
        """Ended for a reason outside the program: the controller starts a fresh worker."""
        return self in _RESUBMIT


_ACTIVE = frozenset(
    {
        JobState.PENDING,
        JobState.CONFIGURING,
        JobState.RUNNING,
        JobState.COMPLETING,
        JobState.SUSPENDED,
        JobState.STOPPED,
        JobState.RESIZING,
        JobState.SIGNALING,
        JobState.STAGE_OUT,
        JobState.REQUEUED,
        JobState.REQUEUE_FED,
        JobState.REQUEUE_HOLD,
        JobState.RESV_DEL_HOLD,
        JobState.SPECIAL_EXIT,
    }
)
_FINISHED = frozenset(
    {
        JobState.COMPLETED,
        JobState.CANCELLED,
        JobState.FAILED,
        JobState.TIMEOUT,
        JobState.PREEMPTED,
        JobState.NODE_FAIL,
        JobState.BOOT_FAIL,
        JobState.DEADLINE,
        JobState.OUT_OF_MEMORY,
        JobState.REVOKED,
    }
)
_RESUBMIT = frozenset(
    {
        JobState.TIMEOUT,
        JobState.NODE_FAIL,
        JobState.PREEMPTED,
        JobState.OUT_OF_MEMORY,
        JobState.BOOT_FAIL,
    }
)
_COMPACT = {
    "PD": "PENDING",
    "CF": "CONFIGURING",
    "R": "RUNNING",
    "CG": "COMPLETING",
    "S": "SUSPENDED",
    "ST": "STOPPED",
    "RS": "RESIZING",
    "SI": "SIGNALING",
    "SO": "STAGE_OUT",
    "RQ": "REQUEUED",
    "RF": "REQUEUE_FED",
    "RH": "REQUEUE_HOLD",
    "RD": "RESV_DEL_HOLD",
    "SE": "SPECIAL_EXIT",
    "CD": "COMPLETED",
    "CA": "CANCELLED",
    "F": "FAILED",
    "TO": "TIMEOUT",
    "PR": "PREEMPTED",
    "NF": "NODE_FAIL",
    "BF": "BOOT_FAIL",
    "DL": "DEADLINE",
    "OOM": "OUT_OF_MEMORY",
    "RV": "REVOKED",
}


def parse_state(text: str) -> JobState:
    """``CANCELLED by 1000`` → CANCELLED; ``RUNNING+`` → RUNNING; unknown words → UNKNOWN."""
    word = re.split(r"[\s+|,]", text.strip(), maxsplit=1)[0].upper()
    word = _COMPACT.get(word, word)
    try:
        return JobState(word)
    except ValueError:
        return JobState.UNKNOWN


# -- job ids --------------------------------------------------------------------------------------
_ID_RE = re.compile(
    r"(?P<job>\d+)"
    r"(?:_(?:(?P<task>\d+)|\[(?P<spec>[^\]]*)\]))?"
    r"(?:\+(?P<het>\d+))?"
    r"(?:\.(?P<step>[A-Za-z0-9_+-]+))?"
)


@dataclass(frozen=True)
class JobId:
    """A SLURM job id: ``123``, ``123_4`` (array task), ``123_[1-5%2]`` (pending tasks), ``123.batch``."""

    job: int
    task: Optional[int] = None
    array_spec: Optional[str] = None  # the text inside [...] of a pending array remainder
    step: Optional[str] = None  # "batch", "extern", "0", ...
    het: Optional[int] = None

    @property
    def is_step(self) -> bool:
        return self.step is not None

    @property
    def tasks(self) -> Tuple[int, ...]:
        """The array tasks this row stands for (one for ``123_4``, all of a pending range)."""
        if self.task is not None:
            return (self.task,)
        if self.array_spec is not None:
            return expand_array_spec(self.array_spec)[0]
        return ()

    @property
    def parent(self) -> str:
        """The id without step: what ``scancel`` and ``sacct -j`` take."""
        if self.task is not None:
            return f"{self.job}_{self.task}"
        return str(self.job)

    def __str__(self) -> str:
        s = str(self.job)
        if self.task is not None:
            s += f"_{self.task}"
        elif self.array_spec is not None:
            s += f"_[{self.array_spec}]"
        if self.het is not None:
            s += f"+{self.het}"
        if self.step is not None:
            s += f".{self.step}"
        return s


def parse_job_id(text: str) -> JobId:
    m = _ID_RE.fullmatch(text.strip())
    if not m:
        raise ClusterError(f"not a SLURM job id: {text.strip()[:200]!r}")
    return JobId(
        job=int(m.group("job")),
        task=None if m.group("task") is None else int(m.group("task")),
        array_spec=m.group("spec"),
        step=m.group("step"),
        het=None if m.group("het") is None else int(m.group("het")),
    )


def expand_array_spec(spec: str) -> Tuple[Tuple[int, ...], Optional[int]]:
    """``2-7,12-17,22%56`` → (tasks, 56); ``1-9:2`` steps are honoured."""
    body, _, limit = spec.partition("%")
    tasks: List[int] = []
    for part in filter(None, body.split(",")):
        m = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", part.strip())
        if not m:
            raise ClusterError(f"not a SLURM array range: {spec!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        step = int(m.group(3)) if m.group(3) else 1
        tasks.extend(range(lo, hi + 1, step))
    return tuple(tasks), (int(limit) if limit else None)


# -- rows ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobInfo:
    """One job or array task as SLURM reported it."""

    id: JobId
    state: JobState
    raw_state: str
    name: str = ""
    reason: str = ""
    exit_code: Optional[str] = None  # "0:0" (status:signal) when known
    source: str = ""  # "squeue", "sacct" or "scontrol"

    @property
    def key(self) -> str:
        return str(self.id)


class AccountingDisabled(ClusterError):
    """``sacct`` cannot answer: accounting storage is disabled on this cluster."""


class PollFailed(ClusterError):
    """SLURM did not answer (socket timeout, controller restarting): states are stale."""


_TRANSIENT = (
    "socket timed out",
    "timed out",
    "unable to contact slurm controller",
    "connection refused",
    "slurm_load_jobs error: unable",
    "zero bytes were transmitted",
    "communication connection failure",
    "slurmctld may be down",
)


def is_transient_failure(text: str) -> bool:
    low = text.lower()
    return any(t in low for t in _TRANSIENT)


SQUEUE_FORMAT = "%i|%T|%r|%j"
SACCT_FIELDS = "JobID,JobName,State,ExitCode"


def parse_squeue(text: str) -> List[JobInfo]:
    """Rows of ``squeue -h -o '%i|%T|%r|%j'`` (with or without ``-r``)."""
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("squeue: ", "slurm_load_jobs")):
            continue  # diagnostics (merged stderr); a failed squeue is told by its exit status
        parts = line.split("|", 3)
        if len(parts) < 2:
            raise ClusterError(f"unexpected squeue line: {line[:200]!r}")
        if parts[0].strip().upper() in ("JOBID", "JOBID_RAW"):
            continue
        rows.append(
            JobInfo(
                id=parse_job_id(parts[0]),
                state=parse_state(parts[1]),
                raw_state=parts[1].strip(),
                reason=parts[2].strip() if len(parts) > 2 else "",
                name=parts[3].strip() if len(parts) > 3 else "",
                source="squeue",
            )
        )
    return rows


def parse_sacct(text: str, stderr: str = "", *, steps: bool = False) -> List[JobInfo]:
    """Rows of ``sacct -j IDS --parsable2 --noheader --format=JobID,JobName,State,ExitCode``.

    Step rows (``.batch``, ``.extern``, ``.0``) are dropped unless ``steps``. Raises
    :class:`AccountingDisabled` when sacct says accounting is off.
    """
    if "accounting storage is disabled" in (stderr + text).lower():
        raise AccountingDisabled("sacct: SLURM accounting storage is disabled on this cluster")
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("sacct: "):
            continue  # diagnostics (merged stderr); a failed sacct is told by its exit status
        parts = line.split("|")
        if len(parts) < 3:
            raise ClusterError(f"unexpected sacct line: {line[:200]!r}")
        if parts[0] == "JobID":
            continue
        jid = parse_job_id(parts[0])
        if jid.is_step and not steps:
            continue
        rows.append(
            JobInfo(
                id=jid,
                state=parse_state(parts[2]),
                raw_state=parts[2].strip(),
                name=parts[1],
                exit_code=parts[3] if len(parts) > 3 and parts[3] else None,
                source="sacct",
            )
        )
    return rows


_KEY_RE = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9:/_]*)=")


def parse_scontrol_record(line: str) -> Dict[str, str]:
    """``Key=Value Key=Value ...`` of ``scontrol -o show job``; values may hold spaces."""
    fields: Dict[str, str] = {}
    matches = list(_KEY_RE.finditer(line))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        fields[m.group(1)] = line[m.end() : end].strip()
    return fields


def parse_scontrol(text: str) -> List[JobInfo]:
    """Records of ``scontrol -o show job [ID]``; empty for 'Invalid job id' (a forgotten job)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or "invalid job id" in line.lower():
            continue
        f = parse_scontrol_record(line)
        if "JobId" not in f or "JobState" not in f:
            raise ClusterError(f"unexpected scontrol line: {line[:200]!r}")
        if f.get("ArrayJobId") and f.get("ArrayTaskId"):
            spec = f["ArrayTaskId"]
            jid = (
                JobId(int(f["ArrayJobId"]), task=int(spec))
                if spec.isdigit()
                else JobId(int(f["ArrayJobId"]), array_spec=spec)
            )
        else:
            jid = parse_job_id(f["JobId"])
        rows.append(
            JobInfo(
                id=jid,
                state=parse_state(f["JobState"]),
                raw_state=f["JobState"],
                name=f.get("JobName", ""),
                reason=f.get("Reason", ""),
                exit_code=f.get("ExitCode"),
                source="scontrol",
            )
        )
    return rows


def by_job(rows: Iterable[JobInfo]) -> Dict[str, JobInfo]:
    """Rows keyed by id text; a later source does not overwrite an earlier one."""
    out: Dict[str, JobInfo] = {}
    for row in rows:
        out.setdefault(row.key, row)
    return out
