"""Optuna's distribution JSON → :class:`ParamInfo`, without importing optuna.

Understands the unified 3.x+ names (FloatDistribution, IntDistribution,
CategoricalDistribution) and the pre-3.0 ones still found in old databases.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..errors import AnalysisError
from .columns import ParamInfo, ParamKind

_LEGACY_FLOAT = {
    "UniformDistribution": False,
    "LogUniformDistribution": True,
    "DiscreteUniformDistribution": False,
}
_LEGACY_INT = {"IntUniformDistribution": False, "IntLogUniformDistribution": True}


def parse_distribution(name: str, text: Any) -> ParamInfo:
    """The :class:`ParamInfo` of parameter ``name`` from its ``distribution_json``."""
    try:
        d = json.loads(text) if isinstance(text, (str, bytes)) else text
        kind = d["name"]
        a: Mapping[str, Any] = d.get("attributes", {})
    except (TypeError, ValueError, KeyError) as e:
        raise AnalysisError(f"parameter '{name}': unreadable distribution {text!r}") from e
    if kind == "CategoricalDistribution":
        return ParamInfo(name, ParamKind.CATEGORICAL, choices=tuple(a.get("choices", ())))
    if kind == "FloatDistribution" or kind in _LEGACY_FLOAT:
        log = bool(a.get("log", _LEGACY_FLOAT.get(kind, False)))
        step = a.get("step", a.get("q"))
        return ParamInfo(name, ParamKind.FLOAT, _f(a.get("low")), _f(a.get("high")), log, _f(step))
    if kind == "IntDistribution" or kind in _LEGACY_INT:
        log = bool(a.get("log", _LEGACY_INT.get(kind, False)))
        step = a.get("step", 1)
        return ParamInfo(name, ParamKind.INT, _f(a.get("low")), _f(a.get("high")), log, _f(step))
    raise AnalysisError(f"parameter '{name}': unknown distribution '{kind}'")


def _f(v: Any) -> Any:
    return None if v is None else float(v)
