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
    starts: List[Any]
    ends: List[Any]
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

    def pivot_sql(self, names: Sequence[str], with_values: bool, with_trial: bool) -> str:
        """One row per trial: trial id[, number, state], parameters, [objective values,]
        [start and end texts]."""
        cols = ["t.trial_id", "t.number", _STATE_SQL] if with_trial else ["t.trial_id"]
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
        if with_trial:
            cols += ["t.datetime_start", "t.datetime_complete"]
        return (
            f"SELECT {', '.join(cols)} FROM trials t {' '.join(joins)}"
            " WHERE t.study_id = ? AND t.trial_id BETWEEN ? AND ? ORDER BY +t.trial_id"
        )

    def __call__(self, span: Tuple[int, int]) -> Chunk:
        lo, hi = span
        head: List[Any] = [(), (), (), [], []]
        blocks = []
        with self.engine.connect() as raw:
            all_names = self.names_of()
            step = max(1, MAX_JOINS - self.k - 1)
            groups = [all_names[i : i + step] for i in range(0, len(all_names), step)] or [[]]
            for g, names in enumerate(groups):
                first = g == 0 and not self.params_only
                last = g == len(groups) - 1 and not self.params_only
                sql = self.pivot_sql(names, last, first)
                rows = raw.execute(sql, [*names, self.study_id, lo, hi]).fetchall()
                width = len(names) + (self.k if last else 0)
                if first:
                    head[3] = [r[-2] for r in rows]
                    head[4] = [r[-1] for r in rows]
                    rows = [r[:-2] for r in rows]
                # every number (None becomes NaN) in one call
                flat = np.array(rows, dtype=np.float64).reshape(len(rows), -1)
                if g == 0:
                    head[0] = flat[:, 0]
                    if first:
                        head[1], head[2] = flat[:, 1], flat[:, 2]
                blocks.append(flat[:, flat.shape[1] - width :])
            param_rows = 0
            if not self.params_only:
                (param_rows,) = raw.execute(
                    "SELECT count(*) FROM trial_params WHERE trial_id BETWEEN ? AND ?", (lo, hi)
                ).fetchone()
        pivot = np.hstack(blocks) if len(blocks) > 1 else np.ascontiguousarray(blocks[0])
        return Chunk(
            np.asarray(head[0], dtype=np.int64),
            np.asarray(head[1], dtype=np.int64),
            np.asarray(head[2], dtype=np.int8),
            head[3],
            head[4],
            pivot,
            int(param_rows),
        )


def add_missed(
    chunks: List[Chunk], names: List[str], extra: List[str], extra_chunks: Dict[int, Chunk]
) -> None:
    """Insert the columns of parameters ``extra`` after those of ``names`` in every chunk:
    read (by trial id) for the chunks in ``extra_chunks``, NaN elsewhere."""
    p = len(names)
    for i, c in enumerate(chunks):
        cols = np.full((len(c.ids), len(extra)), np.nan)
        more = extra_chunks.get(i)
        if more is not None and len(more.ids) and len(c.ids):
            at = np.clip(np.searchsorted(more.ids, c.ids), 0, len(more.ids) - 1)
            hit = more.ids[at] == c.ids
            cols[hit] = more.pivot[at[hit]]
        c.pivot = np.hstack([c.pivot[:, :p], cols, c.pivot[:, p:]])
