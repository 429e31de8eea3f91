"""The permission bits of a file written through a temporary one (``tempfile.mkstemp`` makes it
0600 whatever the umask): what ``open()`` would have given, or the mode of the file replaced.
Run folders and exported CSVs are shared with colleagues on a cluster; a 0600 study.json or
results CSV could not be read by them. Python 3.9+, stdlib only."""

from __future__ import annotations

import os


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


def share_like_open(fd: int, target: str) -> None:
    """Give the temporary file ``fd`` the mode of ``target`` if it exists, else 0666 & ~umask."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~umask()
    os.fchmod(fd, mode)
