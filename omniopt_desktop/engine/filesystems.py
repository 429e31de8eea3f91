"""Which filesystem holds a path, and whether it is a network filesystem (NFS, Lustre, GPFS,
BeeGFS, CIFS, Ceph...) whose locking SQLite cannot trust when several workers share a file.

Python 3.9+, stdlib only. Also run on the cluster by ``cluster.runs`` to name the filesystem of
a new run folder.
"""

from __future__ import annotations

import os
import subprocess
from typing import Optional

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "lustre", "gpfs", "beegfs", "fuse.beegfs", "cifs", "smb3", "smbfs",
        "ceph", "fuse.ceph", "fuse.cephfs", "glusterfs", "fuse.glusterfs", "fuse.sshfs",
        "9p", "afs", "pvfs2", "orangefs", "panfs", "wekafs", "quobyte", "fuse.quobyte",
    }
)  # fmt: skip


def _unescape_mount(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")


def filesystem_type(path: str, mounts_text: Optional[str] = None) -> str:
    """Type of the filesystem holding ``path`` ("ext4", "nfs4", ...; "" when unknown)."""
    target = os.path.realpath(os.path.abspath(path))  # missing parts are kept as written
    if mounts_text is None:
        try:
            with open("/proc/mounts") as f:
                mounts_text = f.read()
        except OSError:
            mounts_text = ""
    best, best_type = "", ""
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mnt, fstype = _unescape_mount(fields[1]), fields[2]
        inside = target == mnt or target.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, best_type = mnt, fstype
    if best_type:
        return best_type
    try:
        existing = target
        while not os.path.exists(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)
        out = subprocess.run(
            ["stat", "-f", "-c", "%T", existing], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def is_network_filesystem(path: str, mounts_text: Optional[str] = None) -> bool:
    fstype = filesystem_type(path, mounts_text).lower()
    return fstype in NETWORK_FILESYSTEMS or fstype.startswith("nfs")
