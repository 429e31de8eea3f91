"""A study on a SLURM cluster, end to end: submit, status, fetch, cancel, resume.

:class:`ClusterRuns` works through a :class:`CommandRunner` (local or SSH) and a
:class:`FileTransfer` for downloads; it records every run in the local :class:`Registry`
before its controller is queued, so nothing is lost when the app stops half-way.

Remote run folder (``<base>/runs/<run id>``): ``study.json`` (frozen study with a ``run``
section), ``study.toml``, ``study/`` (the study's folder: the user's program), ``slurm/``
(controller.sh, worker.sh), ``jobs.txt`` (every job id), ``controller.json``, ``logs/``,
``trials/``, ``snapshots/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shlex
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ClusterError, CommandError, OmniOptError
from ..study import run_layout as L
from ..study.model import Study
from .commands import CommandRunner
from .job_state import PollFailed
from .registry import Registry, RunRecord
from .remote_env import EnvBuilder, EnvConfig, tar_bytes
from .sbatch import (
    RemoteEnv,
    ScriptContext,
    job_names,
    render_controller_script,
    render_worker_script,
)
from .slurm import PollResult, SlurmClient, parse_jobs_probe, section_command, split_sections
from .transfer import ByteProgress, FileTransfer

Progress = Callable[[str, float], None]
NETWORK_FS = (
    "nfs",
    "lustre",
    "gpfs",
    "beegfs",
    "cifs",
    "smb",
    "ceph",
    "gluster",
    "fuse",
    "9p",
    "afs",
    "panfs",
    "wekafs",
)
_SKIP_DIRS = {"runs", ".git", "__pycache__", ".venv", "venv", ".ipynb_checkpoints", ".mypy_cache"}
TERMINAL = ("done", "failed", "stopped")
STUDY_EXCLUDE = (
    *(f"{d}/*" for d in sorted(_SKIP_DIRS)),
    *(f"*/{d}/*" for d in sorted(_SKIP_DIRS)),
    "*.pyc",
    "*.part",
)


@dataclass(frozen=True)
class ClusterProfile:
    """How to reach and use one cluster (host alias, environment, SLURM set-up line)."""

    host: str
    env: EnvConfig = field(default_factory=EnvConfig)
    slurm_prefix: str = ""  # run before every SLURM command, e.g. "module load slurm"
    ssh_config: str = ""  # an ssh config file other than ~/.ssh/config (remembered per run)
    controller_interval: float = 10.0
    lease_ttl: float = 120.0


@dataclass(frozen=True)
class RunStatus:
    """One poll of a run: jobs, study counts, new trials; ``stale`` when SLURM or the study did
    not answer (then the job states are the last known ones, never 'finished')."""

    run_id: str
    jobs: PollResult
    study: dict[str, Any]
    stale: bool = False
    error: str | None = None
    nbytes: int = 0

    @property
    def controller_state(self) -> str:
        return str(self.study.get("controller", {}).get("state", "") or "queued")

    @property
    def reason(self) -> str:
        return str(self.study.get("controller", {}).get("reason", ""))

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.study.get("counts", {}))

    @property
    def trials(self) -> list[dict[str, Any]]:
        return list(self.study.get("trials", []))

    @property
    def finished(self) -> bool:
        """The controller ended and no job of the run is queued or running any more."""
        if self.stale:
            return False
        ended = self.controller_state in TERMINAL or self.controller_gone
        return ended and not self.jobs.active()

    @property
    def controller_gone(self) -> bool:
        """The controller's job is no longer active although it did not record an end."""
        ctl = [j for j in self.jobs.jobs.values() if j.name.endswith("-ctl")]
        return (
            bool(ctl)
            and not any(j.state.is_active for j in ctl)
            and self.controller_state not in TERMINAL
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "stale": self.stale,
            "error": self.error,
            "controller": self.study.get("controller", {}),
            "jobs": [
                {
                    "id": j.key,
                    "name": j.name,
                    "state": j.state.value,
                    "raw_state": j.raw_state,
                    "reason": j.reason,
                    "source": j.source,
                }
                for j in self.jobs.jobs.values()
            ],  # fmt: skip
            "accounting": self.jobs.accounting,
            "counts": {},
            "trials": [],
            "best": None,
            **{k: v for k, v in self.study.items() if k != "controller"},
        }


