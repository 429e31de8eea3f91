"""``omniopt-desktop submit STUDY.toml --host HOST`` · ``submit --resume RUN [--add-trials N]``.

Uploads the study folder, sets up (or reuses) the remote Python environment, queues the
controller job and prints the run id as the last line. HOST is an ``~/.ssh/config`` alias or
``user@host[:port]``; ``local`` runs the SLURM commands on this machine without SSH.

Also holds what the other cluster commands share: opening a connection for a run
(:func:`connect`) and :func:`submit_study`, the entry point the GUI calls.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from ..cluster.commands import CommandRunner, LocalRunner
from ..cluster.defaults import DEFAULT_REMOTE_BASE
from ..cluster.registry import Registry, RunRecord
from ..cluster.remote_env import EnvConfig
from ..cluster.runs import ClusterProfile, ClusterRuns
from ..cluster.transfer import ByteProgress, FileTransfer, LocalTransfer
from ..errors import OmniOptError
from ..study.model import Study

LOCAL_HOST = "local"


def _remote(name: str) -> Any:
    """A module of the SSH layer, reached by name at run time (the "paramiko only in remote"
    import-linter contract also forbids indirect imports, as cmd_ssh_check notes)."""
    return importlib.import_module(f"omniopt_desktop.remote.{name}")


class SftpTransfer:
    """:class:`FileTransfer` over the session's SFTP channel (atomic, with progress)."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def _transfer(self, progress: ByteProgress | None) -> Any:
        cb = (lambda p: progress(p.bytes_done, p.bytes_total)) if progress else None
        return _remote("transfer").Transfer(self.session, progress=cb)

    def download(
        self, remote_path: str, local_path: str, progress: ByteProgress | None = None
    ) -> None:
        self._transfer(progress).download_file(remote_path, local_path)

    def upload(
        self, local_path: str, remote_path: str, progress: ByteProgress | None = None
    ) -> None:
        self._transfer(progress).upload_file(local_path, remote_path)

    def upload_tree(
        self,
        local_dir: str,
        remote_dir: str,
        exclude: tuple[str, ...] = (),
        progress: ByteProgress | None = None,
    ) -> None:
        self._transfer(progress).upload_tree(local_dir, remote_dir, exclude=exclude)


@contextmanager
def connect(
    host: str, ssh_config: str = "", callbacks: Any = None
) -> Iterator[tuple[CommandRunner, FileTransfer]]:
    """A command runner and a file transfer for ``host`` (one SSH session, closed at the end)."""
    if host == LOCAL_HOST:
        yield LocalRunner(), LocalTransfer()
        return
    mod = _remote("session")
    if callbacks is None:
        callbacks = _remote("terminal_prompts").TerminalPrompts()
    session = mod.Session(host, callbacks, mod.SessionOptions(ssh_config=ssh_config or None))
    session.connect()
    try:
        yield session.runner(), SftpTransfer(session)
    finally:
        session.close()


@contextmanager
def runs_for(
    record: RunRecord,
    registry: Registry,
    progress: Callable[[str, float], None] | None = None,
    ssh_config: str | None = None,
) -> Iterator[ClusterRuns]:
    """A :class:`ClusterRuns` connected to the host of a registered run."""
    config = ssh_config or record.ssh_config
    profile = ClusterProfile(host=record.host, slurm_prefix=record.slurm_prefix, ssh_config=config)
    with connect(record.host, config) as (runner, transfer):
        yield ClusterRuns(runner, profile, registry, transfer, progress)


def _stderr_progress(step: str, fraction: float) -> None:
    print(f"[{fraction * 100:3.0f}%] {step}", file=sys.stderr, flush=True)


def load_checked(path: str) -> Study:
    """The study of ``path``; StudyFileError naming the first problem when it is invalid."""
    from ..study.toml_io import check_file

    return check_file(path).study


