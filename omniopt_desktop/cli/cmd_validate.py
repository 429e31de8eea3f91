"""``omniopt-desktop validate STUDY.toml``: every problem, one line each, file:line first."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a study file and list every problem")
    p.add_argument("study", metavar="STUDY.toml")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os

    from ..study.program_check import program_warnings
    from ..study.toml_io import load_study

    loaded = load_study(args.study)
    issues = loaded.all_issues()
    for issue in issues:
        print(issue, file=sys.stderr)
    if issues:
        print(
            f"{args.study}: {len(issues)} problem{'s' if len(issues) != 1 else ''}", file=sys.stderr
        )
        return 1
    s = loaded.study
    print(
        f"{args.study}: OK — study '{s.name}', {len(s.parameters)} parameters, "
        f"{len(s.objectives)} objective{'s' if len(s.objectives) != 1 else ''}, "
        f"{s.n_trials} trials, sampler {s.sampler}, storage {s.storage}"
    )
    for warning in program_warnings(s, os.path.dirname(os.path.abspath(args.study))):
        print(f"{args.study}: warning: {warning}", file=sys.stderr)
    return 0
