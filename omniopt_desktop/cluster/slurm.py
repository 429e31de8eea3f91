"""Submitting, watching and cancelling SLURM jobs through a :class:`CommandRunner`.

- :meth:`SlurmClient.submit` runs ``sbatch --parsable``; every job carries a run tag in its name
  (and comment). When sbatch fails or times out — it can exit 1 on a socket timeout *after* the
  job was queued — the tag is looked up before any retry, so a run never gets two controllers.
- :meth:`SlurmClient.poll` asks for every job of a run in ONE command (squeue by job name plus
  ``sacct -j`` with ``--parsable2``); when accounting is disabled the squeue rows (``-t all``,
  kept for ``MinJobAge``) are used and jobs no longer listed are marked gone, not finished.
- :class:`JobWatcher` keeps the last known states: a failed poll returns them marked stale
  and backs off; a poll that sees no change lengthens the interval up to a cap.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ..errors import ClusterError, CommandError
from .commands import CommandResult, CommandRunner
from .job_state import (
    SACCT_FIELDS,
    SQUEUE_FORMAT,
    AccountingDisabled,
    JobId,
    JobInfo,
    JobState,
    PollFailed,
    is_transient_failure,
    parse_sacct,
    parse_squeue,
)
from .sbatch import job_names

_PARSABLE_RE = re.compile(r"(\d+)(?:;[\w.-]+)?")
SECTION = "@@oo-section"


def parse_sbatch_answer(result: CommandResult) -> str:
    """The job id from ``sbatch --parsable`` output (``123`` or ``123;cluster``)."""
    lines = [ln.strip() for ln in result.stdout.strip().splitlines() if ln.strip()]
    if lines:
        m = _PARSABLE_RE.fullmatch(lines[-1])
        if m:
            return m.group(1)
    raw = (result.stdout + result.stderr).strip().replace("\n", " | ")[:400]
    raise ClusterError(f"sbatch gave no job id; its answer was: {raw or '(nothing)'}")


@dataclass(frozen=True)
class PollResult:
    """States of a run's jobs at one moment. ``stale``: SLURM did not answer, states are old."""

    jobs: dict[str, JobInfo] = field(default_factory=dict)
    stale: bool = False
    error: str | None = None
    accounting: bool = True
    polled_at: float = 0.0

    def active(self) -> list[JobInfo]:
        return [j for j in self.jobs.values() if j.state.is_active]


def section_command(name: str, command: str) -> str:
    """A shell fragment printing a section marker, the command's output and its exit status."""
    return f"echo '{SECTION} {name}'; {command} 2>&1; echo \"{SECTION}-rc $?\""


def split_sections(text: str) -> dict[str, tuple[str, int | None]]:
    """Inverse of :func:`section_command` for several sections in one output."""
    out: dict[str, tuple[str, int | None]] = {}
    name, buf = None, []
    for line in text.splitlines():
        if line.startswith(SECTION + "-rc "):
            if name is not None:
                rc_text = line.split()[-1]
                out[name] = ("\n".join(buf), int(rc_text) if rc_text.isdigit() else None)
            name, buf = None, []
        elif line.startswith(SECTION + " "):
            name, buf = line[len(SECTION) + 1 :].strip(), []
        elif name is not None:
            buf.append(line)
    if name is not None:  # cut off: no exit status
        out[name] = ("\n".join(buf), None)
    return out


def jobs_probe_command(tag: str, job_ids: Sequence[str] = ()) -> str:
    """One shell command printing squeue (by the run's job names) and sacct (by id) sections."""
    names = ",".join(job_names(tag))
    parts = [
        section_command(
            "squeue",
            f"squeue -h -t all -r -n {shlex.quote(names)} -o {shlex.quote(SQUEUE_FORMAT)}",
        )
    ]
    ids = ",".join(str(j) for j in job_ids)
    if ids:
        parts.append(
            section_command(
                "sacct",
                f"sacct -j {shlex.quote(ids)} --parsable2 --noheader --format={SACCT_FIELDS}",
            )
        )
    return "; ".join(parts)


def parse_jobs_probe(
    sections: dict[str, tuple[str, int | None]], job_ids: Sequence[str] = ()
) -> PollResult:
    """States from the sections of :func:`jobs_probe_command`; raises :class:`PollFailed`."""
    sq_text, sq_rc = sections.get("squeue", ("", None))
    if sq_rc != 0:
        raise PollFailed(f"squeue failed: {_first_line(sq_text) or 'no answer'}")
    jobs: dict[str, JobInfo] = {}
    accounting = True
    if "sacct" in sections:
        sa_text, sa_rc = sections["sacct"]
        try:
            if sa_rc != 0:
                parse_sacct("", sa_text)  # raises AccountingDisabled when that is the reason
                raise PollFailed(f"sacct failed: {_first_line(sa_text) or 'no answer'}")
            for row in parse_sacct(sa_text):
                jobs[row.key] = row
        except AccountingDisabled:
            accounting = False
    for row in parse_squeue(sq_text):
        jobs.setdefault(row.key, row)  # sacct (complete history) wins over squeue
    for jid in job_ids:
        if not _known(jobs, str(jid)):
            jobs[str(jid)] = JobInfo(
                id=JobId(int(str(jid).split("_")[0])),
                state=JobState.UNKNOWN,
                raw_state="no longer listed (squeue forgets finished jobs after MinJobAge)",
                source="gone",
            )
    return PollResult(jobs=jobs, accounting=accounting, polled_at=time.time())


