"""Load a study's trials from a result file: an Optuna SQLite database or journal file.

The one entry point for every reader of results (views, export, live monitor)::

    cols = load_trials("run/study.db")                       # everything
    new = load_trials("run/study.db", after_number=cols.last_number,
                      numbers=running_numbers)               # only what is new
    cols = cols.merged(new)

    follower = StudyFollower("run/study.journal")            # a study being written
    first = follower.poll()                                  # everything (first.full)
    later = follower.poll()                                  # new or changed trials only

Never writes, never goes through ``optuna.load_study``. A file that is neither (or is corrupt)
raises :class:`AnalysisError` with one line naming the file. If the file is replaced (a newer
snapshot fetched) while it is read, the read is retried on the new file.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass, replace
from typing import Any, Iterator, List, Optional, Sequence

import numpy as np

from ..errors import AnalysisError
from .columns import TrialColumns

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Fingerprint:
    """Identity of a file's current content, to notice that a snapshot was replaced."""

    inode: int
    size: int
    mtime_ns: int


def fingerprint(path: str) -> Optional[Fingerprint]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return Fingerprint(st.st_ino, st.st_size, st.st_mtime_ns)


def detect_kind(path: str) -> str:
    """``"sqlite"`` or ``"journal"`` from the file's first bytes; AnalysisError otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except FileNotFoundError as e:
        raise AnalysisError(
            f"{path}: no such file; give the study.db or study.journal of a run"
        ) from e
    except IsADirectoryError as e:
        raise AnalysisError(
            f"{path} is a folder; give the study.db or study.journal inside it"
        ) from e
    except OSError as e:
        raise AnalysisError(f"{path}: cannot read ({e.strerror})") from e
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    stripped = head.lstrip()
    if stripped.startswith(b"{") or not head:
        return "journal"  # the decoder says precisely what is wrong, if anything
    if path.endswith(".toml"):
        raise AnalysisError(
            f"{path} is a study file, not its results: run it (omniopt-desktop run {path}), "
            "then open its run folder runs/<study name>"
        )
    raise AnalysisError(
        f"{path}: not an Optuna study (neither an SQLite database nor a journal file); "
        "open the study.db or study.journal of a run, or the run folder"
    )


def find_result_file(path: str) -> str:
    """A run folder → its study.db or study.journal; a file → itself."""
    if os.path.isdir(path):
        from ..study import run_layout

        for name in (run_layout.SQLITE_DB, run_layout.JOURNAL_FILE):
            candidate = os.path.join(path, name)
            if os.path.exists(candidate):
                return candidate
        hint = ""
        if os.path.exists(os.path.join(path, "results.csv")):
            hint = " (an OmniOpt2 run folder: its results.csv is no Optuna study)"
        raise AnalysisError(
            f"{path}: no {run_layout.SQLITE_DB} or {run_layout.JOURNAL_FILE} in this folder{hint}"
        )
    return path


def load_trials(
    path: str,
    study_name: Optional[str] = None,
    after_number: Optional[int] = None,
    numbers: Optional[Sequence[int]] = None,
    user_attrs: Optional[Sequence[str]] = None,
) -> TrialColumns:
    """The trials of one study in ``path`` (a file or a run folder).

    ``after_number``: only trials numbered above it, plus those listed in ``numbers``.
    ``study_name``: needed only when the file holds several studies.
    ``user_attrs``: read only these user attributes (None: all of them).
    """
    path = find_result_file(os.fspath(path))
    with _no_gc():
        return _load(path, study_name, after_number, numbers, user_attrs)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Millions of rows become containers: the cyclic collector would run again and again
    over them (and find nothing to free). Paused while loading, restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(
    path: str,
    study_name: Optional[str],
    after_number: Optional[int],
    numbers: Optional[Sequence[int]],
    user_attrs: Optional[Sequence[str]],
) -> TrialColumns:
    for attempt in range(3):
        before = fingerprint(path)
        kind = detect_kind(path)
        if kind == "sqlite":
            from .sqlite_reader import read_sqlite

            cols = read_sqlite(path, study_name, after_number, numbers, user_attrs=user_attrs)
        else:
            from .journal_reader import read_journal

            cols = read_journal(path, study_name, after_number, numbers, user_attrs=user_attrs)
        after = fingerprint(path)
        if before is None or after is None or before.inode == after.inode or attempt == 2:
            return _with_frozen_names(cols, path)
    raise AssertionError("unreachable")  # pragma: no cover


def _with_frozen_names(cols: TrialColumns, path: str) -> TrialColumns:
    """Objective names from the run's frozen study.json, when there is one that fits."""
    from .run_files import frozen_study

    study = frozen_study(path)
    if study is None or len(study.objectives) != cols.study.n_objectives:
        return cols
    names = tuple(o.name for o in study.objectives)
    rank = {p.name: i for i, p in enumerate(study.parameters)}
    order = sorted(cols.params, key=lambda n: (rank.get(n, len(rank)), n))
    params = {n: cols.params[n] for n in order}
    return replace(cols, study=replace(cols.study, objective_names=names), params=params)