def new_run_id(study_name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", study_name).strip("._-")[:40] or "study"
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def storage_for(study: Study, fstype: str) -> str:
    """The study's storage choice, made safe for the filesystem of the remote run folder."""
    if study.storage.startswith("postgres"):
        return study.storage
    low = fstype.lower()
    # stat -f prints "UNKNOWN (0x19830326)" for BeeGFS; a filesystem nobody knows gets the
    # journal, which works everywhere, rather than SQLite, which breaks on network filesystems
    on_network = any(low.startswith(n) for n in NETWORK_FS) or low.startswith("unknown")
    if study.storage == "auto" or (study.storage == "sqlite" and on_network):
        return "journal" if on_network else "sqlite"
    return study.storage


def study_folder_files(study_dir: str) -> list[tuple[str, Path]]:
    root = Path(study_dir)
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_file() and not name.endswith((".pyc", ".part")):
                files.append((str(p.relative_to(root)), p))
    return files


class ClusterRuns:
    """Submit and follow runs on one cluster through ``runner`` (see module docstring)."""

    def __init__(
        self,
        runner: CommandRunner,
        profile: ClusterProfile,
        registry: Registry | None = None,
        transfer: FileTransfer | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.runner = runner
        self.profile = profile
        self.registry = registry or Registry()
        self.transfer = transfer
        self.progress = progress or (lambda _s, _f: None)
        self.slurm = SlurmClient(runner, prefix=profile.slurm_prefix)

    # -- helpers ----------------------------------------------------------------------------
    def _run(self, command: str, *, input: bytes | None = None, timeout: float = 300) -> str:
        prefix = self.profile.slurm_prefix.strip()
        full = f"set -e\n{prefix}\n{command}" if prefix else f"set -e\n{command}"
        result = self.runner.run(full, input=input, timeout=timeout)
        if not result.ok:
            raise ClusterError(f"on {self.runner.host}: {result.describe()}")
        return result.stdout

    def _engine(self, record: RunRecord, args: str) -> str:
        """A shell command running a controller probe with the run's interpreter."""
        setup = "\n".join(record.setup_lines)
        return (
            (setup + "\n" if setup else "")
            + f"PYTHONPATH={shlex.quote(record.pythonpath)} {shlex.quote(record.python)} "
            f"-m omniopt_desktop.engine.controller {args} --run-dir {shlex.quote(record.remote_dir)}"
        )

    # -- submit -----------------------------------------------------------------------------
    def submit(self, study: Study, study_file: str) -> RunRecord:
        """Upload, set up the environment, queue the controller; the record is registered first."""
        run_id = new_run_id(study.name)
        builder = EnvBuilder(self.runner, self.profile.env, lambda s, f: self.progress(s, 0.4 * f))
        env = builder.ensure()
        base = builder.resolve_base()
        run_dir = f"{base}/runs/{run_id}"
        q = shlex.quote(run_dir)
        self.progress("creating the run folder", 0.45)
        probe = (
            "from omniopt_desktop.engine.storage import filesystem_type as f; import sys; "
            "print(f(sys.argv[1]) or 'unknown')"
        )
        setup = "\n".join(env.setup_lines)
        fstype = (
            self._run(
                f"mkdir -p {q}/logs {q}/trials {q}/snapshots {q}/slurm {q}/study\n{setup}\n"
                f"PYTHONPATH={shlex.quote(env.pythonpath or '')} {shlex.quote(env.python)} "
                f"-c {shlex.quote(probe)} {q} 2>/dev/null || stat -f -c %T {q}"
            )
            .strip()
            .splitlines()[-1]
        )
        storage = storage_for(study, fstype)
        self.progress("uploading the study folder", 0.5)
        self._upload_study(os.path.dirname(os.path.abspath(study_file)), f"{run_dir}/study")
        frozen = study.to_dict()
        frozen["run"] = {
            "study_dir": f"{run_dir}/study",
            "storage": storage,
            "created": time.time(),
            "tag": run_id,
            "run_id": run_id,
            "filesystem": fstype,
            "controller_interval": self.profile.controller_interval,
            "lease_ttl": self.profile.lease_ttl,
        }
        ctx = ScriptContext(run_dir=run_dir, tag=run_id, env=env)
        files = {
            L.FROZEN_STUDY: json.dumps(frozen, indent=2) + "\n",
            "slurm/controller.sh": render_controller_script(study.resources, ctx),
            "slurm/worker.sh": render_worker_script(study.resources, ctx),
        }
        if os.path.exists(study_file):
            files[L.STUDY_TOML] = Path(study_file).read_text()
        self._write_files(run_dir, files)
        record = self.registry.put(
            RunRecord(
                run_id=run_id,
                host=self.profile.host,
                remote_dir=run_dir,
                tag=run_id,
                study_name=study.name,
                study_file=os.path.abspath(study_file),
                storage=storage,
                filesystem=fstype,
                python=env.python,
                pythonpath=env.pythonpath or "",
                setup_lines=tuple(env.setup_lines),
                slurm_prefix=self.profile.slurm_prefix,
                ssh_config=self.profile.ssh_config,
            )
        )
        self.progress("queueing the controller", 0.9)
        return self._queue_controller(record)

    def _upload_study(self, study_dir: str, target: str) -> None:
        """The study folder (the user's program) without runs/, VCS and cache folders: over
        SFTP with byte progress when there is a transfer, else as a tar on standard input."""
        if self.transfer is not None:
            shown = [-1]

            def progress(done: int, total: int) -> None:
                tenth = 10 * done // total if total else 10
                if tenth != shown[0]:  # at most eleven reports
                    shown[0] = tenth
                    self.progress(f"uploading the study folder ({done:,} of {total:,} bytes)", 0.5)

            self.transfer.upload_tree(study_dir, target, STUDY_EXCLUDE, progress)
            return
        self._run(
            f"tar -xzf - -C {shlex.quote(target)}",
            input=tar_bytes(study_folder_files(study_dir)),
            timeout=1800,
        )

    def _write_files(self, run_dir: str, files: dict[str, str]) -> None:
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"oo-upload-{secrets.token_hex(4)}"
        tmp.mkdir(parents=True)
        try:
            pairs = []
            for name, text in files.items():
                p = tmp / name.replace("/", "__")
                p.write_text(text)
                if name.endswith(".sh"):
                    p.chmod(0o755)
                pairs.append((name, p))
            self._run(f"tar -xzf - -C {shlex.quote(run_dir)}", input=tar_bytes(pairs))
        finally:
            for p in tmp.iterdir():
                p.unlink()
            tmp.rmdir()

    def _queue_controller(self, record: RunRecord) -> RunRecord:
        self.slurm.known = set(record.job_ids)
        script = f"{record.remote_dir}/slurm/controller.sh"
        job = self.slurm.submit(script, tag=record.tag)
        self._run(
            f"echo {shlex.quote(job)} ctl 1 $(date +%s) >> {shlex.quote(record.remote_dir)}/jobs.txt"
        )
        self.progress("submitted", 1.0)
        return self.registry.update(
            record.run_id, job_ids=(*record.job_ids, job), state="submitted"
        )

    def resume(self, record: RunRecord, add_trials: int = 0) -> RunRecord:
        """Queue a new controller for the same study (after a cancel, a crash, more trials)."""
        ctl = job_names(record.tag)[0]
        try:
            active = [j for j in self.slurm.find_by_names([ctl]) if j.state.is_active]
        except PollFailed as e:
            raise ClusterError(f"cannot check for a running controller: {e}; try again") from e
        if active:
            raise ClusterError(
                f"run {record.run_id} still has controller job {active[0].id} "
                f"({active[0].state.value}); wait for it or cancel the run first"
            )
        self._run(f"rm -f {shlex.quote(record.remote_dir)}/{L.STOP_FILE}")
        if add_trials:
            self._run(self._engine(record, f"add-trials --add {int(add_trials)}"))
        return self._queue_controller(record)

    # -- status -----------------------------------------------------------------------------
    def status_command(
        self, record: RunRecord, since: int = -1, refresh: Sequence[int] = ()
    ) -> str:
        names = ",".join(job_names(record.tag))
        q = shlex.quote(record.remote_dir)
        fmt = shlex.quote("%i|%T|%r|%j")
        refresh_arg = f" --refresh {','.join(str(int(n)) for n in refresh)}" if refresh else ""
        parts = [
            section_command("squeue", f"squeue -h -t all -r -n {shlex.quote(names)} -o {fmt}"),
            f'ids=$(cut -d" " -f1 {q}/jobs.txt 2>/dev/null | paste -sd, -)',
            'if [ -n "$ids" ]; then '
            + section_command(
                "sacct",
                'sacct -j "$ids" --parsable2 --noheader --format=JobID,JobName,State,ExitCode',
            )
            + "; fi",
            section_command(
                "study",
                "(" + self._engine(record, f"status --since {int(since)}{refresh_arg}") + ")",
            ),
        ]
        prefix = record.slurm_prefix.strip()
        return (prefix + "\n" if prefix else "") + "; ".join(parts)

    def status(self, record: RunRecord, since: int = -1, refresh: Sequence[int] = ()) -> RunStatus:
        """ONE remote command: jobs, counts, best, trials numbered above ``since``."""
        try:
            result = self.runner.run(self.status_command(record, since, refresh), timeout=120)
        except CommandError as e:
            return RunStatus(record.run_id, PollResult(stale=True, error=str(e)), {}, True, str(e))
        sections = split_sections(result.stdout)
        stale, error = False, None
        try:
            jobs = parse_jobs_probe(sections, list(record.job_ids))
            ctl = job_names(record.tag)[0]
            for key, job in list(jobs.jobs.items()):
                if job.source == "gone":  # registry ids are controller jobs
                    jobs.jobs[key] = replace(job, name=ctl)
        except (PollFailed, ClusterError) as e:
            jobs, stale, error = PollResult(stale=True, error=str(e)), True, str(e)
        text, rc = sections.get("study", ("", None))
        study: dict[str, Any] = {}
        lines = [ln for ln in text.splitlines() if ln.startswith("{")]
        if rc == 0 and lines:
            study = json.loads(lines[-1])
        else:
            stale = True
            tail = [ln for ln in text.strip().splitlines() if ln.strip()][-1:]
            error = (
                error
                or f"study status failed on {self.runner.host}: {tail[0][:300] if tail else 'no answer'}"
            )
        return RunStatus(record.run_id, jobs, study, stale, error, len(result.stdout.encode()))

    # -- fetch ------------------------------------------------------------------------------
    def fetch(
        self,
        record: RunRecord,
        dest_dir: str,
        *,
        logs: bool = False,
        progress: ByteProgress | None = None,
    ) -> str:
        """A consistent snapshot taken remotely, downloaded atomically; returns the local path."""
        if self.transfer is None:
            raise ClusterError("no file transfer configured for downloads")
        out = self._run(self._engine(record, "snapshot"), timeout=1800)
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if not lines:
            raise ClusterError(f"the snapshot command gave no answer: {out.strip()[-300:]}")
        snap = json.loads(lines[-1])
        os.makedirs(dest_dir, exist_ok=True)
        final = os.path.join(dest_dir, os.path.basename(snap["path"]))
        self._download_verified(snap["path"], final, int(snap["size"]), snap["sha256"], progress)
        self._run(f"rm -f {shlex.quote(snap['path'])}")
        if logs:
            self._fetch_logs(record, dest_dir, progress)
        self.registry.update(record.run_id, snapshots=(*record.snapshots, final))
        return final

    def _download_verified(
        self, remote: str, final: str, size: int, sha256: str, progress: ByteProgress | None
    ) -> None:
        part = final + ".part"
        try:
            assert self.transfer is not None
            self.transfer.download(remote, part, progress)
            digest = hashlib.sha256()
            with open(part, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            if os.path.getsize(part) != size or digest.hexdigest() != sha256:
                raise ClusterError(
                    f"download of {remote} is damaged (size or checksum differs); fetch again"
                )
            os.replace(part, final)
        finally:
            if os.path.exists(part):
                os.unlink(part)

    def _fetch_logs(self, record: RunRecord, dest_dir: str, progress: ByteProgress | None) -> None:
        q = shlex.quote(record.remote_dir)
        remote = f"{record.remote_dir}/snapshots/logs-{secrets.token_hex(4)}.tar.gz"
        self._run(
            f"tar -czf {shlex.quote(remote)} -C {q} trials logs controller.json jobs.txt 2>/dev/null || tar -czf {shlex.quote(remote)} -C {q} trials logs"
        )
        local = os.path.join(dest_dir, f"{record.run_id}-logs.tar.gz")
        part = local + ".part"
        try:
            assert self.transfer is not None
            self.transfer.download(remote, part, progress)
            target = os.path.join(dest_dir, f"{record.run_id}-logs")
            os.makedirs(target, exist_ok=True)
            with tarfile.open(part) as tar:
                tar.extractall(target, filter="data")
        finally:
            if os.path.exists(part):
                os.unlink(part)
            self._run(f"rm -f {shlex.quote(remote)}")

    # -- cancel -----------------------------------------------------------------------------
    def cancel(self, record: RunRecord) -> list[int]:
        """Stop every job of the run; RUNNING trials end FAIL 'cancelled'; the database stays."""
        q = shlex.quote(record.remote_dir)
        ids = " ".join(shlex.quote(j) for j in record.job_ids)
        cancel_trials = self._engine(record, "cancel-trials --reason cancelled")
        out = self._run(
            f"touch {q}/{L.STOP_FILE}\n"
            f"{cancel_trials}\n"
            + "".join(f"scancel -n {shlex.quote(n)} || true\n" for n in job_names(record.tag))
            + (f"scancel {ids} 2>/dev/null || true\n" if ids else "")
            + "sleep 1\n"
            f"{cancel_trials}"
        )
        numbers: list[int] = []
        for line in out.splitlines():
            if line.startswith("{"):
                numbers += json.loads(line).get("cancelled", [])
        self.registry.update(record.run_id, state="cancelled")
        return sorted(set(numbers))


def env_of(record: RunRecord) -> RemoteEnv:
    return RemoteEnv(
        python=record.python, setup_lines=record.setup_lines, pythonpath=record.pythonpath or None
    )


class RunMonitor:
    """Incremental polling of one run, as the GUI monitor and ``status --wait`` do it.

    Each :meth:`poll` is one remote command asking only for trials numbered above the newest
    one seen, plus those still RUNNING/WAITING here (their state may have changed). A stale
    poll keeps every earlier state and lengthens the interval; a poll with news resets it.
    """

    def __init__(
        self,
        runs: ClusterRuns,
        record: RunRecord,
        *,
        interval: float = 2.0,
        max_interval: float = 30.0,
    ) -> None:
        self.runs = runs
        self.record = record
        self.base_interval = interval
        self.max_interval = max_interval
        self.interval = interval
        self.trials: dict[int, dict[str, Any]] = {}
        self.last_number = -1
        self.last: RunStatus | None = None

    @property
    def finished(self) -> bool:
        """The last poll saw the run ended (a stale poll never counts as an end)."""
        return self.last is not None and self.last.finished

    def poll(self) -> RunStatus:
        """One status command; a lost connection or a failed command gives a stale status."""
        pending = sorted(n for n, t in self.trials.items() if t["state"] in ("RUNNING", "WAITING"))
        try:
            st = self.runs.status(self.record, since=self.last_number, refresh=pending)
        except (OmniOptError, OSError, EOFError) as e:  # e.g. the SSH connection was lost
            return self.unreachable(str(e) or type(e).__name__)
        if st.stale:
            return self._stale(st)
        news = (
            bool(st.trials)
            or self.last is None
            or ((st.controller_state, st.counts) != (self.last.controller_state, self.last.counts))
        )
        for t in st.trials:
            self.trials[t["number"]] = t
            self.last_number = max(self.last_number, t["number"])
        self.interval = self.base_interval if news else min(self.max_interval, self.interval * 1.5)
        self.last = st
        return st

    def unreachable(self, error: str) -> RunStatus:
        """Record a poll that could not even be made (no connection): stale, backed off."""
        return self._stale(
            RunStatus(self.record.run_id, PollResult(stale=True, error=error), {}, True, error)
        )

    def _stale(self, st: RunStatus) -> RunStatus:
        self.interval = min(self.max_interval, self.interval * 2)
        if self.last is not None:  # keep the last known study, say it is stale
            st = RunStatus(
                st.run_id, replace(self.last.jobs, stale=True), self.last.study, True,
                st.error, st.nbytes,
            )  # fmt: skip
        self.last = st
        return st

    def all_trials(self) -> list[dict[str, Any]]:
        return [self.trials[n] for n in sorted(self.trials)]
