"""The user guide's cluster commands, and a cluster to run them on as a user would.

:func:`guide_commands` reads the ``omniopt-desktop`` command lines of a markdown file in
document order: the lines of ```` ```sh ```` blocks and the commands named in the prose
(```omniopt-desktop fetch RUN --logs```). A prose span that is an option with its value
(```--accept-host-key SHA256:...```) belongs to the command shown last, when that command's parser
knows the option; a bare option name (```--remote-base```) is only a mention.

:class:`GuideCluster` is the cluster behind the guide's ``mycluster`` alias: its own sshd (from
``sshd_factory``) for the test account, on the suite's single-node SLURM. Its logins see

- ``SLURM_CONF`` of the test SLURM (a real cluster has its slurm.conf in /etc/slurm);
- a ``module`` command (a stand-in for Lmod, like on most HPC systems) that knows one module,
  ``Python``, and logs every call with the SLURM job it ran in, so a test sees where the guide's
  ``--setup "module load Python"`` line ran;
- with ``offline=True``, no internet (proxies and the package index point to a closed port);
- a ``HOME`` of their own (created here, removed by :meth:`remove`), so the guide's default
  remote folder ``~/omniopt-desktop`` is fresh and nothing is shared with other tests.

:meth:`GuideCluster.workstation` makes a "workstation" home whose ``~/.ssh/config`` defines
``Host mycluster``; :meth:`GuideCluster.cli` runs a command line there as a subprocess
(``python -m omniopt_desktop.cli``), optionally with a terminal on standard input.
"""

from __future__ import annotations

import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CLUSTER_SUBCOMMANDS = ("ssh-check", "submit", "runs", "status", "fetch", "cancel")
ALIAS = "mycluster"

_PIECES = re.compile(r"```(\w*)\n(.*?)```|`([^`\n]+)`", re.S)

_MODULE = """#!/bin/sh
# `module` of the test cluster: a stand-in for Lmod that knows one module, Python (python3 is on
# the PATH already). Every call is logged with the SLURM job it ran in ("login" outside jobs).
echo "${{SLURM_JOB_ID:-login}} $*" >> {log}
[ "$1" = load ] || {{ echo "module: only 'module load NAME' works on this test cluster" >&2; exit 1; }}
shift
for name in "$@"; do
    case "$name" in
        Python|Python/*) ;;
        *) echo "Lmod has detected the following error: The following module(s) are unknown: \\"$name\\"" >&2
           exit 1 ;;
    esac
done
"""


@dataclass(frozen=True)
class GuideCommand:
    text: str  # "omniopt-desktop ..." as written (an option span joined to its command)
    where: str  # "sh block" or "prose"
    line: int  # line in the file

    @property
    def subcommand(self) -> str:
        return shlex.split(self.text)[1] if len(self.text.split()) > 1 else ""


def _options_of(subcommand: str) -> set[str]:
    from omniopt_desktop.cli import build_parser

    parser = build_parser(only=subcommand)
    sub = parser._subparsers._group_actions[0].choices[subcommand]
    return {opt for action in sub._actions for opt in action.option_strings}


def guide_commands(path: Path, subcommands=CLUSTER_SUBCOMMANDS) -> list[GuideCommand]:
    """The ``omniopt-desktop`` commands of ``path`` whose sub-command is in ``subcommands``."""
    text = path.read_text()
    found: list[GuideCommand] = []
    last: GuideCommand | None = None
    for m in _PIECES.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if m.group(3) is not None:
            span = m.group(3).strip()
            if span.startswith("omniopt-desktop "):
                last = GuideCommand(span, "prose", line)
                found.append(last)
            elif (
                span.startswith("--")
                and len(span.split()) > 1  # an option with its value, not a bare name
                and last
                and span.split()[0] in _options_of(last.subcommand)
            ):
                found.append(GuideCommand(f"{last.text} {span}", "prose", line))
            continue
        if m.group(1) != "sh":
            continue
        for i, raw in enumerate(m.group(2).splitlines(), start=1):
            for part in raw.split("&&"):
                part = part.strip().removeprefix(".venv/bin/")
                if part.startswith("omniopt-desktop "):
                    last = GuideCommand(part, "sh block", line + i)
                    found.append(last)
    return [c for c in found if c.subcommand in subcommands]


def _write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


