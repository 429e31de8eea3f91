"""SFTP transfers that never leave a half file where a reader looks.

Contract:
- :meth:`Transfer.upload_file` writes ``.<name>.oo-part-<random>`` next to the target with
  pipelined writes, checks its size (and SHA-256 with the remote ``openssl dgst`` or
  ``sha256sum`` when present),
  copies the local mode and mtime, then ``posix_rename``s it over the target. On any failure or
  cancel the temporary file is removed when possible and the old target is untouched.
- :meth:`Transfer.upload_tree` uploads a folder incrementally: a file is skipped when the remote
  copy has the same size and mtime (``compare="mtime"``) or the same SHA-256 (``"hash"``).
- :meth:`Transfer.download_file` reads with a bounded pipeline (2 MiB of requests in flight,
  :mod:`.sftp_pipeline`; paramiko's ``prefetch`` is unbounded by default, which
  hangs some servers, and sleep-polls when bounded, which starves throughput) into
  ``<target>.part`` (mode 0600), checks the size and ``os.replace``s it over the target.
- ``progress(Progress)`` is called at most every ``progress_interval`` s and at the end of each
  file; ``cancel`` (a :class:`CancelToken`) is checked between chunks and raises
  :class:`TransferCancelled`. Remote paths are absolute or relative to the login folder.
"""

from __future__ import annotations

import functools
import hashlib
import os
import posixpath
import queue
import re
import secrets as _random
import shlex
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatch

import paramiko

from ..errors import RemoteError
from .files import open_private
from .session import ConnectionLost, Session
from .sftp_pipeline import pipelined_read, pipelined_write

CHUNK = 1 << 20
_PART = re.compile(r"^\..+\.oo-part-[0-9a-f]{8}$")
DEFAULT_PIPELINE_DEPTH = None  # as many requests as fit in 2 MiB (sftp_pipeline.IN_FLIGHT)


