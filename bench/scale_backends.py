"""``bench_scale.py``: the storages of the bench (one PostgreSQL server, journal files), each
handed out fresh, optionally already holding N COMPLETE trials (PostgreSQL: filled once, then
cloned per run as a template database; journal: a copied file).
"""

from __future__ import annotations

import os
import random
import shutil
import time
from typing import Any, Dict, List, Optional, Tuple

from support import scale as S
from support.postgres import start_postgres, stop_postgres

STUDY_NAME = "scale"


def prefill_trials(storage: Any, study_name: str, n: int, seed: int = 0) -> None:
    """N COMPLETE trials of the sleep study's parameters, values of a bowl (RDB: in one
    transaction; journal: Optuna's ``add_trials``)."""
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import create_trial

    dists = {
        "x": FloatDistribution(-5.0, 5.0),
        "y": FloatDistribution(0.0, 1.0),
        "n": IntDistribution(1, 8),
    }
    study = optuna.load_study(study_name=study_name, storage=storage)
    rnd = random.Random(seed)
    trials = []
    for _ in range(n):
        p = {"x": rnd.uniform(-5, 5), "y": rnd.random(), "n": rnd.randint(1, 8)}
        trials.append(create_trial(params=p, distributions=dists, value=p["x"]))
    backend = getattr(storage.inner, "_backend", None)
    if isinstance(backend, optuna.storages.RDBStorage):
        _bulk_insert(backend, study._study_id, trials, dists)
    else:
        study.add_trials(trials)


def _bulk_insert(backend: Any, study_id: int, trials: List[Any], dists: Dict[str, Any]) -> None:
    """COMPLETE trials into an RDB study in one transaction (Optuna's own models)."""
    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from optuna.trial import TrialState

    dj = {k: distribution_to_json(d) for k, d in dists.items()}
    with _create_scoped_session(backend.scoped_session, True) as session:
        for i, t in enumerate(trials):
            row = models.TrialModel(
                number=i, study_id=study_id, state=TrialState.COMPLETE,
                datetime_start=t.datetime_start, datetime_complete=t.datetime_complete,
            )  # fmt: skip
            row.params = [
                models.TrialParamModel(
                    param_name=k, param_value=dists[k].to_internal_repr(v), distribution_json=dj[k]
                )
                for k, v in t.params.items()
            ]
            row.values = [
                models.TrialValueModel(
                    objective=0, value=t.value,
                    value_type=models.TrialValueModel.TrialValueType.FINITE,
                )
            ]  # fmt: skip
            session.add(row)


class Backends:
    """The storages of the bench: one PostgreSQL server, journal files in a temp folder."""

    def __init__(self, tmp: str, max_connections: int) -> None:
        self.tmp = tmp
        self.pg: Any = None
        self.max_connections = max_connections
        self._templates: Dict[int, str] = {}
        self._journals: Dict[int, str] = {}
        self._n = 0

    def close(self) -> None:
        if self.pg is not None:
            stop_postgres(self.pg)

    def _server(self) -> Any:
        if self.pg is None:
            self.pg = start_postgres()
            if self.max_connections != 200:
                S.set_max_connections(self.pg, self.max_connections)
        return self.pg

    def url(self, kind: str, prefill: int) -> Tuple[str, Optional[str]]:
        """A fresh storage URL holding ``prefill`` COMPLETE trials; (url, pg database name)."""
        from omniopt_desktop.engine.storage import ensure_study, open_storage

        self._n += 1
        if kind == "postgres":
            pg = self._server()
            name = f"scale_{self._n}"
            if prefill:
                if prefill not in self._templates:
                    tpl = pg.create_database(f"tpl_{prefill}")
                    st = open_storage(tpl)
                    ensure_study(st, STUDY_NAME, ["minimize"])
                    t0 = time.time()
                    prefill_trials(st, STUDY_NAME, prefill)
                    st.inner._backend.engine.dispose()
                    print(f"  (prefilled {prefill} trials in {time.time() - t0:.0f} s)")
                    self._templates[prefill] = f"tpl_{prefill}"
                pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{self._templates[prefill]}"')
            else:
                pg.psql(f'CREATE DATABASE "{name}"')
            return pg.url(name), name
        path = os.path.join(self.tmp, f"j{self._n}.journal")
        if prefill:
            if prefill not in self._journals:
                src = os.path.join(self.tmp, f"tpl_{prefill}.journal")
                st = open_storage(f"journal:///{src}")
                ensure_study(st, STUDY_NAME, ["minimize"])
                prefill_trials(st, STUDY_NAME, prefill)
                self._journals[prefill] = src
            shutil.copyfile(self._journals[prefill], path)
        return f"journal:///{path}", None
