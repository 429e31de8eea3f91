"""Trials from a cluster run's status answer (``controller status``) as :class:`TrialColumns`.

The live monitor of a cluster run gets trials as JSON dicts (``number``, ``state`` name,
``start``/``end`` datetime texts, ``values`` list or None, ``params`` with the user's values,
and ``fail_reason``/``runtime``/``worker``/``hostname``/``exit_code``). This turns a batch of
them into the same columns the database loaders give, so the analysis views take them as they
are. Parameter kinds come from the study (its search space); a parameter the study does not
name is inferred from its values. No Qt, no Optuna.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..study import trial_attrs as A
from ..study.model import ParamType, Study
from .columns import (
    STATE_BY_NAME,
    ParamInfo,
    ParamKind,
    StudyInfo,
    TrialColumns,
    attr_column,
    empty_columns,
)

# keys of a status trial dict that are user attributes (the engine strips the "oo_" prefix)
STATUS_ATTRS = ("fail_reason", "runtime", "worker", "hostname", "exit_code")


def study_info(study: Study, source: str = "") -> StudyInfo:
    """What the views need to know about the study, from its definition."""
    return StudyInfo(
        name=study.name,
        directions=tuple(study.directions),
        objective_names=tuple(o.name for o in study.objectives),
        source=source,
        storage_kind="status",
    )


def param_infos(study: Study) -> Dict[str, ParamInfo]:
    """The study's parameters as the distributions the engine asks Optuna for."""
    out: Dict[str, ParamInfo] = {}
    for p in study.parameters:
        if p.type is ParamType.FLOAT:
            step = None if p.log or not p.step else float(p.step)
            out[p.name] = ParamInfo(p.name, ParamKind.FLOAT, _f(p.low), _f(p.high), p.log, step)
        elif p.type is ParamType.INT:
            step = 1.0 if p.log or not p.step else float(p.step)
            out[p.name] = ParamInfo(p.name, ParamKind.INT, _f(p.low), _f(p.high), p.log, step)
        elif p.type is ParamType.CHOICE:
            out[p.name] = ParamInfo(p.name, ParamKind.CATEGORICAL, choices=tuple(p.values))
        else:  # FIXED: a categorical with one choice, as the engine suggests it
            out[p.name] = ParamInfo(p.name, ParamKind.CATEGORICAL, choices=(p.value,))
    return out


def _f(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def to_epoch(text: Any, naive_is_utc: bool = True) -> float:
    """A datetime text of the status (``2026-12-04 18:30:00.123456`` or ISO with ``T``) as unix
    seconds; NaN when missing or unreadable. Optuna >= 5 stores naive UTC, older local time."""
    if not text:
        return math.nan
    try:
        d = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return math.nan
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc) if naive_is_utc else d.astimezone()
    return d.timestamp()


