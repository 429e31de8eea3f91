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

from ..errors import ClusterError, CommandError
from ..study import run_layout as L
from ..study.model import Study
from .commands import CommandRunner
from .job_state import PollFailed
from .registry import Registry, RunRecord
from .remote_env import EnvBuilder, EnvConfig, tar_bytes
from .run_status import TERMINAL, RunMonitor, RunStatus
from .sbatch import (
    RemoteEnv,
    ScriptContext,
    job_names,
    render_controller_script,
    render_worker_script,
)
from .slurm import PollResult, SlurmClient, parse_jobs_probe, section_command, split_sections
from .transfer import ByteProgress, FileTransfer

# progress text of submit's step that creates the run folder: from here a retry would duplicate
CREATING_RUN_FOLDER = "creating the run folder"
__all__ = [  # RunStatus, RunMonitor and TERMINAL live in run_status; imported from here too
    "NETWORK_FS", "STUDY_EXCLUDE", "TERMINAL", "ClusterProfile", "ClusterRuns", "RunMonitor",
    "RunStatus", "env_of", "new_run_id", "storage_for", "study_folder_files",
]  # fmt: skip

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
        self.progress(CREATING_RUN_FOLDER, 0.45)
        probe = (
            "from omniopt_desktop.engine.filesystems import filesystem_type as f; import sys; "
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
            L.CONTROLLER_SCRIPT: render_controller_script(study.resources, ctx),
            L.WORKER_SCRIPT: render_worker_script(study.resources, ctx),
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
        script = f"{record.remote_dir}/{L.CONTROLLER_SCRIPT}"
        job = self.slurm.submit(script, tag=record.tag)
        self._run(
            f"echo {shlex.quote(job)} ctl 1 $(date +%s) >> {shlex.quote(record.remote_dir)}/{L.JOBS_FILE}"
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
            f'ids=$(cut -d" " -f1 {q}/{L.JOBS_FILE} 2>/dev/null | paste -sd, -)',
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
            f"tar -czf {shlex.quote(remote)} -C {q} {L.TRIALS_DIR} {L.LOGS_DIR} "
            f"{L.CONTROLLER_STATE} {L.JOBS_FILE} 2>/dev/null "
            f"|| tar -czf {shlex.quote(remote)} -C {q} {L.TRIALS_DIR} {L.LOGS_DIR}"
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