class GuideCluster:
    """See the module docstring. ``start(sshd_factory, account, slurm)`` once per test."""

    def __init__(self, account, slurm_cluster, *, offline: bool = False) -> None:
        self.account = account
        self.slurm = slurm_cluster
        self.root = Path(tempfile.mkdtemp(prefix="oo-guide-cluster-"))
        os.chmod(self.root, 0o755)
        self.home = self.root / "home"  # the test account's home on this cluster
        self.home.mkdir()
        os.chown(self.home, account.uid, account.gid)
        bindir = self.root / "bin"
        bindir.mkdir(mode=0o755)
        self.module_log = _write(self.root / "module.log", "", 0o666)
        _write(bindir / "module", _MODULE.format(log=shlex.quote(str(self.module_log))), 0o755)
        self.path = f"{bindir}:/usr/local/bin:/usr/bin:/bin"
        self.offline = offline
        self.server = None
        self.run_ids: list[str] = []  # cancelled and waited for by remove()

    def start(self, sshd_factory) -> GuideCluster:
        setenv = {"SLURM_CONF": str(self.slurm.conf), "PATH": self.path, "HOME": str(self.home)}
        if self.offline:  # no internet: every download goes to a closed port, at once
            closed = "http://127.0.0.1:9"
            setenv |= {"HTTP_PROXY": closed, "HTTPS_PROXY": closed, "PIP_INDEX_URL": closed,
                       "PIP_RETRIES": "0"}  # fmt: skip
        line = "SetEnv " + " ".join(f"{k}={v}" for k, v in setenv.items())
        self.server = sshd_factory(extra=(line,))
        return self

    def fingerprint(self) -> str:
        return self.server.host_fingerprint()

    def workstation(self, parent: Path) -> Path:
        """A fresh HOME whose ~/.ssh/config names this cluster ``mycluster``."""
        home = Path(tempfile.mkdtemp(prefix="home-", dir=parent))
        ssh = home / ".ssh"
        ssh.mkdir(mode=0o700)
        _write(
            ssh / "config",
            f"Host {ALIAS}\n  HostName {self.server.host}\n  Port {self.server.port}\n"
            f"  User {self.account.name}\n  IdentityFile {self.account.key_path}\n",
            0o600,
        )
        return home

    def cli(
        self, command: str, home: Path, cwd: Path, *, terminal_input: str | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess:  # fmt: skip
        """Run ``omniopt-desktop ...`` as a user on the workstation ``home`` would. With
        ``terminal_input`` standard input is a terminal with that text typed ahead."""
        start = time.monotonic()
        try:
            return self._cli(command, home, cwd, terminal_input, timeout)
        finally:  # shown when a test fails: where the time went
            print(f"{time.monotonic() - start:6.1f} s  {command}")

    def _cli(self, command, home, cwd, terminal_input, timeout) -> subprocess.CompletedProcess:
        words = shlex.split(command)
        assert words[0] == "omniopt-desktop", command
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SSH_"))}
        env["HOME"] = str(home)
        argv = [sys.executable, "-m", "omniopt_desktop.cli", *words[1:]]
        if terminal_input is None:
            return subprocess.run(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                text=True, timeout=timeout,
            )  # fmt: skip
        master, slave = pty.openpty()
        try:
            os.write(master, terminal_input.encode())
            return subprocess.run(
                argv, cwd=cwd, env=env, stdin=slave, capture_output=True, text=True,
                timeout=timeout, start_new_session=True,
            )  # fmt: skip
        finally:
            os.close(slave)
            os.close(master)

    # -- SLURM side, for checks and clean-up ----------------------------------------------
    def active_jobs(self, run_id: str) -> list[str]:
        """Jobs of ``run_id`` that are queued or running ("id state" each)."""
        out = subprocess.run(
            ["squeue", "-h", "-r", "-o", "%i %T %j"], env=self.slurm.env,
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        return [" ".join(ln.split()[:2]) for ln in out.splitlines() if f"oo-{run_id}-" in ln]

    def wait_no_jobs(self, run_id: str, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while (jobs := self.active_jobs(run_id)) and time.monotonic() < deadline:
            time.sleep(0.5)
        return jobs

    def remove(self) -> None:
        """Cancel what is left of :attr:`run_ids`, wait for their jobs to end, delete all."""
        for run_id in self.run_ids:
            for name in ("ctl", "wrk"):
                subprocess.run(
                    ["scancel", "-n", f"oo-{run_id}-{name}"], env=self.slurm.env,
                    capture_output=True, timeout=60,
                )  # fmt: skip
            self.wait_no_jobs(run_id)
        shutil.rmtree(self.root, ignore_errors=True)
