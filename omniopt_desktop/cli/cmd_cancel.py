"""``omniopt-desktop cancel RUN``: cancel every job of a cluster run.

Running trials end FAIL "cancelled"; the study database stays intact and
``submit --resume RUN`` continues it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cluster.registry import Registry
from .cmd_submit import add_connection_options, runs_for


def _run(args: argparse.Namespace) -> int:
    registry = Registry()
    record = registry.get(args.run)
    with runs_for(record, registry, ssh_config=args.ssh_config) as runs:
        numbers = runs.cancel(record)
    if numbers:
        print(f"trials failed as cancelled: {', '.join(map(str, numbers))}", file=sys.stderr)
    print(f"cancelled {record.run_id}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("cancel", help="cancel every job of a cluster run")
    p.add_argument("run", metavar="RUN", help="run id (or a unique prefix); see 'runs'")
    add_connection_options(p)
    p.set_defaults(func=_run)
