"""``omniopt-desktop status RUN [--wait] [--json] [--since N]``.

One remote command per poll: job states, counts by trial state, best value and the trials newer
than the last one seen. ``--wait`` polls (the interval grows while nothing changes) until the
run has ended; the exit status is 0 when the budget was met, 1 when the run failed or was
stopped (the reason is shown). A stale poll (SLURM or the connection did not answer) says so
and never counts as an end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..cluster.registry import Registry
from ..cluster.runs import RunMonitor, RunStatus
from ..errors import ClusterError
from .cmd_submit import add_connection_options, runs_for


def summary(st: RunStatus, host: str) -> list[str]:
    s = st.study
    lines = [
        f"run {st.run_id} on {host}: storage {s.get('storage', '?')} on {s.get('filesystem') or '?'}"
    ]
    if st.stale:
        lines.append(f"STALE (last known states shown): {st.error}")
    reason = f" — {st.reason}" if st.reason else ""
    lines.append(f"controller: {st.controller_state}{reason}")
    if st.controller_gone:
        lines.append("controller job ended without finishing; continue with: submit --resume RUN")
    by_state: dict[str, int] = {}
    for j in st.jobs.jobs.values():
        kind = "controller" if j.name.endswith("-ctl") else "worker"
        key = f"{kind} {j.state.value}"
        by_state[key] = by_state.get(key, 0) + 1
    if by_state:
        lines.append("jobs: " + ", ".join(f"{n} {k}" for k, n in sorted(by_state.items())))
    c = st.counts
    total = s.get("n_trials", "?")
    lines.append(
        f"trials: {c.get('COMPLETE', 0)}/{total} COMPLETE, {c.get('RUNNING', 0)} RUNNING, "
        f"{c.get('WAITING', 0)} WAITING, {c.get('FAIL', 0)} FAIL, {c.get('PRUNED', 0)} PRUNED"
    )
    best = s.get("best")
    if best:
        lines.append(f"best: {best['value']:.6g} (trial {best['number']})")
    return lines


def _run(args: argparse.Namespace) -> int:
    registry = Registry()
    record = registry.get(args.run)
    with runs_for(record, registry, ssh_config=args.ssh_config) as runs:
        monitor = RunMonitor(runs, record, max_interval=args.max_interval)
        monitor.last_number = args.since
        shown = None
        while True:
            st = monitor.poll()
            if not args.wait or st.finished:
                break
            line = (st.controller_state, tuple(sorted(st.counts.items())), st.stale)
            if line != shown:
                shown = line
                print("; ".join(summary(st, record.host)[1:]), file=sys.stderr, flush=True)
            time.sleep(monitor.interval)
    if not st.stale:
        registry.update(record.run_id, last_number=max(monitor.last_number, record.last_number))
        if st.finished and st.controller_state in ("done", "failed"):
            registry.update(record.run_id, state=st.controller_state)
    if args.json:
        out = st.to_json()
        out["trials"] = monitor.all_trials()
        print(json.dumps(out))
    else:
        print("\n".join(summary(st, record.host)))
    budget_met = st.counts.get("COMPLETE", 0) >= int(st.study.get("n_trials") or 0) > 0
    if args.wait and budget_met:
        return 0
    if args.wait and st.controller_gone:
        ended = [j.state.value for j in st.jobs.jobs.values() if j.name.endswith("-ctl")]
        raise ClusterError(
            f"run {record.run_id}: the controller job ended ({', '.join(ended[-1:]) or 'gone'}) "
            f"before the study did; continue with: omniopt-desktop submit --resume {record.run_id}"
        )
    if args.wait and st.controller_state != "done":
        raise ClusterError(
            f"run {record.run_id} ended {st.controller_state}"
            + (f": {st.reason}" if st.reason else "")
        )
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("status", help="jobs, trial counts and best value of a cluster run")
    p.add_argument("run", metavar="RUN", help="run id (or a unique prefix); see 'runs'")
    p.add_argument("--wait", action="store_true", help="poll until the run has ended")
    p.add_argument("--json", action="store_true", help="print the status as one JSON object")
    p.add_argument(
        "--since", type=int, default=-1, metavar="N", help="only trials numbered above N"
    )
    p.add_argument("--max-interval", type=float, default=30.0, help=argparse.SUPPRESS)
    add_connection_options(p)
    p.set_defaults(func=_run)
