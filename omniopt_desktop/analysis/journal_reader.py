"""Read an Optuna journal file (JSON lines of operations) into :class:`TrialColumns`.

Replays the operation log as Optuna's ``JournalStorage`` does (same op codes, same rules:
updates to a finished trial are ignored, a duplicate study name is ignored, an incomplete last
line is a write in progress and skipped) but without building FrozenTrial objects: the whole
file is decoded by a single ``json.loads`` call when it is well formed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..errors import AnalysisError
from .columns import ParamInfo, StudyInfo, TrialColumns, attr_column, empty_columns
from .distributions import parse_distribution

CREATE_STUDY = 0
DELETE_STUDY = 1
SET_STUDY_USER_ATTR = 2
SET_STUDY_SYSTEM_ATTR = 3
CREATE_TRIAL = 4
SET_TRIAL_PARAM = 5
SET_TRIAL_STATE_VALUES = 6
SET_TRIAL_INTERMEDIATE_VALUE = 7
SET_TRIAL_USER_ATTR = 8
SET_TRIAL_SYSTEM_ATTR = 9
DISCARD_TRIALS = 10

_FINISHED = (1, 2, 3)
_DIRECTIONS = {1: "minimize", 2: "maximize", "MINIMIZE": "minimize", "MAXIMIZE": "maximize"}
METRIC_NAMES_KEY = "study:metric_names"


def decode_lines(data: bytes, path: str, check_first: bool = True) -> List[Dict[str, Any]]:
    """All complete log records of a journal file's bytes (an unfinished last line, a write
    in progress, is left for later)."""
    end = data.rfind(b"\n")
    if end < 0 or data[:end].isspace():
        return []
    try:
        # one decoder call for the whole file: the lines joined into one JSON array
        logs = json.loads(b"[" + data[:end].replace(b"\n", b",") + b"]")
    except ValueError:  # includes UnicodeDecodeError: find the line at fault
        logs = _decode_line_by_line(data[: end + 1], path)
    if check_first and logs and not (isinstance(logs[0], dict) and "op_code" in logs[0]):
        raise AnalysisError(f"{path}: not an Optuna journal file (no op_code in the first line)")
    return logs


def _decode_line_by_line(body: bytes, path: str) -> List[Dict[str, Any]]:
    logs = []
    for i, line in enumerate(body.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            logs.append(json.loads(line.decode("utf-8")))
        except UnicodeDecodeError as e:
            raise AnalysisError(f"{path}:{i}: not an Optuna journal file (not UTF-8 text)") from e
        except ValueError as e:
            raise AnalysisError(f"{path}:{i}: corrupt journal line ({e.msg})") from e
    return logs


class _Trial:
    __slots__ = (
        "number",
        "state",
        "values",
        "start",
        "complete",
        "params",
        "attrs",
        "dists",
        "study",
    )

    def __init__(self, number: int, dists: Dict[str, Any]) -> None:
        self.number = number
        self.dists = dists  # the study's distributions by parameter name (shared)
        self.study = -1
        self.state = 0
        self.values: Optional[List[Any]] = None
        self.start: Optional[str] = None
        self.complete: Optional[str] = None
        self.params: Dict[str, float] = {}
        self.attrs: Dict[str, Any] = {}


class JournalReplay:
    """The state of a journal after replaying its operations; more can be applied later.

    ``changed`` collects the ids of trials created or updated since it was last cleared (the
    live monitor reads only those).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.studies: Dict[int, Dict[str, Any]] = {}  # id -> name, directions, trials, sys
        self.trials: List[_Trial] = []  # by trial id
        self.dists: Dict[int, Dict[str, Any]] = {}  # study id -> parameter name -> JSON
        self.next_study = 0
        self.changed: set = set()

    def apply(self, logs: List[Dict[str, Any]]) -> None:
        studies, trials, changed = self.studies, self.trials, self.changed
        n_trials = len(trials)
        try:
            for log in logs:
                op = log["op_code"]
                if op == SET_TRIAL_PARAM or op == SET_TRIAL_USER_ATTR:  # the most frequent
                    tid = log["trial_id"]
                    t = trials[tid] if tid < n_trials else None
                    if t is None or t.state in _FINISHED:
                        continue
                    if op == SET_TRIAL_PARAM:
                        name = log["param_name"]
                        t.params[name] = log["param_value_internal"]
                        t.dists[name] = log["distribution"]
                    else:
                        t.attrs.update(log["user_attr"])
                    changed.add(tid)
                elif op == SET_TRIAL_STATE_VALUES:
                    tid = log["trial_id"]
                    t = trials[tid] if tid < n_trials else None
                    if t is None or t.state in _FINISHED:
                        continue
                    state = int(log["state"])
                    if state == 0 and t.state == 0:
                        continue  # another worker already took this trial
                    if state == 0:
                        t.start = log.get("datetime_start")
                    if state in _FINISHED:
                        t.complete = log.get("datetime_complete")
                    t.state = state
                    if log.get("values") is not None:
                        t.values = log["values"]
                    changed.add(tid)
                elif op == CREATE_TRIAL:
                    sid = log["study_id"]
                    st = studies.get(sid)
                    if st is None:
                        continue
                    t = _Trial(len(st["trials"]), self.dists.setdefault(sid, {}))
                    t.state = int(log.get("state", 0))
                    t.start = log.get("datetime_start")
                    t.complete = log.get("datetime_complete")
                    vals = log.get("values")
                    if vals is None and log.get("value") is not None:
                        vals = [log["value"]]
                    t.values = vals
                    for k, v in (log.get("params") or {}).items():
                        t.params[k] = v
                        t.dists[k] = log["distributions"][k]
                    t.attrs.update(log.get("user_attrs") or {})
                    st["trials"].append(n_trials)
                    t.study = sid
                    trials.append(t)
                    changed.add(n_trials)
                    n_trials += 1
                elif op == CREATE_STUDY:
                    name = log["study_name"]
                    if any(s["name"] == name for s in studies.values()):
                        continue
                    studies[self.next_study] = {
                        "name": name,
                        "directions": [_DIRECTIONS.get(d, "minimize") for d in log["directions"]],
                        "trials": [],
                        "sys": {},
                    }
                    self.next_study += 1
                elif op == DELETE_STUDY:
                    studies.pop(log["study_id"], None)
                elif op == SET_STUDY_SYSTEM_ATTR:
                    if log["study_id"] in studies:
                        studies[log["study_id"]]["sys"].update(log["system_attr"])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise AnalysisError(
                f"{self.path}: not a readable Optuna journal ({type(e).__name__}: {e})"
            ) from e

    def columns(
        self,
        study_name: Optional[str] = None,
        only: Optional[Sequence[int]] = None,
        user_attrs: Optional[Sequence[str]] = None,
    ) -> TrialColumns:
        """The chosen study's trials (all, or those with trial ids in ``only``)."""
        if not self.studies:
            raise AnalysisError(f"{self.path}: the journal holds no study yet")
        sid = _pick(self.studies, study_name, self.path)
        st = self.studies[sid]
        dirs = tuple(st["directions"]) or ("minimize",)
        names = st["sys"].get(METRIC_NAMES_KEY)
        if not isinstance(names, list) or len(names) != len(dirs):
            names = ["value"] if len(dirs) == 1 else [f"value_{i}" for i in range(len(dirs))]
        info = StudyInfo(
            st["name"], dirs, tuple(str(n) for n in names), source=self.path, storage_kind="journal"
        )
        if only is None:
            chosen = [self.trials[i] for i in st["trials"]]
        else:
            chosen = [self.trials[i] for i in sorted(only) if self.trials[i].study == sid]
        if not chosen:
            return empty_columns(info)
        return _to_columns(info, chosen, self.dists.get(sid, {}), user_attrs)


