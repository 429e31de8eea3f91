"""Files of a run folder beside a result database: the frozen study and per-trial outputs.

A snapshot fetched from a cluster may sit alone (no run folder around it): every lookup then
answers None rather than failing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Optional

from ..study import run_layout, trial_attrs
from ..study.model import Study

MAX_TEXT = 2_000_000  # characters of stdout/stderr shown at most (head and tail kept)


def run_dir_of(db_path: str) -> str:
    """The run folder of a database: its folder, or the run folder above ``snapshots/``."""
    folder = os.path.dirname(os.path.abspath(db_path))
    if os.path.basename(folder) == run_layout.SNAPSHOTS_DIR:
        return os.path.dirname(folder)
    return folder


def frozen_study(db_path: str) -> Optional[Study]:
    """The study frozen beside the database (``study.json``), or None."""
    path = os.path.join(run_dir_of(db_path), run_layout.FROZEN_STUDY)
    try:
        with open(path, encoding="utf-8") as f:
            return Study.from_dict(json.load(f))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class TrialFiles:
    """What the run folder holds about one trial (None: no such file)."""

    number: int
    folder: str
    command: Optional[str]
    stdout: Optional[str]
    stderr: Optional[str]
    status: Optional[str]


def _read(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TEXT + 1)
            if len(data) > MAX_TEXT:
                f.seek(-MAX_TEXT // 2, os.SEEK_END)
                tail = f.read()
                data = data[: MAX_TEXT // 2] + b"\n[... cut ...]\n" + tail
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def trial_files(db_path: str, number: int) -> TrialFiles:
    """A trial's command, stdout, stderr and status from ``trials/<number>/`` of the run folder."""
    folder = run_layout.trial_dir(run_dir_of(db_path), number)
    return TrialFiles(
        number=number,
        folder=folder,
        command=_read(os.path.join(folder, trial_attrs.CMD_FILE)),
        stdout=_read(os.path.join(folder, trial_attrs.STDOUT_FILE)),
        stderr=_read(os.path.join(folder, trial_attrs.STDERR_FILE)),
        status=_read(os.path.join(folder, trial_attrs.STATUS_FILE)),
    )
