"""No screen: the GUI says how to get one (Qt would abort with exit status 134); a screenshot
renders offscreen."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from omniopt_desktop.cli.display_check import need_display
from omniopt_desktop.errors import OmniOptError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland only")


def test_a_screen_or_a_chosen_platform_needs_nothing():
    assert need_display(False, {"DISPLAY": ":1"}) is None
    assert need_display(False, {"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert need_display(False, {"QT_QPA_PLATFORM": "offscreen"}) is None


def test_no_screen_is_one_clear_line():
    with pytest.raises(OmniOptError) as e:
        need_display(False, {})
    assert "DISPLAY" in str(e.value) and "xvfb-run" in str(e.value)
    assert "\n" not in str(e.value)


def _app(args, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "omniopt_desktop.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_the_app_without_a_screen_exits_with_the_message(tmp_path):
    out = _app([], tmp_path)
    assert out.returncode == 1, out.stderr
    assert "no display" in out.stderr and "Aborted" not in out.stderr


def test_a_screenshot_without_a_screen_renders_offscreen(tmp_path):
    png = tmp_path / "shot.png"
    out = _app(["--screenshot", str(png)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