class TransferCancelled(RemoteError):
    """The user cancelled a transfer; no target file was replaced."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class Progress:
    path: str
    bytes_done: int
    bytes_total: int
    rate: float  # bytes per second since the transfer started
    files_done: int = 0
    files_total: int = 1


@dataclass(frozen=True)
class UploadSummary:
    uploaded: tuple[str, ...]
    skipped: tuple[str, ...]
    bytes: int
    seconds: float


class _Meter:
    def __init__(
        self,
        total: int,
        files_total: int,
        callback: Callable[[Progress], None] | None,
        cancel: CancelToken | None,
        interval: float,
    ) -> None:
        self.total, self.files_total = total, files_total
        self.callback, self.cancel, self.interval = callback, cancel, interval
        self.done = 0
        self.files_done = 0
        self.start = time.monotonic()
        self._last = 0.0

    def add(self, n: int, path: str, force: bool = False) -> None:
        self.done += n
        if self.cancel is not None and self.cancel.cancelled:
            raise TransferCancelled(f"transfer of {path} cancelled; the target was not replaced")
        now = time.monotonic()
        if self.callback and (force or now - self._last >= self.interval):
            self._last = now
            rate = self.done / max(now - self.start, 1e-6)
            self.callback(
                Progress(path, self.done, self.total, rate, self.files_done, self.files_total)
            )


def _remote_error(session: Session, what: str, e: BaseException) -> RemoteError:
    if isinstance(e, RemoteError):
        return e
    # EOFError/ConnectionError can arrive before the transport itself notices it is dead: give
    # it a moment, so that the session is LOST (and says so) when the error reaches the caller
    eof = isinstance(e, (EOFError, ConnectionError))
    if eof:
        session.settle_after_eof()
    if eof or not session.transport_is_active():
        return ConnectionLost(
            f"connection to {session.host} lost during {what}; the target was not replaced — "
            f"reconnect and retry"
        )
    detail = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return RemoteError(f"{what} on {session.host} failed: {detail}")


def _one_sftp_user(method):
    """Hold the session's SFTP lock for the whole call (paramiko's client is not thread safe)."""

    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.session.sftp_lock:
            return method(self, *args, **kwargs)

    return locked


class Transfer:
    def __init__(
        self,
        session: Session,
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
        *,
        pipeline_depth: int | None = DEFAULT_PIPELINE_DEPTH,
        progress_interval: float = 0.2,
        verify_hash: bool = True,
    ) -> None:
        self.session = session
        self.progress = progress
        self.cancel = cancel
        self.pipeline_depth = pipeline_depth
        self.progress_interval = progress_interval
        self.verify_hash = verify_hash

    # -- helpers -------------------------------------------------------------------------------
    def _hash_tool(self) -> str | None:
        """``openssl`` (fast, uses SHA CPU instructions), else ``sha256sum``, else None."""
        facts = self.session.facts
        if "hash_tool" not in facts:
            r = self.session.runner().run(
                "if command -v openssl >/dev/null 2>&1 && openssl dgst -sha256 -r /dev/null "
                ">/dev/null 2>&1; then echo openssl; elif command -v sha256sum >/dev/null 2>&1; "
                "then echo sha256sum; fi",
                timeout=30,
            )
            facts["hash_tool"] = r.stdout.strip() or None
        return facts["hash_tool"]  # type: ignore[return-value]

    def remote_sha256(self, paths: list[str]) -> dict[str, str]:
        """SHA-256 of remote files (missing files absent); {} when the remote has no tool."""
        tool = self._hash_tool()
        if tool is None:
            return {}
        out: dict[str, str] = {}
        for i in range(0, len(paths), 200):
            batch = [p if not p.startswith("-") else "./" + p for p in paths[i : i + 200]]
            head = "openssl dgst -sha256 -r " if tool == "openssl" else "sha256sum -- "
            cmd = head + " ".join(shlex.quote(p) for p in batch) + " 2>/dev/null"
            r = self.session.runner().run(cmd, timeout=600)
            for line in r.stdout.splitlines():
                digest, sep, name = line.partition(" *" if tool == "openssl" else "  ")
                if not sep or digest.startswith("\\") or len(digest) != 64:
                    continue  # escaped names: skipped, they are simply re-uploaded
                out[name[2:] if name.startswith("./-") else name] = digest
        return out

    def _meter(self, total: int, files: int) -> _Meter:
        return _Meter(total, files, self.progress, self.cancel, self.progress_interval)

    # -- upload --------------------------------------------------------------------------------
    @_one_sftp_user
    def upload_file(self, local: str, remote: str, _meter: _Meter | None = None) -> int:
        """Upload one file atomically (see the module docstring); returns its size."""
        st = os.stat(local)
        meter = _meter or self._meter(st.st_size, 1)
        sftp = self.session.sftp()
        folder, name = posixpath.split(remote)
        tmp = posixpath.join(folder, f".{name}.oo-part-{_random.token_hex(4)}")
        digest = hashlib.sha256()
        sent = 0
        try:
            with _HashingReader(local, digest) as src, sftp.open(tmp, "wb") as dst:

                def blocks():
                    for chunk in src:
                        yield chunk
                        meter.add(len(chunk), remote)

                sent = pipelined_write(sftp, dst.handle, blocks(), self.pipeline_depth)
            if sent != st.st_size:
                raise RemoteError(f"{local} changed size while it was uploaded; upload it again")
            got = sftp.stat(tmp).st_size
            if got != sent:
                raise RemoteError(
                    f"upload of {local} to {self.session.host}:{remote} arrived with {got} of "
                    f"{sent} bytes (disk full or quota?); the old file was kept"
                )
            if self.verify_hash and self._hash_tool():
                remote_digest = self.remote_sha256([tmp]).get(tmp)
                if remote_digest != digest.hexdigest():
                    raise RemoteError(
                        f"upload of {local} to {self.session.host}:{remote} failed its SHA-256 "
                        f"check; the old file was kept — upload again"
                    )
            sftp.chmod(tmp, stat.S_IMODE(st.st_mode))
            sftp.utime(tmp, (st.st_atime, st.st_mtime))
            sftp.posix_rename(tmp, remote)
        except BaseException as e:
            self._discard(tmp)
            if isinstance(e, (KeyboardInterrupt, TransferCancelled)):
                raise
            raise _remote_error(self.session, f"upload of {local} to {remote}", e) from e
        meter.files_done += 1
        meter.add(0, remote, force=True)
        return sent

    def _discard(self, tmp: str) -> None:
        if not self.session.transport_is_active():
            return
        try:
            self.session.sftp().remove(tmp)
        except Exception:
            pass

    def _mkdirs(self, sftp: paramiko.SFTPClient, remote_dir: str, known: set[str]) -> None:
        if remote_dir in known or remote_dir in ("", "/", "."):
            return
        parent = posixpath.dirname(remote_dir.rstrip("/"))
        if parent and parent != remote_dir:
            self._mkdirs(sftp, parent, known)
        try:
            sftp.mkdir(remote_dir)
        except OSError:
            try:
                if not stat.S_ISDIR(sftp.stat(remote_dir).st_mode):
                    raise RemoteError(
                        f"{self.session.host}:{remote_dir} exists and is not a folder"
                    ) from None
            except FileNotFoundError as e:
                raise RemoteError(f"cannot create folder {self.session.host}:{remote_dir}") from e
        known.add(remote_dir)

    def _remote_listing(
        self, sftp: paramiko.SFTPClient, root: str
    ) -> dict[str, paramiko.SFTPAttributes]:
        out: dict[str, paramiko.SFTPAttributes] = {}
        stack = [""]
        while stack:
            rel = stack.pop()
            try:
                entries = sftp.listdir_attr(posixpath.join(root, rel) if rel else root)
            except FileNotFoundError:
                continue
            for a in entries:
                r = posixpath.join(rel, a.filename) if rel else a.filename
                if stat.S_ISDIR(a.st_mode or 0):
                    stack.append(r)
                else:
                    out[r] = a
        return out

    @_one_sftp_user
    def upload_tree(
        self,
        local_dir: str,
        remote_dir: str,
        *,
        compare: str = "mtime",
        exclude: Iterable[str] = (),
    ) -> UploadSummary:
        """Upload changed regular files of ``local_dir`` below ``remote_dir`` (folders created)."""
        if compare not in ("mtime", "hash"):
            raise ValueError("compare must be 'mtime' or 'hash'")
        start = time.monotonic()
        patterns = tuple(exclude)
        files: list[tuple[str, str, os.stat_result]] = []
        for dirpath, dirnames, filenames in os.walk(local_dir):
            dirnames.sort()
            for f in sorted(filenames):
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, local_dir).replace(os.sep, "/")
                if any(fnmatch(rel, p) or fnmatch(f, p) for p in patterns):
                    continue
                st = os.lstat(full)
                if stat.S_ISREG(st.st_mode):
                    files.append((rel, full, st))
        try:
            sftp = self.session.sftp()
            listing = self._remote_listing(sftp, remote_dir)
        except RemoteError:
            raise
        except Exception as e:
            raise _remote_error(self.session, f"listing {remote_dir}", e) from e
        for rel in [r for r in listing if _PART.match(posixpath.basename(r))]:
            listing.pop(rel)  # left by a broken earlier upload: remove, never treat as data
            try:
                sftp.remove(posixpath.join(remote_dir, rel))
            except OSError:
                pass
        remote_hash: dict[str, str] = {}
        if compare == "hash" and self._hash_tool():
            same_size = [
                posixpath.join(remote_dir, rel)
                for rel, _, st in files
                if rel in listing and listing[rel].st_size == st.st_size
            ]
            remote_hash = self.remote_sha256(same_size)
        todo, skipped = [], []
        for rel, full, st in files:
            a = listing.get(rel)
            unchanged = False
            if a is not None and a.st_size == st.st_size:
                if compare == "hash" and remote_hash:
                    unchanged = remote_hash.get(posixpath.join(remote_dir, rel)) == _sha256(full)
                else:
                    unchanged = int(a.st_mtime or -1) == int(st.st_mtime)
            (skipped if unchanged else todo).append((rel, full, st))
        meter = self._meter(sum(st.st_size for _, _, st in todo), len(todo))
        known_dirs: set[str] = set()
        for rel, full, _ in todo:
            target = posixpath.join(remote_dir, rel)
            try:
                self._mkdirs(sftp, posixpath.dirname(target), known_dirs)
            except RemoteError:
                raise
            except Exception as e:
                raise _remote_error(self.session, f"creating {posixpath.dirname(target)}", e) from e
            self.upload_file(full, target, meter)
        return UploadSummary(
            tuple(r for r, _, _ in todo),
            tuple(r for r, _, _ in skipped),
            meter.done,
            time.monotonic() - start,
        )

    # -- download ------------------------------------------------------------------------------
    @_one_sftp_user
    def download_file(self, remote: str, local: str) -> int:
        """Download ``remote`` to ``local`` through ``local.part`` + ``os.replace``; returns size."""
        part = local + ".part"
        fd = -1
        try:
            sftp = self.session.sftp()
            size = sftp.stat(remote).st_size or 0
            meter = self._meter(size, 1)
            fd = open_private(part)
            with sftp.open(remote, "rb") as src:
                got = pipelined_read(
                    sftp,
                    src.handle,
                    size,
                    fd,
                    self.pipeline_depth,
                    lambda n: meter.add(n, remote),
                )
            os.fsync(fd)
            os.close(fd)
            fd = -1
            if got != size:
                raise RemoteError(
                    f"download of {self.session.host}:{remote} ended after {got} of {size} bytes "
                    f"(file changed or connection broke); {local} was not replaced"
                )
            os.replace(part, local)
        except BaseException as e:
            if fd >= 0:
                os.close(fd)
            try:
                os.unlink(part)
            except OSError:
                pass
            if isinstance(e, (KeyboardInterrupt, TransferCancelled, RemoteError)):
                raise
            raise _remote_error(self.session, f"download of {remote}", e) from e
        meter.files_done += 1
        meter.add(0, remote, force=True)
        return got


class _HashingReader:
    """Reads and hashes a local file in a thread (hashlib releases the GIL), a few chunks ahead
    of the sender, so hashing overlaps the network writes."""

    def __init__(self, path: str, digest: hashlib._Hash, ahead: int = 8) -> None:
        self._fh = open(path, "rb")
        self._digest = digest
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True, name="upload-reader")

    def _read(self) -> None:
        try:
            while not self._stop.is_set():
                chunk = self._fh.read(CHUNK)
                if chunk:
                    self._digest.update(chunk)
                self._queue.put(chunk or None)
                if not chunk:
                    return
        except BaseException as e:
            self._queue.put(e)

    def __enter__(self) -> _HashingReader:
        self._thread.start()
        return self

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._fh.close()


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()
