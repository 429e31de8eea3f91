"""Start-up time of the PyInstaller bundle beside ``python main.py``, measured in one run.

    python bench/bench_startup.py [--bundle dist/omniopt-desktop/omniopt-desktop] [--repeat 5]

Builds the bundle into a temporary folder unless --bundle is given. Times, for both, the bare
start (``--version``), the main window (``--screenshot``: the welcome page with the examples)
and ``open DB --screenshot`` of a small study (offscreen), and prints the medians and their
ratios (bundle / python; below 1 means the bundle starts faster), then the bundle's size.
The two are run in turns (bundle, python, bundle, ...) so a change of the machine's load hits
both alike; the CPU time (user + system of the process and its children) is printed beside the
wall-clock time, as it depends much less on what else the machine is doing.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.bundle import build_bundle, folder_size, make_study_db, offscreen_env  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmds: list[list[str]], repeat: int, env: dict[str, str]) -> list[tuple[float, float]]:
    """(median wall-clock s, median CPU s) of each command, the commands run in turns."""
    wall: list[list[float]] = [[] for _ in cmds]
    cpu: list[list[float]] = [[] for _ in cmds]
    for _ in range(repeat):
        for i, cmd in enumerate(cmds):
            c0, t0 = _cpu(), time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
            wall[i].append(time.perf_counter() - t0)
            cpu[i].append(_cpu() - c0)
    return [(statistics.median(w), statistics.median(c)) for w, c in zip(wall, cpu)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = args.bundle or build_bundle(work / "bundle")
        db = make_study_db(work / "study.db", n=200)
        py = [sys.executable, str(ROOT / "main.py")]
        env = dict(  # the app's settings in the temporary folder, never the user's
            offscreen_env(), XDG_CONFIG_HOME=str(work / "config"), XDG_DATA_HOME=str(work / "data")
        )
        rows = []
        for label, tail in (
            ("--version", ["--version"]),
            ("window --screenshot", ["--screenshot", str(work / "w.png")]),
            ("open --screenshot", ["open", str(db), "--screenshot", str(work / "s.png")]),
        ):
            (b, b_cpu), (p, p_cpu) = timed([[str(exe), *tail], [*py, *tail]], args.repeat, env)
            rows.append((label, b, p, b_cpu, p_cpu))
        print(
            f"{'what':<20}{'bundle s':>10}{'python s':>10}{'ratio':>8}"
            f"{'bundle cpu':>12}{'python cpu':>12}{'ratio':>8}   (medians of {args.repeat})"
        )
        for label, b, p, b_cpu, p_cpu in rows:
            print(
                f"{label:<20}{b:>10.3f}{p:>10.3f}{b / p:>8.2f}"
                f"{b_cpu:>12.3f}{p_cpu:>12.3f}{b_cpu / p_cpu:>8.2f}"
            )
        print(f"bundle size: {folder_size(exe.parent) / 2**20:.0f} MiB in {exe.parent}")


if __name__ == "__main__":
    main()