def _read_bytes(path: str, offset: int = 0) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read()
    except OSError as e:
        raise AnalysisError(f"{path}: cannot read the journal file ({e.strerror})") from e


def read_journal(
    path: str,
    study_name: Optional[str] = None,
    after_number: Optional[int] = None,
    numbers: Optional[Sequence[int]] = None,
    user_attrs: Optional[Sequence[str]] = None,
) -> TrialColumns:
    replay = JournalReplay(path)
    replay.apply(decode_lines(_read_bytes(path), path))
    cols = replay.columns(study_name, user_attrs=user_attrs)
    if after_number is None or not len(cols):
        return cols
    extra = np.isin(
        cols.number, np.asarray(list(numbers) if numbers is not None else [], dtype=np.int64)
    )
    return cols.take((cols.number > after_number) | extra)


class JournalFollower:
    """Follows a journal file that is being written: each :meth:`poll` reads only the bytes
    appended since the previous one and returns the trials created or changed meanwhile
    (the first poll returns all). A file that shrank or was replaced is read again whole."""

    def __init__(self, path: str, study_name: Optional[str] = None) -> None:
        self.path, self.study_name = path, study_name
        self._reset()

    def _reset(self) -> None:
        self.replay = JournalReplay(self.path)
        self.offset = 0
        self._inode: Optional[int] = None

    def poll(self, user_attrs: Optional[Sequence[str]] = None) -> TrialColumns:
        try:
            st = os.stat(self.path)
        except OSError as e:
            raise AnalysisError(f"{self.path}: cannot read the journal file ({e.strerror})") from e
        if self._inode not in (None, st.st_ino) or st.st_size < self.offset:
            self._reset()
        self._inode = st.st_ino
        data = _read_bytes(self.path, self.offset)
        end = data.rfind(b"\n")
        if end >= 0:
            self.replay.apply(
                decode_lines(data[: end + 1], self.path, check_first=self.offset == 0)
            )
            self.offset += end + 1
        changed = self.replay.changed
        self.replay.changed = set()
        return self.replay.columns(self.study_name, only=changed, user_attrs=user_attrs)


