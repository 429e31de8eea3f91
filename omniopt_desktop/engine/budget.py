"""The trial budget across racing workers: a worker never runs a trial beyond ``n_trials``.

A worker checks ``COMPLETE + RUNNING < n_trials`` before it asks, but two workers can pass that
check at the same moment and both ask. So right after the ask the worker checks again, with an
order that everyone agrees on: its trial is *surplus* when the COMPLETE trials plus the RUNNING
trials numbered below it already reach ``n_trials``. Of two racing trials only the higher-
numbered one is surplus. It is not run: it goes back to WAITING at once (:func:`release`),
with no parameters and no attributes, as an empty slot — the trial a worker asks after a
RUNNING trial fails (Optuna's ask takes WAITING trials first), or the first one of a resumed
run with more trials. A worker does not ask while ``COMPLETE + RUNNING`` reach ``n_trials``,
so an empty slot never spins between workers. No trial is added to the study's counts of
COMPLETE, PRUNED or FAIL trials by the race; at most one WAITING slot per race is left.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

from typing import Any

from .rdb_backend import rdb_backend, rdb_query
from .retries import with_retries


def claimed_before(storage: Any, study_id: int, number: int) -> int:
    """COMPLETE trials plus RUNNING trials numbered below ``number`` (one COUNT on RDB)."""
    from optuna.trial import TrialState

    inner = getattr(storage, "inner", storage)
    if getattr(inner, "oo_fast", False):  # the worker's cache on PostgreSQL (rdb_fast)
        return with_retries(inner.oo_claimed_before, study_id, number)
    backend = rdb_backend(storage)
    if backend is not None:
        from optuna.storages._rdb import models
        from sqlalchemy import and_, func, or_

        m = models.TrialModel
        return int(
            rdb_query(
                backend,
                lambda session: (
                    session.query(func.count(m.trial_id))
                    .filter(
                        m.study_id == study_id,
                        or_(
                            m.state == TrialState.COMPLETE,
                            and_(m.state == TrialState.RUNNING, m.number < number),
                        ),
                    )
                    .scalar()
                ),
            )
            or 0
        )
    from .journal_tally import journal_tally

    journal = journal_tally(storage)
    if journal is not None:
        return with_retries(journal[1].claimed_before, journal[0], study_id, number)
    return sum(
        1
        for t in storage.get_all_trials(study_id, deepcopy=False)
        if t.state == TrialState.COMPLETE or (t.state == TrialState.RUNNING and t.number < number)
    )


def is_surplus(storage: Any, study_id: int, number: int, n_trials: int) -> bool:
    """True when the just-asked RUNNING trial ``number`` would exceed ``n_trials``."""
    return claimed_before(storage, study_id, number) + 1 > n_trials


def release(storage: Any, trial_id: int) -> None:
    """Put the just-asked, untouched RUNNING trial back to WAITING (an empty slot)."""
    from optuna.trial import TrialState

    with_retries(storage.set_trial_state_values, trial_id, TrialState.WAITING)
    # The journal remembers which trial this process popped last and answers "yours" to a later
    # pop of the same trial even when another process won it: forget it.
    inner = getattr(storage, "inner", storage)
    replay = getattr(inner, "_replay_result", None)
    owned = getattr(replay, "_worker_id_to_owned_trial_id", None)
    if isinstance(owned, dict):
        lock = getattr(inner, "_thread_lock", None)
        if lock is not None:
            with lock:
                if owned.get(replay.worker_id) == trial_id:
                    del owned[replay.worker_id]
