"""``omniopt-desktop fetch RUN [--logs] [--dest DIR]``: a consistent snapshot of the study.

The snapshot is taken on the cluster (SQLite backup API; journal/PostgreSQL copied into
SQLite), downloaded to a ``.part`` file, checked (size + SHA-256) and renamed. The last line of
output is the local path; it opens in ``omniopt-desktop open`` and in optuna-dashboard.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..cluster.registry import Registry
from .cmd_submit import add_connection_options, runs_for


def default_dest(run_id: str) -> str:
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("omniopt-desktop", appauthor=False), "snapshots", run_id)


def _progress(done: int, total: int) -> None:
    pct = 100.0 * done / total if total else 100.0
    print(
        f"\r  downloading {done / 1e6:.1f} / {total / 1e6:.1f} MB ({pct:.0f}%)",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _run(args: argparse.Namespace) -> int:
    registry = Registry()
    record = registry.get(args.run)
    dest = args.dest or default_dest(record.run_id)
    with runs_for(record, registry, ssh_config=args.ssh_config) as runs:
        path = runs.fetch(record, dest, logs=args.logs, progress=_progress)
    print(file=sys.stderr)
    if args.logs:
        print(f"trial logs in {os.path.join(dest, record.run_id + '-logs')}", file=sys.stderr)
    print(path)
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("fetch", help="download a consistent snapshot of a cluster run")
    p.add_argument("run", metavar="RUN", help="run id (or a unique prefix); see 'runs'")
    p.add_argument("--logs", action="store_true", help="also download the trial folders and logs")
    p.add_argument("--dest", help="local folder (default: the app's data folder)")
    add_connection_options(p)
    p.set_defaults(func=_run)
