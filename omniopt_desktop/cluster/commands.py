"""The command-runner contract: run a POSIX shell command, get one typed result.

``cluster/`` talks to SLURM only through a :class:`CommandRunner`; it never knows whether the
command runs here (:class:`LocalRunner`) or over SSH (``remote.ssh_runner``). Both return a
:class:`CommandResult` and share one test suite (``tests/support/runner_contract.py``).

Contract:
- ``command`` is one POSIX ``sh`` command line; the runner runs it through ``/bin/sh -c`` (never
  the user's login shell) and quotes nothing itself: callers quote with :func:`shlex.quote`.
- stdout and stderr are drained concurrently; both are returned decoded (UTF-8, errors replaced).
- ``timeout`` is a wall-clock bound in seconds that holds even when the command never exits;
  on expiry the whole process group is killed and :class:`CommandTimedOut` is raised (carrying
  the partial result) — never a result that looks finished.
- ``exit_status`` is None only when no status was received; ``signal`` names the signal that
  killed the command (``"SIGKILL"``) when that is known.
- ``check=True`` raises :class:`CommandError` (with the result) on a non-zero or missing status.
- A runner may be used from one thread at a time unless its class says otherwise.
"""

from __future__ import annotations

import os
import signal as _signal
import subprocess
import time
from dataclasses import dataclass
from typing import Optional, Protocol

from ..errors import CommandError, CommandTimedOut


@dataclass(frozen=True)
class CommandResult:
    command: str
    stdout: str
    stderr: str
    exit_status: Optional[int]
    duration: float
    signal: Optional[str] = None
    host: str = "localhost"

    @classmethod
    def decoded(
        cls,
        command: str,
        out: bytes,
        err: bytes,
        exit_status: Optional[int],
        started: float,
        signal: Optional[str],
        host: str,
    ) -> CommandResult:
        """The result of a command started at ``started`` (``time.monotonic()``) from its raw
        output, decoded as UTF-8 with errors replaced."""
        return cls(
            command,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            exit_status,
            time.monotonic() - started,
            signal,
            host,
        )

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def describe(self) -> str:
        """One line: how the command ended, with the tail of stderr. A long or multi-line
        command is shortened to its first 80 characters, lines joined by "; " (all of it is in
        ``command``), so the tail of stderr, the useful part, stays readable."""
        cmd = "; ".join(line.strip() for line in self.command.splitlines() if line.strip())
        cmd = cmd if len(cmd) <= 80 else cmd[:79] + "…"
        if self.signal:
            how = f"killed by {self.signal}"
        elif self.exit_status is None:
            how = "ended without an exit status"
        else:
            how = f"exited with status {self.exit_status}"
        tail = self.stderr.strip().splitlines()[-1:] or self.stdout.strip().splitlines()[-1:]
        return f"`{cmd}` on {self.host} {how}" + (f": {tail[0][:300]}" if tail else "")


class CommandRunner(Protocol):
    host: str

    def run(
        self,
        command: str,
        *,
        timeout: Optional[float] = 60.0,
        input: Optional[bytes] = None,
        check: bool = False,
    ) -> CommandResult: ...


def _signal_name(num: int) -> str:
    try:
        return _signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def checked(result: CommandResult, check: bool) -> CommandResult:
    if check and not result.ok:
        raise CommandError(result.describe(), result)
    return result


class LocalRunner:
    """Runs commands on this machine through ``/bin/sh -c`` in their own process group."""

    host = "localhost"

    def __init__(self, env: Optional[dict] = None, cwd: Optional[str] = None) -> None:
        self._env = env
        self._cwd = cwd

    def run(
        self,
        command: str,
        *,
        timeout: Optional[float] = 60.0,
        input: Optional[bytes] = None,
        check: bool = False,
    ) -> CommandResult:
        start = time.monotonic()
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            cwd=self._cwd,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
            partial = CommandResult.decoded(command, out, err, None, start, "SIGKILL", self.host)
            raise CommandTimedOut(
                f"`{command}` on {self.host} did not finish within {timeout:g} s and was killed",
                partial,
            ) from None
        rc = proc.returncode
        signal = _signal_name(-rc) if rc < 0 else None
        result = CommandResult.decoded(
            command, out, err, rc if rc >= 0 else None, start, signal, self.host
        )
        return checked(result, check)