def _infer(name: str, values: Iterable[Any]) -> ParamInfo:
    """A parameter the study does not describe: numbers are float (int when all are), else
    a categorical of the values in order of appearance."""
    present = [v for v in values if v is not None]
    numeric = [v for v in present if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if present and len(numeric) == len(present):
        kind = ParamKind.INT if all(isinstance(v, int) for v in numeric) else ParamKind.FLOAT
        return ParamInfo(name, kind, float(min(numeric)), float(max(numeric)))
    return ParamInfo(name, ParamKind.CATEGORICAL, choices=tuple(dict.fromkeys(present)))


def _internal(info: ParamInfo, value: Any) -> tuple[float, ParamInfo]:
    """Optuna's internal float for a user's value (the choice index for categoricals); a choice
    the distribution does not list is added to it."""
    if value is None:
        return math.nan, info
    if info.kind is ParamKind.CATEGORICAL:
        for i, c in enumerate(info.choices):
            if c == value and type(c) is type(value):
                return float(i), info
        grown = ParamInfo(info.name, info.kind, choices=(*info.choices, value))
        return float(len(info.choices)), grown
    try:
        return float(value), info
    except (TypeError, ValueError):
        return math.nan, info


class StatusConverter:
    """Turns successive batches of status trials into columns with stable parameter encodings:
    a categorical's choice indices never change between batches (a new choice is appended),
    so batches merge with :meth:`TrialColumns.merged`."""

    def __init__(
        self,
        info: StudyInfo,
        params: Optional[Mapping[str, ParamInfo]] = None,
        naive_is_utc: bool = True,
    ) -> None:
        self.info = info
        self.declared = tuple(params or {})
        self.params: Dict[str, ParamInfo] = dict(params or {})
        self.naive_is_utc = naive_is_utc

    @classmethod
    def for_study(cls, study: Study, source: str = "") -> StatusConverter:
        return cls(study_info(study, source), param_infos(study))

    def empty(self) -> TrialColumns:
        return empty_columns(self.info)

    def convert(self, trials: Sequence[Mapping[str, Any]]) -> TrialColumns:
        """Columns for a batch of status trial dicts (any order; same number: the last wins)."""
        by_number: Dict[int, Mapping[str, Any]] = {}
        for t in trials:
            by_number[int(t["number"])] = t
        rows = [by_number[n] for n in sorted(by_number)]
        if not rows:
            return self.empty()
        n, k = len(rows), self.info.n_objectives
        plist = [t.get("params") or {} for t in rows]
        seen: Dict[str, None] = {}
        for p in plist:
            seen.update(dict.fromkeys(p))
        for name in seen:
            if name not in self.params:
                self.params[name] = _infer(name, (p.get(name) for p in plist))
        values = np.full((n, k), np.nan)
        for i, t in enumerate(rows):
            vs = t.get("values")
            if vs and str(t.get("state")) == "COMPLETE":
                for j, v in enumerate(vs[:k]):
                    values[i, j] = np.nan if v is None else float(v)
        param_cols: Dict[str, np.ndarray] = {}
        for name in self.params:
            col, info_p = _column(self.params[name], [p.get(name) for p in plist])
            self.params[name] = _widened(info_p, col, name in self.declared)
            if name in self.declared or not np.isnan(col).all():
                param_cols[name] = col
        attrs = {}
        for key in STATUS_ATTRS:
            if any(key in t for t in rows):
                attrs[A.PREFIX + key] = attr_column([t.get(key) for t in rows])
        utc = self.naive_is_utc
        start = _epochs([t.get("start") for t in rows], utc)
        complete = _epochs([t.get("end") for t in rows], utc)
        return TrialColumns(
            study=self.info,
            number=np.array([int(t["number"]) for t in rows], dtype=np.int64),
            state=np.array([STATE_BY_NAME.get(str(t.get("state")), -1) for t in rows], np.int8),
            values=values,
            start=start,
            complete=complete,
            params=param_cols,
            param_info={name: self.params[name] for name in param_cols},
            user_attrs=attrs,
        )


def _column(info: ParamInfo, raw: list) -> tuple[np.ndarray, ParamInfo]:
    """One parameter's internal values (NaN where absent) and its possibly grown info."""
    if info.kind is not ParamKind.CATEGORICAL:
        try:
            return np.array(raw, dtype=np.float64), info  # None becomes NaN
        except (TypeError, ValueError):
            pass  # a value that is no number: one by one below
    col = np.full(len(raw), np.nan)
    index = {(type(c), c): float(i) for i, c in enumerate(info.choices)}
    for i, v in enumerate(raw):
        if v is None:
            continue
        if info.kind is ParamKind.CATEGORICAL:
            try:
                col[i] = index[(type(v), v)]
                continue
            except (KeyError, TypeError):  # a new choice (or an unhashable one)
                pass
        col[i], info = _internal(info, v)
        if info.kind is ParamKind.CATEGORICAL and len(info.choices) > len(index):
            try:
                index[(type(v), v)] = col[i]
            except TypeError:
                pass
    return col, info


def _epochs(texts: list, naive_is_utc: bool) -> np.ndarray:
    """Datetime texts as unix seconds: numpy parses naive UTC texts at once; anything else
    (an offset, local time, a foreign format) goes through :func:`to_epoch`."""
    if naive_is_utc:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # numpy warns about (and drops) UTC offsets
                arr = np.array(texts, dtype="datetime64[us]")
            out = arr.astype(np.int64).astype(np.float64) / 1e6
            out[np.isnat(arr)] = np.nan
            return out
        except (ValueError, TypeError, Warning):
            pass
    return np.array([to_epoch(t, naive_is_utc) for t in texts], dtype=np.float64)


def _widened(info: ParamInfo, col: np.ndarray, declared: bool) -> ParamInfo:
    """An inferred numeric parameter's range grown to the values seen."""
    if declared or info.kind is ParamKind.CATEGORICAL or np.isnan(col).all():
        return info
    lo, hi = float(np.nanmin(col)), float(np.nanmax(col))
    low = lo if info.low is None else min(info.low, lo)
    high = hi if info.high is None else max(info.high, hi)
    return ParamInfo(info.name, info.kind, low, high, info.log, info.step)


def status_trials_to_columns(
    trials: Sequence[Mapping[str, Any]],
    info: StudyInfo,
    params: Optional[Mapping[str, ParamInfo]] = None,
    naive_is_utc: bool = True,
) -> TrialColumns:
    """One batch of status trial dicts as columns (see :class:`StatusConverter` for several)."""
    return StatusConverter(info, params, naive_is_utc).convert(trials)
