"""A resumed study must keep each parameter's kind: say so before any trial runs.

Optuna refuses to record a parameter whose distribution kind differs from the one already
stored in the study (float vs int vs choice, log on/off, another list of choices, another
``fixed`` value). Without this check a run resumed after such an edit of ``study.toml`` failed
every trial with "cannot sample: CategoricalDistribution does not support dynamic value space"
until the failure limit stopped it. :func:`check_space_unchanged` raises one
:class:`~omniopt_desktop.errors.StorageError` naming the parameter, the stored and the new
definition, and what to do. Changing a float or int range is allowed (Optuna accepts it).

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

from typing import Any, Dict, List

from ..errors import StorageError
from ..study.model import Parameter, ParamType, Study
from .rdb_backend import rdb_backend, rdb_query
from .storage import with_retries


def distribution(p: Parameter) -> Any:
    """The Optuna distribution :func:`.space.suggest_one` records for ``p``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if p.type is ParamType.FLOAT:
        step = None if p.log or not p.step else float(p.step)
        return FloatDistribution(float(p.low), float(p.high), log=p.log, step=step)  # type: ignore[arg-type]
    if p.type is ParamType.INT:
        step = 1 if p.log or not p.step else int(p.step)
        return IntDistribution(int(p.low), int(p.high), log=p.log, step=step)  # type: ignore[arg-type]
    if p.type is ParamType.CHOICE:
        return CategoricalDistribution(list(p.values))
    return CategoricalDistribution([p.value])


def describe(dist: Any) -> str:
    """A distribution in study.toml words: ``float 0..1 (log)``, ``choice ['a', 'b']``, ``fixed 3``."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        choices = list(dist.choices)
        return f"fixed {choices[0]!r}" if len(choices) == 1 else f"choice {choices!r}"
    kind = "int" if isinstance(dist, IntDistribution) else "float"
    return f"{kind} {dist.low:g}..{dist.high:g}" + (" (log)" if dist.log else "")


def stored_distributions(storage: Any, study_id: int, names: List[str]) -> Dict[str, Any]:
    """One stored distribution per parameter name of ``names`` that the study has recorded."""
    from optuna.distributions import json_to_distribution

    backend = rdb_backend(storage)
    if backend is not None:
        from optuna.storages._rdb import models
        from sqlalchemy import func

        p, t = models.TrialParamModel, models.TrialModel
        rows = rdb_query(
            backend,
            lambda session: (
                session.query(p.param_name, func.min(p.distribution_json))
                .join(t, t.trial_id == p.trial_id)
                .filter(t.study_id == study_id, p.param_name.in_(names))
                .group_by(p.param_name)
                .all()
            ),
        )
        return {name: json_to_distribution(text) for name, text in rows}
    found: Dict[str, Any] = {}
    trials = with_retries(storage.get_all_trials, study_id, deepcopy=False)
    for trial in reversed(trials):
        for name, dist in trial.distributions.items():
            if name in names:
                found.setdefault(name, dist)
        if len(found) == len(names):
            break
    return found


def check_space_unchanged(storage: Any, study_name: str, study: Study) -> None:
    """Raise :class:`StorageError` when a parameter's kind differs from the stored trials'."""
    from optuna.distributions import check_distribution_compatibility

    study_id = with_retries(storage.get_study_id_from_name, study_name)
    names = [p.name for p in study.parameters]
    stored = stored_distributions(storage, study_id, names)
    for p in study.parameters:
        old = stored.get(p.name)
        if old is None:
            continue
        new = distribution(p)
        try:
            check_distribution_compatibility(old, new)
        except ValueError:
            url = getattr(getattr(storage, "spec", None), "url", "the study database")
            raise StorageError(
                f"parameter '{p.name}' is {describe(new)} in the study file but "
                f"{describe(old)} in the trials already in {url}; Optuna cannot mix the two in "
                "one study: undo the change, or start afresh with another study name or "
                "run folder (--run-dir)"
            ) from None
