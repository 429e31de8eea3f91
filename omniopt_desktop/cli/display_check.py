"""Is there a screen for Qt? Checked before Qt loads: without one, Qt aborts the process with
a page of plugin text (exit status 134) instead of saying what to do."""

from __future__ import annotations

import os
import sys
from typing import Mapping, Optional

from ..errors import OmniOptError

OFFSCREEN = "offscreen"


def need_display(headless_ok: bool, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """On Linux with neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` (nor ``QT_QPA_PLATFORM``) set:
    ``headless_ok`` (a ``--screenshot`` run) → Qt's offscreen platform is chosen and returned;
    otherwise a one-line :class:`OmniOptError` says how to get a screen. None: nothing to do."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    if headless_ok:
        os.environ["QT_QPA_PLATFORM"] = OFFSCREEN
        return OFFSCREEN
    raise OmniOptError(
        "no display: DISPLAY and WAYLAND_DISPLAY are unset; start the app in a desktop session, "
        "over `ssh -X`, or under `xvfb-run` (for a headless image add --screenshot PNG)"
    )
