"""The real window under Xvfb (xcb platform): editor, runs list, import dialog, and the dialogs
of a first cluster run (profile, host key, password, one-time code, submission).

Writes to a temporary folder; set OO_SCREENSHOTS_DIR=docs/screenshots to refresh the docs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPECTED = (
    "welcome.png",
    "editor.png",
    "editor-validation.png",
    "editor-program.png",
    "runs-list.png",
    "profile-dialog.png",
    "host-key.png",
    "password.png",
    "two-factor.png",
    "submit-environment.png",
    "submit-failed-offline.png",
    "import-dialog.png",
)
SMALL = {"host-key.png", "password.png", "two-factor.png"}  # dialogs of a few lines


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (Debian: xvfb)")
def test_screenshots_of_the_real_window_under_xvfb(tmp_path):
    out = os.environ.get("OO_SCREENSHOTS_DIR") or str(tmp_path / "shots")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    proc = subprocess.run(
        [
            "xvfb-run",
            "-a",
            "-s",
            "-screen 0 1400x1000x24",
            sys.executable,
            "-m",
            "omniopt_desktop.gui.screenshots",
            out,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = [os.path.basename(p) for p in proc.stdout.split()]
    assert sorted(written) == sorted(EXPECTED)
    for name in EXPECTED:
        img = QImage(os.path.join(out, name))
        small = name in SMALL or name.startswith("submit-")
        assert not img.isNull() and img.width() >= (400 if small else 600), name
        assert img.height() >= (80 if small else 150), name
        # not a blank image: many distinct colours
        colours = {
            img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)
        }
        assert len(colours) > 20, name
