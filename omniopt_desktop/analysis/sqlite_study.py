"""An Optuna SQLite study database opened read-only: its schema, its studies, one study's
directions and objective names (schemas of Optuna 3.x–5.x).

Every connection is opened with ``mode=ro`` (plain DBAPI ``sqlite3``: the SQL here is short and
hand-written, and importing SQLAlchemy would cost a third of a second at start-up) and no
statement writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence

from ..errors import AnalysisError
from .columns import StudyInfo

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


def study_info(conn: Any, study: StudyRow, path: str) -> StudyInfo:
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
