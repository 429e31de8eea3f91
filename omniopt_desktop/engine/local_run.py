"""Local runs (the embedded default): N worker processes on this machine, watched.

:func:`run_local` prepares the run folder (frozen ``study.json``, copy of ``study.toml``,
``trials/``, ``logs/``), creates the Optuna study, starts the workers
(``python -m omniopt_desktop.engine worker``, one session each, logs in
``logs/worker-<i>.log``) and watches them until ``n_trials`` trials are COMPLETE:

- a worker that died (crash, SIGKILL) has its program group killed and its trial failed at
  once and retried (bounded by ``study.max_retries``); a replacement starts while budget remains
  (crash loops are bounded);
- progress goes to ``on_progress`` (:class:`Progress`) every ``poll`` seconds;
- ``stop`` (an Event) or Ctrl-C (SIGINT when called from the main thread) stops cleanly: the
  workers get SIGINT, kill their programs and fail those trials "interrupted"; the database
  stays intact; calling :func:`run_local` again resumes until ``n_trials`` are COMPLETE.

One local run per folder at a time (``<run>/.run.lock``). Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import fcntl
import math
import os
import shutil
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import OmniOptError
from ..study import run_layout as L
from ..study.model import Study
from .failure_streak import failure_streak
from .frozen import freeze_study
from .leases import LEASE_KEY, clear_current, read_current, reap_stale
from .run_storage import check_resume
from .storage import ensure_study, open_storage
from .trial_cache import fresh_trials
from .worker import Exit

DEFAULT_LEASE_TTL = 120.0


@dataclass(frozen=True)
class Progress:
    complete: int
    total: int
    failed: int
    running: int
    pruned: int
    workers: int
    best: Optional[float] = None  # single objective
    pareto: int = 0  # multi-objective: size of the Pareto front
    elapsed: float = 0.0
    fail_streak: int = 0  # program failures in a row at the end, study-wide
    last_fail_reason: str = ""

    def best_text(self) -> str:
        if self.pareto:
            return f"Pareto front: {self.pareto} trial(s)"
        return "—" if self.best is None else f"{self.best:.6g}"


@dataclass(frozen=True)
class RunSummary:
    run_dir: str
    storage_url: str
    progress: Progress
    interrupted: bool = False
    stop_reason: str = ""
    events: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def finished(self) -> bool:
        return self.progress.complete >= self.progress.total


class RunLock:
    """An exclusive lock on a run folder for the lifetime of a local run."""

    def __init__(self, run_dir: str) -> None:
        self.path = os.path.join(run_dir, ".run.lock")
        self._f: Any = None

    def __enter__(self) -> RunLock:
        self._f = open(self.path, "a+")
        try:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self._f.close()
            raise OmniOptError(
                f"run folder {os.path.dirname(self.path)} is in use by another run; wait for it "
                "or stop it (create the STOP file there)"
            ) from e
        return self

    def __exit__(self, *exc: Any) -> None:
        fcntl.flock(self._f.fileno(), fcntl.LOCK_UN)
        self._f.close()


def prepare_run(
    study: Study,
    run_dir: str,
    storage: Optional[str] = None,
    study_file: Optional[str] = None,
    extra: Optional[Dict[str, Any]] = None,
) -> str:
    """Lay out the run folder, freeze the study, create the Optuna study; return the storage URL."""
    run_dir = os.path.abspath(run_dir)
    for sub in (L.TRIALS_DIR, L.LOGS_DIR):
        os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
    url = L.storage_url(run_dir, storage or study.storage or "sqlite")
    check_resume(run_dir, url, study)  # before the frozen study is rewritten
    study_dir = os.path.dirname(os.path.abspath(study_file)) if study_file else os.getcwd()
    freeze_study(study, run_dir, study_dir, url, extra)
    target = os.path.join(run_dir, L.STUDY_TOML)
    if study_file and not (os.path.exists(target) and os.path.samefile(study_file, target)):
        shutil.copy2(study_file, target)
    return url


def progress_of(
    storage: Any,
    study_name: str,
    total: int,
    workers: int,
    t0: float,
    prev: Optional[Progress] = None,
) -> Progress:
    """Counts and best so far; the Pareto front is recomputed only when ``prev`` is outdated."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    study_id = storage.get_study_id_from_name(study_name)
    directions = storage.get_study_directions(study_id)
    trials = storage.get_all_trials(study_id, deepcopy=False)
    n = {s: 0 for s in TrialState}
    done = []
    for t in trials:
        n[t.state] += 1
        if t.state == TrialState.COMPLETE and t.values:
            done.append(t.values)
    best = None
    pareto = 0
    if done and len(directions) == 1:
        vals = [v[0] for v in done]
        best = min(vals) if directions[0] == StudyDirection.MINIMIZE else max(vals)
    elif done and prev is not None and prev.complete == len(done):
        pareto = prev.pareto
    elif done:
        signs = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions]
        pts = [[s * x for s, x in zip(signs, v)] for v in done]
        pareto = sum(
            1 for p in pts if not any(all(a <= b for a, b in zip(q, p)) and q != p for q in pts)
        )
    streak, reason = failure_streak(trials)
    return Progress(
        complete=n[TrialState.COMPLETE],
        total=total,
        failed=n[TrialState.FAIL],
        running=n[TrialState.RUNNING],
        pruned=n[TrialState.PRUNED],
        workers=workers,
        best=best,
        pareto=pareto,
        elapsed=time.time() - t0,
        fail_streak=streak,
        last_fail_reason=reason,
    )


