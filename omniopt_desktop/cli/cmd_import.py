"""``omniopt-desktop import SOURCE --out STUDY.toml``: an OmniOpt1/OmniOpt2 definition → study.

SOURCE is an OmniOpt1 ``config.ini``, a file holding an OmniOpt2 command line (or the web GUI's
``curl … | bash -s -- "<base64>"`` line), or an OmniOpt2 TOML/YAML/JSON config file; ``-`` reads
standard input. Prints what was ignored and what was approximated (also written as comments at
the top of the file); the last line is the path written. An existing file is kept unless
``--force`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List

from ..errors import OmniOptError
from ..study.importers import ImportResult, SourceKind, import_file, import_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="make a study.toml from an OmniOpt1 config.ini or an OmniOpt2 command line/config",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument(
        "source", metavar="SOURCE", help="config.ini, command-line file, config file or -"
    )
    p.add_argument(
        "--out", "-o", required=True, metavar="STUDY.toml", help="the study file to write"
    )
    p.add_argument("--force", "-f", action="store_true", help="overwrite STUDY.toml if it exists")
    p.add_argument(
        "--kind",
        choices=[k.value for k in SourceKind],
        help="the source's format (found out by itself when left out)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..study.toml_io import dumps_study, loads_study, save_study
    from ..study.validate import validate

    out = args.out
    if os.path.exists(out) and not args.force:
        raise OmniOptError(f"{out} exists; choose another --out or add --force to overwrite it")
    kind = SourceKind(args.kind) if args.kind else None
    if args.source == "-":
        result = import_text(sys.stdin.read(), None, kind, os.getcwd())
        source = "standard input"
    else:
        result = import_file(args.source, kind)
        source = args.source

    s = result.study
    print(
        f"imported {result.source_kind.label} from {source}: study '{s.name}', "
        f"{len(s.parameters)} parameter{'s' if len(s.parameters) != 1 else ''}, "
        f"{len(s.objectives)} objective{'s' if len(s.objectives) != 1 else ''}"
    )
    _print_list("ignored (no meaning here)", result.ignored)
    _print_list("approximations (no exact equivalent)", result.approximations)
    issues = validate(s)
    for issue in issues:
        print(f"to fix before running: {issue}", file=sys.stderr)

    loaded = loads_study(_header(result, source) + dumps_study(s), filename=out)
    loaded.study = s
    written = save_study(loaded, out)
    print(written)
    return 0


def _print_list(title: str, items: List[str]) -> None:
    if items:
        print(f"{title}:")
        for item in items:
            print(f"  - {item}")


def _header(result: ImportResult, source: str) -> str:
    lines = [f"Imported from {source} ({result.source_kind.label}) by omniopt-desktop import."]
    if result.ignored:
        lines.append("Ignored (no meaning here):")
        lines += [f"  - {i}" for i in result.ignored]
    if result.approximations:
        lines.append("Approximations (no exact equivalent):")
        lines += [f"  - {a}" for a in result.approximations]
    return "".join("# " + " ".join(line.splitlines()) + "\n" for line in lines) + "\n"
