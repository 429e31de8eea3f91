"""``status``: what the workstation's monitor polls, as one JSON-able dict.

Storage kind, filesystem, controller state, whether the run was stopped, counts by trial
state, best value (single objective only) and only the trials numbered above ``since`` (plus
those listed in ``refresh``). SQLite/PostgreSQL: :mod:`.status_sql`; journal:
:mod:`.status_journal`. Neither imports Optuna. Python 3.9+.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Sequence

from ..study import run_layout as L
from .run_files import STATE_FILE, read_frozen, read_json, study_name_and_url
from .status_journal import journal_status
from .status_records import TRIAL_STATES
from .status_sql import rdb_status


def status(run_dir: str, since: int = -1, refresh: Sequence[int] = ()) -> Dict[str, Any]:
    run_dir = os.path.abspath(run_dir)
    frozen = read_frozen(run_dir)
    run = frozen.get("run", {})
    name, url = study_name_and_url(run_dir, frozen)
    out: Dict[str, Any] = {
        "run_dir": run_dir,
        "storage": "postgresql" if url.startswith("postgres") else url.split(":", 1)[0],
        "filesystem": run.get("filesystem", ""),
        "n_trials": frozen.get("study", {}).get("n_trials"),
        "controller": read_json(os.path.join(run_dir, STATE_FILE)),
        "stopped": os.path.exists(os.path.join(run_dir, L.STOP_FILE)),
    }
    direction = (frozen.get("objective") or [{}])[0].get("direction", "minimize")
    exists = url.startswith("postgres") or os.path.exists(url.split(":///", 1)[1])
    if not exists:
        out.update({"counts": {s: 0 for s in TRIAL_STATES}, "trials": [], "best": None})
    elif url.startswith("journal:"):
        out.update(journal_status(run_dir, url, name, since, refresh, direction))
    else:
        out.update(rdb_status(run_dir, url, name, since, refresh, direction))
    if len(frozen.get("objective") or []) > 1:
        out["best"] = None
    return out
