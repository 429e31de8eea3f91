"""A trial's end on PostgreSQL in one statement: its user attrs, values and state together.

Optuna's ``tell`` reads the trial, writes the values and the state in a transaction, then reads
the trial again; the worker's attrs were one more transaction before it. On PostgreSQL with the
worker's cache (:mod:`.rdb_fast`), :func:`finish_fast` writes all three at once, and a trial a
reaper has finished meanwhile gets none of it (logged; its result stays on disk). Elsewhere it
returns False and the worker uses Optuna's ``tell``.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, List, Optional

from .retries import with_retries

log = logging.getLogger("omniopt.worker")


def clean_attrs(attrs: Dict[str, Any]) -> Dict[str, Any]:
    """The attrs worth storing: no None, no NaN or infinity."""
    return {
        k: v
        for k, v in attrs.items()
        if v is not None and not (isinstance(v, float) and not math.isfinite(v))
    }


def finish_fast(
    study: Any, trial: Any, attrs: Dict[str, Any], values: Optional[List[float]], state: Any
) -> bool:
    """Record the end of ``trial`` (attrs, values, state) in one statement where the storage is
    the worker's cache on PostgreSQL and the sampler is TPE or random (their ``after_trial``
    reads nothing from the study); False where not (the caller uses Optuna's ``tell``)."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError

    inner = getattr(study._storage, "inner", None)
    sampler = study.sampler
    if not getattr(inner, "oo_fast", False) or type(sampler) not in (
        optuna.samplers.TPESampler,
        optuna.samplers.RandomSampler,
    ):
        return False
    study._thread_local.cached_all_trials = None  # as Optuna's tell
    try:
        sampler.after_trial(study, trial._cached_frozen_trial, state, values)
        with_retries(inner.oo_finish, trial._trial_id, state, values, clean_attrs(attrs))
    except UpdateFinishedTrialError:
        log.warning(
            "trial %d was already finished by a reaper; result kept on disk only", trial.number
        )
    return True
