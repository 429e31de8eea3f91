"""Parameters and objective values of an Optuna SQLite study, one row per trial.

SQLite pivots them itself: one ``LEFT JOIN trial_params`` per parameter name (the unique index
on ``(trial_id, param_name)`` finds each value) and one ``LEFT JOIN trial_values`` per
objective. The parameter names are taken from the first and last trials only (a full
``DISTINCT`` over the index cost as much as a fifth of the load); each chunk then counts its
rows in ``trial_params`` and compares with the values it found, and only the chunks where a
name was missed are scanned for the names they hold and read again for those.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

from .columns import STATE_BY_NAME

MAX_JOINS = 60  # SQLite allows 64 tables in one join
SAMPLE_TRIALS = 20  # trial ids at each end of the study whose parameter names are read first
SEP = "\x1f"  # between texts folded by SQLite (a date and time never holds it)
_STATE_SQL = (
    "CASE t.state "
    + " ".join(f"WHEN '{k}' THEN {v}" for k, v in STATE_BY_NAME.items())
    + " ELSE -1 END"
)


@dataclass
class Chunk:
    """What one chunk of trial ids gave: trial columns, the pivot (parameters in the order of
    the names asked for, then objective values) and the chunk's rows in ``trial_params``."""

    ids: np.ndarray
    number: np.ndarray
    state: np.ndarray
    starts: np.ndarray  # datetime64[us], NaT when unknown
    ends: np.ndarray
    pivot: np.ndarray
    param_rows: int

    def missed_names(self, n_params: int) -> bool:
        """True when the chunk has parameter rows the pivot did not show (names not asked
        for, or rows of other studies' trials in the same id range: then it only looks)."""
        found = int(np.count_nonzero(~np.isnan(self.pivot[:, :n_params])))
        return found != self.param_rows


def sampled_names(raw: sqlite3.Connection, lo: int, hi: int) -> List[str]:
    """Names of the parameters of the first and last trial ids in lo..hi."""
    rows = raw.execute(
        "SELECT DISTINCT param_name FROM trial_params WHERE param_name IS NOT NULL"
        " AND (trial_id BETWEEN ? AND ? OR trial_id BETWEEN ? AND ?)",
        (lo, min(hi, lo + SAMPLE_TRIALS), max(lo, hi - SAMPLE_TRIALS), hi),
    ).fetchall()
    return sorted(r[0] for r in rows)


def names_in(raw: sqlite3.Connection, ranges: Sequence[Tuple[int, int]]) -> List[str]:
    """Every parameter name used by trial ids in the ranges (a scan of the index)."""
    found: Dict[str, None] = {}
    for lo, hi in ranges:
        for (name,) in raw.execute(
            "SELECT DISTINCT param_name FROM trial_params WHERE param_name IS NOT NULL"
            " AND trial_id BETWEEN ? AND ?",
            (lo, hi),
        ):
            found[name] = None
    return sorted(found)


def describe(
    raw: sqlite3.Connection, names: Sequence[str], lo: int, hi: int
) -> List[Tuple[str, str]]:
    """(name, distribution JSON of its latest use) in order of first use: the order the
    objective suggested them (as a journal replays)."""
    found = []
    for name in names:
        latest = raw.execute(
            "SELECT distribution_json FROM trial_params WHERE param_name = ?"
            " AND trial_id BETWEEN ? AND ? ORDER BY trial_id DESC LIMIT 1",
            (name, lo, hi),
        ).fetchone()
        first = raw.execute(
            "SELECT trial_id, param_id FROM trial_params WHERE param_name = ?"
            " AND trial_id BETWEEN ? AND ? ORDER BY trial_id LIMIT 1",
            (name, lo, hi),
        ).fetchone()
        if latest is not None and first is not None:
            found.append((first[0], first[1], name, latest[0]))
    return [(name, dj) for _, _, name, dj in sorted(found)]


