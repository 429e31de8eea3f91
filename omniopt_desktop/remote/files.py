"""The app's own remote-related files: where they live and their private modes.

Contract: every file this package creates is 0600 and every folder 0700, whatever the umask
(modes are set explicitly, not derived from the umask). Paths come from platformdirs.
"""

from __future__ import annotations

import os

import platformdirs

APP_NAME = "omniopt-desktop"


def app_data_dir() -> str:
    return platformdirs.user_data_dir(APP_NAME, appauthor=False)


def app_known_hosts() -> str:
    """The app's own known-hosts file (read besides ``~/.ssh/known_hosts``)."""
    return os.path.join(app_data_dir(), "known_hosts")


def ensure_private_dir(path: str) -> str:
    """Create ``path`` (and parents) as 0700 when missing; existing folders are left alone."""
    if not os.path.isdir(path):
        parent = os.path.dirname(path.rstrip(os.sep))
        if parent and parent != path:
            ensure_private_dir(parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        else:
            os.chmod(path, 0o700)
    return path


def open_private(path: str, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """``os.open`` that makes a new file 0600 regardless of the umask."""
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        pass
    return fd