def _known(jobs: dict[str, JobInfo], jid: str) -> bool:
    if jid in jobs:
        return True
    base = jid.split("_")[0]
    return any(str(j.id.job) == base for j in jobs.values())


def _first_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


class SlurmClient:
    """SLURM commands through a runner. ``prefix`` runs first in each command (e.g. a
    ``module load slurm`` or ``export SLURM_CONF=...`` line of the cluster profile)."""

    def __init__(self, runner: CommandRunner, *, prefix: str = "", timeout: float = 60.0) -> None:
        self.runner = runner
        self.prefix = prefix.strip()
        self.timeout = timeout
        self.known: set[str] = set()  # earlier jobs of the run: never taken for a new submission

    def run(self, command: str, *, timeout: float | None = None) -> CommandResult:
        full = f"{self.prefix}\n{command}" if self.prefix else command
        return self.runner.run(full, timeout=timeout or self.timeout)

    # -- submission -------------------------------------------------------------------------
    def submit(
        self,
        script: str,
        *,
        tag: str,
        args: Sequence[str] = (),
        attempts: int = 3,
        settle: float = 2.0,
    ) -> str:
        """Submit the run's controller ``script`` (a path on the cluster); return its job id.

        Before every retry the run's controller job name is looked up: never queues twice.
        """
        wanted = [job_names(tag)[0]]
        command = " ".join(["sbatch", "--parsable", *map(shlex.quote, args), shlex.quote(script)])
        last = ""
        for attempt in range(attempts):
            try:
                result = self.run(command)
            except CommandError as e:  # timed out: the job may be queued all the same
                result, last = None, str(e)
            if result is not None and result.ok:
                return parse_sbatch_answer(result)
            if result is not None:
                last = result.describe()
                text = result.stdout + result.stderr
                if not is_transient_failure(text) and "job id" not in text.lower():
                    existing = self._lookup(wanted, settle)
                    if existing:
                        return existing
                    raise ClusterError(f"sbatch refused the job: {_first_line(text) or last}")
            existing = self._lookup(wanted, settle)
            if existing:
                return existing
            time.sleep(min(settle * (attempt + 1), 10))
        raise ClusterError(f"sbatch failed {attempts} times; last: {last}")

    def _lookup(self, names: Iterable[str], settle: float) -> str | None:
        """The id of a job already queued under one of ``names`` (after letting sbatch settle)."""
        for i in range(3):
            try:
                found = self.find_by_names(names)
            except ClusterError:
                found = []
            active = [j for j in found if j.state.is_active and str(j.id.job) not in self.known]
            if active:
                return str(active[0].id.job)
            if i < 2:
                time.sleep(settle * (i + 1) / 2)
        return None

    def find_by_names(self, names: Iterable[str]) -> list[JobInfo]:
        """Jobs of this user under the given names, as squeue still knows them."""
        joined = ",".join(names)
        result = self.run(
            f"squeue -h -t all -n {shlex.quote(joined)} -o {shlex.quote(SQUEUE_FORMAT)}"
        )
        if not result.ok:
            raise PollFailed(f"squeue failed: {_first_line(result.stderr) or result.describe()}")
        return sorted(parse_squeue(result.stdout), key=lambda j: (j.id.job, j.id.task or 0))

    # -- watching ---------------------------------------------------------------------------
    def poll(self, tag: str, job_ids: Sequence[str] = ()) -> PollResult:
        """Every job of a run in one command; raises :class:`PollFailed` when SLURM is silent."""
        try:
            result = self.run(jobs_probe_command(tag, job_ids))
        except CommandError as e:
            raise PollFailed(f"no answer from SLURM: {e}") from e
        return parse_jobs_probe(split_sections(result.stdout), job_ids)

    def cancel(self, job_ids: Sequence[str] = (), *, tag: str | None = None) -> CommandResult:
        """scancel the given jobs and (with ``tag``) every job named for the run."""
        parts = []
        if job_ids:
            parts.append("scancel " + " ".join(shlex.quote(str(j)) for j in job_ids))
        if tag:
            # scancel takes one job name per -n (unlike squeue)
            parts += [f"scancel -n {shlex.quote(n)}" for n in job_names(tag)]
        if not parts:
            raise ClusterError("nothing to cancel: no job ids and no run tag")
        result = self.run("; ".join(parts))
        if not result.ok and "invalid job id" not in (result.stderr.lower()):
            raise ClusterError(f"scancel failed: {result.describe()}")
        return result


class JobWatcher:
    """Polls one run's jobs; never reports a state it did not see (stale instead)."""

    def __init__(
        self,
        client: SlurmClient,
        tag: str,
        job_ids: Sequence[str] = (),
        *,
        interval: float = 2.0,
        max_interval: float = 60.0,
    ) -> None:
        self.client = client
        self.tag = tag
        self.job_ids = list(job_ids)
        self.base_interval = interval
        self.max_interval = max_interval
        self.interval = interval
        self.last = PollResult()

    def update(self) -> PollResult:
        """Poll once. On failure: the last known states, ``stale=True``, a longer interval."""
        try:
            new = self.client.poll(self.tag, self.job_ids)
        except PollFailed as e:
            self.interval = min(self.max_interval, self.interval * 2)
            self.last = replace(self.last, stale=True, error=str(e))
            return self.last
        changed = {k: v.state for k, v in new.jobs.items()} != {
            k: v.state for k, v in self.last.jobs.items()
        }
        self.interval = (
            self.base_interval if changed else min(self.max_interval, self.interval * 1.5)
        )
        self.last = new
        return new
