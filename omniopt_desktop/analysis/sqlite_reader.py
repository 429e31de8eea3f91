"""Read an Optuna SQLite study database (schemas of Optuna 3.x–5.x) into :class:`TrialColumns`.

Strictly read-only: every connection is opened with ``mode=ro`` (plain DBAPI ``sqlite3``: the
SQL here is short and hand-written, and importing SQLAlchemy would cost a third of a second at
start-up) and no statement writes. Trials are read in chunks, each chunk by short statements
(the shared lock is held for a fraction of a second, so a study being written is never stalled
for long), two chunks at a time on two connections. Parameters and objective values are pivoted
by SQLite itself (one row per trial, :mod:`.sqlite_pivot`); the trials' own columns and the user
attributes (:mod:`.sqlite_attrs`) are folded by SQLite into a few long texts (ids, numbers, key
codes, one JSON array of all values), decoded by ``numpy.fromstring`` and one ``json.loads``
each: no per-row Python objects but the values. The heavy statements run inside one step each,
which releases the GIL, so the two threads truly work at once. Opening and the study's
description: :mod:`.sqlite_study`; chunks → columns: :mod:`.sqlite_assemble`.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import AnalysisError
from . import sqlite_attrs, sqlite_pivot
from .columns import ParamInfo, TrialColumns
from .distributions import parse_distribution
from .sqlite_assemble import assemble
from .sqlite_study import (
    ReadOnlyDatabase,
    list_studies,
    make_engine,
    pick_study,
    read_schema,
    study_info,
)

CHUNK = 25_000  # trials per chunk
INLINE_TRIALS = 2_000  # a poll reading fewer new trials runs in the calling thread
ID_GAP = 1_000  # trial ids further apart than this are read in separate ranges
WALK_MARGIN = 64  # trials below the lowest number wanted before a backward walk stops


def read_sqlite(
    path: str,
    study_name: Optional[str] = None,
    after_number: Optional[int] = None,
    numbers: Optional[Sequence[int]] = None,
    threads: int = 2,
    user_attrs: Optional[Sequence[str]] = None,
) -> TrialColumns:
    """Trials of one study in ``path``: all, those numbered above ``after_number``, plus any
    in ``numbers`` (to re-read trials that were still running). ``user_attrs``: only these
    keys (None: all)."""
    db = make_engine(path)
    try:
        with db.connect() as conn:
            schema = read_schema(conn, path)
            studies = list_studies(conn, counts=after_number is None)
            study = pick_study(studies, study_name, path)
            info = study_info(conn, study, path)
            wanted: Optional[np.ndarray] = None
            attr_spans: List[sqlite_attrs.AttrSpan] = []
            if after_number is None:
                # min and max in separate statements: each is one look-up in the index (both
                # in one statement, or with a count, scan every trial)
                lo, hi = (
                    conn.execute(
                        f"SELECT {f}(trial_id) FROM trials WHERE study_id = ?", (study.study_id,)
                    ).fetchone()[0]
                    for f in ("min", "max")
                )
                count = study.n_trials
                ranges: List[Tuple[int, int]] = []
                if count:
                    parts = max(1, -(-int(count) // CHUNK))
                    edges = np.linspace(int(lo), int(hi) + 1, parts + 1).astype(np.int64)
                    ranges = [(int(a), int(b) - 1) for a, b in zip(edges[:-1], edges[1:]) if b > a]
                    # the study is (most of) the file: a sequential scan beats the index
                    if 2 * int(count) >= sum(s.n_trials for s in studies) and user_attrs != []:
                        attr_spans = sqlite_attrs.scan_spans(conn, int(lo), int(hi))
            else:
                wanted = np.sort(_trial_ids(conn, study.study_id, after_number, numbers))
                ranges = _id_ranges(wanted)
            if ranges and user_attrs != [] and not attr_spans:
                attr_spans = [sqlite_attrs.AttrSpan("trial", a, b, a, b) for a, b in ranges]
            known: List[str] = []
            if attr_spans:
                first, last = ranges[0][0], ranges[-1][1]
                known = (
                    list(user_attrs)
                    if user_attrs is not None
                    else sqlite_attrs.known_keys(conn, first, last)
                )
        k = len(info.directions)
        pinfo: Dict[str, ParamInfo] = {}
        chunks: List[sqlite_pivot.Chunk] = []
        pnames: List[str] = []
        attrs: List[sqlite_attrs.Attrs] = []
        if ranges:
            first, last = ranges[0][0], ranges[-1][1]
            small = wanted is not None and len(wanted) <= INLINE_TRIALS
            pool: Any = _Inline() if threads <= 1 or small else ThreadPoolExecutor(threads)
            try:
                names_job = pool.submit(
                    _with_connection, db, sqlite_pivot.sampled_names, first, last
                )

                def read_attrs(span: sqlite_attrs.AttrSpan) -> sqlite_attrs.Attrs:
                    with db.connect() as c:
                        return sqlite_attrs.read_attrs(c, span, known, user_attrs)

                attr_jobs = [pool.submit(read_attrs, span) for span in attr_spans]
                job = sqlite_pivot.ChunkJob(
                    db, study.study_id, names_job.result, k, schema.has_value_type
                )
                pivot_jobs = [pool.submit(job, r) for r in ranges]
                chunks = [j.result() for j in pivot_jobs]
                pnames = list(names_job.result())
                pnames += _add_missed_names(pool, db, study.study_id, k, ranges, chunks, pnames)
                attrs = [j.result() for j in attr_jobs]
                described = _with_connection(db, sqlite_pivot.describe, pnames, first, last)
                pinfo = {name: parse_distribution(name, dj) for name, dj in described}
            finally:
                pool.shutdown(wait=True)
        return assemble(info, pinfo, pnames, chunks, attrs, wanted, schema)
    except sqlite3.DatabaseError as e:
        raise AnalysisError(f"{path}: cannot read the study database ({e})") from e
    finally:
        db.dispose()


def _with_connection(db: ReadOnlyDatabase, fn: Callable[..., Any], *args: Any) -> Any:
    with db.connect() as conn:
        return fn(conn, *args)


def _add_missed_names(
    pool: Any,
    db: ReadOnlyDatabase,
    study_id: int,
    k: int,
    ranges: List[Tuple[int, int]],
    chunks: List[sqlite_pivot.Chunk],
    names: List[str],
) -> List[str]:
    """Parameters that the first and last trials did not use: found in the chunks whose
    counts say a name was missed, read there, added to every chunk. Returns their names."""
    missed = [i for i, c in enumerate(chunks) if c.missed_names(len(names))]
    if not missed:
        return []
    seen = set(names)
    found = _with_connection(db, sqlite_pivot.names_in, [ranges[i] for i in missed])
    extra = [n for n in found if n not in seen]
    if not extra:
        return []
    job = sqlite_pivot.ChunkJob(db, study_id, lambda: extra, k, False, params_only=True)
    jobs = {i: pool.submit(job, ranges[i]) for i in missed}
    sqlite_pivot.add_missed(chunks, names, extra, {i: j.result() for i, j in jobs.items()})
    return extra


def _id_ranges(ids: np.ndarray) -> List[Tuple[int, int]]:
    """Sorted trial ids → ranges to read: at most CHUNK ids each, split where ids are far
    apart (a trial still running long ago and the newest ones: not everything between)."""
    out: List[Tuple[int, int]] = []
    for part in np.split(ids, np.flatnonzero(np.diff(ids) > ID_GAP) + 1) if len(ids) else []:
        for i in range(0, len(part), CHUNK):
            out.append((int(part[i]), int(part[min(i + CHUNK, len(part)) - 1])))
    return out


def _trial_ids(
    conn: Any, study_id: int, after: int, numbers: Optional[Sequence[int]]
) -> np.ndarray:
    """Ids of the study's trials numbered above ``after`` or listed in ``numbers``.

    Optuna numbers a study's trials in the order of their ids, so the newest trials are found
    by walking the study's index backwards from the end, stopping below the lowest number
    wanted (plus a margin, in case two trials were ever numbered out of order).
    """
    extra = {int(x) for x in (() if numbers is None else numbers)}
    lowest = min([after + 1, *extra])
    found: List[int] = []
    below = 0
    cursor = conn.execute(
        "SELECT trial_id, number FROM trials WHERE study_id = ? ORDER BY trial_id DESC",
        (study_id,),
    )
    for trial_id, number in cursor:
        if number is None or number > after or number in extra:
            found.append(trial_id)
        if number is not None and number < lowest:
            below += 1
            if below >= WALK_MARGIN:
                break
        else:
            below = 0
    cursor.close()
    return np.array(found, dtype=np.int64)


class _Inline:
    """An executor that runs work at once in the calling thread: small reads do not pay for
    starting threads."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # noqa: BLE001 - handed over like a pool's future does
            future.set_exception(e)
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass
