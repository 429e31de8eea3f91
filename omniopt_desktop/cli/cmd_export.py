"""``omniopt-desktop export DB --csv FILE``: the trials of a result database as CSV.

Columns as OmniOpt2's ``results.csv`` (docs/export.md). Prints the CSV's path last.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the trials of a study database as CSV (columns as OmniOpt2's results.csv)",
    )
    p.add_argument("db", metavar="DB", help="study.db, study.journal or a run folder")
    p.add_argument(
        "--csv", required=True, metavar="FILE", help="the CSV file to write ('-': stdout)"
    )
    p.add_argument("--study", metavar="NAME", help="the study to export when DB holds several")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.export import export_csv, write_csv
    from ..analysis.loader import load_trials

    cols = load_trials(args.db, study_name=args.study)
    if args.csv == "-":
        write_csv(cols, sys.stdout)
        return 0
    n = export_csv(cols, args.csv)
    print(
        f"{n} trial{'s' if n != 1 else ''} of study '{cols.study.name}' written to", file=sys.stderr
    )
    print(args.csv)
    return 0
