"""The file-transfer contract ``cluster/`` uses for uploads and downloads, and its local form.

A :class:`FileTransfer` copies files between this machine and the cluster. ``progress`` (when
given) is called with (bytes done, bytes total). Downloads need not be atomic: callers download
to a ``.part`` name, verify, then rename. The SSH implementation (SFTP) is built on ``remote/``
by the layer above; :class:`LocalTransfer` serves runs whose "cluster" is this machine.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from fnmatch import fnmatch
from typing import Protocol

ByteProgress = Callable[[int, int], None]


class FileTransfer(Protocol):
    def download(
        self, remote_path: str, local_path: str, progress: ByteProgress | None = None
    ) -> None: ...

    def upload(
        self, local_path: str, remote_path: str, progress: ByteProgress | None = None
    ) -> None: ...

    def upload_tree(
        self,
        local_dir: str,
        remote_dir: str,
        exclude: tuple[str, ...] = (),
        progress: ByteProgress | None = None,
    ) -> None:
        """Copy the regular files of ``local_dir`` below ``remote_dir`` (folders created),
        skipping files whose relative path or name matches an ``exclude`` glob."""
        ...


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

    def upload_tree(
        self,
        local_dir: str,
        remote_dir: str,
        exclude: tuple[str, ...] = (),
        progress: ByteProgress | None = None,
    ) -> None:
        files = []
        for dirpath, _dirs, names in os.walk(local_dir):
            for name in names:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, local_dir)
                if os.path.isfile(full) and not any(
                    fnmatch(rel, p) or fnmatch(name, p) for p in exclude
                ):
                    files.append((full, os.path.join(remote_dir, rel)))
        total = sum(os.path.getsize(f) for f, _ in files)
        done = 0
        for src, dst in files:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            self._copy(src, dst, None)
            done += os.path.getsize(src)
            if progress:
                progress(done, total)
