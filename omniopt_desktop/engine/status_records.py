"""The trial records ``status`` reports, shared by the SQL and the journal readers.

A record: ``{"number", "state", "start", "end", "values", "params", <kept user attrs>}`` with
parameters decoded as the user wrote them (choices by value, integers as int). Python 3.9+,
stdlib only.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ..study import trial_attrs as A

FINISHED = ("COMPLETE", "PRUNED", "FAIL")
TRIAL_STATES = ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")
STATE_NAMES = {0: "RUNNING", 1: "COMPLETE", 2: "PRUNED", 3: "FAIL", 4: "WAITING"}
KEPT_ATTRS = (A.FAIL_REASON, A.RUNTIME, A.WORKER, A.HOSTNAME, A.EXIT_CODE)


def decode_param(value: float, dist_json: str) -> Any:
    """A parameter's internal value (Optuna stores floats) as the user sees it."""
    try:
        dist = json.loads(dist_json)
    except ValueError:
        return value
    name, attrs = dist.get("name", ""), dist.get("attributes", {})
    if name == "CategoricalDistribution":
        return attrs.get("choices", [value])[int(value)]
    if name.startswith("Int"):
        return int(value)
    return value


def decode_value(value: Optional[float], kind: str) -> Optional[float]:
    """An objective value as stored by Optuna's RDB (``value_type`` INF_POS/INF_NEG/FINITE)."""
    if kind == "INF_POS":
        return float("inf")
    if kind == "INF_NEG":
        return float("-inf")
    return value


def attr_field(key: str) -> str:
    """The record field of a kept user attribute (the key without its ``oo_`` prefix)."""
    return key[len(A.PREFIX) :]
