"""Trials of an Optuna RDB study read with two SQL statements and no ORM objects.

Optuna's loader (``RDBStorage._get_trials``) runs seven statements per read (the study check,
the trials, one per kind of child row) and builds an ORM object per row before the
``FrozenTrial``: at 8 active workers on PostgreSQL that was most of a worker's CPU per trial
(docs/scaling.md). :func:`load_trials` reads the same rows with SQLAlchemy Core — the trials,
then every child row (parameters, values, user and system attributes, intermediate values) in
one ``UNION ALL`` — and builds the same ``FrozenTrial`` objects as Optuna
(``RDBStorage._build_frozen_trial_from_trial_model``; ``tests/scale/test_scale_rows.py``
compares them). Distributions are decoded once per distinct JSON text.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, Iterable, List, Optional

PARAM, VALUE, USER, SYSTEM, INTERMEDIATE = range(5)


def _local(utc: Optional[datetime.datetime]) -> Optional[datetime.datetime]:
    """Optuna's RDB columns hold naive UTC; its trials carry naive local time."""
    if utc is None:
        return None
    return utc.replace(tzinfo=datetime.timezone.utc).astimezone().replace(tzinfo=None)


class RowLoader:
    """Loads trials of one RDB storage (``backend``: Optuna's ``RDBStorage``)."""

    def __init__(self, backend: Any) -> None:
        import sqlalchemy as sa
        from optuna.storages._rdb import models

        self.backend = backend
        self._dists: Dict[str, Any] = {}
        m = models
        self.T = m.TrialModel.__table__
        self.models = m
        P = m.TrialParamModel.__table__
        V = m.TrialValueModel.__table__
        U = m.TrialUserAttributeModel.__table__
        S = m.TrialSystemAttributeModel.__table__
        IV = m.TrialIntermediateValueModel.__table__
        no_num = sa.cast(sa.null(), sa.Float)
        no_text = sa.cast(sa.null(), sa.Text)
        self._parts = [
            (P, [sa.literal(PARAM), P.c.trial_id, P.c.param_id, P.c.param_name,
                 P.c.param_value, sa.cast(P.c.distribution_json, sa.Text)]),
            (V, [sa.literal(VALUE), V.c.trial_id, V.c.objective,
                 sa.cast(V.c.value_type, sa.String), V.c.value, no_text]),
            (U, [sa.literal(USER), U.c.trial_id, U.c.trial_user_attribute_id, U.c.key,
                 no_num, sa.cast(U.c.value_json, sa.Text)]),
            (S, [sa.literal(SYSTEM), S.c.trial_id, S.c.trial_system_attribute_id, S.c.key,
                 no_num, sa.cast(S.c.value_json, sa.Text)]),
            (IV, [sa.literal(INTERMEDIATE), IV.c.trial_id, IV.c.step,
                  sa.cast(IV.c.intermediate_value_type, sa.String), IV.c.intermediate_value,
                  no_text]),
        ]  # fmt: skip

    def _dist(self, text: str) -> Any:
        d = self._dists.get(text)
        if d is None:
            from optuna.distributions import json_to_distribution

            d = self._dists[text] = json_to_distribution(text)
        return d

    def _where(self, study_id: int, ids: Optional[Iterable[int]], above: int) -> Any:
        import sqlalchemy as sa

        T = self.T
        cond = T.c.study_id == study_id
        ids = sorted(set(ids or ()))
        if ids and above > -1:
            return sa.and_(cond, sa.or_(T.c.trial_id.in_(ids), T.c.trial_id > above))
        if ids:
            return sa.and_(cond, T.c.trial_id.in_(ids))
        if above > -1:
            return sa.and_(cond, T.c.trial_id > above)
        return cond

    def load(
        self, connection: Any, study_id: int, ids: Optional[Iterable[int]] = None, above: int = -1
    ) -> List[Any]:
        """The trials of ``study_id`` whose id is in ``ids`` or above ``above`` (all trials
        when neither is given), in id order, as Optuna builds them."""
        import sqlalchemy as sa
        from optuna.trial import FrozenTrial, TrialState

        T = self.T
        where = self._where(study_id, ids, above)
        rows = connection.execute(
            sa.select(
                T.c.trial_id, T.c.number, T.c.state, T.c.datetime_start, T.c.datetime_complete
            )
            .where(where)
            .order_by(T.c.trial_id)
        ).all()
        if not rows:
            return []
        chosen = sa.select(T.c.trial_id).where(where)
        union = sa.union_all(
            *(sa.select(*cols).where(tbl.c.trial_id.in_(chosen)) for tbl, cols in self._parts)
        )
        kids: Dict[int, List[Any]] = {}
        for r in connection.execute(union).all():
            kids.setdefault(r[1], []).append(r)
        m = self.models
        VT, IT = m.TrialValueModel, m.TrialIntermediateValueModel
        out = []
        for trial_id, number, state, start, complete in rows:
            params: List[Any] = []
            values: Dict[int, float] = {}
            user: Dict[str, Any] = {}
            system: Dict[str, Any] = {}
            inter: Dict[int, float] = {}
            for kind, _, order, key, num, text in kids.get(trial_id, ()):
                if kind == PARAM:
                    params.append((order, key, num, text))
                elif kind == VALUE:
                    values[order] = VT.stored_repr_to_value(num, VT.TrialValueType[key])
                elif kind == USER:
                    user[key] = json.loads(text)
                elif kind == SYSTEM:
                    system[key] = json.loads(text)
                else:
                    inter[order] = IT.stored_repr_to_intermediate_value(
                        num, IT.TrialIntermediateValueType[key]
                    )
            params.sort()
            dists = {name: self._dist(text) for _, name, _, text in params}
            out.append(
                FrozenTrial(
                    number=number,
                    state=state if isinstance(state, TrialState) else TrialState[state],
                    value=None,
                    values=[values[k] for k in range(len(values))] if values else None,
                    datetime_start=_local(start),
                    datetime_complete=_local(complete),
                    params={n: dists[n].to_external_repr(v) for _, n, v, _ in params},
                    distributions=dists,
                    user_attrs=user,
                    system_attrs=system,
                    intermediate_values=inter,
                    trial_id=trial_id,
                )
            )
        return out