class ChunkJob:
    """Reads one chunk of trial ids (see :class:`Chunk`).

    The statement ends in ``ORDER BY +t.trial_id``: the ``+`` makes SQLite sort the result,
    so the whole join runs inside the first step (``execute``), which releases the GIL, and
    the rows are then handed over from the sorter. Without it every row's index look-ups run
    between two rows' conversions, handing the GIL back and forth with the other thread.
    ``params_only``: trial ids and parameters, no trial columns or values (a second pass).
    """

    def __init__(
        self,
        engine: Any,
        study_id: int,
        names: Callable[[], List[str]],
        k: int,
        has_value_type: bool,
        params_only: bool = False,
    ):
        self.engine, self.study_id, self.names_of, self.k = engine, study_id, names, k
        self.has_value_type = has_value_type
        self.params_only = params_only

    def pivot_sql(self, names: Sequence[str], with_values: bool) -> str:
        """One row per trial: trial id, parameters[, objective values]."""
        cols = ["t.trial_id"]
        joins = []
        for i, _ in enumerate(names):
            cols.append(f"p{i}.param_value")
            joins.append(
                f"LEFT JOIN trial_params p{i} ON p{i}.trial_id = t.trial_id AND p{i}.param_name = ?"
            )
        if with_values:
            for j in range(self.k):
                if self.has_value_type:
                    cols.append(
                        f"CASE v{j}.value_type WHEN 'INF_POS' THEN 9e999 WHEN 'INF_NEG' THEN -9e999"
                        f" ELSE v{j}.value END"
                    )
                else:
                    cols.append(f"v{j}.value")
                joins.append(
                    f"LEFT JOIN trial_values v{j} ON v{j}.trial_id = t.trial_id AND v{j}.objective = {j}"
                )
        return (
            f"SELECT {', '.join(cols)} FROM trials t {' '.join(joins)}"
            " WHERE t.study_id = ? AND t.trial_id BETWEEN ? AND ? ORDER BY +t.trial_id"
        )

    def __call__(self, span: Tuple[int, int]) -> Chunk:
        lo, hi = span
        blocks = []
        with self.engine.connect() as raw:
            # the trial columns first: a trial that finishes meanwhile shows values with a
            # state still RUNNING (re-read by the next poll), never the other way round
            head = None if self.params_only else _head(raw, self.study_id, lo, hi)
            ids = None if head is None else head[0]
            all_names = self.names_of()
            step = max(1, MAX_JOINS - self.k - 1)
            groups = [all_names[i : i + step] for i in range(0, len(all_names), step)] or [[]]
            for g, names in enumerate(groups):
                last = g == len(groups) - 1 and not self.params_only
                sql = self.pivot_sql(names, last)
                rows = raw.execute(sql, [*names, self.study_id, lo, hi]).fetchall()
                width = len(names) + (self.k if last else 0)
                # every number (None becomes NaN) in one call
                flat = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + width)
                row_ids = flat[:, 0].astype(np.int64)
                if ids is None:
                    ids = row_ids
                blocks.append(_aligned(ids, row_ids, flat[:, 1:]))
            param_rows = 0
            if not self.params_only:
                (param_rows,) = raw.execute(
                    "SELECT count(*) FROM trial_params WHERE trial_id BETWEEN ? AND ?", (lo, hi)
                ).fetchone()
        pivot = np.hstack(blocks) if len(blocks) > 1 else np.ascontiguousarray(blocks[0])
        if head is None:
            none = np.empty(0)
            return Chunk(ids, none, none, none, none, pivot, 0)
        return Chunk(*head, pivot, int(param_rows))


def _head(
    raw: sqlite3.Connection, study_id: int, lo: int, hi: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Trial ids, numbers, states and start and end times (datetime64, NaT for NULL) of the
    study's trials with ids lo..hi, sorted by id. SQLite folds each column into one text:
    numpy parses them, no Python object per trial but the times' texts."""
    n, ids, numbers, states, starts, ends = raw.execute(
        "SELECT count(*), group_concat(trial_id), group_concat(ifnull(number, -1)),"
        f" group_concat({_STATE_SQL}), group_concat(ifnull(datetime_start, 'NaT'), char(31)),"
        " group_concat(ifnull(datetime_complete, 'NaT'), char(31))"
        " FROM trials t WHERE study_id = ? AND trial_id BETWEEN ? AND ?",
        (study_id, lo, hi),
    ).fetchone()
    if not n:
        empty = np.empty(0, dtype=np.int64)
        nat = np.empty(0, dtype="datetime64[us]")
        return empty, empty, empty.astype(np.int8), nat, nat
    cols = (
        np.fromstring(ids, dtype=np.int64, sep=","),
        np.fromstring(numbers, dtype=np.int64, sep=","),
        np.fromstring(states, dtype=np.int64, sep=",").astype(np.int8),
        np.array(starts.split(SEP), dtype="datetime64[us]"),
        np.array(ends.split(SEP), dtype="datetime64[us]"),
    )
    if any(len(c) != n for c in cols):
        raise sqlite3.DatabaseError("trials: a column could not be read")
    order = np.argsort(cols[0], kind="stable")
    return cols[0][order], cols[1][order], cols[2][order], cols[3][order], cols[4][order]


def _aligned(ids: np.ndarray, row_ids: np.ndarray, block: np.ndarray) -> np.ndarray:
    """``block``'s rows (of trials ``row_ids``) for trials ``ids`` (NaN for any missing: a
    trial added between two statements is read by the next poll)."""
    if len(ids) == len(row_ids) and np.array_equal(ids, row_ids):
        return block
    out = np.full((len(ids), block.shape[1]), np.nan)
    if len(row_ids):
        at = np.clip(np.searchsorted(row_ids, ids), 0, len(row_ids) - 1)
        hit = row_ids[at] == ids
        out[hit] = block[at[hit]]
    return out


def add_missed(
    chunks: List[Chunk], names: List[str], extra: List[str], extra_chunks: Dict[int, Chunk]
) -> None:
    """Insert the columns of parameters ``extra`` after those of ``names`` in every chunk:
    read (by trial id) for the chunks in ``extra_chunks``, NaN elsewhere."""
    p = len(names)
    for i, c in enumerate(chunks):
        more = extra_chunks.get(i)
        if more is None:
            cols = np.full((len(c.ids), len(extra)), np.nan)
        else:
            cols = _aligned(c.ids, more.ids, more.pivot)
        c.pivot = np.hstack([c.pivot[:, :p], cols, c.pivot[:, p:]])
