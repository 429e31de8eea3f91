"""The Python environment a run uses on the cluster, created once and reused.

Under the profile's remote base folder (default ``~/omniopt-desktop``)::

    engine/<version>-<hash>/omniopt_desktop/   the engine exactly as on this workstation
    envs/py-<hash>/                             a venv with optuna (unless an existing env is used)
    wheels/<hash>/                              wheels uploaded for clusters without internet

Every piece is keyed by a hash of what it holds and marked complete only at the end (built in a
temporary folder, then renamed), so a second submit reuses it and an interrupted one is redone.
Everything goes through a :class:`CommandRunner`; files travel as tar archives on the command's
standard input, so the same code works locally and over SSH.
"""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..errors import ClusterError
from ..paths import package_dir
from .commands import CommandResult, CommandRunner
from .defaults import DEFAULT_REMOTE_BASE
from .sbatch import RemoteEnv

Progress = Callable[[str, float], None]
# the last line of pip's output when it could not reach an index (no internet on the cluster)
_NO_INDEX = ("No matching distribution found", "Could not find a version that satisfies")
READY = ".omniopt-ready"
_SHIPPED_DIRS = ("engine", "study")
_NOT_SHIPPED = {"toml_io.py", "document.py"}  # workstation-only (tomlkit)


def _noop(_step: str, _fraction: float) -> None:
    pass


@dataclass(frozen=True)
class EnvConfig:
    """How to get Python on the cluster (part of a cluster profile)."""

    base: str = DEFAULT_REMOTE_BASE
    python: str = "python3"  # interpreter the venv is made from
    setup_lines: tuple[str, ...] = ()  # e.g. ("module load Python/3.11",)
    existing_python: str | None = None  # use this interpreter as it is (needs optuna)
    wheelhouse: str | None = None  # local folder of wheels (clusters without internet)
    optuna_spec: str = field(default_factory=lambda: f"optuna=={metadata.version('optuna')}")
    extra_packages: tuple[str, ...] = ()  # e.g. ("psycopg[binary]",) for PostgreSQL


