"""Build Optuna study databases for the analysis tests and benchmark.

``make_bulk_db`` lets Optuna create the schema and then inserts rows directly with SQL, so a
100,000-trial study takes seconds. The values are deterministic (a seeded generator) so tests
can compute the expected numbers from the returned :class:`BulkStudy`.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Sequence

import numpy as np

CHOICES = ["relu", "tanh", "gelu"]
BASE_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

STATE_NAMES = {0: "RUNNING", 1: "COMPLETE", 2: "PRUNED", 3: "FAIL", 4: "WAITING"}


@dataclass
class BulkStudy:
    path: str
    study_name: str
    n_trials: int
    params: Dict[str, np.ndarray]  # internal representation (choice index for categoricals)
    values: np.ndarray  # (n, k), NaN where not COMPLETE
    states: np.ndarray  # optuna TrialState values
    start: np.ndarray  # unix seconds
    end: np.ndarray  # unix seconds, NaN for RUNNING
    hosts: List[str]


def _distributions(n_params: int) -> Dict[str, dict]:
    out: Dict[str, dict] = {}
    for i in range(n_params):
        kind = i % 5
        if kind == 0:
            d = {
                "name": "FloatDistribution",
                "attributes": {"step": None, "low": 1e-5, "high": 0.1, "log": True},
            }
            out[f"lr{i}"] = d
        elif kind == 1:
            d = {
                "name": "IntDistribution",
                "attributes": {"log": False, "step": 1, "low": 1, "high": 8},
            }
            out[f"layers{i}"] = d
        elif kind == 2:
            d = {"name": "CategoricalDistribution", "attributes": {"choices": CHOICES}}
            out[f"act{i}"] = d
        else:
            d = {
                "name": "FloatDistribution",
                "attributes": {"step": None, "low": -5.0, "high": 5.0, "log": False},
            }
            out[f"x{i}"] = d
    return out


def _round_digits(x: np.ndarray, digits: int) -> np.ndarray:
    """Round to ``digits`` significant digits (through their decimal text)."""
    return np.array([float(f"{v:.{digits}g}") for v in x.tolist()])


def make_bulk_db(
    path: str,
    n_trials: int,
    n_params: int = 10,
    directions: Sequence[str] = ("minimize",),
    study_name: str = "bulk",
    seed: int = 0,
    start_number: int = 0,
    create: bool = True,
    fail_every: int = 25,
    running_last: int = 0,
) -> BulkStudy:
    """Create (or extend, with ``create=False``) a study with ``n_trials`` trials in ``path``.

    Every ``fail_every``-th trial FAILs with an ``oo_fail_reason``; the last ``running_last``
    trials are RUNNING. User attrs are those the engine writes (oo_hostname, oo_worker, ...).
    """
    if create:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna.create_study(
            storage=f"sqlite:///{path}", study_name=study_name, directions=list(directions)
        )
    rng = np.random.default_rng(seed)
    dists = _distributions(n_params)
    k = len(directions)
    n = n_trials
    params: Dict[str, np.ndarray] = {}
    for name, d in dists.items():
        a = d["attributes"]
        if d["name"] == "CategoricalDistribution":
            params[name] = rng.integers(0, len(a["choices"]), n).astype(float)
        elif d["name"] == "IntDistribution":
            params[name] = rng.integers(a["low"], a["high"] + 1, n).astype(float)
        elif a["log"]:
            # rounded to 12 digits: exp() may differ in the last bit between C libraries,
            # and the golden CSV must not depend on the machine it runs on
            params[name] = _round_digits(
                np.exp(rng.uniform(math.log(a["low"]), math.log(a["high"]), n)), 12
            )
        else:
            params[name] = rng.uniform(a["low"], a["high"], n)
    numbers = np.arange(start_number, start_number + n)
    states = np.ones(n, dtype=int)
    if fail_every:
        states[(numbers % fail_every) == fail_every - 1] = 3
    if running_last:
        states[-running_last:] = 0
    total = sum(params.values()) if params else np.zeros(n)
    values = np.empty((n, k))
    for j in range(k):
        values[:, j] = np.round((total * (j + 1)) ** 2 + rng.uniform(0, 1, n) + j, 6)
    values[states != 1] = np.nan
    start = BASE_TIME.timestamp() + numbers * 2.0
    end = start + 1.5
    end[states == 0] = np.nan
    hosts = [f"node{i}" for i in range(4)]

    con = sqlite3.connect(path)
    try:
        cur = con.cursor()
        study_id = cur.execute(
            "SELECT study_id FROM studies WHERE study_name=?", (study_name,)
        ).fetchone()[0]
        first_id = (cur.execute("SELECT max(trial_id) FROM trials").fetchone()[0] or 0) + 1
        ids = np.arange(first_id, first_id + n)

        def iso(t: float) -> Optional[str]:
            if math.isnan(t):
                return None
            return (datetime(1970, 1, 1) + timedelta(seconds=float(t))).isoformat(" ")

        cur.executemany(
            "INSERT INTO trials (trial_id, number, study_id, state, datetime_start, datetime_complete)"
            " VALUES (?,?,?,?,?,?)",
            [
                (
                    int(ids[i]),
                    int(numbers[i]),
                    study_id,
                    STATE_NAMES[int(states[i])],
                    iso(start[i]),
                    iso(end[i]),
                )
                for i in range(n)
            ],
        )
        for name, d in dists.items():
            dj = json.dumps(d)
            cur.executemany(
                "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)"
                " VALUES (?,?,?,?)",
                [(int(ids[i]), name, float(params[name][i]), dj) for i in range(n)],
            )
        rows = []
        for i in range(n):
            if states[i] == 1:
                for j in range(k):
                    rows.append((int(ids[i]), j, float(values[i, j]), "FINITE"))
        cur.executemany(
            "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?,?,?,?)",
            rows,
        )
        attrs = []
        for i in range(n):
            tid = int(ids[i])
            host = hosts[int(numbers[i]) % len(hosts)]
            num = int(numbers[i])
            attrs.append((tid, "oo_hostname", json.dumps(host)))
            attrs.append((tid, "oo_worker", json.dumps(f"{host}:{1000 + num % 8}")))
            attrs.append((tid, "oo_command", json.dumps(f"python3 train.py --n {num}")))
            attrs.append((tid, "oo_start", json.dumps(float(start[i]))))
            if states[i] != 0:
                attrs.append((tid, "oo_end", json.dumps(float(end[i]))))
                attrs.append((tid, "oo_runtime", json.dumps(1.5)))
                attrs.append((tid, "oo_exit_code", json.dumps(0 if states[i] == 1 else 1)))
            if states[i] == 3:
                reason = "exit code 1" if num % 2 else "no RESULT line in output"
                attrs.append((tid, "oo_fail_reason", json.dumps(reason)))
            if states[i] == 1:
                attrs.append((tid, "oo_info.epochs", json.dumps(num % 7)))
        cur.executemany(
            "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?,?,?)", attrs
        )
        con.commit()
    finally:
        con.close()
    return BulkStudy(path, study_name, n, params, values, states, start, end, hosts)
