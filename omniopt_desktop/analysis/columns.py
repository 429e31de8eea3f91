"""A study's trials as numpy columns: what every loader returns and every view reads.

One row per trial, sorted by trial number. Parameters are kept in Optuna's internal float
representation (the index into ``choices`` for categorical ones); :meth:`ParamInfo.external`
turns one back into the user's value. Missing numbers are NaN, missing objects None.
"""

from __future__ import annotations

import enum
import threading
import weakref
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Tuple

import numpy as np


class TrialState(enum.IntEnum):
    """Optuna's trial states, same numbers (no optuna import needed to read a study)."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


STATE_BY_NAME = {s.name: int(s) for s in TrialState}
_NAMES = {int(s): s.name for s in TrialState}


def state_name(code: int) -> str:
    """``COMPLETE`` etc.; ``UNKNOWN`` for a state this version does not know."""
    return _NAMES.get(int(code), "UNKNOWN")


class ParamKind(str, enum.Enum):
    FLOAT = "float"
    INT = "int"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class ParamInfo:
    """One parameter's distribution as stored by Optuna."""

    name: str
    kind: ParamKind
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    step: Optional[float] = None
    choices: Tuple[Any, ...] = ()

    @property
    def is_categorical(self) -> bool:
        return self.kind is ParamKind.CATEGORICAL

    def external(self, internal: float) -> Any:
        """The user's value for one internal value (None when missing)."""
        if internal is None or internal != internal:  # NaN
            return None
        if self.kind is ParamKind.CATEGORICAL:
            i = int(internal)
            return self.choices[i] if 0 <= i < len(self.choices) else None
        if self.kind is ParamKind.INT:
            return int(round(internal))
        return float(internal)

    def label(self, internal: float) -> str:
        """Short text for a table cell: floats with 6 significant digits (see :meth:`text`)."""
        v = self.external(internal)
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"
        return "" if v is None else str(v)

    def text(self, internal: float) -> str:
        """The value in full, as the program got it."""
        from ..study.template import format_value

        v = self.external(internal)
        return "" if v is None else format_value(v)


@dataclass(frozen=True)
class StudyInfo:
    """What is known about the study itself."""

    name: str
    directions: Tuple[str, ...]  # "minimize" | "maximize" per objective
    objective_names: Tuple[str, ...]
    source: str = ""  # the file it was read from
    storage_kind: str = "sqlite"  # "sqlite" | "journal"

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    @property
    def is_multi_objective(self) -> bool:
        return len(self.directions) > 1


