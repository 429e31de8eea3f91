"""The controller job of a cluster run, and the run-folder probes the workstation calls.

``python -m omniopt_desktop.engine.controller COMMAND --run-dir RUN``:

- ``run``: the controller job's main. Creates the study, submits the worker array
  (``<run>/slurm/worker.sh``), keeps ``resources.workers`` workers queued or running while the
  budget is not met (a worker that ended — TIMEOUT, NODE_FAIL, PREEMPTED, OUT_OF_MEMORY,
  scancel — is replaced; a crash loop is bounded), fails the RUNNING trials of workers whose job
  ended (they are retried), stops after ``study.max_failures`` consecutive failed trials and
  ends when ``n_trials`` trials are COMPLETE. Its state and reason go to ``<run>/controller.json``.
- ``status [--since N] [--refresh A,B]``: one JSON line: storage kind, filesystem, controller
  state, counts by trial state, best value, and only the trials numbered above ``N`` (plus those
  listed in ``--refresh``). SQLite/PostgreSQL are read by trial id ranges with a watermark cache
  (``<run>/.status-cache.json``), so the cost grows with new trials, not with the study.
- ``snapshot``: a consistent SQLite copy in ``<run>/snapshots/`` (SQLite backup API; a journal
  or PostgreSQL study is copied into SQLite); prints ``{"path", "size", "sha256"}``.
- ``cancel-trials [--reason R]``: fails every RUNNING trial with reason R (no retry).
- ``add-trials --add N``: raises ``study.n_trials`` in the frozen study by N.

Python 3.9+, optuna + stdlib (status on SQLite uses only sqlite3: no optuna import).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from ..study import run_layout as L
from ..study import trial_attrs as A

log = logging.getLogger("omniopt.controller")

STATE_FILE = "controller.json"
JOBS_FILE = "jobs.txt"
STATUS_CACHE = ".status-cache.json"
WORKER_SCRIPT = os.path.join("slurm", "worker.sh")
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
TRIAL_STATES = ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")
# a stop signal (time limit, scancel) reaches the program too: "killed by SIGTERM" is no failure
STOPPED_REASONS = ("interrupted", "program killed by SIGTERM")
NOT_PROGRAM_FAILURES = (*STOPPED_REASONS, "cancelled", "worker ")  # see counts_and_streak
_ACTIVE_JOB = {
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "RESIZING",
    "SIGNALING", "STAGE_OUT", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD",
    "SPECIAL_EXIT",
}  # fmt: skip


def _write_json(path: str, data: Any, compact: bool = False) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        if compact:
            json.dump(data, f, separators=(",", ":"), default=str)
        else:
            json.dump(data, f, indent=1, default=str)
        f.write("\n")
    os.replace(tmp, path)


def _read_json(path: str) -> Dict[str, Any]:
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _frozen(run_dir: str) -> Dict[str, Any]:
    return _read_json(os.path.join(run_dir, L.FROZEN_STUDY))


def _slurm_env() -> Dict[str, str]:
    """The environment for sbatch/squeue inside a job: no inherited job settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if k == "SLURM_CONF" or not (k.startswith("SLURM_") or k.startswith("SBATCH_"))
    }


def _sh(argv: Sequence[str], timeout: float = 60.0) -> Tuple[int, str]:
    try:
        p = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, env=_slurm_env()
        )
    except (OSError, subprocess.SubprocessError) as e:
        return 255, str(e)
    return p.returncode, p.stdout + (p.stderr if p.returncode else "")


