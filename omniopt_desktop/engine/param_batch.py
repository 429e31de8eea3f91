"""All parameters of a trial in one write: one transaction on RDB, one locked append on a journal.

Optuna writes each suggested parameter on its own: on PostgreSQL a transaction of four to five
statements per parameter, on a journal file one lock + write + fsync per parameter. Inside
``with batched_params(storage):`` (``storage`` from :func:`.storage.open_storage`) the
parameters a trial suggests are held back and written together when the block ends — also when
it ends by an exception, as Optuna would have written those suggested so far. Nothing reads a
trial's parameters back from the storage while it suggests them (Optuna's ``Trial`` keeps its
own copy), and other workers see all of a trial's parameters at once or none.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, List, Tuple

Item = Tuple[int, str, float, Any]  # trial_id, name, internal value, distribution


@contextlib.contextmanager
def batched_params(storage: Any) -> Iterator[None]:
    """Hold back ``set_trial_param`` calls on ``storage`` in this thread; write them at the end."""
    from .trial_cache import enabled

    local = getattr(storage, "param_batch", None)
    if local is None or getattr(local, "items", None) is not None or not enabled():
        yield  # not a storage of ours, or already batching: nothing to do
        return
    local.items = []
    try:
        yield
    finally:
        items, local.items = local.items, None
        if items:
            from .retries import with_retries

            with_retries(write_params, storage.inner, items)


def write_params(inner: Any, items: List[Item]) -> None:
    """Write ``items`` to the Optuna storage ``inner`` in as few writes as it allows."""
    import optuna

    backend = getattr(inner, "_backend", inner)
    if getattr(inner, "oo_fast", False) and _known(inner, items):
        from .rdb_fast import write_params as fast

        fast(backend, items)  # one statement (the distributions were checked here)
        return
    if isinstance(backend, optuna.storages.RDBStorage) and hasattr(
        backend, "check_trial_is_updatable"
    ):
        _write_rdb(inner, backend, items)
    elif isinstance(inner, optuna.storages.JournalStorage) and hasattr(inner, "_replay_result"):
        _write_journal(inner, items)
    else:
        for trial_id, name, value, dist in items:
            inner.set_trial_param(trial_id, name, value, dist)


def _known(inner: Any, items: List[Item]) -> bool:
    """True when every parameter's distribution is known to ``inner``'s cache and compatible
    (the first trial's parameters take Optuna's way, which reads the study's)."""
    from optuna.distributions import check_distribution_compatibility

    for trial_id, name, _, dist in items:
        where = getattr(inner, "_trial_id_to_study_id_and_number", {}).get(trial_id)
        info = getattr(inner, "_studies", {}).get(where[0]) if where else None
        known = info.param_distribution.get(name) if info is not None else None
        if known is None:
            return False
        check_distribution_compatibility(known, dist)
    return True


def _write_rdb(inner: Any, backend: Any, items: List[Item]) -> None:
    from optuna import distributions as D
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    studies = getattr(inner, "_studies", {})
    with _create_scoped_session(backend.scoped_session, True) as session:
        trials = {}
        for trial_id, name, value, dist in items:
            trial = trials.get(trial_id)
            if trial is None:
                trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
                backend.check_trial_is_updatable(trial_id, trial.state)
                trials[trial_id] = trial
            info = studies.get(trial.study_id)
            known = info.param_distribution if info is not None else {}
            previous = known.get(name)
            if previous is None:
                row = (
                    session.query(models.TrialParamModel)
                    .join(models.TrialModel)
                    .filter(models.TrialModel.study_id == trial.study_id)
                    .filter(models.TrialParamModel.param_name == name)
                    .first()
                )
                if row is not None:
                    previous = D.json_to_distribution(row.distribution_json)
            if previous is not None:
                D.check_distribution_compatibility(previous, dist)
            session.add(
                models.TrialParamModel(
                    trial_id=trial_id,
                    param_name=name,
                    param_value=value,
                    distribution_json=D.distribution_to_json(dist),
                )
            )
            if info is not None and name not in known:
                known[name] = dist  # checked against the study's: later trials need no query


def _write_journal(inner: Any, items: List[Item]) -> None:
    from optuna.distributions import distribution_to_json
    from optuna.storages.journal._storage import JournalOperation

    from .journal_writes import append_journal

    entries = [
        (
            trial_id,
            {
                "param_name": name,
                "param_value_internal": value,
                "distribution": distribution_to_json(dist),
            },
        )
        for trial_id, name, value, dist in items
    ]
    append_journal(inner, JournalOperation.SET_TRIAL_PARAM, entries)
