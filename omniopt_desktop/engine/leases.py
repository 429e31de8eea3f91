"""The engine's own lease on every RUNNING trial, and the reaper of trials whose worker died.

Optuna's heartbeat only works with RDB storages inside ``optimize()``; this works on every
storage. Contract:
- a worker sets the trial system attr ``oo_lease`` = ``{"worker", "host", "pgid", "until"}``
  when the trial's program has started and renews it from a :class:`LeaseKeeper` thread while
  the program runs; a RUNNING trial without a lease counts as stale ``grace`` seconds after
  its start;
- :func:`reap_stale` fails every RUNNING trial whose lease expired (or that never got one
  within ``grace`` seconds of its start) — first the reason ``oo_fail_reason``, then the FAIL
  state — and, unless the trial was already a last attempt (``study.max_retries``), enqueues a
  retry with the same parameters and ``oo_retry_of`` (the reaped trial's number) and
  ``oo_attempt`` user attrs. When two reapers race, only the one whose state change wins
  enqueues the retry;
- a worker's late ``tell`` on a reaped trial raises ``UpdateFinishedTrialError``, which the
  worker ignores (see :func:`finish_trial`): no trial is counted twice.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..study import trial_attrs as A

LEASE_KEY = A.LEASE
ATTEMPT = "oo_attempt"  # 0 for a first attempt, k for the k-th retry


@dataclass(frozen=True)
class Reaped:
    number: int
    worker: str
    retry_number: Optional[int]  # number of the trial enqueued as retry (None: no retry)
    reason: str


def make_lease(worker: str, host: str, ttl: float, pgid: Optional[int] = None) -> Dict[str, Any]:
    return {"worker": worker, "host": host, "pgid": pgid, "until": time.time() + ttl}


class LeaseKeeper:
    """Keeps one trial's lease: first written ``first_delay`` seconds after the program started
    (a program that ends sooner costs no database write), then renewed every ``interval``
    seconds until :meth:`stop`. A trial is never without an owner meanwhile: the worker's
    ``current`` file (see :func:`write_current`) names it for a watcher on the same host, and
    a RUNNING trial without a lease is stale only ``grace`` seconds after its start."""

    def __init__(
        self,
        storage: Any,
        trial_id: int,
        worker: str,
        host: str,
        ttl: float,
        interval: float,
        on_error: Optional[Callable[[BaseException], None]] = None,
        first_delay: float = 1.0,
    ) -> None:
        self._storage = storage
        self._trial_id = trial_id
        self._worker = worker
        self._host = host
        self._ttl = ttl
        self._interval = interval
        self._first_delay = min(first_delay, interval)
        self._pgid: Optional[int] = None
        self._started = threading.Event()
        self._stop = threading.Event()
        self._on_error = on_error
        self._thread = threading.Thread(target=self._run, name="oo-lease", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def set_pgid(self, pgid: int) -> None:
        """The program started (its process group is ``pgid``)."""
        self._pgid = pgid
        self._started.set()

    def renew(self) -> None:
        lease = make_lease(self._worker, self._host, self._ttl, self._pgid)
        self._storage.set_trial_system_attr(self._trial_id, LEASE_KEY, lease)

    def _run(self) -> None:
        while not self._started.wait(0.5):
            if self._stop.is_set():
                return
        wait = self._first_delay
        while not self._stop.wait(wait):
            wait = self._interval
            try:
                self.renew()
            except Exception as e:  # finished trial (reaped), storage trouble: keep trying
                if self._on_error is not None:
                    self._on_error(e)
                if "finished" in str(e).lower():
                    return

    def stop(self) -> None:
        self._stop.set()
        self._started.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def current_path(run_dir: str, worker: str) -> str:
    """``<run>/logs/current-<worker>.json``: the trial a worker is running right now."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in worker)
    return os.path.join(run_dir, "logs", f"current-{safe}.json")


def write_current(run_dir: str, worker: str, number: int, pgid: Optional[int]) -> None:
    path = current_path(run_dir, worker)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"number": number, "pgid": pgid}, f)
    os.replace(tmp, path)


def read_current(run_dir: str, worker: str) -> Optional[Dict[str, Any]]:
    try:
        with open(current_path(run_dir, worker)) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def clear_current(run_dir: str, worker: str) -> None:
    try:
        os.unlink(current_path(run_dir, worker))
    except OSError:
        pass


def _started(trial: Any) -> float:
    dt = trial.datetime_start
    if dt is None:
        return time.time()
    return dt.timestamp() if isinstance(dt, datetime) else float(dt)


def stale_trials(
    trials: Sequence[Any],
    now: Optional[float] = None,
    grace: float = 60.0,
    dead_workers: Sequence[str] = (),
) -> List[Any]:
    """RUNNING trials whose lease expired, whose worker is known dead, or that never got a lease."""
    from optuna.trial import TrialState

    now = time.time() if now is None else now
    dead = set(dead_workers)
    out = []
    for t in trials:
        if t.state != TrialState.RUNNING:
            continue
        lease = t.system_attrs.get(LEASE_KEY)
        if isinstance(lease, dict):
            if lease.get("worker") in dead or float(lease.get("until", 0)) < now:
                out.append(t)
        elif now - _started(t) > grace:
            out.append(t)
    return out


def reap_stale(
    storage: Any,
    study_name: str,
    max_retries: int,
    now: Optional[float] = None,
    grace: float = 60.0,
    dead_workers: Sequence[str] = (),
    reason: Optional[str] = None,
    numbers: Sequence[int] = (),
) -> List[Reaped]:
    """Fail stale RUNNING trials and enqueue their retries (see the module docstring)."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    from .trial_cache import fresh_trials

    study_id = storage.get_study_id_from_name(study_name)
    running = fresh_trials(storage, study_id, (TrialState.RUNNING,))
    reaped: List[Reaped] = []
    forced = set(numbers)
    stale = stale_trials(running, now, grace, dead_workers)
    stale += [t for t in running if t.number in forced and t not in stale]
    for t in stale:
        lease = t.system_attrs.get(LEASE_KEY) or {}
        worker = str(lease.get("worker", "?"))
        if t.number in forced and not lease:
            worker = ", ".join(dead_workers) or "?"
        why = reason or (
            f"worker {worker} lost (lease expired)"
            if lease and worker not in dead_workers
            else f"worker {worker} lost"
        )
        try:
            storage.set_trial_user_attr(t._trial_id, A.FAIL_REASON, why)
            storage.set_trial_user_attr(t._trial_id, A.END, time.time())
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        except (UpdateFinishedTrialError, RuntimeError):
            continue  # finished meanwhile (the worker's tell or another reaper won)
        attempt = int(t.user_attrs.get(ATTEMPT, 0))
        retry_number = None
        if attempt < max_retries and t.params:
            study = optuna.load_study(study_name=study_name, storage=storage)
            study.enqueue_trial(
                dict(t.params),
                user_attrs={A.RETRY_OF: t.number, ATTEMPT: attempt + 1},
                skip_if_exists=False,
            )
            waiting = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,))
            retry_number = max((w.number for w in waiting), default=None)
        reaped.append(Reaped(t.number, worker, retry_number, why))
    return reaped