# -- the controller job ---------------------------------------------------------------------------
class Controller:
    def __init__(self, run_dir: str, storage_url: Optional[str] = None) -> None:
        from ..study.model import Study
        from .frozen import load_frozen
        from .storage import ensure_study, open_storage

        self.run_dir = os.path.abspath(run_dir)
        self.model, self.run_info = load_frozen(self.run_dir)
        assert isinstance(self.model, Study)
        self.tag = str(self.run_info.get("tag") or os.path.basename(self.run_dir))
        self.worker_name = f"oo-{self.tag}-wrk"
        self.workers = max(1, int(self.model.resources.workers or 1))
        self.interval = float(self.run_info.get("controller_interval", 10.0))
        self.lease_grace = float(self.run_info.get("lease_ttl", 120.0))
        url = storage_url or self.run_info.get("storage") or "sqlite"
        self.storage = open_storage(L.storage_url(self.run_dir, url), workers=self.workers)
        ensure_study(self.storage, self.model.name, self.model.directions)
        self.study_id = self.storage.get_study_id_from_name(self.model.name)
        self.stop_why = ""
        self.submitted = 0
        self.submitted_at_progress = 0
        self.last_finished = -1
        self.state_path = os.path.join(self.run_dir, STATE_FILE)

    def set_state(self, state: str, reason: str = "", **extra: Any) -> None:
        data = {
            "state": state,
            "reason": reason,
            "job_id": os.environ.get("SLURM_JOB_ID"),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "updated": time.time(),
            "worker_submissions": self.submitted,
        }
        data.update(extra)
        _write_json(self.state_path, data)

    def counts_and_streak(self) -> Tuple[Dict[str, int], int, str]:
        """Counts by state, consecutive program failures at the end (by completion), the last
        failure's reason. Trials ended by a stop signal, a cancel or a lost worker are no
        program failures (they are retried) and neither break nor extend the streak."""
        from optuna.trial import TrialState

        trials = self.storage.get_all_trials(self.study_id, deepcopy=False)
        counts = {s: 0 for s in TRIAL_STATES}
        for t in trials:
            counts[t.state.name] = counts.get(t.state.name, 0) + 1
        self._retry_interrupted(trials)
        done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.FAIL)]
        done.sort(key=lambda t: (t.datetime_complete is None, t.datetime_complete, t.number))
        streak, reason = 0, ""
        for t in reversed(done):
            if t.state != TrialState.FAIL:
                break
            why = str(t.user_attrs.get(A.FAIL_REASON, ""))
            if why.startswith(NOT_PROGRAM_FAILURES):
                continue
            streak += 1
            reason = reason or why
        return counts, streak, reason

    def _retry_interrupted(self, trials: Sequence[Any]) -> None:
        """A worker stopped by a signal (time limit, scancel) failed its trial "interrupted":
        enqueue it again with the same parameters, once per attempt (``study.max_retries``)."""
        import optuna
        from optuna.trial import TrialState

        from .leases import ATTEMPT

        retried = {t.user_attrs.get(A.RETRY_OF) for t in trials if A.RETRY_OF in t.user_attrs}
        for t in trials:
            why = str(t.user_attrs.get(A.FAIL_REASON, ""))
            if t.state != TrialState.FAIL or not why.startswith(STOPPED_REASONS) or not t.params:
                continue
            attempt = int(t.user_attrs.get(ATTEMPT, 0))
            if t.number in retried or attempt >= self.model.max_retries:
                continue
            study = optuna.load_study(study_name=self.model.name, storage=self.storage)
            study.enqueue_trial(
                dict(t.params),
                user_attrs={A.RETRY_OF: t.number, ATTEMPT: attempt + 1},
                skip_if_exists=False,
            )
            retried.add(t.number)
            log.info("trial %d was interrupted; enqueued again", t.number)

    def live_workers(self) -> Optional[Set[str]]:
        """Ids (``J_T``) of this run's worker jobs still queued or running; None: no answer."""
        rc, out = _sh(["squeue", "-h", "-r", "-t", "all", "-n", self.worker_name, "-o", "%i|%T"])
        if rc != 0:
            log.warning("squeue failed (states unknown this round): %s", out.strip()[:300])
            return None
        live = set()
        for line in out.splitlines():
            jid, _, state = line.strip().partition("|")
            if jid and state.split()[0:1] and state.split()[0].rstrip("+") in _ACTIVE_JOB:
                live.add(jid)
        return live

    def submit_workers(self, count: int) -> bool:
        script = os.path.join(self.run_dir, WORKER_SCRIPT)
        argv = ["sbatch", "--parsable", f"--array=0-{count - 1}", script]
        rc, out = _sh(argv)
        if rc != 0 or not out.strip().split(";")[0].isdigit():
            # sbatch may fail after queueing: the next round counts live jobs again
            log.warning("sbatch of %d worker(s) failed: %s", count, out.strip()[:300])
            return False
        job = out.strip().split(";")[0]
        self.submitted += count
        with open(os.path.join(self.run_dir, JOBS_FILE), "a") as f:
            f.write(f"{job} wrk {count} {time.time():.0f}\n")
        log.info("submitted %d worker(s) as job %s", count, job)
        return True

    def cancel_workers(self) -> None:
        _sh(["scancel", "-n", self.worker_name])

    def step(self) -> Optional[Tuple[str, str]]:
        """One round; returns (final state, reason) when the controller should end."""
        from .leases import reap_stale

        live = self.live_workers()
        if live is not None:
            dead, numbers = self._dead_workers(live)
            for r in reap_stale(
                self.storage,
                self.model.name,
                self.model.max_retries,
                grace=self.lease_grace,
                dead_workers=sorted(dead),
                numbers=numbers,
            ):
                log.warning("trial %d failed: %s (retry: %s)", r.number, r.reason, r.retry_number)
        counts, streak, last_reason = self.counts_and_streak()
        n = self.model.n_trials
        if counts["COMPLETE"] >= n:
            return "done", f"{counts['COMPLETE']} of {n} trials COMPLETE"
        limit = self.model.max_failures
        if limit and streak >= limit:
            return (
                "failed",
                f"stopped after {streak} consecutive failed trials (study.max_failures = {limit})"
                + (f"; last: {last_reason}" if last_reason else ""),
            )
        finished = counts["COMPLETE"] + counts["FAIL"] + counts["PRUNED"]
        if finished != self.last_finished:
            self.last_finished = finished
            self.submitted_at_progress = self.submitted
        if live is None:
            return None
        remaining = n - counts["COMPLETE"]
        wanted = min(self.workers, max(0, remaining))
        if len(live) < wanted:
            if self.submitted - self.submitted_at_progress >= 3 * self.workers + 3:
                return (
                    "failed",
                    f"{self.submitted - self.submitted_at_progress} worker jobs ended without "
                    "finishing a trial; see logs/worker-*.out in the run folder",
                )
            self.submit_workers(wanted - len(live))
        self.set_state("running", live_workers=len(live), counts=counts)
        return None

    def _dead_workers(self, live: Set[str]) -> Tuple[Set[str], List[int]]:
        """SLURM workers (``<job>_<task>``) whose job is no longer queued or running, found
        through the leases of RUNNING trials and the workers' current-trial files, and the
        numbers of the trials they were running (also those not leased yet)."""
        from optuna.trial import TrialState

        from .leases import LEASE_KEY, read_current

        def slurm_worker(w: str) -> bool:
            job, _, task = w.partition("_")
            return job.isdigit() and task.isdigit()

        running = self.storage.get_all_trials(
            self.study_id, deepcopy=False, states=(TrialState.RUNNING,)
        )
        dead = set()
        for t in running:
            worker = str((t.system_attrs.get(LEASE_KEY) or {}).get("worker", ""))
            if slurm_worker(worker) and worker not in live:
                dead.add(worker)
        logs = os.path.join(self.run_dir, L.LOGS_DIR)
        try:
            names = os.listdir(logs)
        except OSError:
            names = []
        numbers = []
        for name in names:
            if not (name.startswith("current-") and name.endswith(".json")):
                continue
            worker = name[len("current-") : -len(".json")]
            if slurm_worker(worker) and worker not in live:
                current = read_current(self.run_dir, worker) or {}
                if isinstance(current.get("number"), int):
                    dead.add(worker)
                    numbers.append(current["number"])
        running_numbers = {t.number for t in running}
        return dead, [n for n in numbers if n in running_numbers]

    def run(self) -> int:
        def handler(signum: int, _frame: Any) -> None:
            self.stop_why = f"received {signal.Signals(signum).name}"

        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(s, handler)
        self.set_state("running", "started")
        stop_file = os.path.join(self.run_dir, L.STOP_FILE)
        while True:
            if os.path.exists(stop_file):
                self.set_state("stopped", "STOP file present (cancelled)")
                log.info("controller stopping: STOP file present")
                return 4
            if self.stop_why == "received SIGUSR1":  # our time limit is near
                return self._queue_successor()
            if self.stop_why:
                self.set_state("stopped", self.stop_why)
                log.info("controller stopping: %s", self.stop_why)
                return 4
            try:
                final = self.step()
            except Exception as e:  # a storage hiccup must not end the study
                log.exception("controller round failed: %s", e)
                final = None
            if final:
                state, reason = final
                if state != "done":
                    self.cancel_workers()
                else:
                    self._cancel_pending_workers()
                self.set_state(state, reason)
                log.info("controller %s: %s", state, reason)
                return 0 if state == "done" else 3
            deadline = time.monotonic() + self.interval
            while time.monotonic() < deadline and not self.stop_why:
                time.sleep(min(0.5, self.interval))

    def _queue_successor(self) -> int:
        """Queue the next controller (it starts once this one has ended: ``singleton``)."""
        script = os.path.join(self.run_dir, "slurm", "controller.sh")
        rc, out = _sh(["sbatch", "--parsable", "--dependency=singleton", script])
        job = out.strip().split(";")[0]
        if rc != 0 or not job.isdigit():
            why = f"time limit reached; queueing the next controller failed: {out.strip()[:300]}"
            self.set_state("stopped", why + "; continue with submit --resume")
            log.error("%s", why)
            return 4
        with open(os.path.join(self.run_dir, JOBS_FILE), "a") as f:
            f.write(f"{job} ctl 1 {time.time():.0f}\n")
        self.set_state("requeued", f"time limit reached; controller job {job} continues")
        log.info("time limit near: controller job %s queued to continue", job)
        return 0

    def _cancel_pending_workers(self) -> None:
        _sh(["scancel", "-t", "PENDING", "-n", self.worker_name])


