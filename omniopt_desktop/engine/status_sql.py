"""``status`` over an Optuna RDB (SQLite through sqlite3, PostgreSQL through SQLAlchemy).

Reads by trial-id ranges with a watermark cache (``<run>/.status-cache.json``: every trial with
id at or below the mark is finished, its counts and best value are kept), so a poll costs the
trials added or still open since the last one. No Optuna import. Python 3.9+.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Dict, List, Sequence, Tuple

from .run_files import read_json, write_json
from .status_records import (
    FINISHED,
    KEPT_ATTRS,
    TRIAL_STATES,
    attr_field,
    decode_param,
    decode_value,
)

STATUS_CACHE = ".status-cache.json"


class RdbReader:
    """Read-only SQL over an Optuna RDB (sqlite3 for SQLite, SQLAlchemy for PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :]
            self.con: Any = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            self.kind = "sqlite"
        else:
            from sqlalchemy import create_engine

            from .postgres_storage import sqlalchemy_pg_url

            self.engine = create_engine(sqlalchemy_pg_url(url))
            self.con = self.engine.connect()
            self.kind = "postgresql"

    def rows(self, sql: str, **params: Any) -> List[Tuple[Any, ...]]:
        if self.kind == "sqlite":
            return list(self.con.execute(sql, params).fetchall())
        from sqlalchemy import text

        return [tuple(r) for r in self.con.execute(text(sql), params).fetchall()]

    def close(self) -> None:
        self.con.close()


def first_id_above(db: RdbReader, study_id: int, number: int) -> int:
    """An id x such that the study's trials with id >= x are exactly those numbered > ``number``.

    Numbers grow with trial ids inside a study, so a binary search over the primary key finds x
    in O(log n) indexed queries (``+study_id`` keeps SQLite on the primary key).
    """
    lo_hi = db.rows(
        "SELECT min(trial_id), max(trial_id) FROM trials WHERE study_id = :s", s=study_id
    )
    if not lo_hi or lo_hi[0][0] is None:
        return 0
    lo, hi = int(lo_hi[0][0]), int(lo_hi[0][1]) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = db.rows(
            "SELECT trial_id, number FROM trials WHERE trial_id >= :m AND +study_id = :s "
            "ORDER BY trial_id LIMIT 1",
            m=mid,
            s=study_id,
        )
        if not row or row[0][1] > number:
            hi = mid
        else:
            lo = int(row[0][0]) + 1
    return lo


def trial_records(db: RdbReader, ids: Sequence[int]) -> List[Dict[str, Any]]:
    if not ids:
        return []
    marks = ",".join(str(int(i)) for i in ids)
    recs: Dict[int, Dict[str, Any]] = {}
    for tid, number, state, start, end in db.rows(
        f"SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials "
        f"WHERE trial_id IN ({marks}) ORDER BY trial_id"
    ):
        recs[tid] = {"number": number, "state": state, "start": str(start) if start else None,
                     "end": str(end) if end else None, "values": None, "params": {}}  # fmt: skip
    for tid, _obj, value, kind in db.rows(
        f"SELECT trial_id, objective, value, value_type FROM trial_values "
        f"WHERE trial_id IN ({marks}) ORDER BY trial_id, objective"
    ):
        if tid in recs:
            recs[tid]["values"] = (recs[tid]["values"] or []) + [decode_value(value, kind)]
    for tid, name, value, dist in db.rows(
        f"SELECT trial_id, param_name, param_value, distribution_json FROM trial_params "
        f"WHERE trial_id IN ({marks})"
    ):
        if tid in recs:
            recs[tid]["params"][name] = decode_param(value, dist)
    keys = ",".join(f"'{k}'" for k in KEPT_ATTRS)
    for tid, key, value in db.rows(
        f"SELECT trial_id, key, value_json FROM trial_user_attributes "
        f"WHERE trial_id IN ({marks}) AND key IN ({keys})"
    ):
        if tid in recs:
            try:
                recs[tid][attr_field(key)] = json.loads(value)
            except ValueError:
                pass
    return list(recs.values())


def rdb_status(
    run_dir: str, url: str, name: str, since: int, refresh: Sequence[int], direction: str
) -> Dict[str, Any]:
    db = RdbReader(url)
    try:
        row = db.rows("SELECT study_id FROM studies WHERE study_name = :n", n=name)
        if not row:
            return {"counts": {s: 0 for s in TRIAL_STATES}, "trials": [], "best": None}
        sid = int(row[0][0])
        # watermark cache: every trial with id <= mark is finished, and its counts/best are kept
        cache_path = os.path.join(run_dir, STATUS_CACHE)
        cache = read_json(cache_path)
        if cache.get("url") != url or cache.get("study_id") != sid:
            cache = {"url": url, "study_id": sid, "mark": 0, "counts": {}, "best": None}
        mark = int(cache["mark"])
        kept = {s: int(cache["counts"].get(s, 0)) for s in TRIAL_STATES}
        counts = dict(kept)
        window = db.rows(
            "SELECT trial_id, state FROM trials WHERE trial_id > :m AND +study_id = :s "
            "ORDER BY trial_id",
            m=mark,
            s=sid,
        )
        new_mark, prefix = mark, True  # the mark moves over the finished prefix of the window
        for tid, state in window:
            counts[state] = counts.get(state, 0) + 1
            if prefix and state in FINISHED:
                new_mark = tid
                kept[state] = kept.get(state, 0) + 1
            else:
                prefix = False
        pick = min if direction == "minimize" else max
        kept_best = cache.get("best")
        best = kept_best
        for tid, value, number in db.rows(
            "SELECT v.trial_id, v.value, t.number FROM trial_values v JOIN trials t "
            "ON t.trial_id = v.trial_id WHERE v.trial_id > :m AND t.study_id = :s "
            "AND t.state = 'COMPLETE' AND v.objective = 0 AND v.value_type = 'FINITE'",
            m=mark,
            s=sid,
        ):
            if best is None or (value != best[0] and pick(value, best[0]) == value):
                best = [value, number]
            if tid <= new_mark and (
                kept_best is None or (value != kept_best[0] and pick(value, kept_best[0]) == value)
            ):
                kept_best = [value, number]
        if new_mark != mark:
            try:
                write_json(
                    cache_path, {**cache, "mark": new_mark, "counts": kept, "best": kept_best}
                )
            except OSError:
                pass
        first = first_id_above(db, sid, since) if since >= 0 else 0
        ids = [tid for (tid,) in db.rows(
            "SELECT trial_id FROM trials WHERE trial_id >= :f AND +study_id = :s", f=first, s=sid
        )]  # fmt: skip
        if refresh:
            nums = ",".join(str(int(n)) for n in refresh)
            ids += [tid for (tid,) in db.rows(
                f"SELECT trial_id FROM trials WHERE trial_id < :f AND study_id = :s "
                f"AND number IN ({nums})", f=first, s=sid
            )]  # fmt: skip
        return {
            "counts": counts,
            "trials": trial_records(db, sorted(set(ids))),
            "best": None if best is None else {"value": best[0], "number": best[1]},
        }
    finally:
        db.close()
