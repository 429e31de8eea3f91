"""What a trial's program printed, and how its run ended: values, extra info, or why it failed.

Contract:
- ``NAME: value`` lines give each objective's value; the last line for a name wins. The value is
  the first word after the colon, read by :func:`float` (``1e-3``, ``-2.5E+4``, ``nan``, ``inf``,
  ``-Infinity`` are all accepted); anything else makes the value non-numeric.
- ``OO-Info: key: value`` lines become extra per-trial attributes (numbers when the value reads
  as a finite float, text otherwise); the last line for a key wins.
- :func:`classify` turns a finished run plus its parsed output into an :class:`Outcome`:
  values for COMPLETE, or a :class:`FailureKind` and a one-line reason ending with the tail of
  stderr. Failure order: interrupted, timeout, signal, non-zero exit, no result, non-numeric,
  non-finite. A missing value line quotes the near miss the program printed instead
  (``RESULT = 0.5``, ``result: 0.5``) or says it went to stderr.

Python 3.9+, stdlib only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, List, Optional, Sequence, Union

InfoValue = Union[str, float]

_INFO = re.compile(r"^\s*OO-Info\s*:\s*(?P<key>[^:]+?)\s*:\s*(?P<value>.*?)\s*$")
_TAIL_CHARS = 300


class FailureKind(str, Enum):
    INTERRUPTED = "interrupted"
    TIMEOUT = "timeout"
    SIGNAL = "signal"
    EXIT_CODE = "exit code"
    NOT_STARTED = "not started"
    NO_RESULT = "no result"
    NON_NUMERIC = "non-numeric result"
    NON_FINITE = "non-finite result"


@dataclass(frozen=True)
class ParsedOutput:
    """Raw text of each objective's last value line (absent: never printed) and OO-Info pairs.

    ``near`` holds, for an objective without a value line, the last line that almost is one
    (``RESULT = 0.5``, ``result: 0.5``, ``final RESULT: 0.5``), to show in the failure reason.
    """

    raw: Dict[str, str] = field(default_factory=dict)
    info: Dict[str, InfoValue] = field(default_factory=dict)
    near: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunEnd:
    """How the program ended (the parts :func:`classify` needs)."""

    exit_code: Optional[int]
    signal: Optional[str] = None
    timed_out: bool = False
    interrupted: bool = False
    start_error: Optional[str] = None
    timeout: Optional[float] = None


@dataclass(frozen=True)
class Outcome:
    values: Optional[List[float]]
    failure: Optional[FailureKind] = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None


def parse_output(text: str, objective_names: Sequence[str]) -> ParsedOutput:
    """Find the objectives' value lines and the OO-Info lines in ``text``."""
    wanted = [n for n in objective_names if n]
    patterns = {n: re.compile(r"^\s*" + re.escape(n) + r"\s*:\s*(?P<v>.*?)\s*$") for n in wanted}
    almost = {
        n: re.compile(r"(?i)(?<![A-Za-z0-9_])" + re.escape(n) + r"\s*(?:[:=]|[-+]?\.?\d)")
        for n in wanted
    }
    raw: Dict[str, str] = {}
    info: Dict[str, InfoValue] = {}
    near: Dict[str, str] = {}
    for line in text.splitlines():
        for name, pat in almost.items():
            if pat.search(line):
                near[name] = line.strip()
        if ":" not in line:
            continue
        m = _INFO.match(line)
        if m:
            info[m.group("key")] = _info_value(m.group("value"))
            continue
        for name, pat in patterns.items():
            m = pat.match(line)
            if m:
                raw[name] = m.group("v")
    near = {n: line for n, line in near.items() if n not in raw}
    return ParsedOutput(raw=raw, info=info, near=near)


def parse_number(text: str) -> Optional[float]:
    """The float in the first word of ``text``; None when it is not a number."""
    word = text.split()[0] if text.split() else ""
    try:
        return float(word)
    except ValueError:
        return None


def _info_value(text: str) -> InfoValue:
    try:
        v = float(text)
    except ValueError:
        return text
    return v if math.isfinite(v) else text


def tail(text: str, limit: int = _TAIL_CHARS) -> str:
    """The last non-empty line(s) of ``text`` on one line, at most ``limit`` characters."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    out = " | ".join(lines[-3:])
    return out if len(out) <= limit else "…" + out[-(limit - 1) :]


def classify(
    end: RunEnd, parsed: ParsedOutput, objective_names: Sequence[str], stderr_tail: str = ""
) -> Outcome:
    """COMPLETE values, or the failure with a one-line reason (tail of stderr appended)."""

    def fail(kind: FailureKind, what: str) -> Outcome:
        t = stderr_tail.replace("\n", " | ").strip()
        return Outcome(None, kind, what + (f"; stderr: {t}" if t else ""))

    if end.start_error:
        return fail(FailureKind.NOT_STARTED, f"program could not be started: {end.start_error}")
    if end.interrupted:
        return fail(FailureKind.INTERRUPTED, "interrupted")
    if end.timed_out:
        limit = f" of {end.timeout:g} s" if end.timeout is not None else ""
        return fail(FailureKind.TIMEOUT, f"timeout{limit} reached; program killed")
    if end.signal:
        return fail(FailureKind.SIGNAL, f"program killed by {end.signal}")
    if end.exit_code != 0:
        return fail(FailureKind.EXIT_CODE, f"program exited with status {end.exit_code}")
    values: List[float] = []
    for name in objective_names:
        if name not in parsed.raw:
            what = f"no result: the program printed no '{name}: <number>' line"
            if name in parsed.near:
                shown = parsed.near[name][:60]
                what += f" (it printed '{shown}'; the line must start with '{name}:')"
            elif name in parse_output(stderr_tail.replace(" | ", "\n"), [name]).raw:
                what += " on stdout (it printed one on stderr)"
            return fail(FailureKind.NO_RESULT, what)
        v = parse_number(parsed.raw[name])
        if v is None:
            shown = parsed.raw[name][:60]
            return fail(FailureKind.NON_NUMERIC, f"non-numeric result: '{name}: {shown}'")
        if not math.isfinite(v):
            return fail(FailureKind.NON_FINITE, f"non-finite result: '{name}: {v}'")
        values.append(v)
    return Outcome(values)