def list_study_names(path: str) -> List[str]:
    path = find_result_file(os.fspath(path))
    if detect_kind(path) == "sqlite":
        from .sqlite_study import list_studies, make_engine, read_schema

        engine = make_engine(path)
        try:
            with engine.connect() as conn:
                read_schema(conn, path)
                return [s.name for s in list_studies(conn)]
        finally:
            engine.dispose()
    from .journal_reader import decode_lines

    with open(path, "rb") as f:
        logs = decode_lines(f.read(), path)
    names: List[str] = []
    for log in logs:
        if log.get("op_code") == 0 and log["study_name"] not in names:
            names.append(log["study_name"])
    return names


@dataclass(frozen=True)
class PollResult:
    """What a :class:`StudyFollower` read: ``full`` means a complete (re)load to show as it
    is; otherwise the trials are new or changed ones to merge (``TrialColumns.merged``)."""

    columns: TrialColumns
    full: bool


class StudyFollower:
    """Reads a study that is being written, a little at a time.

    SQLite: trials numbered above the last one seen, plus those seen unfinished. Journal: only
    the bytes appended since the previous poll. The first poll, and any poll after the file
    was replaced (a newer snapshot), reads everything and says so (``full``).
    """

    def __init__(
        self,
        path: str,
        study_name: Optional[str] = None,
        user_attrs: Optional[Sequence[str]] = None,
    ) -> None:
        self.path = find_result_file(os.fspath(path))
        self.study_name = study_name
        self.user_attrs = user_attrs
        self.kind = detect_kind(self.path)
        self._inode: Optional[int] = None
        self._last = -1
        self._unfinished: set = set()
        self._journal: Any = None

    def poll(self) -> PollResult:
        fp = fingerprint(self.path)
        full = self._inode is None or fp is None or fp.inode != self._inode
        self._inode = fp.inode if fp else None
        with _no_gc():
            if self.kind == "journal":
                from .journal_reader import JournalFollower

                if full or self._journal is None:
                    self._journal = JournalFollower(self.path, self.study_name)
                cols = self._journal.poll(self.user_attrs)
            elif full:
                cols = _load(self.path, self.study_name, None, None, self.user_attrs)
            else:
                cols = _load(
                    self.path,
                    self.study_name,
                    self._last,
                    sorted(self._unfinished),
                    self.user_attrs,
                )
        if self.study_name is None and len(cols):
            self.study_name = cols.study.name
        if full:
            self._unfinished = set()
        if len(cols):
            self._last = max(self._last, cols.last_number)
            done = cols.number[np.isin(cols.state, (1, 2, 3))]
            self._unfinished.difference_update(int(x) for x in done)
            self._unfinished.update(int(x) for x in cols.number[np.isin(cols.state, (0, 4))])
        return PollResult(cols, full)

    def seed(self, cols: TrialColumns) -> None:
        """Start from trials already loaded (SQLite; a journal is read once in full anyway)."""
        if self.kind != "sqlite":
            return
        fp = fingerprint(self.path)
        self._inode = fp.inode if fp else None
        self.study_name = self.study_name or cols.study.name
        self._last = cols.last_number
        self._unfinished = {int(x) for x in cols.number[np.isin(cols.state, (0, 4))]}
