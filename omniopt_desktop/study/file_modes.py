"""Files written whole or not at all (a temporary file in the same folder, then a rename), with
the permission bits ``open()`` would have given or those of the file replaced: ``mkstemp``
makes 0600 whatever the umask, and run folders, exported CSVs and study files are shared with
colleagues on a cluster. Python 3.9+, stdlib only."""

from __future__ import annotations

import os
import tempfile
from typing import IO, Any, Callable, Optional, TypeVar

T = TypeVar("T")


def umask() -> int:
    """The process umask, read without changing it where Linux tells it (threads may write)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share_like_open(fd: int, target: str, new_mode: int = 0o666) -> None:
    """Give the temporary file ``fd`` the mode of ``target`` if it exists, else
    ``new_mode & ~umask``."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = new_mode & ~umask()
    os.fchmod(fd, mode)


def write_atomic(
    path: str,
    write: Callable[[IO[str]], T],
    *,
    newline: Optional[str] = None,
    sync: bool = False,
    new_mode: int = 0o666,
) -> T:
    """``write(f)`` into a temporary file beside ``path``, then rename it over ``path``: a
    reader sees the old file or the new one, never half of it (``sync``: on disk first).
    Returns what ``write`` returned."""
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".tmp", dir=folder)
    try:
        share_like_open(fd, path, new_mode)
        f: Any
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
            result = write(f)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return result