def _pick(studies: Dict[int, Dict[str, Any]], name: Optional[str], path: str) -> int:
    if name is None:
        if len(studies) == 1:
            return next(iter(studies))
        names = ", ".join(s["name"] for s in studies.values())
        raise AnalysisError(f"{path} holds several studies ({names}); choose one with --study NAME")
    for sid, s in studies.items():
        if s["name"] == name:
            return sid
    names = ", ".join(s["name"] for s in studies.values())
    raise AnalysisError(f"{path}: no study named '{name}' (there are: {names})")


def _epoch(text: Optional[str]) -> float:
    if not text:
        return float("nan")
    d = datetime.fromisoformat(text)
    if d.tzinfo is None:  # journals of old Optuna versions: naive local time
        d = d.astimezone()
    return d.astimezone(timezone.utc).timestamp()


def _to_columns(
    info: StudyInfo,
    chosen: List[_Trial],
    dist_json: Dict[str, Any],
    only: Optional[Sequence[str]] = None,
) -> TrialColumns:
    n, k = len(chosen), len(info.directions)
    values = np.full((n, k), np.nan)
    for i, t in enumerate(chosen):
        if t.values is not None and len(t.values) == k:
            values[i] = [np.nan if v is None else v for v in t.values]
    pinfo: Dict[str, ParamInfo] = {}
    params: Dict[str, np.ndarray] = {}
    used = dict.fromkeys(name for t in chosen for name in t.params)
    for name in used:
        pinfo[name] = parse_distribution(name, dist_json[name])
        params[name] = np.array([t.params.get(name, np.nan) for t in chosen], dtype=np.float64)
    keys = sorted({key for t in chosen for key in t.attrs})
    if only is not None:
        keys = [k for k in keys if k in set(only)]
    attrs = {key: attr_column([t.attrs.get(key) for t in chosen]) for key in keys}
    order = np.argsort([t.number for t in chosen], kind="stable")
    cols = TrialColumns(
        study=info,
        number=np.array([t.number for t in chosen], dtype=np.int64),
        state=np.array([t.state for t in chosen], dtype=np.int8),
        values=values,
        start=np.array([_epoch(t.start) for t in chosen]),
        complete=np.array([_epoch(t.complete) for t in chosen]),
        params=params,
        param_info=pinfo,
        user_attrs=attrs,
    )
    return cols if (np.diff(order) == 1).all() else cols.take(order)
