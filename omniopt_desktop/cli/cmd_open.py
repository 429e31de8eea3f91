"""``omniopt-desktop open DB [--screenshot PNG]``: the analysis window for a result database.

With ``--screenshot`` the main views are rendered to the image, its path printed, and the
program exits (for docs and headless checks). The GUI layer sits above the CLI, so it is
imported by name at run time.
"""

from __future__ import annotations

import argparse
import importlib

VIEWS = (
    "summary",
    "history",
    "slices",
    "parallel",
    "scatter",
    "importance",
    "distribution",
    "pareto",
    "timeline",
    "table",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "open", help="analyse a result database (study.db, study.journal or a run folder)"
    )
    p.add_argument("db", metavar="DB", help="study.db, study.journal or a run folder")
    p.add_argument("--screenshot", metavar="PNG", help="render the main views to PNG and exit")
    p.add_argument("--view", choices=VIEWS, help="with --screenshot: render only this view")
    p.add_argument("--study", metavar="NAME", help="the study to open when DB holds several")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .display_check import need_display

    need_display(headless_ok=bool(args.screenshot))
    app = importlib.import_module("omniopt_desktop.gui.analysis.open_app")
    return int(app.main(args.db, screenshot=args.screenshot, study_name=args.study, view=args.view))