def _worker_entry(argv: List[str], log_path: str, env: Optional[Dict[str, str]] = None) -> None:
    """A worker process forked from the preloaded server: own session, output to its log
    (``env``: variables set for this worker, on top of the fork server's environment)."""
    os.environ.update(env or {})
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    from .__main__ import main

    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class WorkerProcess:
    """A local worker: forked from a forkserver that has imported Optuna and the engine once,
    so N workers start in milliseconds instead of N Python start-ups."""

    _ctx: Any = None

    def __init__(self, proc: Any) -> None:
        self._p = proc

    @classmethod
    def prepare(cls) -> None:
        """Start the fork server now (it imports Optuna while the caller does other work)."""
        import multiprocessing as mp
        from multiprocessing import forkserver

        if cls._ctx is None:
            cls._ctx = mp.get_context("forkserver")
            cls._ctx.set_forkserver_preload(
                ["optuna", "optuna.samplers", "omniopt_desktop.engine.local_run"]
            )
            forkserver.ensure_running()

    @classmethod
    def start(
        cls, argv: List[str], log_path: str, env: Optional[Dict[str, str]] = None
    ) -> WorkerProcess:
        cls.prepare()
        p = cls._ctx.Process(target=_worker_entry, args=(argv, log_path, env), daemon=False)
        # multiprocessing would re-run the caller's main *script* in the worker (fatal for a
        # script without a main guard or read from stdin); the worker needs nothing from it
        main = sys.modules.get("__main__")
        hidden = None
        if main is not None and getattr(getattr(main, "__spec__", None), "name", None) is None:
            hidden = main.__dict__.pop("__file__", None)
        try:
            p.start()
        finally:
            if hidden is not None:
                main.__file__ = hidden  # type: ignore[union-attr]
        return cls(p)

    @property
    def pid(self) -> int:
        return int(self._p.pid)

    def poll(self) -> Optional[int]:
        return None if self._p.is_alive() else self._p.exitcode

    def send_signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self) -> Optional[int]:
        self._p.join()
        return self._p.exitcode