@dataclass(frozen=True)
class TrialColumns:
    """Trials of one study as columns (all arrays have the same length, sorted by number)."""

    study: StudyInfo
    number: np.ndarray  # int64
    state: np.ndarray  # int8, TrialState values
    values: np.ndarray  # float64 (n, n_objectives); NaN where not COMPLETE
    start: np.ndarray  # float64 unix seconds (UTC), NaN when unknown
    complete: np.ndarray  # float64 unix seconds (UTC), NaN when unknown
    params: Mapping[str, np.ndarray] = field(default_factory=dict)  # float64 internal repr
    param_info: Mapping[str, ParamInfo] = field(default_factory=dict)
    user_attrs: Mapping[str, np.ndarray] = field(default_factory=dict)  # float64 or object

    def __len__(self) -> int:
        return int(self.number.shape[0])

    @property
    def param_names(self) -> Tuple[str, ...]:
        return tuple(self.params)

    @property
    def last_number(self) -> int:
        """Highest trial number loaded (-1 when empty): pass it as ``after_number`` to poll."""
        return int(self.number[-1]) if len(self) else -1

    def count(self, state: TrialState) -> int:
        return int(np.count_nonzero(self.state == int(state)))

    def attr(self, key: str) -> Optional[np.ndarray]:
        return self.user_attrs.get(key)

    def param_value(self, name: str, row: int) -> Any:
        return self.param_info[name].external(self.params[name][row])

    def row_params(self, row: int) -> Dict[str, Any]:
        """A trial's parameters as the user's values (absent ones left out)."""
        out: Dict[str, Any] = {}
        for name, col in self.params.items():
            if col[row] == col[row]:  # present (a choice may be None itself)
                out[name] = self.param_info[name].external(col[row])
        return out

    def row_of(self, number: int) -> Optional[int]:
        i = int(np.searchsorted(self.number, number))
        return i if i < len(self) and int(self.number[i]) == number else None

    def take(self, rows: np.ndarray) -> TrialColumns:
        """The trials at ``rows`` (an index or boolean array), same study."""
        return replace(
            self,
            number=self.number[rows],
            state=self.state[rows],
            values=self.values[rows],
            start=self.start[rows],
            complete=self.complete[rows],
            params={k: v[rows] for k, v in self.params.items()},
            user_attrs={k: v[rows] for k, v in self.user_attrs.items()},
        )

    def merged(self, newer: TrialColumns) -> TrialColumns:
        """These trials updated with ``newer`` ones (same number: newer wins), sorted by number.

        Used by the live monitor: new trials are appended, re-read running ones replaced.
        """
        if not len(newer):
            return self
        if not len(self):
            return newer
        keep = ~np.isin(self.number, newer.number)
        keep_all = bool(keep.all())
        if keep_all and newer.number[0] > self.number[-1]:
            order = None
        else:
            order = np.argsort(np.concatenate([self.number[keep], newer.number]), kind="stable")
        n_new = len(newer)

        def cat(
            a: Optional[np.ndarray], b: Optional[np.ndarray], fill: Any, dtype: Any
        ) -> np.ndarray:
            if a is None:
                a = np.full(len(self), fill, dtype=dtype)
            if b is None:
                b = np.full(n_new, fill, dtype=dtype)
            if a.dtype != b.dtype:
                a, b = a.astype(object), b.astype(object)
            if order is None:
                return _extended(a, b)  # new trials after the last: appended in place
            return np.concatenate([a if keep_all else a[keep], b])[order]

        params = {}
        for name in _union(self.params, newer.params):
            params[name] = cat(self.params.get(name), newer.params.get(name), np.nan, np.float64)
        attrs = {}
        for key in _union(self.user_attrs, newer.user_attrs):
            a, b = self.user_attrs.get(key), newer.user_attrs.get(key)
            numeric = (a is None or a.dtype.kind == "f") and (b is None or b.dtype.kind == "f")
            attrs[key] = cat(a, b, np.nan if numeric else None, np.float64 if numeric else object)
        info = dict(self.param_info)
        info.update(newer.param_info)
        return TrialColumns(
            study=newer.study,
            number=cat(self.number, newer.number, -1, np.int64),
            state=cat(self.state, newer.state, 0, np.int8),
            values=cat(self.values, newer.values, np.nan, np.float64),
            start=cat(self.start, newer.start, np.nan, np.float64),
            complete=cat(self.complete, newer.complete, np.nan, np.float64),
            params=params,
            param_info=info,
            user_attrs=attrs,
        )


_GROWTH = 1.25  # spare room of a column buffer, relative to its rows
_filled: Dict[int, Tuple[Any, int]] = {}  # id(buffer) -> (weak reference to it, rows in use)
_filled_lock = threading.Lock()


def _extended(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` followed by ``b``. Columns live in buffers with spare room at the end: when ``a``
    is the newest view of its buffer (nothing was appended to it yet), ``b`` is written into
    the room after it, so a live study of 100,000 trials takes 100 more without copying
    every column. ``a`` itself (an older TrialColumns) never sees a change."""
    n, m = len(a), len(b)
    with _filled_lock:
        base = a.base
        if (
            isinstance(base, np.ndarray)
            and id(base) in _filled
            and _filled[id(base)][0]() is base
            and _filled[id(base)][1] == n
            and base.dtype == a.dtype
            and base.shape[1:] == a.shape[1:]
            and len(base) >= n + m
            and a.ctypes.data == base.ctypes.data
            and a.strides == base.strides
        ):
            base[n : n + m] = b
            _filled[id(base)] = (_filled[id(base)][0], n + m)
            return base[: n + m]
        buf = np.empty((int((n + m) * _GROWTH) + 256, *a.shape[1:]), dtype=a.dtype)
        buf[:n] = a
        buf[n : n + m] = b
        key = id(buf)
        _filled[key] = (weakref.ref(buf, lambda _, k=key: _filled.pop(k, None)), n + m)
        return buf[: n + m]


def _union(a: Iterable[str], b: Iterable[str]) -> list:
    seen = dict.fromkeys(a)
    seen.update(dict.fromkeys(b))
    return list(seen)


def empty_columns(study: StudyInfo) -> TrialColumns:
    k = len(study.directions)
    return TrialColumns(
        study=study,
        number=np.empty(0, dtype=np.int64),
        state=np.empty(0, dtype=np.int8),
        values=np.empty((0, k)),
        start=np.empty(0),
        complete=np.empty(0),
    )


_NUMERIC_TYPES = {int, float, type(None)}


def attr_column(values: Sequence[Any]) -> np.ndarray:
    """A user-attr column: float64 when every present value is a number, else objects.
    ``values`` may be a list or an object array (then returned as it is if not numbers)."""
    types = set(map(type, values))
    if types <= _NUMERIC_TYPES:
        if isinstance(values, np.ndarray):
            return values.astype(np.float64)  # None becomes NaN
        return np.array(values, dtype=np.float64)
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
