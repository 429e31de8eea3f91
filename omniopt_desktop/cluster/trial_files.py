"""A trial's command, stdout, stderr and status read from a run folder that may be on a cluster.

Contract:
- A :class:`CappedReader` reads at most about ``limit`` bytes of one file: the whole file when
  it is shorter, else its first and last ``limit // 2`` bytes joined by the cut marker of
  :mod:`omniopt_desktop.analysis.run_files` (never the whole of a huge file). A missing file
  reads as None; a connection that is lost or a file that cannot be read raises an
  :class:`~omniopt_desktop.errors.OmniOptError` with one line. ``where`` prefixes paths in
  messages (``"host:"`` for a remote folder, ``""`` here).
- :func:`read_trial_files` reads ``<run>/trials/<number>/`` through a reader; a missing trial
  folder raises :class:`ClusterError` naming where it was looked for.
- :func:`snapshot_trial_files` is the files provider of a snapshot fetched from a cluster: the
  run folder beside the database, else the trial folders fetched along
  (``<snapshot folder>/<run id>-logs/``, ``fetch --logs``), else an error saying where they are.

The SFTP reader lives in :mod:`omniopt_desktop.remote.sftp_reader`.
"""

from __future__ import annotations

import os
import posixpath
from typing import Protocol

from ..analysis import run_files
from ..analysis.run_files import TrialFiles
from ..errors import ClusterError
from ..study import run_layout as L
from ..study import trial_attrs
from .registry import Registry, RunRecord

CUT = b"\n[... cut ...]\n"  # as analysis.run_files marks a cut
FILES = (trial_attrs.CMD_FILE, trial_attrs.STDOUT_FILE, trial_attrs.STDERR_FILE,
         trial_attrs.STATUS_FILE)  # fmt: skip


class CappedReader(Protocol):
    where: str

    def is_dir(self, path: str) -> bool: ...

    def read_capped(self, path: str, limit: int) -> bytes | None: ...


def head_and_tail(head: bytes, tail: bytes) -> bytes:
    return head + CUT + tail


class LocalReader:
    """Reads files on this machine (a "cluster" that is this machine, a fetched folder)."""

    where = ""

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def read_capped(self, path: str, limit: int) -> bytes | None:
        try:
            with open(path, "rb") as f:
                data = f.read(limit + 1)
                if len(data) > limit:
                    f.seek(-(limit // 2), os.SEEK_END)
                    data = head_and_tail(data[: limit // 2], f.read())
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ClusterError(f"cannot read {path}: {e.strerror or e}") from e
        return data


def read_trial_files(
    reader: CappedReader, run_dir: str, number: int, limit: int = run_files.MAX_TEXT
) -> TrialFiles:
    """The files of trial ``number`` in ``run_dir`` (see the module docstring)."""
    folder = posixpath.join(run_dir, L.TRIALS_DIR, str(int(number)))
    if not reader.is_dir(folder):
        raise ClusterError(
            f"trial {number} has no folder {reader.where}{folder} (its worker has not started "
            f"it yet, or the run folder was moved or cleaned)"
        )
    texts = []
    for name in FILES:
        data = reader.read_capped(posixpath.join(folder, name), limit)
        texts.append(None if data is None else data.decode("utf-8", errors="replace"))
    command, stdout, stderr, status = texts
    return TrialFiles(number, reader.where + folder, command, stdout, stderr, status)


def record_of_snapshot(db_path: str, registry: Registry | None = None) -> RunRecord | None:
    """The registered cluster run a fetched snapshot belongs to (None: not a known snapshot)."""
    path = os.path.abspath(db_path)
    folder = os.path.basename(os.path.dirname(path))
    try:
        records = (registry or Registry()).all()
    except (OSError, ValueError, ClusterError):
        return None
    for r in reversed(records):  # newest first
        if path in (os.path.abspath(s) for s in r.snapshots) or folder == r.run_id:
            return r
    return None


def snapshot_trial_files(db_path: str, number: int, registry: Registry | None = None) -> TrialFiles:
    """A trial's files for the offline view of ``db_path`` (see the module docstring)."""
    local = run_files.trial_files(db_path, number)
    if any(v is not None for v in (local.command, local.stdout, local.stderr, local.status)):
        return local
    record = record_of_snapshot(db_path, registry)
    if record is None:
        return local  # a database of its own: the view says which folder has no files
    fetched = os.path.join(os.path.dirname(os.path.abspath(db_path)), f"{record.run_id}-logs")
    if os.path.isdir(L.trial_dir(fetched, number)):
        return read_trial_files(LocalReader(), fetched, number)
    remote = posixpath.join(record.remote_dir, L.TRIALS_DIR, str(int(number)))
    raise ClusterError(
        f"not fetched with the snapshot; they are on the cluster in {record.host}:{remote} "
        f"(the run's live monitor reads them from there; 'omniopt-desktop fetch "
        f"{record.run_id} --logs' downloads every trial folder)"
    )