class _Watcher:
    def __init__(
        self,
        study: Study,
        run_dir: str,
        url: str,
        workers: int,
        lease_ttl: float,
        on_progress: Optional[Callable[[Progress], None]],
        on_event: Optional[Callable[[str], None]],
        poll: float,
        stop: threading.Event,
    ) -> None:
        self.study = study
        self.run_dir = run_dir
        self.url = url
        self.n = workers
        self.lease_ttl = lease_ttl
        self.on_progress = on_progress
        self.on_event = on_event
        self.poll = poll
        self.stop = stop
        self.procs: Dict[int, WorkerProcess] = {}
        self.host = socket.gethostname()
        self.events: List[str] = []
        self.crashes = 0
        self.stop_reason = ""
        # progress needs states and values only: the incremental cache re-reads what changed
        # (leases of RUNNING trials are read past it, see kill_programs_of and reap_stale)
        self.storage = open_storage(url, workers=workers, incremental=True)

    def event(self, text: str) -> None:
        self.events.append(text)
        if self.on_event is not None:
            self.on_event(text)

    def worker_id(self, p: WorkerProcess) -> str:
        return f"{self.host}:{p.pid}"

    def spawn(self, index: int) -> None:
        log_path = os.path.join(self.run_dir, L.LOGS_DIR, f"worker-{index}.log")
        argv = [
            "worker", "--run-dir", self.run_dir, "--storage", self.url,
            "--worker-index", str(index), "--workers", str(self.n),
            "--parent-pid", str(os.getpid()),
            "--lease-ttl", str(self.lease_ttl), "--lease-interval", str(max(1.0, self.lease_ttl / 8)),
        ]  # fmt: skip
        self.procs[index] = WorkerProcess.start(argv, log_path)

    def kill_programs_of(self, worker_ids: List[str]) -> None:
        from optuna.trial import TrialState

        study_id = self.storage.get_study_id_from_name(self.study.name)
        for t in fresh_trials(self.storage, study_id, (TrialState.RUNNING,)):
            lease = t.system_attrs.get(LEASE_KEY) or {}
            pgid = lease.get("pgid")
            if lease.get("worker") in worker_ids and lease.get("host") == self.host and pgid:
                try:
                    os.killpg(int(pgid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def bury(self, worker_ids: List[str], reason: Optional[str] = None) -> None:
        """Kill the programs of dead workers, fail their trials, enqueue retries."""
        self.kill_programs_of(worker_ids)
        numbers = []
        for wid in worker_ids:
            cur = read_current(self.run_dir, wid)
            if cur is not None:
                numbers.append(int(cur.get("number", -1)))
                if cur.get("pgid"):
                    try:
                        os.killpg(int(cur["pgid"]), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                clear_current(self.run_dir, wid)
        for r in reap_stale(
            self.storage,
            self.study.name,
            self.study.max_retries,
            dead_workers=worker_ids,
            grace=self.lease_ttl,
            reason=reason,
            numbers=numbers,
        ):
            retry = f", retried as trial {r.retry_number}" if r.retry_number is not None else ""
            self.event(f"trial {r.number} failed: {r.reason}{retry}")

    def log_tail(self, index: int) -> str:
        path = os.path.join(self.run_dir, L.LOGS_DIR, f"worker-{index}.log")
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 2000))
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def check_exits(self, stopping: bool) -> bool:
        """Handle ended workers; True when the run must stop."""
        must_stop = False
        for index, p in list(self.procs.items()):
            rc = p.poll()
            if rc is None:
                continue
            del self.procs[index]
            wid = self.worker_id(p)
            if rc == Exit.DONE or (rc == Exit.STOPPED and stopping):
                continue
            if rc == Exit.MAX_FAILURES:
                tail = self.log_tail(index).partition("stopping: ")[2] or (
                    f"{self.study.failure_limit} consecutive trials failed "
                    f"({self.study.failure_limit_text()})"
                )
                self.stop_reason = f"stopped: {tail}; see trials/*/stderr.txt"
                must_stop = True
            elif rc == Exit.INFEASIBLE:
                self.stop_reason = (
                    "stopped: the constraints rejected 1000 trials in a row; loosen them"
                )
                must_stop = True
            elif rc == Exit.CONFIG:
                self.stop_reason = f"worker {index} cannot start: {self.log_tail(index)}"
                must_stop = True
            else:
                how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
                self.event(f"worker {index} ({wid}) died ({how})")
                self.crashes += 1
                if self.crashes > 2 * self.n + 2:
                    self.stop_reason = f"workers keep dying; last: {self.log_tail(index)}"
                    must_stop = True
            self.bury([wid])
        return must_stop

    def interrupt(self, grace: float) -> None:
        for p in self.procs.values():
            p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + grace
        while self.procs and time.monotonic() < deadline:
            for index, p in list(self.procs.items()):
                if p.poll() is not None:
                    del self.procs[index]
            time.sleep(0.05)
        left = [self.worker_id(p) for p in self.procs.values()]
        for p in self.procs.values():
            p.kill()
            p.wait()
        self.procs.clear()
        if left:
            self.bury(left, reason="interrupted")

    def run(self) -> Tuple[Progress, bool]:
        t0 = time.time()
        total = self.study.n_trials
        interrupted = stopping = False
        next_free = 0
        prog: Optional[Progress] = None
        last_reap = time.monotonic()
        while True:
            if self.stop.is_set() and not interrupted:
                interrupted = True
                self.event("interrupted: stopping workers")
                self.interrupt(grace=15.0)
            if self.check_exits(stopping):
                stopping = True
                open(os.path.join(self.run_dir, L.STOP_FILE), "a").close()
            prog = progress_of(self.storage, self.study.name, total, len(self.procs), t0, prog)
            if self.on_progress is not None:
                self.on_progress(prog)
            if interrupted or (stopping and not self.procs):
                return prog, interrupted
            if prog.complete >= total and not self.procs:
                return prog, False
            if not stopping and prog.fail_streak >= self.study.failure_limit:
                # study-wide: each worker also stops at the limit, but only counts its own
                stopping = True
                open(os.path.join(self.run_dir, L.STOP_FILE), "a").close()
                self.stop_reason = self.stop_reason or (
                    f"stopped: {self.study.failure_limit} consecutive trials failed "
                    f"({self.study.failure_limit_text()}); last: {prog.last_fail_reason or '?'}"
                    "; see trials/*/stderr.txt"
                )
            if not stopping and os.path.exists(os.path.join(self.run_dir, L.STOP_FILE)):
                stopping = True
                self.stop_reason = self.stop_reason or "stopped: STOP file"
            if not stopping and prog.complete < total:  # (empty WAITING slots: see budget.py)
                claimed = prog.complete + prog.running
                waiting = self._waiting() if len(self.procs) < self.n else 0
                while len(self.procs) < self.n and (claimed < total or waiting > 0):
                    while next_free in self.procs:
                        next_free = (next_free + 1) % self.n
                    self.spawn(next_free)
                    claimed += 1
                    waiting -= 1
            if time.monotonic() - last_reap > self.lease_ttl / 2:
                last_reap = time.monotonic()
                self.bury([])  # leases that expired without the worker being seen to die
            self.stop.wait(self.poll)

    def _waiting(self) -> int:
        from optuna.trial import TrialState

        study_id = self.storage.get_study_id_from_name(self.study.name)
        return len(
            self.storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,))
        )


