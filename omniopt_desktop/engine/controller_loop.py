"""The controller job's loop: keep the worker array going until the study's budget is met.

Each round (``Controller.step``) fails the RUNNING trials of workers whose SLURM job ended (they
are retried), enqueues interrupted trials again, ends the run when ``n_trials`` trials are
COMPLETE or after ``study.max_failures`` consecutive program failures, and tops the worker array
up to ``resources.workers`` (a crash loop of workers that finish nothing is bounded). State and
reason go to ``<run>/controller.json``. Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from ..study import run_layout as L
from ..study import trial_attrs as A
from . import slurm_jobs
from .failure_streak import NOT_PROGRAM_FAILURES, STOPPED_REASONS, failure_streak
from .run_files import STATE_FILE, write_json
from .status_records import TRIAL_STATES

log = logging.getLogger("omniopt.controller")
__all__ = ["NOT_PROGRAM_FAILURES", "STOPPED_REASONS", "Controller"]


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
        write_json(self.state_path, data)

    def counts_and_streak(self) -> Tuple[Dict[str, int], int, str]:
        """Counts by state, consecutive program failures at the end (by completion), the last
        failure's reason (see :mod:`.failure_streak`)."""
        trials = self.storage.get_all_trials(self.study_id, deepcopy=False)
        counts = {s: 0 for s in TRIAL_STATES}
        for t in trials:
            counts[t.state.name] = counts.get(t.state.name, 0) + 1
        self._retry_interrupted(trials)
        streak, reason = failure_streak(trials)
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
        return slurm_jobs.live_jobs(self.worker_name)

    def submit_workers(self, count: int) -> bool:
        if not slurm_jobs.submit_worker_array(self.run_dir, count):
            return False
        self.submitted += count
        return True

    def cancel_workers(self) -> None:
        slurm_jobs.cancel_jobs(self.worker_name)

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
        limit = self.model.failure_limit
        if streak >= limit:
            return (
                "failed",
                f"stopped after {streak} consecutive failed trials "
                f"({self.model.failure_limit_text()})"
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
        job, failure = slurm_jobs.queue_successor(self.run_dir)
        if job is None:
            why = f"time limit reached; queueing the next controller failed: {failure}"
            self.set_state("stopped", why + "; continue with submit --resume")
            log.error("%s", why)
            return 3  # not stopped as asked: the job shows FAILED
        self.set_state("requeued", f"time limit reached; controller job {job} continues")
        log.info("time limit near: controller job %s queued to continue", job)
        return 0

    def _cancel_pending_workers(self) -> None:
        slurm_jobs.cancel_jobs(self.worker_name, pending_only=True)