def submit_study(
    study: Study,
    study_path: str,
    *,
    host: str,
    remote_base: str = DEFAULT_REMOTE_BASE,
    env_setup: list[str] | None = None,
    python: str = "python3",
    existing_python: str | None = None,
    wheelhouse: str | None = None,
    slurm_setup: str = "",
    ssh_config: str = "",
    callbacks: Any = None,
    on_progress: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    controller_interval: float = 10.0,
    registry: Registry | None = None,
    connection: tuple[CommandRunner, FileTransfer] | None = None,
) -> RunRecord:
    """Submit ``study`` to ``host``; returns the registered run (the GUI calls this too, with
    the ``connection`` (runner, transfer) of its open session to the host)."""

    def progress(step: str, fraction: float) -> None:
        if cancelled and cancelled():
            raise OmniOptError("submission cancelled before the controller was queued")
        if on_progress:
            on_progress(step)

    env = EnvConfig(
        base=remote_base,
        python=python,
        setup_lines=tuple(env_setup or ()),
        existing_python=existing_python,
        wheelhouse=wheelhouse,
    )
    profile = ClusterProfile(
        host=host,
        env=env,
        slurm_prefix=slurm_setup,
        ssh_config=ssh_config,
        controller_interval=controller_interval,
    )
    opened = nullcontext(connection) if connection else connect(host, ssh_config, callbacks)
    with opened as (runner, transfer):
        runs = ClusterRuns(runner, profile, registry or Registry(), transfer, progress)
        return runs.submit(study, study_path)


def _run(args: argparse.Namespace) -> int:
    registry = Registry()
    if args.resume:
        record = registry.get(args.resume)
        with runs_for(record, registry, _stderr_progress, args.ssh_config) as runs:
            record = runs.resume(record, add_trials=args.add_trials or 0)
        print(f"resumed {record.run_id}: controller job {record.job_ids[-1]}", file=sys.stderr)
        print(record.run_id)
        return 0
    if not args.study or not args.host:
        raise OmniOptError("submit needs STUDY.toml and --host HOST (or --resume RUN)")
    study = load_checked(args.study)
    record = submit_study(
        study,
        args.study,
        host=args.host,
        remote_base=args.remote_base,
        env_setup=args.setup,
        python=args.python,
        existing_python=args.existing_python,
        wheelhouse=args.wheelhouse,
        slurm_setup="\n".join(args.slurm_setup),
        ssh_config=args.ssh_config or "",
        on_progress=lambda s: print(f"… {s}", file=sys.stderr, flush=True),
        controller_interval=args.controller_interval,
        registry=registry,
    )
    print(
        f"submitted {record.run_id} to {record.host}: controller job {record.job_ids[-1]}, "
        f"storage {record.storage} ({record.filesystem}), folder {record.remote_dir}",
        file=sys.stderr,
    )
    print(record.run_id)
    return 0


def add_connection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-F", "--ssh-config", help="ssh config file (default ~/.ssh/config)")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "submit",
        help="run a study on a SLURM cluster over SSH",
        description="Upload the study, set up Python on the cluster and queue the controller "
        "job; the run id is printed last.",
    )
    p.add_argument("study", nargs="?", help="STUDY.toml")
    p.add_argument("--host", help="~/.ssh/config alias or user@host[:port]; 'local' = no SSH")
    p.add_argument("--resume", metavar="RUN", help="continue a registered run")
    p.add_argument("--add-trials", type=int, metavar="N", help="with --resume: raise n_trials")
    p.add_argument("--remote-base", default=DEFAULT_REMOTE_BASE, help="folder on the cluster")
    p.add_argument("--python", default="python3", help="interpreter the remote venv is made from")
    p.add_argument("--existing-python", help="use this remote interpreter as it is (has optuna)")
    p.add_argument(
        "--setup", action="append", default=[], metavar="LINE",
        help="shell line before Python on the cluster, e.g. 'module load Python' (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--slurm-setup", action="append", default=[], metavar="LINE",
        help="shell line before every SLURM command, e.g. 'module load slurm' (repeatable)",
    )  # fmt: skip
    p.add_argument("--wheelhouse", help="local folder of wheels for clusters without internet")
    p.add_argument("--controller-interval", type=float, default=10.0, help=argparse.SUPPRESS)
    add_connection_options(p)
    p.set_defaults(func=_run)