def tar_bytes(files: Iterable[tuple[str, Path]]) -> bytes:
    """A deterministic .tar.gz of (archive name, local path) pairs."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        for name, path in sorted(files):
            info = tarfile.TarInfo(name)
            data = path.read_bytes()
            info.size = len(data)
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def engine_files(package: Path | None = None) -> list[tuple[str, Path]]:
    """The modules shipped to the cluster: the engine, the study model, the error classes, as
    (archive name, source file) pairs. ``package`` defaults to :func:`paths.package_dir`: the
    package in a checkout or a wheel, the sources the spec adds as data in a PyInstaller bundle
    (packaging/omniopt_desktop.spec builds its list with this function)."""
    root = package or package_dir()
    files = [(f"omniopt_desktop/{name}", root / name) for name in ("__init__.py", "errors.py")]
    for sub in _SHIPPED_DIRS:
        for path in sorted((root / sub).glob("*.py")):
            if path.name not in _NOT_SHIPPED:
                files.append((f"omniopt_desktop/{sub}/{path.name}", path))
    missing = [name for name, path in files if not path.is_file()]
    if missing or not any(name.endswith("/engine/worker.py") for name, _ in files):
        raise ClusterError(
            f"the engine's source files are missing in {root} "
            f"({', '.join(missing) or 'engine/worker.py'}): this installation is incomplete; "
            "reinstall OmniOpt Desktop"
        )
    return files


def engine_key(package: Path | None = None) -> str:
    """``<version>-<hash of the shipped names and contents>``: a bundle and a pip install of the
    same sources share one engine folder (and so one environment) on the cluster."""
    digest = hashlib.sha256()
    for name, path in engine_files(package):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{__version__}-{digest.hexdigest()[:12]}"


def _env_key(cfg: EnvConfig, wheel_key: str | None) -> str:
    text = "\n".join(
        [cfg.python, *cfg.setup_lines, cfg.optuna_spec, *cfg.extra_packages, wheel_key or "online"]
    )
    return "py-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _wheel_files(folder: str) -> list[tuple[str, Path]]:
    paths = sorted(Path(folder).glob("*.whl"))
    if not paths:
        raise ClusterError(f"wheelhouse {folder}: no .whl files; fill it with 'pip download'")
    return [(p.name, p) for p in paths]


def _wheel_key(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(name.encode() + str(path.stat().st_size).encode())
    return digest.hexdigest()[:12]


class EnvBuilder:
    """Creates or reuses the remote environment. ``setup_prefix`` runs before each command."""

    def __init__(self, runner: CommandRunner, cfg: EnvConfig, progress: Progress | None = None):
        self.runner = runner
        self.cfg = cfg
        self.progress = progress or _noop
        self.installed: list[str] = []  # what this call had to create (empty: all reused)

    def _run(
        self, command: str, *, timeout: float = 120, input: bytes | None = None
    ) -> CommandResult:
        setup = "\n".join(self.cfg.setup_lines)
        full = f"set -e\n{setup}\n{command}" if setup else f"set -e\n{command}"
        result = self.runner.run(full, timeout=timeout, input=input)
        if not result.ok:
            raise ClusterError(
                f"environment setup on {self.runner.host} failed: {result.describe()}"
            )
        return result

    def resolve_base(self) -> str:
        base = self.cfg.base.strip()
        if base.startswith("~"):
            home = self._run('printf "%s" "$HOME"').stdout.strip()
            base = home + base[1:]
        if not base.startswith("/"):
            raise ClusterError(
                f"remote base folder {self.cfg.base!r} must be absolute or start with ~"
            )
        return base.rstrip("/")

    def _ship(self, target: str, payload: bytes, what: str) -> None:
        """Unpack ``payload`` into ``target`` unless it is complete already; atomic rename."""
        q = shlex.quote(target)
        tmp = shlex.quote(f"{target}.tmp-{os.getpid()}")
        self._run(
            f"if [ -f {q}/{READY} ]; then exit 0; fi\n"
            f"rm -rf {tmp}; mkdir -p {tmp}\n"
            f"tar -xzf - -C {tmp}\n"
            f"touch {tmp}/{READY}\n"
            f'mkdir -p "$(dirname {q})"\n'
            f"if [ -d {q} ]; then rm -rf {q}; fi\n"
            f"mv {tmp} {q}",
            input=payload,
            timeout=600,
        )
        self.installed.append(what)

    def _exists(self, path: str) -> bool:
        return self.runner.run(f"test -f {shlex.quote(path)}/{READY}", timeout=60).ok

    def ensure(self) -> RemoteEnv:
        """The environment for this workstation's engine; created when missing."""
        self.progress("checking the remote folder", 0.0)
        base = self.resolve_base()
        engine_dir = f"{base}/engine/{engine_key()}"
        self.progress("engine", 0.1)
        if not self._exists(engine_dir):
            self._ship(engine_dir, tar_bytes(engine_files()), "engine")
        if self.cfg.existing_python:
            python = self.cfg.existing_python
        else:
            python = self._ensure_venv(base)
        self.progress("checking the environment", 0.9)
        env = RemoteEnv(
            python=python, setup_lines=tuple(self.cfg.setup_lines), pythonpath=engine_dir
        )
        self.check(env)
        self.progress("environment ready", 1.0)
        return env

    def _ensure_venv(self, base: str) -> str:
        wheels = _wheel_files(self.cfg.wheelhouse) if self.cfg.wheelhouse else None
        wheel_key = _wheel_key(wheels) if wheels else None
        env_dir = f"{base}/envs/{_env_key(self.cfg, wheel_key)}"
        python = f"{env_dir}/bin/python"
        if self._exists(env_dir):
            return python
        self.progress("checking the interpreter", 0.2)
        py = shlex.quote(self.cfg.python)
        version = self._run(
            f"{py} -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"
        ).stdout.strip()
        major, _, minor = version.partition(".")
        if not (major.isdigit() and minor.isdigit()) or (int(major), int(minor)) < (3, 9):
            raise ClusterError(
                f"{self.cfg.python} on {self.runner.host} is Python {version or '?'}; the engine "
                "needs 3.9 or newer: set the profile's interpreter or setup lines (module load)"
            )
        find_links = ""
        if wheels:
            wheel_dir = f"{base}/wheels/{wheel_key}"
            if not self._exists(wheel_dir):
                self.progress(f"uploading {len(wheels)} wheels", 0.3)
                self._ship(wheel_dir, tar_bytes(wheels), "wheels")
            find_links = f"--no-index --find-links {shlex.quote(wheel_dir)}"
        self.progress("creating the virtual environment", 0.5)
        tmp = f"{env_dir}.tmp-{os.getpid()}"
        qt, qe = shlex.quote(tmp), shlex.quote(env_dir)
        packages = " ".join(
            shlex.quote(p) for p in (self.cfg.optuna_spec, *self.cfg.extra_packages)
        )
        try:
            self._run(
                f'rm -rf {qt}; mkdir -p "$(dirname {qt})"\n'
                f"{py} -m venv {qt}\n"
                f"{qt}/bin/python -m pip install -q --disable-pip-version-check {find_links} "
                f"{packages}\n"
                f"touch {qt}/{READY}\n"
                f"if [ -f {qe}/{READY} ]; then rm -rf {qt}; else rm -rf {qe}; mv {qt} {qe}; fi",
                timeout=1800,
            )
        except ClusterError as e:
            if wheels or not any(m in str(e) for m in _NO_INDEX):
                raise
            raise ClusterError(
                f"{e}. If the cluster has no internet, pip cannot download {packages} there: "
                "fill a wheelhouse on this machine (pip download, see the user guide) and set it "
                "as the profile's Wheelhouse (submit --wheelhouse DIR)"
            ) from e
        self.installed.append("venv")
        return python

    def check(self, env: RemoteEnv) -> str:
        """Import the engine with the env's interpreter; returns the optuna version there."""
        pp = shlex.quote(env.pythonpath or "")
        out = self._run(
            f"PYTHONPATH={pp} {shlex.quote(env.python)} -c "
            "'import optuna, omniopt_desktop.engine.worker; print(optuna.__version__)'"
        ).stdout.strip()
        return out.splitlines()[-1] if out else ""
