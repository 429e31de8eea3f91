"""What the workstation changes in a run folder: cancel the running trials, add trials.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import os
import time
from typing import List

from ..study import run_layout as L
from ..study import trial_attrs as A
from .run_files import read_frozen, read_json, study_name_and_url, write_json


def cancel_trials(run_dir: str, reason: str = "cancelled") -> List[int]:
    """Fail every RUNNING trial with ``reason`` (no retry); returns their numbers."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    from .storage import open_storage

    run_dir = os.path.abspath(run_dir)
    name, url = study_name_and_url(run_dir, read_frozen(run_dir))
    if url.startswith(("sqlite:", "journal:")) and not os.path.exists(url.split(":///", 1)[1]):
        return []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url)
    try:
        sid = storage.get_study_id_from_name(name)
    except KeyError:  # cancelled before the controller created the study: nothing ran
        return []
    done = []
    for t in storage.get_all_trials(sid, deepcopy=False, states=(TrialState.RUNNING,)):
        try:
            storage.set_trial_user_attr(t._trial_id, A.FAIL_REASON, reason)
            storage.set_trial_user_attr(t._trial_id, A.END, time.time())
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            done.append(t.number)
        except (UpdateFinishedTrialError, RuntimeError):
            continue
    return done


def add_trials(run_dir: str, add: int) -> int:
    path = os.path.join(os.path.abspath(run_dir), L.FROZEN_STUDY)
    data = read_json(path)
    if not data:
        raise SystemExit(f"{path}: cannot read the frozen study")
    data.setdefault("study", {})
    data["study"]["n_trials"] = int(data["study"].get("n_trials", 0)) + int(add)
    write_json(path, data)
    return int(data["study"]["n_trials"])
