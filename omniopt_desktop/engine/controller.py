"""The controller job of a cluster run, and the run-folder probes the workstation calls.

``python -m omniopt_desktop.engine.controller COMMAND --run-dir RUN``:

- ``run``: the controller job's main (:mod:`.controller_loop`). Creates the study, submits the
  worker array (``<run>/slurm/worker.sh``), keeps ``resources.workers`` workers queued or running
  while the budget is not met (a worker that ended — TIMEOUT, NODE_FAIL, PREEMPTED,
  OUT_OF_MEMORY, scancel — is replaced; a crash loop is bounded), fails the RUNNING trials of
  workers whose job ended (they are retried), stops after ``study.max_failures`` consecutive
  failed trials and ends when ``n_trials`` trials are COMPLETE. Its state and reason go to
  ``<run>/controller.json``. Near its time limit (SIGUSR1) it queues its successor.
- ``status [--since N] [--refresh A,B]`` (:mod:`.status_probe`): one JSON line: storage kind,
  filesystem, controller state, counts by trial state, best value, and only the trials numbered
  above ``N`` (plus those listed in ``--refresh``). SQLite/PostgreSQL are read by trial id
  ranges with a watermark cache (``<run>/.status-cache.json``), so the cost grows with new
  trials, not with the study.
- ``snapshot`` (:mod:`.snapshot`): a consistent SQLite copy in ``<run>/snapshots/`` (SQLite
  backup API; a journal or PostgreSQL study is copied into SQLite); prints
  ``{"path", "size", "sha256"}``.
- ``cancel-trials [--reason R]`` (:mod:`.run_edits`): fails every RUNNING trial with reason R
  (no retry).
- ``add-trials --add N`` (:mod:`.run_edits`): raises ``study.n_trials`` in the frozen study by N.

The names below are re-exported so that ``controller.status`` etc. keep working.
Python 3.9+, optuna + stdlib (status on SQLite uses only sqlite3: no optuna import).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import List, Optional

from .controller_loop import NOT_PROGRAM_FAILURES, STOPPED_REASONS, Controller
from .run_edits import add_trials, cancel_trials
from .run_files import JOBS_FILE, STATE_FILE
from .slurm_jobs import WORKER_SCRIPT
from .snapshot import snapshot
from .status_journal import JOURNAL_CACHE
from .status_probe import status
from .status_records import FINISHED, TRIAL_STATES
from .status_sql import STATUS_CACHE

__all__ = [
    "FINISHED", "JOBS_FILE", "JOURNAL_CACHE", "NOT_PROGRAM_FAILURES", "STATE_FILE",
    "STATUS_CACHE", "STOPPED_REASONS", "TRIAL_STATES", "WORKER_SCRIPT", "Controller",
    "add_trials", "cancel_trials", "main", "snapshot", "status",
]  # fmt: skip


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
