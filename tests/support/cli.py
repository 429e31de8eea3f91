"""Run the command-line app as a user does, and the smallest study file it runs."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

# one float parameter, a program that prints it: format with name=, n_trials=
TINY_STUDY = """\
[study]
name = "{name}"
n_trials = {n_trials}
[[objective]]
name = "RESULT"
[program]
command = "echo RESULT: %(x)"
[[parameter]]
name = "x"
type = "float"
low = 0
high = 1
"""


def tiny_study(name: str = "s", n_trials: int = 2) -> str:
    return TINY_STUDY.format(name=name, n_trials=n_trials)


def run_cli(*args: str, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess:
    """``omniopt-desktop ARGS`` in a subprocess; its exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "omniopt_desktop.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
