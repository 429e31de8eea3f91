"""``omniopt-desktop``: the GUI by default, and the same operations headless.

Each sub-command lives in its own module ``cli/cmd_<name>.py`` exposing
``register(subparsers)``; it sets ``func(args) -> int`` on its parser. Errors derived from
:class:`OmniOptError` end the program with one line on stderr and exit code 1; where a command
produces a thing (a run id, a path) it prints it as the last line of stdout.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import pkgutil
import sys
from typing import Optional, Sequence

from .. import __version__
from ..errors import OmniOptError


@functools.lru_cache(maxsize=1)
def command_names() -> dict[str, str]:
    """Sub-command name → its module, without importing any of them."""
    return {
        info.name[4:].replace("_", "-"): info.name
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
        if info.name.startswith("cmd_")
    }


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that sub-command's module is imported (a
    command such as ``open --screenshot`` should not pay for the cluster modules)."""
    parser = argparse.ArgumentParser(
        prog="omniopt-desktop",
        description="Hyper-parameter optimisation of any program, locally or on a SLURM cluster.",
    )
    parser.add_argument("--version", action="version", version=f"omniopt-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in command_names().items():
        if only is None or name == only:
            importlib.import_module(f"{__name__}.{module}").register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = set(command_names())
    # `omniopt-desktop [STUDY.toml] [--screenshot PNG]` opens the GUI
    if (
        not argv
        or (argv[0] not in known and not argv[0].startswith("-"))
        or argv[0] == "--screenshot"
    ):
        argv = ["gui", *argv]
    # `--version` needs no sub-command; `--help` and mistakes get the full parser
    only = argv[0] if argv[0] in known else ("" if argv == ["--version"] else None)
    parser = build_parser(only=only)
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
    except OSError as e:  # a path the user gave cannot be written or read: one line, no traceback
        print(f"omniopt-desktop: error: {_os_error(e)}", file=sys.stderr)
        return 1


def _os_error(e: OSError) -> str:
    """``<path>: <reason>``; a temporary file's missing folder is named as the folder."""
    import errno
    import os

    name = os.fsdecode(e.filename) if e.filename is not None else ""
    reason = e.strerror or str(e)
    folder = os.path.dirname(name)
    if e.errno == errno.ENOENT and folder and not os.path.isdir(folder):
        return f"{folder}: no such folder; create it first or choose another path"
    base = os.path.basename(name)
    if base.startswith(".") and "tmp" in base:  # a file written whole through a temporary one
        name = f"{folder} (writing a file there)"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{name}: {reason}; choose a path you can write to"
    return f"{name}: {reason}" if name else reason
