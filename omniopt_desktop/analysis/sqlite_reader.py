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
which releases the GIL, so the two threads truly work at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import AnalysisError
from . import sqlite_attrs, sqlite_pivot
from .columns import ParamInfo, StudyInfo, TrialColumns
from .distributions import parse_distribution

CHUNK = 25_000  # trials per chunk
INLINE_TRIALS = 2_000  # a poll reading fewer new trials runs in the calling thread
ID_GAP = 1_000  # trial ids further apart than this are read in separate ranges
WALK_MARGIN = 64  # trials below the lowest number wanted before a backward walk stops
REQUIRED_TABLES = ("studies", "study_directions", "trials", "trial_params", "trial_values")
METRIC_NAMES_KEY = "study:metric_names"


@dataclass(frozen=True)
class SqliteSchema:
    tables: frozenset
    has_value_type: bool
    library_version: str
    utc_datetimes: bool  # Optuna >= 5 stores naive UTC, older versions naive local time


@dataclass(frozen=True)
class StudyRow:
    study_id: int
    name: str
    n_trials: int


def _uri(path: str) -> str:
    return pathlib.Path(os.path.abspath(path)).as_uri() + "?mode=ro"


class ReadOnlyDatabase:
    """Opens read-only, unpooled connections to one SQLite file: ``with db.connect() as c``."""

    def __init__(self, path: str) -> None:
        self.uri = _uri(path)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        # timeout: a writer mid-commit holds the lock briefly; wait for it rather than fail
        conn = sqlite3.connect(self.uri, uri=True, timeout=10.0, check_same_thread=False)
        try:
            yield conn
        finally:
            conn.close()

    def dispose(self) -> None:
        """Nothing pooled: every connection is closed when its ``with`` block ends."""


def make_engine(path: str) -> ReadOnlyDatabase:
    return ReadOnlyDatabase(path)


def _raw(conn: Any) -> sqlite3.Connection:
    return conn


def read_schema(conn: Any, path: str) -> SqliteSchema:
    try:
        tables = frozenset(
            r[0] for r in _raw(conn).execute("SELECT name FROM sqlite_master WHERE type='table'")
        )
    except sqlite3.DatabaseError as e:
        raise AnalysisError(f"{path}: not a readable SQLite database ({e})") from e
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise AnalysisError(
            f"{path}: not an Optuna study database (no table {', '.join(missing)});"
            " open the study.db or study.journal of a run"
        )
    cols = {r[1] for r in _raw(conn).execute("PRAGMA table_info(trial_values)")}
    version = ""
    if "version_info" in tables:
        row = _raw(conn).execute("SELECT library_version FROM version_info").fetchone()
        version = (row[0] or "") if row else ""
    try:
        major = int(version.split(".")[0])
    except ValueError:
        major = 0
    return SqliteSchema(tables, "value_type" in cols, version, major >= 5)


def list_studies(conn: Any, counts: bool = True) -> List[StudyRow]:
    """The studies in the file; ``n_trials`` is -1 unless ``counts`` (a count costs a scan)."""
    count = "(SELECT count(*) FROM trials t WHERE t.study_id = s.study_id)" if counts else "-1"
    rows = _raw(conn).execute(
        f"SELECT s.study_id, s.study_name, {count} FROM studies s ORDER BY s.study_id"
    )
    return [StudyRow(int(a), str(b), int(c)) for a, b, c in rows]


def pick_study(studies: Sequence[StudyRow], name: Optional[str], path: str) -> StudyRow:
    if not studies:
        raise AnalysisError(f"{path}: the database holds no study yet")
    if name is None:
        if len(studies) == 1:
            return studies[0]
        names = ", ".join(s.name for s in studies)
        raise AnalysisError(f"{path} holds several studies ({names}); choose one with --study NAME")
    for s in studies:
        if s.name == name:
            return s
    names = ", ".join(s.name for s in studies)
    raise AnalysisError(f"{path}: no study named '{name}' (there are: {names})")


def _study_info(conn: Any, study: StudyRow, path: str) -> StudyInfo:
    raw = _raw(conn)
    dirs = [
        str(r[0]).lower()
        for r in raw.execute(
            "SELECT direction FROM study_directions WHERE study_id=? ORDER BY objective",
            (study.study_id,),
        )
    ]
    dirs = [d if d in ("minimize", "maximize") else "minimize" for d in dirs] or ["minimize"]
    names: Optional[List[str]] = None
    try:
        row = raw.execute(
            "SELECT value_json FROM study_system_attributes WHERE study_id=? AND key=?",
            (study.study_id, METRIC_NAMES_KEY),
        ).fetchone()
        if row:
            names = [str(n) for n in json.loads(row[0])]
    except (sqlite3.DatabaseError, ValueError, TypeError):
        names = None
    if not names or len(names) != len(dirs):
        names = ["value"] if len(dirs) == 1 else [f"value_{i}" for i in range(len(dirs))]
    return StudyInfo(study.name, tuple(dirs), tuple(names), source=path, storage_kind="sqlite")


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
            info = _study_info(conn, study, path)
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
        return _assemble(info, pinfo, pnames, chunks, attrs, wanted, schema)
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


def _assemble(
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
    cursor = _raw(conn).execute(
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
