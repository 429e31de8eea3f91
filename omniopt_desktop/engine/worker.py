"""The worker loop: ask → fill the command → run the program → parse its output → tell.

A worker stops (see :class:`Exit`) when ``n_trials`` trials are COMPLETE (while the last
ones run in other workers it waits, reaping stale leases, so that nothing is left behind),
when ``<run>/STOP`` exists, on SIGTERM/SIGINT/SIGUSR1 (the running program is killed and its
trial fails "interrupted"), when its parent process is gone (``parent_pid``), or after
``study.max_failures`` consecutive failed trials. Racing workers do not overshoot ``n_trials``:
a trial asked beyond the budget is not run (see :mod:`.budget`). A transient storage error
that outlasts the retries pauses the worker; it does not end it.

Per trial it writes ``trials/<n>/{command.txt,stdout.txt,stderr.txt,status.json}`` and the user
attrs of ``study.trial_attrs``. A trial that breaks a constraint is not run: it is told PRUNED
with its constraint values set (TPE learns from infeasible trials) and ``oo_constraint``.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import logging
import math
import os
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Dict, List, Optional

from ..errors import OmniOptError
from ..study import run_layout as L
from ..study import trial_attrs as A
from ..study.template import parameter_env, render_command
from .budget import is_surplus, release
from .finish import clean_attrs, finish_fast
from .frozen import load_frozen, program_cwd, write_json_atomic
from .leases import LeaseKeeper, clear_current, reap_stale, write_current
from .param_batch import batched_params
from .profiling import PROFILE_ENV, profiled_run
from .program import read_capped, run_program
from .results import Outcome, classify, parse_output, tail
from .retries import is_transient, with_retries
from .samplers import build_sampler
from .space import SearchSpace
from .storage import ensure_study, open_storage
from .trial_cache import held_reads
from .trial_counts import count_states
from .user_attrs import drop_deferred, set_user_attrs

log = logging.getLogger("omniopt.worker")

MAX_INFEASIBLE_STREAK = 1000
IDLE_POLL = 0.2  # seconds between checks while the last trials run in other workers


class Exit(IntEnum):
    DONE = 0  # budget reached (or the rest is running elsewhere)
    CRASHED = 1
    CONFIG = 2  # the study or storage cannot be used
    MAX_FAILURES = 3
    STOPPED = 4  # STOP file, signal, parent gone
    INFEASIBLE = 5  # constraints reject everything the sampler proposes


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
        self.names = [o.name for o in self.model.objectives]
        self.cwd = program_cwd(self.model, self.run_info, self.run_dir)
        self.stop_event = threading.Event()
        self.stop_why = ""
        self.last_fail_reason = ""  # of this worker's last failed trial (for the stop message)
        self._last_reap = 0.0

    # -- stopping ---------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            self.stop_why = f"received {signal.Signals(signum).name}"
            self.stop_event.set()

        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(s, handler)

    def _should_stop(self) -> bool:
        if self.stop_event.is_set():
            return True
        if self.cfg.parent_pid is not None and not _pid_alive(self.cfg.parent_pid):
            self.stop_why = "parent process gone"
            self.stop_event.set()
            return True
        return False

    def _stop_file(self) -> bool:
        return os.path.exists(os.path.join(self.run_dir, L.STOP_FILE))

    # -- loop -------------------------------------------------------------------------------
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

    def run(self) -> Exit:
        failures = 0
        infeasible = 0
        idle = False
        max_failures = self.model.failure_limit
        log.info("worker %s started on %s (pid %d)", self.worker_id, self.host, os.getpid())
        while True:
            if self._should_stop():
                log.info("stopping: %s", self.stop_why)
                return Exit.STOPPED
            if self._stop_file():
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
                self.stop_event.wait(IDLE_POLL)
                continue
            idle = False
            try:
                state = self.one_trial()
            except Exception as e:
                self._storage_trouble(e)
                continue
            if state == "COMPLETE":
                failures = infeasible = 0
            elif state == "INFEASIBLE":
                infeasible += 1
                if infeasible >= MAX_INFEASIBLE_STREAK:
                    log.error(
                        "stopping: %d trials in a row broke the constraints; loosen them",
                        infeasible,
                    )
                    return Exit.INFEASIBLE
            elif state == "FAIL":
                if self.stop_event.is_set():
                    continue
                failures += 1
                if failures >= max_failures:
                    log.error(
                        "stopping: %d consecutive trials failed (%s); last: %s",
                        failures,
                        self.model.failure_limit_text(),
                        self.last_fail_reason or "?",
                    )
                    return Exit.MAX_FAILURES

    def _storage_trouble(self, e: Exception) -> None:
        """A transient storage error that outlasted the retries: pause, then go on (a trial
        left RUNNING meanwhile is reaped and retried); anything else ends the worker."""
        if not is_transient(e):
            raise e
        log.warning("storage unavailable, trying again: %s", str(e).strip().split("\n")[0])
        self.stop_event.wait(random.uniform(1.0, 5.0))

    # -- one trial --------------------------------------------------------------------------
    def one_trial(self) -> str:
        with held_reads(self.storage):  # the ask uses the read of counts(), made just before
            trial = with_retries(self.study.ask)
        if is_surplus(self.storage, self.study._study_id, trial.number, self.model.n_trials):
            release(self.storage, trial._trial_id)
            log.info("trial %d not run: the budget is taken by other workers", trial.number)
            return "SURPLUS"
        keeper = LeaseKeeper(
            self.storage,
            trial._trial_id,
            self.worker_id,
            self.host,
            self.cfg.lease_ttl,
            self.cfg.lease_interval,
            on_error=lambda e: log.warning("lease renewal failed: %s", e),
        ).start()
        try:
            return self._run_trial(trial, keeper)
        finally:
            keeper.stop()
            clear_current(self.run_dir, self.worker_id)

    def _run_trial(self, trial: Any, keeper: LeaseKeeper) -> str:
        from optuna.trial import TrialState

        number = trial.number
        tdir = L.trial_dir(self.run_dir, number)
        os.makedirs(tdir, exist_ok=True)
        rel_dir = os.path.relpath(tdir, self.run_dir)
        attrs: Dict[str, Any] = {
            A.HOSTNAME: self.host,
            A.WORKER: self.worker_id,
            A.TRIAL_DIR: rel_dir,
        }
        try:
            with held_reads(self.storage), batched_params(self.storage):
                values = self.space.suggest(trial)
            broken = self.space.violations(values)
            if self.space.rules:
                self.space.record_constraints(trial, broken)
        except (OmniOptError, ValueError, TypeError) as e:
            return self._finish(
                trial, tdir, attrs, None, Outcome(None, None, f"cannot sample: {e}")
            )
        if broken:
            rules = "; ".join(text for _, text in broken)
            attrs[A.CONSTRAINT_VIOLATION] = rules
            attrs[A.FAIL_REASON] = f"not run: constraint violated: {rules}"
            self._write_status(tdir, number, values, None, attrs, "PRUNED")
            if not finish_fast(self.study, trial, attrs, None, TrialState.PRUNED):
                self._set_attrs(trial, attrs)
                self._tell(trial, None, TrialState.PRUNED)
            return "INFEASIBLE"
        try:
            command = render_command(self.model.program.command, values, known=self.space.names)
        except OmniOptError as e:
            return self._finish(trial, tdir, attrs, values, Outcome(None, None, str(e)))
        with open(os.path.join(tdir, A.CMD_FILE), "w") as f:
            f.write(command + "\n")
        env = dict(os.environ)
        env.update(parameter_env(values))
        env["OMNIOPT_TRIAL_NUMBER"] = str(number)
        env["OMNIOPT_TRIAL_DIR"] = tdir
        env["OMNIOPT_RUN_DIR"] = self.run_dir
        attrs[A.COMMAND] = command
        if self._should_stop():
            return self._finish(trial, tdir, attrs, values, Outcome(None, None, "interrupted"))
        stdout_path = os.path.join(tdir, A.STDOUT_FILE)
        stderr_path = os.path.join(tdir, A.STDERR_FILE)
        run = run_program(
            command,
            cwd=self.cwd,
            env=env,
            stdout_path=stdout_path,
            stderr_path=stderr_path,
            timeout=self.model.program.timeout_seconds(),
            should_stop=self._should_stop,
            on_start=lambda pgid: self._started(keeper, number, pgid),
            kill_grace=self.cfg.kill_grace,
        )
        parsed = parse_output(read_capped(stdout_path), self.names)
        outcome = classify(run.run_end(), parsed, self.names, tail(_file_tail(stderr_path)))
        attrs.update(
            {
                A.EXIT_CODE: run.exit_code,
                A.START: run.start,
                A.END: run.end,
                A.RUNTIME: run.duration,
            }
        )
        if run.signal:
            attrs[A.SIGNAL] = run.signal
        for key, value in parsed.info.items():
            attrs[A.INFO_PREFIX + key] = value
        return self._finish(trial, tdir, attrs, values, outcome)

    def _started(self, keeper: LeaseKeeper, number: int, pgid: int) -> None:
        keeper.set_pgid(pgid)
        try:
            write_current(self.run_dir, self.worker_id, number, pgid)
        except OSError as e:
            log.warning("cannot write the current-trial file: %s", e)

    def _finish(
        self, trial: Any, tdir: str, attrs: Dict[str, Any], values: Any, outcome: Outcome
    ) -> str:
        from optuna.trial import TrialState

        if not outcome.ok or outcome.values is None:
            attrs[A.FAIL_REASON] = outcome.reason or "failed"
            state = "FAIL"
        else:
            state = "COMPLETE"
        self._write_status(tdir, trial.number, values, outcome.values, attrs, state)
        if finish_fast(
            self.study,
            trial,
            attrs,
            outcome.values if state == "COMPLETE" else None,
            TrialState.COMPLETE if state == "COMPLETE" else TrialState.FAIL,
        ):
            pass
        elif self._set_attrs(trial, attrs, before_tell=True):
            try:
                if state == "COMPLETE":
                    self._tell(trial, outcome.values, None)
                else:
                    self._tell(trial, None, TrialState.FAIL)
            finally:
                drop_deferred(self.storage)
        log.info(
            "trial %d %s%s", trial.number, state, f": {outcome.reason}" if outcome.reason else ""
        )
        if state == "FAIL":
            self.last_fail_reason = outcome.reason
        return state

    def _set_attrs(self, trial: Any, attrs: Dict[str, Any], before_tell: bool = False) -> bool:
        """False when the trial was finished meanwhile (reaped): nothing more to record."""
        from optuna.exceptions import UpdateFinishedTrialError

        clean = clean_attrs(attrs)
        try:
            set_user_attrs(self.storage, trial._trial_id, clean, before_tell)
        except UpdateFinishedTrialError:
            log.warning(
                "trial %d was already finished by a reaper; result kept on disk only", trial.number
            )
            return False
        return True

    def _tell(self, trial: Any, values: Optional[List[float]], state: Any) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        try:
            with_retries(self.study.tell, trial, values, state=state, skip_if_finished=True)
        except UpdateFinishedTrialError:
            log.warning(
                "trial %d was already finished by a reaper; late result ignored", trial.number
            )

    def _write_status(
        self,
        tdir: str,
        number: int,
        params: Any,
        values: Optional[List[float]],
        attrs: Dict[str, Any],
        state: str,
    ) -> None:
        status = {"number": number, "state": state, "params": params, "values": values}
        status.update({k[len(A.PREFIX) :]: v for k, v in attrs.items() if k.startswith(A.PREFIX)})
        try:
            write_json_atomic(os.path.join(tdir, A.STATUS_FILE), _jsonable(status))
        except OSError as e:
            log.warning("cannot write status of trial %d: %s", number, e)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _file_tail(path: str, nbytes: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


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
