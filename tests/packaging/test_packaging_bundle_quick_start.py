"""The bundle's first start as a new user has it: a real X server (Xvfb), the window shown, the
quick-start button pressed from the keyboard; the example's 40 trials run in the bundle's own
worker processes and the analysis window opens. (The command-line ``run`` of the bundle is
tested in test_packaging_bundle.py; this is the GUI's run, a child process of the window.)"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
    reason="needs Xvfb and xdotool (bash packaging/setup.sh --test installs them)",
)


def _free_display() -> int:
    for n in range(140, 240):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return n
    raise RuntimeError("no free X display number")


def _visible_windows(env: dict, name: str) -> list[str]:
    proc = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", name],
        env=env,
        capture_output=True,
        text=True,
    )
    return proc.stdout.split()


def _wait(what: str, check, timeout: float, log: Path):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"waited {timeout:.0f} s for {what}; app log:\n{log.read_text()[-3000:]}")


def _complete(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_first_start_one_key_runs_the_example_and_opens_its_plots(bundle, tmp_path):
    display = _free_display()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "DISPLAY": f":{display}"}
    log = tmp_path / "app.log"
    app = None
    try:
        _wait("Xvfb", lambda: os.path.exists(f"/tmp/.X11-unix/X{display}"), 30, log)
        with open(log, "wb") as out:
            app = subprocess.Popen(
                [str(bundle)], env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        [window] = _wait(
            "the main window", lambda: _visible_windows(env, "^OmniOpt Desktop$"), 60, log
        )
        # the quick-start button has the keyboard focus on the welcome page
        subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, check=True)
        subprocess.run(["xdotool", "key", "--window", window, "space"], env=env, check=True)
        run = home / ".local/share/omniopt-desktop/examples/quadratic/runs/quadratic"
        _wait("the analysis window", lambda: _visible_windows(env, "OmniOpt analysis"), 90, log)
        _wait("40 COMPLETE trials", lambda: _complete(run / "study.db") >= 40, 240, log)
        assert sorted(p.name for p in (run / "trials").iterdir())[:2] == ["0", "1"]
        assert "RESULT" in (run / "trials" / "0" / "stdout.txt").read_text()
        png = tmp_path / "screen.png"

        def plotted() -> bool:  # the history plot redraws a moment after the last trial
            grab = ["import", "-display", f":{display}", "-window", "root", str(png)]
            subprocess.run(grab, check=True)
            return png.stat().st_size > 30_000  # points and lines, not empty axes (~15 kB)

        _wait("the plots drawn on the screen", plotted, 30, log)
    finally:
        if app is not None:
            os.killpg(app.pid, signal.SIGTERM)
            try:
                app.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(app.pid, signal.SIGKILL)
                app.wait(5)
        xvfb.terminate()
        xvfb.wait(10)
