"""``python -m omniopt_desktop.engine worker --run-dir DIR [--storage URL] [--worker-id ID]``.

The compute-side entry point (Python 3.9+, optuna + stdlib). Exit status: see
:class:`omniopt_desktop.engine.worker.Exit`. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m omniopt_desktop.engine")
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="run trials of the study frozen in a run folder")
    w.add_argument("--run-dir", required=True, help="run folder holding study.json")
    w.add_argument("--storage", default=None, help="storage URL (default: the run's)")
    w.add_argument("--worker-id", default=None, help="id recorded on trials and leases")
    w.add_argument("--worker-index", type=int, default=0, help="index (seeds differ per worker)")
    w.add_argument("--workers", type=int, default=1, help="number of workers sharing the study")
    w.add_argument("--lease-ttl", type=float, default=120.0, help="seconds a lease lasts")
    w.add_argument("--lease-interval", type=float, default=15.0, help="seconds between renewals")
    w.add_argument("--parent-pid", type=int, default=None, help="stop when this parent is gone")
    w.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from .worker import WorkerConfig, run_worker

    cfg = WorkerConfig(
        run_dir=args.run_dir,
        storage_url=args.storage,
        worker_id=args.worker_id,
        worker_index=args.worker_index,
        n_workers=max(1, args.workers),
        lease_ttl=args.lease_ttl,
        lease_interval=min(args.lease_interval, args.lease_ttl / 3),
        parent_pid=args.parent_pid,
    )
    return int(run_worker(cfg))


if __name__ == "__main__":
    sys.exit(main())
