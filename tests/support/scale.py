"""Helpers for the scale tests and ``bench/bench_scale.py``: a study of a sleeping program, W
real engine workers against one storage, PostgreSQL restarts, and the "nothing lost" check.

Workers are the engine's own (``omniopt_desktop.engine.local_run.WorkerProcess``: forked from a
forkserver that imported Optuna once, then ``python -m omniopt_desktop.engine worker``'s main),
so W = 128 start in about a second on two cores.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from omniopt_desktop.study import run_layout as L
from omniopt_desktop.study import trial_attrs as A
from omniopt_desktop.study.model import Study

from .postgres import PG_BIN, PostgresServer, _run_as


def sleep_study(n_trials: int, sleep: float, name: str = "scale", seed: int = 1) -> Study:
    """A study whose program sleeps ``sleep`` seconds and prints a value of its parameters."""
    return Study.from_dict(
        {
            "study": {"name": name, "n_trials": n_trials, "seed": seed, "max_retries": 3},
            "objective": [{"name": "RESULT", "direction": "minimize"}],
            "program": {"command": f"sleep {sleep}; echo RESULT: %(x)", "timeout": "10m"},
            "parameter": [
                {"name": "x", "type": "float", "low": -5.0, "high": 5.0},
                {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
                {"name": "n", "type": "int", "low": 1, "high": 8},
            ],
        }
    )


# -- PostgreSQL --------------------------------------------------------------------------------
def restart_postgres(server: PostgresServer, mode: str = "fast") -> None:
    """Restart the server in place (same port, same data): every client connection drops."""
    log = os.path.join(os.path.dirname(server.datadir), "server.log")  # not our pipes
    out = _run_as(
        server.os_user,
        [os.path.join(PG_BIN, "pg_ctl"), "-D", server.datadir, "-m", mode, "-l", log, "-w",
         "-t", "60", "restart"],
        timeout=120,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed: {out.stderr.strip()}")


def set_max_connections(server: PostgresServer, n: int) -> None:
    """Raise ``max_connections`` (needs a restart; the start options of the fixture say 200)."""
    opts_file = os.path.join(server.datadir, "postmaster.opts")
    with open(opts_file) as f:
        text = f.read()
    if f"max_connections={n}" in text:
        return
    text = re.sub(r"max_connections=\d+", f"max_connections={n}", text)
    argv = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    opts = argv[argv.index("-c") :] if "-c" in argv else []
    log = os.path.join(os.path.dirname(server.datadir), "server.log")
    _run_as(
        server.os_user,
        [os.path.join(PG_BIN, "pg_ctl"), "-D", server.datadir, "-m", "fast", "-w", "stop"],
        timeout=120,
    )  # fmt: skip
    start = _run_as(
        server.os_user,
        [os.path.join(PG_BIN, "pg_ctl"), "-D", server.datadir, "-o", " ".join(opts), "-l", log,
         "-w", "-t", "60", "start"],
        timeout=120,
    )  # fmt: skip
    if start.returncode != 0:
        raise RuntimeError(f"pg_ctl start failed: {start.stderr.strip()}")


def connections(server: PostgresServer, database: str) -> int:
    """Client connections to ``database`` right now (pg_stat_activity)."""
    try:
        out = server.psql(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' "
            "AND pid <> pg_backend_pid()"
        )
        return int(out.strip() or 0)
    except (RuntimeError, ValueError, subprocess.SubprocessError):
        return -1


class ConnectionSampler:
    """Samples :func:`connections` every ``every`` seconds in a thread; ``peak`` is the most."""

    def __init__(self, server: PostgresServer, database: str, every: float = 0.5) -> None:
        self.server, self.database, self.every = server, database, every
        self.peak = 0
        self.samples: List[int] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            n = connections(self.server, self.database)
            if n >= 0:
                self.samples.append(n)
                self.peak = max(self.peak, n)

    def __enter__(self) -> ConnectionSampler:
        self._t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._t.join(timeout=10)


# -- workers ----------------------------------------------------------------------------------
class Workers:
    """W engine worker processes on one run folder (see the module docstring)."""

    def __init__(
        self,
        run_dir: str,
        url: str,
        n: int,
        lease_ttl: float = 120.0,
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        from omniopt_desktop.engine.local_run import WorkerProcess

        self.run_dir, self.url, self.n = run_dir, url, n
        self.procs: Dict[int, Any] = {}
        for i in range(n):
            argv = [
                "worker", "--run-dir", run_dir, "--storage", url, "--worker-index", str(i),
                "--workers", str(n), "--lease-ttl", str(lease_ttl),
                "--lease-interval", str(max(1.0, lease_ttl / 8)), "--parent-pid", str(os.getpid()),
            ]  # fmt: skip
            log = os.path.join(run_dir, L.LOGS_DIR, f"worker-{i}.log")
            self.procs[i] = WorkerProcess.start(argv, log, env)

    def wait(self, timeout: float) -> Dict[int, Optional[int]]:
        """Exit codes once all ended (None for those still running at ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(p.poll() is None for p in self.procs.values()):
            time.sleep(0.2)
        return {i: p.poll() for i, p in self.procs.items()}

    def kill(self, index: int) -> int:
        p = self.procs[index]
        p.send_signal(signal.SIGKILL)
        p.wait()
        return p.pid

    def kill_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()


def worker_logs(run_dir: str) -> str:
    folder = os.path.join(run_dir, L.LOGS_DIR)
    text = []
    for name in sorted(os.listdir(folder)):
        if name.startswith("worker-") and name.endswith(".log"):
            with open(os.path.join(folder, name), errors="replace") as f:
                text.append(f.read())
    return "\n".join(text)


# -- the check --------------------------------------------------------------------------------
@dataclass
class Audit:
    n_trials: int
    states: Dict[str, int]
    lost: List[int] = field(default_factory=list)  # result on disk/log, not COMPLETE in the db
    doubled: List[int] = field(default_factory=list)  # told twice, or COMPLETE beyond n_trials
    running: List[int] = field(default_factory=list)
    rerun: List[int] = field(default_factory=list)  # a dead worker's result, computed again
    failed_reasons: Dict[str, int] = field(default_factory=dict)
    engine_gaps: List[float] = field(default_factory=list)  # s between a worker's programs
    gap_starts: List[Any] = field(default_factory=list)  # (program end, gap) of each gap
    runtimes: List[float] = field(default_factory=list)
    ends: List[float] = field(default_factory=list)  # program end times of COMPLETE trials
    first_start: float = 0.0
    last_end: float = 0.0
    retried_errors: int = 0
    complete_in_run: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.running)

    def line(self) -> str:
        return (
            f"lost {len(self.lost)}, doubled {len(self.doubled)}, left RUNNING "
            f"{len(self.running)}{f', re-run {len(self.rerun)}' if self.rerun else ''}: "
            f"{'OK' if self.ok else 'BROKEN'}"
        )


