"""Trial user attributes of an Optuna SQLite database, read in bulk.

One statement per chunk scans ``trial_user_attributes`` and lets SQLite fold the rows into three
texts: the trial ids, a small code per row for its key (``CASE key WHEN ...``; ``-1 - rowid``
for a key not known beforehand, whose text a second statement then looks up by row), and one
JSON array of all values. numpy parses
the ids and codes (``fromstring``), one ``json.loads`` call decodes every value. No sort (a
``GROUP BY key`` would sort every row) and no Python object per row but the value itself.

A chunk is a range of the table's rowids when the whole table is read (a sequential scan, the
cheapest way through SQLite's pages) or a range of trial ids (the index) for a few trials.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .columns import attr_column

ROWS_PER_SCAN = 300_000  # attribute rows per chunk of a sequential scan
Attrs = Dict[str, Tuple[np.ndarray, np.ndarray]]  # key -> (trial ids, column of values)


@dataclass(frozen=True)
class AttrSpan:
    """Rows to read: ``by`` is ``"rowid"`` or ``"trial"``; ``lo..hi`` inclusive; trial ids
    restricted to ``trials_lo..trials_hi`` (the study's)."""

    by: str
    lo: int
    hi: int
    trials_lo: int
    trials_hi: int


def scan_spans(raw: sqlite3.Connection, trials_lo: int, trials_hi: int) -> List[AttrSpan]:
    """Chunks of a sequential scan over the whole table."""
    # two statements: each is one look-up (min and max together scan the whole table)
    lo = raw.execute("SELECT min(rowid) FROM trial_user_attributes").fetchone()[0]
    hi = raw.execute("SELECT max(rowid) FROM trial_user_attributes").fetchone()[0]
    if lo is None:
        return []
    parts = max(1, -(-(int(hi) - int(lo) + 1) // ROWS_PER_SCAN))
    edges = np.linspace(int(lo), int(hi) + 1, parts + 1).astype(np.int64)
    return [
        AttrSpan("rowid", int(a), int(b) - 1, trials_lo, trials_hi)
        for a, b in zip(edges[:-1], edges[1:])
        if b > a
    ]


def known_keys(raw: sqlite3.Connection, lo: int, hi: int) -> List[str]:
    """The keys of the first and last trials of a range (usually every key there is)."""
    rows = raw.execute(
        "SELECT DISTINCT key FROM trial_user_attributes WHERE key IS NOT NULL"
        " AND (trial_id BETWEEN ? AND ? OR trial_id BETWEEN ? AND ?)",
        (lo, lo + 20, max(lo, hi - 20), hi),
    ).fetchall()
    return sorted(r[0] for r in rows)


def read_attrs(
    raw: sqlite3.Connection, span: AttrSpan, known: Sequence[str], only: Optional[Sequence[str]]
) -> Attrs:
    """{key: (trial ids, values)} of the rows in ``span`` (only keys in ``only``, if given)."""
    col = "rowid" if span.by == "rowid" else "trial_id"
    where = f"{col} BETWEEN ? AND ? AND trial_id BETWEEN ? AND ? AND key IS NOT NULL"
    args: List[Any] = [span.lo, span.hi, span.trials_lo, span.trials_hi]
    if only is not None:
        where += f" AND key IN ({', '.join('?' for _ in only)})"
        args += list(only)
    known = list(known)
    # a key not known beforehand is coded by its row (-1 - rowid) and looked up afterwards:
    # naming it in the same statement would evaluate the CASE a second time for every row
    code = "CASE key " + " ".join(f"WHEN ? THEN {i}" for i in range(len(known)))
    code = f"{code} ELSE -1 - rowid END" if known else "-1 - rowid"
    sql = (
        f"SELECT count(*), group_concat(trial_id), group_concat({code}),"
        " '[' || group_concat(ifnull(value_json, 'null')) || ']'"
        f" FROM trial_user_attributes WHERE {where}"
    )
    n, ids_text, codes_text, values_text = raw.execute(sql, [*known, *args]).fetchone()
    if not n:
        return {}

    def keys_of_rows(rowids: np.ndarray) -> List[str]:
        return _keys_of_rows(raw, where, args, known, rowids)

    try:
        return _decode(int(n), ids_text, codes_text, values_text, known, keys_of_rows)
    except ValueError:  # a value that is not JSON, or a row gone meanwhile
        return _read_row_by_row(raw, where, args)


def _keys_of_rows(
    raw: sqlite3.Connection, where: str, args: List[Any], known: List[str], rowids: np.ndarray
) -> List[str]:
    """The keys of rows (by rowid) whose key was not among the known ones. A row's key never
    changes (Optuna updates only the value), so a second statement may look them up."""
    sql = f"SELECT rowid, key FROM trial_user_attributes WHERE {where} AND rowid BETWEEN ? AND ?"
    if known:
        sql += f" AND key NOT IN ({', '.join('?' for _ in known)})"
    found = dict(raw.execute(sql, [*args, int(rowids.min()), int(rowids.max()), *known]))
    try:
        return [found[r] for r in rowids.tolist()]
    except KeyError as e:
        raise ValueError("row gone") from e


def _decode(
    n: int,
    ids_text: str,
    codes_text: str,
    values_text: str,
    known: List[str],
    keys_of_rows: Callable[[np.ndarray], List[str]],
) -> Attrs:
    # SQLite wrote these texts of integers: numpy reads them whole (a short read would show
    # in the lengths checked below)
    ids = np.fromstring(ids_text, dtype=np.int64, sep=",")
    codes = np.fromstring(codes_text, dtype=np.int64, sep=",")
    values = json.loads(values_text)
    if not (len(ids) == len(codes) == len(values) == n):
        raise ValueError("length mismatch")
    keys = list(known)
    unknown = np.flatnonzero(codes < 0)
    if len(unknown):
        texts = keys_of_rows(-1 - codes[unknown])
        index = {k: i for i, k in enumerate(keys)}
        codes[unknown] = [index.setdefault(t, len(index)) for t in texts]
        keys = list(index)
    objects = np.empty(n, dtype=object)
    objects[:] = values
    # few keys: 16-bit codes sort by radix, much faster than 64-bit ones
    small = codes.astype(np.int16) if len(keys) < 2**15 else codes
    order = np.argsort(small, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    out: Attrs = {}
    for i, key in enumerate(keys):
        rows = order[bounds[i] : bounds[i + 1]]
        if len(rows):
            out[key] = (ids[rows], attr_column(objects[rows]))
    return out


def _read_row_by_row(raw: sqlite3.Connection, where: str, args: List[Any]) -> Attrs:
    out: Dict[str, Tuple[List[int], List[Any]]] = {}
    for tid, key, text in raw.execute(
        f"SELECT trial_id, key, value_json FROM trial_user_attributes WHERE {where}", args
    ):
        try:
            v = json.loads(text) if text is not None else None
        except ValueError:
            v = text  # not JSON: keep the text as it is
        ids, vals = out.setdefault(key, ([], []))
        ids.append(tid)
        vals.append(v)
    return {k: (np.array(i, dtype=np.int64), attr_column(v)) for k, (i, v) in out.items()}


def assemble_attrs(
    parts: Dict[str, List[Tuple[np.ndarray, np.ndarray]]], n: int
) -> Dict[str, np.ndarray]:
    """Per key, (row positions, column) of every chunk → one column of ``n`` rows."""
    out: Dict[str, np.ndarray] = {}
    for key in sorted(parts):
        cols = parts[key]
        numeric = all(c.dtype.kind == "f" for _, c in cols)
        col = np.full(n, np.nan) if numeric else np.full(n, None, dtype=object)
        for pos, c in cols:
            col[pos] = c
        out[key] = col
    return out
