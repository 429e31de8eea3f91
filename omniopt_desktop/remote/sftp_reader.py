"""Bounded reads of remote files over a session's SFTP channel (a trial's stdout, say).

Implements :class:`omniopt_desktop.cluster.trial_files.CappedReader`: a file longer than
``limit`` bytes is read as its head and tail only (two ranges, pipelined with ``readv``), so a
huge log costs at most ``limit`` bytes of traffic. A missing file reads as None. The session's
SFTP lock is awaited at most ``lock_timeout`` s (a long download holds it); a lost connection
raises :class:`~.session.ConnectionLost`, other failures :class:`RemoteError`, each one line.
"""

from __future__ import annotations

import contextlib
import errno
import stat
from collections.abc import Iterator

import paramiko

from ..cluster.trial_files import head_and_tail
from ..errors import RemoteError
from .session import ConnectionLost, Session

LOCK_TIMEOUT = 20.0


class SftpReader:
    def __init__(self, session: Session, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.session = session
        self.lock_timeout = lock_timeout
        self.where = f"{session.host}:"

    @contextlib.contextmanager
    def _sftp(self, path: str) -> Iterator[paramiko.SFTPClient]:
        host = self.session.host
        if not self.session.sftp_lock.acquire(timeout=self.lock_timeout):
            raise RemoteError(
                f"the SFTP channel to {host} is busy with a transfer (waited "
                f"{self.lock_timeout:g} s); try again when it has ended"
            )
        try:
            yield self.session.sftp()
        except (RemoteError, FileNotFoundError, PermissionError):
            raise
        except (EOFError, OSError, paramiko.SSHException) as e:
            if isinstance(e, (EOFError, ConnectionError)):
                self.session.settle_after_eof()
            if not self.session.transport_is_active():
                reason = self.session.state_reason or "the connection broke"
                raise ConnectionLost(
                    f"connection to {host} lost while reading {path}: {reason}"
                ) from e
            raise RemoteError(f"reading {host}:{path} failed: {_detail(e)}") from e
        finally:
            self.session.sftp_lock.release()

    def is_dir(self, path: str) -> bool:
        try:
            with self._sftp(path) as sftp:
                return stat.S_ISDIR(sftp.stat(path).st_mode or 0)
        except FileNotFoundError:
            return False
        except PermissionError as e:
            raise RemoteError(f"no permission to read {self.where}{path}") from e

    def read_capped(self, path: str, limit: int) -> bytes | None:
        try:
            with self._sftp(path) as sftp, sftp.open(path, "rb") as f:
                size = f.stat().st_size or 0
                if size <= limit:
                    return b"".join(f.readv([(0, size)])) if size else b""
                half = limit // 2
                head, tail = f.readv([(0, half), (size - half, half)])
                return head_and_tail(head, tail)
        except FileNotFoundError:
            return None
        except PermissionError as e:
            raise RemoteError(f"no permission to read {self.where}{path}") from e


def _detail(e: BaseException) -> str:
    if isinstance(e, OSError) and e.errno is not None:
        return e.strerror or errno.errorcode.get(e.errno, str(e))
    return str(e) or type(e).__name__
