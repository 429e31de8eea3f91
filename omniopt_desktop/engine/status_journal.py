"""``status`` over an Optuna journal file, replayed without Optuna.

The replay state is cached in ``<run>/.status-cache-journal.json`` with the byte offset read so
far, so a poll that continues from the previous one reads only what was appended since.
Python 3.9+, stdlib only.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Sequence

from .run_files import read_json, write_json
from .status_records import (
    FINISHED,
    KEPT_ATTRS,
    STATE_NAMES,
    TRIAL_STATES,
    attr_field,
    decode_param,
)

JOURNAL_CACHE = ".status-cache-journal.json"
RECENT_FINISHED = 200  # finished trials kept in the cache to answer --refresh


class JournalScan:
    """Optuna's journal replayed for one study without Optuna, resumable at a byte offset.

    Mirrors ``JournalStorage``'s rules: trial ids count every created trial of every existing
    study, numbers count per study, a finished trial takes no more changes, a RUNNING trial
    cannot be set RUNNING again. Only unfinished trials (and the last finished ones) are kept
    between polls, so a poll costs the bytes appended since the last one.
    """

    def __init__(self, name: str, direction: str, state: Optional[Dict[str, Any]] = None):
        st = state or {}
        self.name = name
        self.minimize = direction != "maximize"
        self.offset = int(st.get("offset", 0))
        self.next_trial_id = int(st.get("next_trial_id", 0))
        self.next_study_id = int(st.get("next_study_id", 0))
        self.studies: Dict[str, int] = dict(st.get("studies", {}))
        self.sid: Optional[int] = st.get("sid")
        self.n_ours = int(st.get("n_ours", 0))
        self.finished = {k: int(v) for k, v in st.get("finished", {}).items()}
        self.best = st.get("best")
        self.open: Dict[int, Dict[str, Any]] = {int(k): v for k, v in st.get("open", {}).items()}
        self.recent: Dict[int, Dict[str, Any]] = {
            int(k): v for k, v in st.get("recent", {}).items()
        }
        self.touched: Dict[int, Dict[str, Any]] = {}  # number -> record, changed in this scan

    def state(self) -> Dict[str, Any]:
        keep = sorted(self.recent)[-RECENT_FINISHED:]
        return {
            "offset": self.offset, "next_trial_id": self.next_trial_id,
            "next_study_id": self.next_study_id, "studies": self.studies, "sid": self.sid,
            "n_ours": self.n_ours, "finished": self.finished, "best": self.best,
            "open": self.open, "recent": {n: self.recent[n] for n in keep},
        }  # fmt: skip

    def _finish(self, tid: int, rec: Dict[str, Any]) -> None:
        self.open.pop(tid, None)
        self.finished[rec["state"]] = self.finished.get(rec["state"], 0) + 1
        self.recent[rec["number"]] = rec
        values = rec.get("values")
        if rec["state"] == "COMPLETE" and values and isinstance(values[0], (int, float)):
            v = float(values[0])
            if (
                v == v
                and abs(v) != float("inf")
                and (self.best is None or (v < self.best[0] if self.minimize else v > self.best[0]))
            ):
                self.best = [v, rec["number"]]

    def _create_trial(self, log: Dict[str, Any]) -> None:
        study_id = log.get("study_id")
        if study_id not in self.studies.values():
            return
        tid = self.next_trial_id
        self.next_trial_id += 1
        if study_id != self.sid:
            return
        dists = log.get("distributions", {}) or {}
        rec: Dict[str, Any] = {
            "number": self.n_ours,
            "state": STATE_NAMES.get(int(log.get("state", 0)), "RUNNING"),
            "start": log.get("datetime_start"),
            "end": log.get("datetime_complete"),
            "values": log.get("values"),
            "params": {
                k: decode_param(v, dists.get(k, "{}")) for k, v in (log.get("params") or {}).items()
            },
        }
        for key, value in (log.get("user_attrs") or {}).items():
            if key in KEPT_ATTRS:
                rec[attr_field(key)] = value
        self.n_ours += 1
        self.touched[rec["number"]] = rec
        if rec["state"] in FINISHED:
            self._finish(tid, rec)
        else:
            self.open[tid] = rec

    def apply(self, log: Dict[str, Any]) -> None:
        op = log.get("op_code")
        if op == 0:
            if log.get("study_name") not in self.studies:
                self.studies[log["study_name"]] = self.next_study_id
                if log["study_name"] == self.name:
                    self.sid = self.next_study_id
                self.next_study_id += 1
        elif op == 1:
            self.studies = {k: v for k, v in self.studies.items() if v != log.get("study_id")}
        elif op == 4:
            self._create_trial(log)
        elif op in (5, 6, 8):
            tid = log.get("trial_id")
            rec = self.open.get(tid) if isinstance(tid, int) else None
            if rec is None:
                return  # another study's trial, or a finished one (Optuna ignores it too)
            if op == 5:
                rec["params"][log["param_name"]] = decode_param(
                    log["param_value_internal"], log.get("distribution", "{}")
                )
            elif op == 8:
                for key, value in (log.get("user_attr") or {}).items():
                    if key in KEPT_ATTRS:
                        rec[attr_field(key)] = value
            else:
                state = STATE_NAMES.get(int(log["state"]), "RUNNING")
                if state == "RUNNING" and rec["state"] == "RUNNING":
                    return
                if state == "RUNNING":
                    rec["start"] = log.get("datetime_start")
                rec["state"] = state
                if log.get("values") is not None:
                    rec["values"] = log["values"]
                if state in FINISHED:
                    rec["end"] = log.get("datetime_complete")
                    self._finish(tid, rec)
            self.touched[rec["number"]] = rec

    def scan(self, path: str) -> None:
        with open(path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line being written is read next time
        for line in data[:end].splitlines():
            if line.strip():
                try:
                    self.apply(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged line: Optuna would stop; we skip it
        self.offset += end

    def counts(self) -> Dict[str, int]:
        out = {s: self.finished.get(s, 0) for s in TRIAL_STATES}
        for rec in self.open.values():
            out[rec["state"]] = out.get(rec["state"], 0) + 1
        return out


def journal_status(
    run_dir: str, url: str, name: str, since: int, refresh: Sequence[int], direction: str
) -> Dict[str, Any]:
    """Incremental when the caller continues from the previous poll (``since`` at least the
    newest number then); otherwise one full pass over the file (no Optuna either way)."""
    path = url.split(":///", 1)[1].split("?", 1)[0]
    cache_path = os.path.join(run_dir, JOURNAL_CACHE)
    cache = read_json(cache_path)
    st = os.stat(path)
    usable = (
        cache.get("file") == [st.st_dev, st.st_ino]
        and int(cache.get("state", {}).get("offset", 0)) <= st.st_size
        and since >= int(cache.get("reported_max", -1))
    )
    scan = JournalScan(name, direction, cache.get("state") if usable else None)
    before = {rec["number"]: rec for rec in scan.open.values()}
    scan.scan(path)
    wanted = set(refresh)
    recs: Dict[int, Dict[str, Any]] = {}
    for number, rec in {**before, **scan.recent, **scan.touched}.items():
        if number > since or number in wanted:
            recs[number] = rec
    for rec in scan.open.values():
        if rec["number"] > since or rec["number"] in wanted:
            recs[rec["number"]] = rec
    try:
        write_json(
            cache_path,
            {
                "file": [st.st_dev, st.st_ino],
                "reported_max": scan.n_ours - 1,
                "state": scan.state(),
            },
            compact=True,
        )
    except OSError:
        pass
    best = scan.best
    return {
        "counts": scan.counts(),
        "trials": [recs[n] for n in sorted(recs)],
        "best": None if best is None else {"value": best[0], "number": best[1]},
    }
