"""``omniopt-desktop runs [--json]``: the cluster runs submitted from this machine."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ..cluster.registry import Registry


def _run(args: argparse.Namespace) -> int:
    records = Registry().all()
    if args.json:
        print(json.dumps([r.to_json() for r in records]))
        return 0
    if not records:
        print("no cluster runs yet; start one with 'omniopt-desktop submit STUDY.toml --host HOST'")
        return 0
    rows = [("RUN", "HOST", "STATE", "SUBMITTED", "JOBS", "FOLDER")]
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        rows.append((r.run_id, r.host, r.state, when, ",".join(r.job_ids), r.remote_dir))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("runs", help="list the cluster runs submitted from this machine")
    p.add_argument("--json", action="store_true", help="print the registry as JSON")
    p.set_defaults(func=_run)