# -- status ---------------------------------------------------------------------------------------
class _DB:
    """Read-only SQL over an Optuna RDB (sqlite3 for SQLite, SQLAlchemy for PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :]
            self.con: Any = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            self.kind = "sqlite"
        else:
            from sqlalchemy import create_engine

            from .storage import _sqlalchemy_pg_url

            self.engine = create_engine(_sqlalchemy_pg_url(url))
            self.con = self.engine.connect()
            self.kind = "postgresql"

    def rows(self, sql: str, **params: Any) -> List[Tuple[Any, ...]]:
        if self.kind == "sqlite":
            return list(self.con.execute(sql, params).fetchall())
        from sqlalchemy import text

        return [tuple(r) for r in self.con.execute(text(sql), params).fetchall()]

    def close(self) -> None:
        self.con.close()


def _first_id_above(db: _DB, study_id: int, number: int) -> int:
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


def _decode_param(value: float, dist_json: str) -> Any:
    try:
        dist = json.loads(dist_json)
    except ValueError:
        return value
    name, attrs = dist.get("name", ""), dist.get("attributes", {})
    if name == "CategoricalDistribution":
        return attrs.get("choices", [value])[int(value)]
    if name.startswith("Int"):
        return int(value)
    return value


def _decode_value(value: Optional[float], kind: str) -> Optional[float]:
    if kind == "INF_POS":
        return float("inf")
    if kind == "INF_NEG":
        return float("-inf")
    return value


def _trial_records(db: _DB, ids: Sequence[int]) -> List[Dict[str, Any]]:
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
            recs[tid]["values"] = (recs[tid]["values"] or []) + [_decode_value(value, kind)]
    for tid, name, value, dist in db.rows(
        f"SELECT trial_id, param_name, param_value, distribution_json FROM trial_params "
        f"WHERE trial_id IN ({marks})"
    ):
        if tid in recs:
            recs[tid]["params"][name] = _decode_param(value, dist)
    wanted = (A.FAIL_REASON, A.RUNTIME, A.WORKER, A.HOSTNAME, A.EXIT_CODE)
    keys = ",".join(f"'{k}'" for k in wanted)
    for tid, key, value in db.rows(
        f"SELECT trial_id, key, value_json FROM trial_user_attributes "
        f"WHERE trial_id IN ({marks}) AND key IN ({keys})"
    ):
        if tid in recs:
            try:
                recs[tid][key[len(A.PREFIX) :]] = json.loads(value)
            except ValueError:
                pass
    return list(recs.values())


def _rdb_status(
    run_dir: str, url: str, name: str, since: int, refresh: Sequence[int], direction: str
) -> Dict[str, Any]:
    db = _DB(url)
    try:
        row = db.rows("SELECT study_id FROM studies WHERE study_name = :n", n=name)
        if not row:
            return {"counts": {s: 0 for s in TRIAL_STATES}, "trials": [], "best": None}
        sid = int(row[0][0])
        # watermark cache: every trial with id <= mark is finished, and its counts/best are kept
        cache_path = os.path.join(run_dir, STATUS_CACHE)
        cache = _read_json(cache_path)
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
                _write_json(
                    cache_path, {**cache, "mark": new_mark, "counts": kept, "best": kept_best}
                )
            except OSError:
                pass
        first = _first_id_above(db, sid, since) if since >= 0 else 0
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
            "trials": _trial_records(db, sorted(set(ids))),
            "best": None if best is None else {"value": best[0], "number": best[1]},
        }
    finally:
        db.close()


_STATE_NAMES = {0: "RUNNING", 1: "COMPLETE", 2: "PRUNED", 3: "FAIL", 4: "WAITING"}
_KEPT_ATTRS = (A.FAIL_REASON, A.RUNTIME, A.WORKER, A.HOSTNAME, A.EXIT_CODE)
JOURNAL_CACHE = ".status-cache-journal.json"
RECENT_FINISHED = 200  # finished trials kept in the cache to answer --refresh


class _JournalScan:
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
            "state": _STATE_NAMES.get(int(log.get("state", 0)), "RUNNING"),
            "start": log.get("datetime_start"),
            "end": log.get("datetime_complete"),
            "values": log.get("values"),
            "params": {
                k: _decode_param(v, dists.get(k, "{}"))
                for k, v in (log.get("params") or {}).items()
            },
        }
        for key, value in (log.get("user_attrs") or {}).items():
            if key in _KEPT_ATTRS:
                rec[key[len(A.PREFIX) :]] = value
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
                rec["params"][log["param_name"]] = _decode_param(
                    log["param_value_internal"], log.get("distribution", "{}")
                )
            elif op == 8:
                for key, value in (log.get("user_attr") or {}).items():
                    if key in _KEPT_ATTRS:
                        rec[key[len(A.PREFIX) :]] = value
            else:
                state = _STATE_NAMES.get(int(log["state"]), "RUNNING")
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


def _journal_status(
    run_dir: str, url: str, name: str, since: int, refresh: Sequence[int], direction: str
) -> Dict[str, Any]:
    """Incremental when the caller continues from the previous poll (``since`` at least the
    newest number then); otherwise one full pass over the file (no Optuna either way)."""
    path = url.split(":///", 1)[1].split("?", 1)[0]
    cache_path = os.path.join(run_dir, JOURNAL_CACHE)
    cache = _read_json(cache_path)
    st = os.stat(path)
    usable = (
        cache.get("file") == [st.st_dev, st.st_ino]
        and int(cache.get("state", {}).get("offset", 0)) <= st.st_size
        and since >= int(cache.get("reported_max", -1))
    )
    scan = _JournalScan(name, direction, cache.get("state") if usable else None)
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
        _write_json(
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


def status(run_dir: str, since: int = -1, refresh: Sequence[int] = ()) -> Dict[str, Any]:
    run_dir = os.path.abspath(run_dir)
    frozen = _frozen(run_dir)
    run = frozen.get("run", {})
    name = frozen.get("study", {}).get("name", "study")
    kind = run.get("storage", "sqlite")
    url = L.storage_url(run_dir, kind)
    out: Dict[str, Any] = {
        "run_dir": run_dir,
        "storage": "postgresql" if url.startswith("postgres") else url.split(":", 1)[0],
        "filesystem": run.get("filesystem", ""),
        "n_trials": frozen.get("study", {}).get("n_trials"),
        "controller": _read_json(os.path.join(run_dir, STATE_FILE)),
        "stopped": os.path.exists(os.path.join(run_dir, L.STOP_FILE)),
    }
    direction = (frozen.get("objective") or [{}])[0].get("direction", "minimize")
    exists = url.startswith("postgres") or os.path.exists(url.split(":///", 1)[1])
    if not exists:
        out.update({"counts": {s: 0 for s in TRIAL_STATES}, "trials": [], "best": None})
    elif url.startswith("journal:"):
        out.update(_journal_status(run_dir, url, name, since, refresh, direction))
    else:
        out.update(_rdb_status(run_dir, url, name, since, refresh, direction))
    if len(frozen.get("objective") or []) > 1:
        out["best"] = None
    return out


# -- snapshot / cancel / add ----------------------------------------------------------------------
def snapshot(run_dir: str) -> Dict[str, Any]:
    """A consistent SQLite copy of the run's study in ``<run>/snapshots/``."""
    run_dir = os.path.abspath(run_dir)
    frozen = _frozen(run_dir)
    name = frozen.get("study", {}).get("name", "study")
    url = L.storage_url(run_dir, frozen.get("run", {}).get("storage", "sqlite"))
    folder = os.path.join(run_dir, L.SNAPSHOTS_DIR)
    os.makedirs(folder, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    final = os.path.join(folder, f"{name}-{stamp}-{os.getpid()}.db")
    tmp = final + ".part"
    try:
        if url.startswith("sqlite:///"):
            src = sqlite3.connect(f"file:{url[len('sqlite:///') :]}?mode=ro", uri=True, timeout=60)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # a consistent copy even while workers write
            finally:
                dst.close()
                src.close()
        else:
            import optuna

            from .storage import open_storage

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            optuna.copy_study(
                from_study_name=name,
                from_storage=open_storage(url),
                to_storage="sqlite:///" + tmp,
            )
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    digest = hashlib.sha256()
    with open(final, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"path": final, "size": os.path.getsize(final), "sha256": digest.hexdigest()}


def cancel_trials(run_dir: str, reason: str = "cancelled") -> List[int]:
    """Fail every RUNNING trial with ``reason`` (no retry); returns their numbers."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    from .storage import open_storage

    run_dir = os.path.abspath(run_dir)
    frozen = _frozen(run_dir)
    name = frozen.get("study", {}).get("name", "study")
    url = L.storage_url(run_dir, frozen.get("run", {}).get("storage", "sqlite"))
    if url.startswith(("sqlite:", "journal:")) and not os.path.exists(url.split(":///", 1)[1]):
        return []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(url)
    sid = storage.get_study_id_from_name(name)
    done = []
    for t in storage.get_all_trials(sid, deepcopy=False, states=(TrialState.RUNNING,)):
        try:
            storage.set_trial_user_attr(t._trial_id, A.FAIL_REASON, reason)
            storage.set_trial_user_attr(t._trial_id, A.END, time.time())
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            done.append(t.number)
        except (UpdateFinishedTrialError, RuntimeError):
            continue
    return done


def add_trials(run_dir: str, add: int) -> int:
    path = os.path.join(os.path.abspath(run_dir), L.FROZEN_STUDY)
    data = _read_json(path)
    if not data:
        raise SystemExit(f"{path}: cannot read the frozen study")
    data.setdefault("study", {})
    data["study"]["n_trials"] = int(data["study"].get("n_trials", 0)) + int(add)
    _write_json(path, data)
    return int(data["study"]["n_trials"])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m omniopt_desktop.engine.controller")
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd in ("run", "status", "snapshot", "cancel-trials", "add-trials"):
        p = sub.add_parser(cmd)
        p.add_argument("--run-dir", required=True)
        if cmd == "run":
            p.add_argument("--storage", default=None)
        if cmd == "status":
            p.add_argument("--since", type=int, default=-1)
            p.add_argument("--refresh", default="")
        if cmd == "cancel-trials":
            p.add_argument("--reason", default="cancelled")
        if cmd == "add-trials":
            p.add_argument("--add", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "run":
        ctl = Controller(args.run_dir, args.storage)
        return ctl.run()
    if args.command == "status":
        refresh = [int(x) for x in args.refresh.split(",") if x.strip()]
        print(json.dumps(status(args.run_dir, args.since, refresh), separators=(",", ":")))
    elif args.command == "snapshot":
        print(json.dumps(snapshot(args.run_dir)))
    elif args.command == "cancel-trials":
        print(json.dumps({"cancelled": cancel_trials(args.run_dir, args.reason)}))
    else:
        print(json.dumps({"n_trials": add_trials(args.run_dir, args.add)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
