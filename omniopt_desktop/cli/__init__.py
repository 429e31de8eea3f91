"""``omniopt-desktop``: the GUI by default, and the same operations headless.

Each sub-command lives in its own module ``cli/cmd_<name>.py`` exposing
``register(subparsers)``; it sets ``func(args) -> int`` on its parser. Errors derived from
:class:`OmniOptError` end the program with one line on stderr and exit code 1; where a command
produces a thing (a run id, a path) it prints it as the last line of stdout.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Optional, Sequence

from .. import __version__
from ..errors import OmniOptError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omniopt-desktop",
        description="Hyper-parameter optimisation of any program, locally or on a SLURM cluster.",
    )
    parser.add_argument("--version", action="version", version=f"omniopt-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = set(parser._subparsers._group_actions[0].choices) if parser._subparsers else set()
    # `omniopt-desktop [STUDY.toml] [--screenshot PNG]` opens the GUI
    if (
        not argv
        or (argv[0] not in known and not argv[0].startswith("-"))
        or argv[0] == "--screenshot"
    ):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except OmniOptError as e:
        print(f"omniopt-desktop: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("omniopt-desktop: interrupted", file=sys.stderr)
        return 130