def run_local(
    study: Study,
    run_dir: str,
    workers: int = 1,
    storage: Optional[str] = None,
    study_file: Optional[str] = None,
    on_progress: Optional[Callable[[Progress], None]] = None,
    on_event: Optional[Callable[[str], None]] = None,
    stop: Optional[threading.Event] = None,
    poll: float = 0.25,
    lease_ttl: float = DEFAULT_LEASE_TTL,
) -> RunSummary:
    """Run ``study`` locally with ``workers`` processes (see the module docstring)."""
    if workers < 1:
        raise OmniOptError(f"--workers must be at least 1, not {workers}")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_dir = os.path.abspath(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    stop = stop or threading.Event()
    WorkerProcess.prepare()
    with RunLock(run_dir):
        try:
            os.unlink(os.path.join(run_dir, L.STOP_FILE))
        except FileNotFoundError:
            pass
        url = prepare_run(study, run_dir, storage, study_file, {"workers": workers})
        open_storage(url, workers=workers)  # refuses e.g. SQLite on NFS before anything starts
        watcher = _Watcher(
            study, run_dir, url, workers, lease_ttl, on_progress, on_event, poll, stop
        )
        ensure_study(watcher.storage, study.name, study.directions)
        local = L.storage_url(run_dir, "sqlite") == url or L.storage_url(run_dir, "journal") == url
        # trials left RUNNING by an earlier run that ended abruptly: nobody runs them now
        for r in reap_stale(
            watcher.storage,
            study.name,
            study.max_retries,
            now=math.inf if local else None,
            grace=lease_ttl,
            reason="interrupted (still running when the run was resumed)" if local else None,
        ):
            watcher.event(f"trial {r.number} failed: {r.reason}")
        old = None
        if threading.current_thread() is threading.main_thread():
            old = signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            prog, interrupted = watcher.run()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
            if watcher.procs:
                watcher.interrupt(grace=5.0)
    return RunSummary(
        run_dir=run_dir,
        storage_url=url,
        progress=prog,
        interrupted=interrupted,
        stop_reason=watcher.stop_reason,
        events=tuple(watcher.events),
    )
