"""Ctrl-C in the terminal the app was started from, or a SIGTERM (logout, kill), closes the
window the normal way and exits 0; Python's default had printed a KeyboardInterrupt traceback
at the next timer (Ctrl-C) or died without saving the settings (SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


def _catches(pid: int, sig: int) -> bool:
    """Has the process installed a handler for ``sig`` (SigCgt of /proc/PID/status)?"""
    try:
        with open(f"/proc/{pid}/status") as f:
            mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(mask & (1 << (sig - 1)))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_the_window_and_exits_cleanly(tmp_path, sig):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "omniopt_desktop.cli"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 60
        while not _catches(proc.pid, signal.SIGTERM):  # the app's handlers are in place
            assert proc.poll() is None, f"the app ended by itself: exit {proc.returncode}"
            assert time.monotonic() < end, "the app installed no SIGTERM handler in 60 s"
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    settings = list((tmp_path / "config").rglob("settings.json"))
    assert settings, "the settings (window layout) were saved on the way out"
