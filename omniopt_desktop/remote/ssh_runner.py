"""The SSH :class:`~omniopt_desktop.cluster.commands.CommandRunner`: one channel per command.

Contract (that of ``cluster.commands``, over SSH):
- The command runs through an explicit ``/bin/sh -c`` whatever the login shell (bash, csh, ...):
  the login shell only sees ``exec /bin/sh -c '<fixed wrapper>' oo <argument>``, where the
  argument is the shell-quoted command, or its base64 form when it holds newlines, ``!``, control
  or non-ASCII characters (csh cannot quote those).
- The wrapper prints a marker on stdout and stderr before the command starts; text a noisy login
  shell prints before it (``~/.bashrc`` echo) is cut off and kept in :attr:`SSHRunner.last_noise`.
  The stderr marker carries the process-group id, used to kill the command on timeout.
- stdout/stderr are drained concurrently; ``timeout`` is wall-clock and holds when the server
  never sends an exit status; a missing status is ``exit_status=None``; ``exit-signal`` fills
  ``signal``. A connection lost mid-command raises :class:`ConnectionLost`.
- Thread safe: each call opens its own channel on the session's one transport.
"""

from __future__ import annotations

import base64
import re
import shlex
import socket
import threading
import time

from ..cluster.commands import CommandResult, checked
from ..errors import CommandTimedOut
from .session import ConnectionLost, Session

OUT_MARK = b"\x1eOO\x1f"
ERR_MARK = re.compile(rb"\x1eOO(\d+)\x1f")
_WRAPPER = 'printf "\\036OO%s\\037" "$$" >&2; printf "\\036OO\\037"; exec /bin/sh -c "$1"'
_WRAPPER_B64 = (
    'printf "\\036OO%s\\037" "$$" >&2; printf "\\036OO\\037"; '
    'exec /bin/sh -c "$(printf %s "$1" | base64 -d)"'
)
_SAFE = re.compile(r"^[\x20-\x7e\t]*$")  # printable ASCII; "!" excluded below (csh history)
CHUNK = 1 << 20


def wrap_command(command: str) -> str:
    """The exact string sent to the server's login shell."""
    if _SAFE.match(command) and "!" not in command:
        return f"exec /bin/sh -c {shlex.quote(_WRAPPER)} oo {shlex.quote(command)}"
    b64 = base64.b64encode(command.encode()).decode()
    return f"exec /bin/sh -c {shlex.quote(_WRAPPER_B64)} oo {b64}"


def split_noise(out: bytes, err: bytes) -> tuple[bytes, bytes, bytes, int | None]:
    """(stdout, stderr, login-shell noise, pgid) with the wrapper's markers removed."""
    noise = b""
    i = out.find(OUT_MARK)
    if i >= 0:
        noise, out = out[:i], out[i + len(OUT_MARK) :]
    pgid = None
    m = ERR_MARK.search(err)
    if m:
        noise += err[: m.start()]
        err = err[m.end() :]
        pgid = int(m.group(1))
    return out, err, noise, pgid


class SSHRunner:
    """Runs commands on the session's host (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.host = session.host
        self.last_noise = b""

    def run(
        self,
        command: str,
        *,
        timeout: float | None = 60.0,
        input: bytes | None = None,
        check: bool = False,
    ) -> CommandResult:
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        chan = self.session.open_channel(timeout=timeout and min(timeout, 30.0))
        out_parts: list[bytes] = []
        err_parts: list[bytes] = []
        errors: list[BaseException] = []
        try:
            chan.exec_command(wrap_command(command))

            def drain_stderr() -> None:
                try:
                    while True:
                        try:
                            data = chan.recv_stderr(CHUNK)
                        except socket.timeout:
                            continue
                        if not data:
                            return
                        err_parts.append(data)
                except Exception as e:  # pragma: no cover - surfaced below
                    errors.append(e)

            def feed_stdin() -> None:
                try:
                    view = memoryview(input or b"")
                    while view:
                        try:
                            view = view[chan.send(view[:CHUNK]) :]
                        except socket.timeout:  # the 0.2 s read timeout; a full window waits
                            if chan.closed or chan.exit_status_ready():
                                return
                    chan.shutdown_write()  # else the command waits for the end of its input
                except Exception:
                    pass  # the command may exit without reading its input

            chan.settimeout(0.2)
            t_err = threading.Thread(target=drain_stderr, daemon=True, name="ssh-stderr")
            t_in = threading.Thread(target=feed_stdin, daemon=True, name="ssh-stdin")
            t_err.start()
            t_in.start()
            timed_out = False
            while True:
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out = True
                    break
                try:
                    data = chan.recv(CHUNK)
                except socket.timeout:
                    continue
                if not data:
                    break
                out_parts.append(data)
            if not timed_out:
                # stdout ended; wait for stderr, the status and the close within the deadline
                while not (chan.closed or chan.exit_status_ready()) or t_err.is_alive():
                    if deadline is not None and time.monotonic() >= deadline:
                        timed_out = True
                        break
                    if not self.session.transport_is_active():
                        break
                    t_err.join(0.05)
                    if not t_err.is_alive():
                        chan.status_event.wait(0.05)
                        if chan.exit_status_ready() or chan.closed:
                            break
            if timed_out:
                pgid = split_noise(b"".join(out_parts), b"".join(err_parts))[3]
                killed = self._kill(pgid)
                out, err, noise, _ = split_noise(b"".join(out_parts), b"".join(err_parts))
                partial = CommandResult.decoded(
                    command, out, err, None, start, "SIGKILL" if killed else None, self.host
                )
                raise CommandTimedOut(
                    f"`{command}` on {self.host} did not finish within {timeout:g} s"
                    + (" and was killed" if killed else " (could not kill it)"),
                    partial,
                )
            t_err.join(5)
        finally:
            try:
                chan.close()
            except Exception:
                pass
        if not self.session.transport_is_active():
            raise ConnectionLost(
                f"connection to {self.host} lost while running `{command[:200]}`: "
                f"{self.session.state_reason or 'the server closed it'}; reconnect and retry"
            )
        out, err, noise, _ = split_noise(b"".join(out_parts), b"".join(err_parts))
        self.last_noise = noise
        signal = getattr(chan, "oo_exit_signal", None)
        status = chan.exit_status if chan.exit_status_ready() else -1
        result = CommandResult.decoded(
            command, out, err, None if (signal or status < 0) else status, start, signal, self.host
        )
        return checked(result, check)

    def _kill(self, pgid: int | None) -> bool:
        if not pgid or pgid <= 1 or not self.session.transport_is_active():
            return False
        try:
            chan = self.session.open_channel(timeout=5)
        except Exception:
            return False
        try:
            chan.settimeout(5)
            chan.exec_command(f"exec /bin/sh -c 'kill -KILL -{pgid} || kill -KILL {pgid}'")
            chan.status_event.wait(5)
            return chan.exit_status_ready() and chan.exit_status == 0
        except Exception:
            return False
        finally:
            chan.close()
