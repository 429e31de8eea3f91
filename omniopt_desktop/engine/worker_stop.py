"""Why a worker stops: its exit codes, the stop requests it watches (SIGTERM/SIGINT/SIGUSR1, its
parent process gone, ``<run>/STOP``) and the streaks of failed or infeasible trials that end it.

Python 3.9+, stdlib.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from enum import IntEnum
from typing import Any, Optional

from ..study import run_layout as L

log = logging.getLogger("omniopt.worker")

MAX_INFEASIBLE_STREAK = 1000


class Exit(IntEnum):
    DONE = 0  # budget reached (or the rest is running elsewhere)
    CRASHED = 1
    CONFIG = 2  # the study or storage cannot be used
    MAX_FAILURES = 3
    STOPPED = 4  # STOP file, signal, parent gone
    INFEASIBLE = 5  # constraints reject everything the sampler proposes


class StopRequests:
    """A stop asked by a signal or by the parent process going away (``event`` is set and
    ``why`` says which), or by the run's STOP file."""

    def __init__(self, run_dir: str, parent_pid: Optional[int]) -> None:
        self.run_dir = run_dir
        self.parent_pid = parent_pid
        self.event = threading.Event()
        self.why = ""

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            self.why = f"received {signal.Signals(signum).name}"
            self.event.set()

        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(s, handler)

    def should_stop(self) -> bool:
        if self.event.is_set():
            return True
        if self.parent_pid is not None and not _pid_alive(self.parent_pid):
            self.why = "parent process gone"
            self.event.set()
            return True
        return False

    def stop_file(self) -> bool:
        return os.path.exists(os.path.join(self.run_dir, L.STOP_FILE))


class Streaks:
    """This worker's trials in a row that failed (``study.max_failures``) or broke the
    constraints: :meth:`after` says when they end the worker."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.max_failures = model.failure_limit
        self.failures = 0
        self.infeasible = 0

    def after(self, state: str, stopping: bool, last_fail_reason: str) -> Optional[Exit]:
        """Count a trial that ended in ``state``; the exit when a limit is reached, else None.
        A trial failed while ``stopping`` (killed by the stop) does not count."""
        if state == "COMPLETE":
            self.failures = self.infeasible = 0
        elif state == "INFEASIBLE":
            self.infeasible += 1
            if self.infeasible >= MAX_INFEASIBLE_STREAK:
                log.error(
                    "stopping: %d trials in a row broke the constraints; loosen them",
                    self.infeasible,
                )
                return Exit.INFEASIBLE
        elif state == "FAIL":
            if stopping:
                return None
            self.failures += 1
            if self.failures >= self.max_failures:
                log.error(
                    "stopping: %d consecutive trials failed (%s); last: %s",
                    self.failures,
                    self.model.failure_limit_text(),
                    last_fail_reason or "?",
                )
                return Exit.MAX_FAILURES
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
