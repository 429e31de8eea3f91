"""Start-up time of the PyInstaller bundle beside ``python main.py``, measured in one run.

    python bench/bench_startup.py [--bundle dist/omniopt-desktop/omniopt-desktop] [--repeat 5]

Builds the bundle into a temporary folder unless --bundle is given. Times, for both, the bare
start (``--version``), the main window (``--screenshot``: the welcome page with the examples)
and ``open DB --screenshot`` of a small study (offscreen), and prints the medians and their
ratios (bundle / python; below 1 means the bundle starts faster), then the bundle's size.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.bundle import build_bundle, folder_size, make_study_db, offscreen_env  # noqa: E402


def timed(cmd: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
            b = timed([str(exe), *tail], args.repeat, env)
            p = timed([*py, *tail], args.repeat, env)
            rows.append((label, b, p))
        print(
            f"{'what':<20}{'bundle s':>10}{'python s':>10}{'ratio':>8}   (median of {args.repeat})"
        )
        for label, b, p in rows:
            print(f"{label:<20}{b:>10.3f}{p:>10.3f}{b / p:>8.2f}")
        print(f"bundle size: {folder_size(exe.parent) / 2**20:.0f} MiB in {exe.parent}")


if __name__ == "__main__":
    main()
