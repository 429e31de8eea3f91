"""OpenSSH host patterns: only ``*`` and ``?`` are special (``[`` is literal, as in ``[h]:22``)."""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern) + r"\Z",
        re.DOTALL,
    )


def wildcard_match(name: str, pattern: str) -> bool:
    return _compile(pattern).match(name) is not None
