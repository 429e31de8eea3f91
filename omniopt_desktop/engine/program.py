"""Run the user's program for one trial: own process group, timeout, bounded output capture.

Contract of :func:`run_program`:
- the command runs through ``/bin/sh -c`` in ``cwd`` in a new session (its own process group);
- stdout and stderr go to files, capped: the first ``head`` bytes and the last ``tail`` bytes
  are kept with a marker line saying how many bytes were dropped in between, so memory and disk
  stay bounded whatever the program prints;
- on timeout, on ``should_stop()`` returning true, and after the program's main process ends,
  the whole process group is killed (SIGTERM, then SIGKILL after ``kill_grace`` seconds), so no
  child outlives its trial;
- ``on_start(pgid)`` is called once the process exists (for leases / cleanup by a watcher).

Python 3.9+, stdlib only.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional

from .results import RunEnd

HEAD_BYTES = 1 << 20
TAIL_BYTES = 1 << 20
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ProgramRun:
    command: str
    exit_code: Optional[int]
    signal: Optional[str]
    timed_out: bool
    interrupted: bool
    start: float
    end: float
    host: str
    pgid: Optional[int]
    stdout_bytes: int
    stderr_bytes: int
    start_error: Optional[str] = None
    timeout: Optional[float] = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def run_end(self) -> RunEnd:
        return RunEnd(
            exit_code=self.exit_code,
            signal=self.signal,
            timed_out=self.timed_out,
            interrupted=self.interrupted,
            start_error=self.start_error,
            timeout=self.timeout,
        )


class CappedFile:
    """Write-through for the first ``head`` bytes, a ring of the last ``tail`` bytes after that."""

    def __init__(self, path: str, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> None:
        self._f = open(path, "wb")
        self._head_left = head
        self._tail_cap = tail
        self._tail = bytearray()
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        if self._head_left > 0:
            part = data[: self._head_left]
            self._f.write(part)
            self._head_left -= len(part)
            data = data[len(part) :]
        if data and self._tail_cap > 0:
            self._tail += data
            if len(self._tail) > 2 * self._tail_cap:
                del self._tail[: len(self._tail) - self._tail_cap]

    def close(self) -> None:
        if len(self._tail) > self._tail_cap:
            del self._tail[: len(self._tail) - self._tail_cap]
        dropped = self.total - self._f.tell() - len(self._tail)
        if dropped > 0:
            self._f.write(f"\n[... omniopt: {dropped} bytes dropped here ...]\n".encode())
        self._f.write(bytes(self._tail))
        self._f.close()


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def group_alive(pgid: int) -> bool:
    """True while a live (non-zombie) process is in group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not os.path.isdir("/proc/self"):
        return True
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False  # only zombies left (orphans wait for init to reap them)


def kill_group(pgid: int, grace: float = 2.0, leader: Optional[subprocess.Popen] = None) -> None:
    """SIGTERM the process group, then SIGKILL it if anything is left after ``grace`` seconds.

    ``leader`` (the group's first process, our child) is reaped while waiting, so that its
    zombie does not count as alive.
    """
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if leader is not None:
            leader.poll()
        if not group_alive(pgid):
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_program(
    command: str,
    cwd: str,
    env: Dict[str, str],
    stdout_path: str,
    stderr_path: str,
    timeout: Optional[float] = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_start: Optional[Callable[[int], None]] = None,
    head: int = HEAD_BYTES,
    tail: int = TAIL_BYTES,
    kill_grace: float = 2.0,
    poll: float = 0.1,
) -> ProgramRun:
    """Run ``command`` and wait for it (see the module docstring)."""
    host = socket.gethostname()
    out = CappedFile(stdout_path, head, tail)
    err = CappedFile(stderr_path, head, tail)
    start = time.time()
    try:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as e:
        out.close()
        err.close()
        return ProgramRun(
            command, None, None, False, False, start, time.time(), host, None, 0, 0,
            start_error=str(e), timeout=timeout,
        )  # fmt: skip
    pgid = proc.pid
    if on_start is not None:
        on_start(pgid)
    deadline = None if timeout is None else time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    for stream, sink in ((proc.stdout, out), (proc.stderr, err)):
        os.set_blocking(stream.fileno(), False)
        sel.register(stream, selectors.EVENT_READ, sink)
    timed_out = interrupted = False
    exited_at: Optional[float] = None
    try:
        while True:
            if sel.get_map():
                for key, _ in sel.select(poll):
                    try:
                        data = os.read(key.fd, _CHUNK)
                    except BlockingIOError:
                        continue
                    if data:
                        key.data.write(data)
                    else:
                        sel.unregister(key.fileobj)
            else:  # both streams closed: wait for the process itself
                try:
                    proc.wait(timeout=poll)
                except subprocess.TimeoutExpired:
                    pass
            if exited_at is None and proc.poll() is not None:
                exited_at = time.monotonic()
                # the main process is done: whatever it left behind in its group goes too
                kill_group(pgid, grace=0.2, leader=proc)
            if exited_at is not None:
                # done when both streams are drained (an escaped child may hold one open)
                if not sel.get_map() or time.monotonic() - exited_at > 5.0:
                    break
                continue
            if deadline is not None and time.monotonic() >= deadline:
                if not timed_out:
                    timed_out = True
                    kill_group(pgid, kill_grace, leader=proc)
            elif should_stop() and not interrupted:
                interrupted = True
                kill_group(pgid, kill_grace, leader=proc)
    finally:
        sel.close()
        if proc.poll() is None:
            kill_group(pgid, 0.0, leader=proc)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        out.close()
        err.close()
    rc = proc.returncode
    sig = _signal_name(-rc) if rc is not None and rc < 0 else None
    # /bin/sh reports a child killed by signal N as status 128+N
    if sig is None and rc is not None and rc > 128 and (timed_out or interrupted):
        sig = _signal_name(rc - 128)
    return ProgramRun(
        command=command,
        exit_code=rc if rc is not None and rc >= 0 else None,
        signal=sig,
        timed_out=timed_out,
        interrupted=interrupted,
        start=start,
        end=time.time(),
        host=host,
        pgid=pgid,
        stdout_bytes=out.total,
        stderr_bytes=err.total,
        timeout=timeout,
    )


def read_capped(path: str, limit: int = HEAD_BYTES + TAIL_BYTES + 4096) -> str:
    """Text of a captured stream (bounded), decoded as UTF-8 with replacement."""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""
