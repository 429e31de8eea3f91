"""``bench_scale.py``: where the wall time of a trial goes while W workers are ACTIVE.

:class:`CpuSampler` samples, every ``every`` seconds, ``/proc/<pid>/schedstat`` (time on a CPU,
time runnable but waiting for a CPU) of the worker processes and of the PostgreSQL server's
processes (the study database's backends, and the background writers), and the wait events of
the study database's backends (``pg_stat_activity``: a backend waiting for a lock, for WAL
to be written or synced, or for its client). :meth:`CpuSampler.per_trial` turns the samples
between two moments (the steady part of a run) into seconds per trial.

The last values of a process that ended are kept, so a worker's CPU counts up to its last
sample (the samples are 0.5 s apart; its last half second may be missed).
"""

from __future__ import annotations

import bisect
import os
import subprocess
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from support.postgres import PG_BIN


def schedstat(pid: int) -> Optional[Tuple[float, float]]:
    """(seconds on a CPU, seconds runnable waiting for one) of ``pid``; None if it is gone."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            run, wait, _ = f.read().split()
        return int(run) / 1e9, int(wait) / 1e9
    except (OSError, ValueError):
        return None


GROUPS = ("worker", "backend", "pg_other")


class CpuSampler:
    def __init__(
        self, worker_pids: List[int], pg: Any = None, database: Optional[str] = None,
        every: float = 0.5,
    ) -> None:  # fmt: skip
        self.worker_pids = list(worker_pids)
        self.pg, self.database, self.every = pg, database, every
        self._last: Dict[Tuple[str, int], Tuple[float, float]] = {}
        self.times: List[float] = []
        self.series: List[Dict[str, Tuple[float, float]]] = []
        self.waits: List[Tuple[float, List[str]]] = []  # (time, events of active backends)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._t.join(timeout=10)

    def _pg_rows(self) -> List[List[str]]:
        if self.pg is None:
            return []
        sql = (
            "SELECT pid, coalesce(datname, ''), backend_type, coalesce(state, ''), "
            "coalesce(wait_event_type, ''), coalesce(wait_event, '') FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid()"
        )
        try:
            out = subprocess.run(
                [os.path.join(PG_BIN, "psql"), "-h", self.pg.host, "-p", str(self.pg.port),
                 "-U", self.pg.user, "-d", "postgres", "-AtF", "\t", "-c", sql],
                capture_output=True, text=True, timeout=10,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return []
        return [line.split("\t") for line in out.stdout.splitlines() if line.count("\t") == 5]

    def _sample(self) -> None:
        now = time.time()
        for pid in self.worker_pids:
            s = schedstat(pid)
            if s is not None:
                self._last[("worker", pid)] = s
        events = []
        for pid, db, btype, state, wtype, wevent in self._pg_rows():
            group = "backend" if db == self.database else (
                "pg_other" if btype != "client backend" else ""
            )  # fmt: skip
            if not group:
                continue
            s = schedstat(int(pid))
            if s is not None:
                self._last[(group, int(pid))] = s
            if group == "backend" and state == "active":
                events.append(f"{wtype}:{wevent}" if wtype else "CPU")
        totals = {}
        for g in GROUPS:
            vals = [v for (grp, _), v in self._last.items() if grp == g]
            totals[g] = (sum(v[0] for v in vals), sum(v[1] for v in vals))
        self.times.append(now)
        self.series.append(totals)
        if self.pg is not None:
            self.waits.append((now, events))

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self.every):
                break
        self._sample()

    def _at(self, t: float) -> Dict[str, Tuple[float, float]]:
        i = min(max(bisect.bisect_left(self.times, t), 0), len(self.times) - 1)
        return self.series[i]

    def per_trial(self, t0: float, t1: float, trials: int) -> Dict[str, float]:
        """Seconds per trial between ``t0`` and ``t1`` (``trials`` ended in between): CPU and
        runqueue wait of each group; share of active backend samples per wait event."""
        out: Dict[str, float] = {}
        if not self.times or trials <= 0:
            return out
        a, b = self._at(t0), self._at(t1)
        for g in GROUPS:
            out[f"{g}_cpu"] = (b[g][0] - a[g][0]) / trials
            out[f"{g}_wait"] = (b[g][1] - a[g][1]) / trials
        counts: Dict[str, int] = {}
        n = 0
        for t, events in self.waits:
            if t0 <= t <= t1:
                n += 1
                for e in events:
                    counts[e] = counts.get(e, 0) + 1
        if n:
            out["pg_samples"] = n
            for e, c in counts.items():
                out[f"active {e}"] = c / n  # mean number of backends in that state
        return out


def format_per_trial(d: Dict[str, float]) -> str:
    """One line: ms per trial of CPU / runqueue wait per group, then backend wait events."""
    if not d:
        return ""
    parts = []
    for g in GROUPS:
        if f"{g}_cpu" in d:
            parts.append(
                f"{g} cpu {d[g + '_cpu'] * 1000:.0f} / runq {d[g + '_wait'] * 1000:.0f} ms"
            )
    ev = sorted(((v, k[7:]) for k, v in d.items() if k.startswith("active ")), reverse=True)
    if ev:
        parts.append("active backends (mean): " + ", ".join(f"{k} {v:.2f}" for v, k in ev[:6]))
    return "per trial: " + "; ".join(parts)
