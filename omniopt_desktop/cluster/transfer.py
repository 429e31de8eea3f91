"""The file-transfer contract ``cluster/`` uses for downloads, and its local implementation.

A :class:`FileTransfer` copies one file between this machine and the cluster. ``progress``
(when given) is called with (bytes done, bytes total). Implementations need not be atomic:
callers download to a ``.part`` name, verify, then rename. The SSH implementation lives in
``remote/`` (SFTP); :class:`LocalTransfer` serves runs whose "cluster" is this machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Protocol

ByteProgress = Callable[[int, int], None]


class FileTransfer(Protocol):
    def download(
        self, remote_path: str, local_path: str, progress: ByteProgress | None = None
    ) -> None: ...

    def upload(
        self, local_path: str, remote_path: str, progress: ByteProgress | None = None
    ) -> None: ...


class LocalTransfer:
    """Copies files on this machine, reporting progress per MiB."""

    def _copy(self, src: str, dst: str, progress: ByteProgress | None) -> None:
        total = os.path.getsize(src)
        done = 0
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        shutil.copymode(src, dst)

    def download(
        self, remote_path: str, local_path: str, progress: ByteProgress | None = None
    ) -> None:
        self._copy(remote_path, local_path, progress)

    def upload(
        self, local_path: str, remote_path: str, progress: ByteProgress | None = None
    ) -> None:
        self._copy(local_path, remote_path, progress)
