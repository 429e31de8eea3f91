"""Durations as users write them: ``30m``, ``90s``, ``1h30m``, ``2d``, ``01:30:00``, ``1-02:00:00``
(SLURM's days-hours form) or a plain number of seconds. Python 3.9+, stdlib only."""

from __future__ import annotations

import re
from typing import Union

_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PARTS = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.I)


def parse_duration(text: Union[str, int, float]) -> float:
    """Seconds in ``text``; ValueError with a hint when it is not a duration."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration; write e.g. '30m', '2h', '90s' or '01:30:00'")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"{text!r} is negative; a duration must be positive")
        return float(text)
    t = str(text).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        return float(t)
    m = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d{1,2})(?::(\d{1,2}))?", t)
    if m:
        days = int(m.group(1) or 0)
        if m.group(4) is None:  # MM:SS
            h, mi, s = 0, int(m.group(2)), int(m.group(3))
        else:
            h, mi, s = int(m.group(2)), int(m.group(3)), int(m.group(4))
        return float(days * 86400 + h * 3600 + mi * 60 + s)
    compact = t.replace(" ", "")
    parts = _PARTS.findall(compact)
    if parts and "".join(n + u for n, u in parts).lower() == compact.lower():
        return float(sum(float(n) * _UNIT[u.lower()] for n, u in parts))
    raise ValueError(f"{text!r} is not a duration; write e.g. '30m', '2h', '90s' or '01:30:00'")


def format_slurm_time(seconds: float) -> str:
    """``D-HH:MM:SS`` (or ``HH:MM:SS`` under a day) for sbatch ``--time``."""
    total = int(round(seconds))
    d, rest = divmod(total, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{d}-{h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}"
