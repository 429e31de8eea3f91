"""How many trials of a study are in each state, asked the cheapest way the storage allows:
the worker's PostgreSQL cache, one COUNT query on RDB, the journal's running tally, or (any
other storage) all trials.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

from typing import Any, Dict

from .rdb_backend import rdb_backend, rdb_query
from .retries import with_retries


def count_states(storage: Any, study_id: int) -> Dict[str, int]:
    """Number of trials per state name ("COMPLETE", "RUNNING", ...); one COUNT query on RDB."""
    from optuna.trial import TrialState

    counts = {s.name: 0 for s in TrialState}
    inner = getattr(storage, "inner", storage)
    if getattr(inner, "oo_fast", False):  # the worker's cache on PostgreSQL (rdb_fast)
        counts.update(with_retries(inner.oo_counts, study_id))
        return counts
    backend = rdb_backend(storage)
    if backend is not None:
        from optuna.storages._rdb import models
        from sqlalchemy import func

        m = models.TrialModel
        rows = rdb_query(
            backend,
            lambda session: (
                session.query(m.state, func.count(m.trial_id))
                .filter(m.study_id == study_id)
                .group_by(m.state)
                .all()
            ),
        )
        for state, n in rows:
            counts[TrialState(state).name if not isinstance(state, TrialState) else state.name] = n
        return counts
    from .journal_tally import journal_tally

    journal = journal_tally(storage)
    if journal is not None:
        counts.update(with_retries(journal[1].counts, journal[0], study_id))
        return counts
    for t in storage.get_all_trials(study_id, deepcopy=False):
        counts[t.state.name] += 1
    return counts
