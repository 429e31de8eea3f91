"""``omniopt-desktop [gui] [STUDY.toml] [--screenshot PNG]``: the desktop app.

The GUI layer sits above the CLI, so it is imported by name at run time (no static import
from ``cli`` into ``gui``); Qt is loaded only when this command runs.
"""

from __future__ import annotations

import argparse
import importlib
import os

from ..errors import OmniOptError
from .display_check import need_display


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the desktop app (the default)",
        description="Open the desktop app, optionally with a study file.",
    )
    p.add_argument("study", nargs="?", help="a study.toml to open")
    p.add_argument(
        "--screenshot",
        metavar="PNG",
        help="render the window to this image file and exit (for docs and headless checks)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.study and not os.path.isfile(args.study):
        raise OmniOptError(f"{args.study}: no such file; check the path")
    need_display(headless_ok=bool(args.screenshot))
    try:
        app = importlib.import_module("omniopt_desktop.gui.app")
    except ImportError as e:
        raise OmniOptError(
            f"the desktop app cannot start: {e}; install PySide6 (pip install PySide6-Essentials)"
        ) from e
    return int(app.run(args.study, args.screenshot))
