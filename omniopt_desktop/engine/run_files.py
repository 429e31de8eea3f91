"""The files the controller keeps in a run folder, and the raw frozen study it reads.

``controller.json`` (the controller's state and reason) and ``jobs.txt`` (one line per SLURM job
submitted: ``<job id> wrk|ctl <count> <unix time>``). JSON is written whole or not at all
(temp file + ``os.replace``). Python 3.9+, stdlib only.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, Tuple

from ..study import run_layout as L
from .frozen import write_json_atomic

STATE_FILE = L.CONTROLLER_STATE
JOBS_FILE = L.JOBS_FILE


def write_json(path: str, data: Any, compact: bool = False) -> None:
    write_json_atomic(path, data, compact=compact)


def read_json(path: str) -> Dict[str, Any]:
    """The JSON object in ``path``; ``{}`` when it is missing, unreadable or not an object."""
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def read_frozen(run_dir: str) -> Dict[str, Any]:
    """``<run>/study.json`` as a plain dict (no Study model: the probes need only a few keys)."""
    return read_json(os.path.join(run_dir, L.FROZEN_STUDY))


def study_name_and_url(run_dir: str, frozen: Dict[str, Any]) -> Tuple[str, str]:
    """The study's name and its storage URL, from a frozen study read by :func:`read_frozen`."""
    name = frozen.get("study", {}).get("name", "study")
    return name, L.storage_url(run_dir, frozen.get("run", {}).get("storage", "sqlite"))


def record_job(run_dir: str, job: str, kind: str, count: int) -> None:
    """Append a submitted job to ``jobs.txt`` (``kind``: ``wrk`` workers, ``ctl`` controller)."""
    with open(os.path.join(run_dir, L.JOBS_FILE), "a") as f:
        f.write(f"{job} {kind} {count} {time.time():.0f}\n")
