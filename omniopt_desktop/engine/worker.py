"""The worker loop: until the budget is reached or a stop, run one trial after another.

A worker stops (see :class:`.worker_stop.Exit`) when ``n_trials`` trials are COMPLETE (while
the last ones run in other workers it waits, reaping stale leases, so that nothing is left
behind), when ``<run>/STOP`` exists, on SIGTERM/SIGINT/SIGUSR1 (the running program is killed
and its trial fails "interrupted"), when its parent process is gone (``parent_pid``), or after
``study.max_failures`` consecutive failed trials (:mod:`.worker_stop`). Racing workers do not
overshoot ``n_trials``: a trial asked beyond the budget is not run (see :mod:`.budget`). A
transient storage error that outlasts the retries pauses the worker; it does not end it. One
trial (ask → fill the command → run the program → parse its output → tell): :mod:`.trial_runner`.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from dataclasses import dataclass
from typing import Dict, Optional

from ..errors import OmniOptError
from ..study import run_layout as L
from .frozen import load_frozen, program_cwd
from .leases import reap_stale
from .profiling import PROFILE_ENV, profiled_run
from .retries import is_transient
from .samplers import build_sampler
from .space import SearchSpace
from .storage import ensure_study, open_storage
from .trial_counts import count_states
from .trial_runner import TrialRunner
from .worker_stop import Exit, StopRequests, Streaks

log = logging.getLogger("omniopt.worker")

IDLE_POLL = 0.2  # seconds between checks while the last trials run in other workers


@dataclass(frozen=True)
class WorkerConfig:
    run_dir: str
    storage_url: Optional[str] = None  # default: the frozen study's run.storage
    worker_id: Optional[str] = None
    worker_index: int = 0
    n_workers: int = 1
    lease_ttl: float = 120.0
    lease_interval: float = 15.0
    parent_pid: Optional[int] = None
    kill_grace: float = 2.0


def default_worker_id() -> str:
    job = os.environ.get("SLURM_ARRAY_JOB_ID")
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    if job and task:
        return f"{job}_{task}"
    if os.environ.get("SLURM_JOB_ID"):
        return f"{os.environ['SLURM_JOB_ID']}:{os.getpid()}"
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, cfg: WorkerConfig) -> None:
        import optuna

        self.cfg = cfg
        self.run_dir = os.path.abspath(cfg.run_dir)
        self.model, self.run_info = load_frozen(self.run_dir)
        self.worker_id = cfg.worker_id or default_worker_id()
        self.host = socket.gethostname()
        url = cfg.storage_url or self.run_info.get("storage") or "sqlite"
        self.storage_url = L.storage_url(self.run_dir, url)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.storage = open_storage(self.storage_url, workers=cfg.n_workers, incremental=True)
        ensure_study(self.storage, self.model.name, self.model.directions)
        self.space = SearchSpace(self.model)
        sampler = build_sampler(self.model, cfg.n_workers, cfg.worker_index)
        self.study = optuna.load_study(
            study_name=self.model.name, storage=self.storage, sampler=sampler
        )
        self.stop = StopRequests(self.run_dir, cfg.parent_pid)
        self.trials = TrialRunner(
            self.run_dir,
            self.model,
            self.storage,
            self.study,
            self.space,
            program_cwd(self.model, self.run_info, self.run_dir),
            self.worker_id,
            self.host,
            cfg,
            self.stop.should_stop,
        )
        self._last_reap = 0.0

    def install_signal_handlers(self) -> None:
        self.stop.install_signal_handlers()

    def counts(self) -> Dict[str, int]:
        return count_states(self.storage, self.study._study_id)

    def maybe_reap(self) -> None:
        now = time.time()
        if now - self._last_reap < self.cfg.lease_ttl / 2:
            return
        self._last_reap = now
        for r in reap_stale(
            self.storage, self.model.name, self.model.max_retries, grace=self.cfg.lease_ttl
        ):
            log.warning("trial %d failed: %s (retry: %s)", r.number, r.reason, r.retry_number)

    def one_trial(self) -> str:
        return self.trials.one_trial()

    def run(self) -> Exit:
        streaks = Streaks(self.model)
        idle = False
        log.info("worker %s started on %s (pid %d)", self.worker_id, self.host, os.getpid())
        while True:
            if self.stop.should_stop():
                log.info("stopping: %s", self.stop.why)
                return Exit.STOPPED
            if self.stop.stop_file():
                log.info("stopping: STOP file present")
                return Exit.STOPPED
            try:
                self.maybe_reap()
                c = self.counts()
            except Exception as e:
                self._storage_trouble(e)
                continue
            if c["COMPLETE"] >= self.model.n_trials:
                log.info("done: %d trials COMPLETE", c["COMPLETE"])
                return Exit.DONE
            if c["COMPLETE"] + c["RUNNING"] >= self.model.n_trials:
                # the rest is running elsewhere; stay until it is COMPLETE, to retry what fails
                # or what a dead worker leaves behind (its lease expires and we reap it)
                if not idle:
                    log.info("waiting: the remaining trials are running in other workers")
                idle = True
                self.stop.event.wait(IDLE_POLL)
                continue
            idle = False
            try:
                state = self.one_trial()
            except Exception as e:
                self._storage_trouble(e)
                continue
            end = streaks.after(state, self.stop.event.is_set(), self.trials.last_fail_reason)
            if end is not None:
                return end

    def _storage_trouble(self, e: Exception) -> None:
        """A transient storage error that outlasted the retries: pause, then go on (a trial
        left RUNNING meanwhile is reaped and retried); anything else ends the worker."""
        if not is_transient(e):
            raise e
        log.warning("storage unavailable, trying again: %s", str(e).strip().split("\n")[0])
        self.stop.event.wait(random.uniform(1.0, 5.0))


def run_worker(cfg: WorkerConfig, install_signals: bool = True) -> Exit:
    """Run one worker to its end; the exit tells why it stopped."""
    try:
        worker = Worker(cfg)
    except OmniOptError as e:
        log.error("%s", e)
        return Exit.CONFIG
    if install_signals:
        worker.install_signal_handlers()
    if os.environ.get(PROFILE_ENV):
        return profiled_run(worker)
    return worker.run()
