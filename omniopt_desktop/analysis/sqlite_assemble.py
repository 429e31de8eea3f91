"""Chunks of trials read from an SQLite study (:mod:`.sqlite_pivot`, :mod:`.sqlite_attrs`) →
one :class:`TrialColumns` sorted by trial number, times as unix seconds.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import sqlite_attrs, sqlite_pivot
from .columns import ParamInfo, StudyInfo, TrialColumns
from .sqlite_study import SqliteSchema


def assemble(
    info: StudyInfo,
    pinfo: Dict[str, ParamInfo],
    pnames: List[str],
    chunks: List[sqlite_pivot.Chunk],
    attrs: List[sqlite_attrs.Attrs],
    wanted: Optional[np.ndarray],
    schema: SqliteSchema,
) -> TrialColumns:
    """Chunk results → one TrialColumns sorted by trial number. ``pnames``: the parameters
    of the pivot's columns; ``pinfo``: their distributions, in the order to show them."""
    k, p = len(info.directions), len(pnames)
    if chunks:
        ids = np.concatenate([c.ids for c in chunks])
        number = np.concatenate([c.number for c in chunks])
        state = np.concatenate([c.state for c in chunks])
        starts = np.concatenate([c.starts for c in chunks])
        ends = np.concatenate([c.ends for c in chunks])
        pivot = np.vstack([c.pivot for c in chunks])
    else:
        ids, number = np.empty(0, np.int64), np.empty(0, np.int64)
        state = np.empty(0, np.int8)
        starts = ends = np.empty(0, dtype="datetime64[us]")
        pivot = np.empty((0, p + k))
    keep = np.ones(len(ids), dtype=bool) if wanted is None else np.isin(ids, wanted)
    order = np.flatnonzero(keep)[np.argsort(number[keep], kind="stable")]
    start = _epoch(starts, schema.utc_datetimes)
    end = _epoch(ends, schema.utc_datetimes)
    ids, number, state, pivot = ids[order], number[order], state[order], pivot[order]
    start, end = start[order], end[order]
    column = {name: j for j, name in enumerate(pnames)}
    params = {name: np.ascontiguousarray(pivot[:, column[name]]) for name in pinfo}
    values = np.ascontiguousarray(pivot[:, p:])
    by_id = np.argsort(ids, kind="stable")
    sorted_ids = ids[by_id]
    attr_parts: Dict[str, List[Tuple[np.ndarray, np.ndarray]]] = {}
    for chunk in attrs:
        for key, (aids, vals) in chunk.items():
            if not len(sorted_ids):
                continue
            pos = _positions(sorted_ids, by_id, aids)
            ok = pos >= 0
            if not ok.all():
                vals = vals[ok]
            attr_parts.setdefault(key, []).append((pos[ok], vals))
    # parameters of other studies in the same database come back empty
    for name in [m for m, col in params.items() if np.isnan(col).all()]:
        del params[name], pinfo[name]
    return TrialColumns(
        study=info,
        number=number.astype(np.int64),
        state=state.astype(np.int8),
        values=values,
        start=start,
        complete=end,
        params=params,
        param_info=pinfo,
        user_attrs=sqlite_attrs.assemble_attrs(attr_parts, len(ids)),
    )


def _positions(sorted_ids: np.ndarray, order: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Row index of each trial id (-1 for ids not among the study's trials)."""
    n = len(sorted_ids)
    if int(sorted_ids[-1]) - int(sorted_ids[0]) + 1 == n:  # no gap: an id is its own index
        i = ids - sorted_ids[0]
        inside = (i >= 0) & (i < n)
        return np.where(inside, order[np.clip(i, 0, n - 1)], -1)
    i = np.searchsorted(sorted_ids, ids)
    i = np.clip(i, 0, len(sorted_ids) - 1)
    found = sorted_ids[i] == ids
    return np.where(found, order[i], -1)


def _epoch(texts: Any, utc: bool) -> np.ndarray:
    """Optuna's naive datetimes (texts or datetime64) → unix seconds (NaN for NULL/NaT)."""
    arr = np.array(texts, dtype="datetime64[us]")
    out = arr.astype(np.int64).astype(np.float64) / 1e6
    out[np.isnat(arr)] = np.nan
    if not utc:
        out = _local_to_utc(out)
    return out


def _local_to_utc(t: np.ndarray) -> np.ndarray:
    """Naive local wall-clock seconds (as if UTC) → real unix seconds."""
    ok = ~np.isnan(t)
    if not ok.any():
        return t
    hours = np.floor(t[ok] / 3600.0)
    uniq, inv = np.unique(hours, return_inverse=True)
    offsets = np.array([time.localtime(h * 3600.0).tm_gmtoff for h in uniq], dtype=np.float64)
    out = t.copy()
    out[ok] = t[ok] - offsets[inv]
    return out