_TOLD = re.compile(r"trial (\d+) COMPLETE")


def audit(run_dir: str, url: str, study_name: str, n_trials: int, since_number: int = 0) -> Audit:
    """No trial lost, doubled or left RUNNING (and timing figures) for the trials numbered
    ``since_number`` and above.

    Lost: a trial a worker logged COMPLETE, or whose ``status.json`` says COMPLETE, that is not
    COMPLETE in the storage — except a trial whose worker was killed between writing
    ``status.json`` and telling (never logged), failed "worker lost" and retried (COMPLETE, or
    WAITING when the budget was met before the retry ran): that one is counted as re-run. Doubled: a trial logged COMPLETE twice, or more COMPLETE trials in
    the study than ``n_trials``. Engine time per trial: the gap between the end of a worker's
    program and the start of its next one (tell, bookkeeping, ask, program start).
    """
    import json

    from optuna.trial import TrialState

    from omniopt_desktop.engine.storage import open_storage

    st = open_storage(url)
    trials = st.get_all_trials(st.get_study_id_from_name(study_name), deepcopy=False)
    states: Dict[str, int] = {}
    for t in trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
    a = Audit(n_trials=n_trials, states=states)
    by_number = {t.number: t for t in trials}
    logs = worker_logs(run_dir)
    told: Dict[int, int] = {}
    for m in _TOLD.finditer(logs):
        told[int(m.group(1))] = told.get(int(m.group(1)), 0) + 1
    a.retried_errors = logs.count("transient storage error")
    a.doubled = sorted(n for n, c in told.items() if c > 1)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if len(complete) > n_trials:
        a.doubled += sorted(t.number for t in complete)[n_trials:]
    tdir = os.path.join(run_dir, L.TRIALS_DIR)
    on_disk = set()
    for name in os.listdir(tdir) if os.path.isdir(tdir) else []:
        try:
            with open(os.path.join(tdir, name, A.STATUS_FILE)) as f:
                if json.load(f).get("state") == "COMPLETE":
                    on_disk.add(int(name))
        except (OSError, ValueError):
            continue
    # a retry COMPLETE, or one still WAITING because the budget was met before it ran
    retried = {
        t.user_attrs.get(A.RETRY_OF)
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.WAITING)
    }
    for n in sorted(set(told) | on_disk):
        t = by_number.get(n)
        if t is not None and t.state == TrialState.COMPLETE:
            continue
        if n not in told and t is not None and t.state == TrialState.FAIL and n in retried:
            # its worker died (SIGKILL) after writing status.json, before telling: the trial
            # was failed "worker lost" and retried (the retry stays WAITING if the study's
            # budget was met first); re-run, not lost
            a.rerun.append(n)
            continue
        a.lost.append(n)
    per_worker: Dict[str, List[Any]] = {}
    for t in trials:
        if t.number < since_number:
            continue
        if t.state == TrialState.RUNNING:
            a.running.append(t.number)
        if t.state == TrialState.FAIL:
            why = str(t.user_attrs.get(A.FAIL_REASON, "?"))[:60]
            a.failed_reasons[why] = a.failed_reasons.get(why, 0) + 1
        if t.state == TrialState.COMPLETE:
            a.complete_in_run += 1
        start, end = t.user_attrs.get(A.START), t.user_attrs.get(A.END)
        if t.state == TrialState.COMPLETE and start is not None and end is not None:
            per_worker.setdefault(str(t.user_attrs.get(A.WORKER)), []).append((start, end))
            a.runtimes.append(end - start)
            a.ends.append(end)
    spans = [x for runs in per_worker.values() for x in runs]
    if spans:
        a.first_start = min(s for s, _ in spans)
        a.last_end = max(e for _, e in spans)
    for runs in per_worker.values():
        runs.sort()
        a.engine_gaps += [b[0] - a_[1] for a_, b in zip(runs, runs[1:])]
        a.gap_starts += [(a_[1], b[0] - a_[1]) for a_, b in zip(runs, runs[1:])]
    return a


def percentile(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def steady_rate(ends: List[float], lo: float = 0.1, hi: float = 0.9) -> float:
    """Trials per second between the ``lo`` and ``hi`` quantiles of the end times (no ramp-up,
    no tail)."""
    ends = sorted(ends)
    if len(ends) < 10:
        return float("nan")
    i, j = int(lo * (len(ends) - 1)), int(hi * (len(ends) - 1))
    return (j - i) / max(1e-9, ends[j] - ends[i])
