"""What every importer shares: the result type, the error, the notes and small value helpers.

Stdlib only, Python 3.9+. Importers never raise for an option they do not understand: they list
it in :attr:`ImportResult.ignored`; what has no exact equivalent here is listed in
:attr:`ImportResult.approximations`. They raise :class:`ImportSourceError` only when the source
cannot be turned into a study at all (unreadable, no parameters, a bound missing).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional, Sequence, Union

from ...errors import OmniOptError
from ..model import ChoiceValue, Study


class SourceKind(str, Enum):
    """Which OmniOpt format a source is written in."""

    OMNIOPT1_INI = "omniopt1-ini"
    OMNIOPT2_COMMAND = "omniopt2-command"
    OMNIOPT2_CURL = "omniopt2-curl"
    OMNIOPT2_TOML = "omniopt2-toml"
    OMNIOPT2_YAML = "omniopt2-yaml"
    OMNIOPT2_JSON = "omniopt2-json"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    SourceKind.OMNIOPT1_INI: "OmniOpt1 config.ini",
    SourceKind.OMNIOPT2_COMMAND: "OmniOpt2 command line",
    SourceKind.OMNIOPT2_CURL: "OmniOpt2 web-GUI curl command",
    SourceKind.OMNIOPT2_TOML: "OmniOpt2 --config_toml file",
    SourceKind.OMNIOPT2_YAML: "OmniOpt2 --config_yaml file",
    SourceKind.OMNIOPT2_JSON: "OmniOpt2 --config_json file",
}


class ImportSourceError(OmniOptError):
    """An OmniOpt source cannot be turned into a study; the message names file, line and fix."""

    def __init__(self, message: str, source: Optional[str] = None, line: Optional[int] = None):
        where = source or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line


@dataclass(frozen=True)
class ImportResult:
    """A study made from an OmniOpt source, and what could not be carried over exactly."""

    study: Study
    ignored: List[str] = field(default_factory=list)
    approximations: List[str] = field(default_factory=list)
    source_kind: SourceKind = SourceKind.OMNIOPT2_COMMAND


class Notes:
    """Collects the ignored options and approximations of one import, without duplicates."""

    def __init__(self) -> None:
        self.ignored: List[str] = []
        self.approximations: List[str] = []

    def ignore(self, text: str) -> None:
        if text not in self.ignored:
            self.ignored.append(text)

    def approximate(self, text: str) -> None:
        if text not in self.approximations:
            self.approximations.append(text)

    def result(self, study: Study, kind: SourceKind) -> ImportResult:
        return ImportResult(study, list(self.ignored), list(self.approximations), kind)


# -- values ------------------------------------------------------------------------------------
_INT = re.compile(r"^[+-]?\d+$")


def typed_value(text: Union[str, int, float, bool]) -> ChoiceValue:
    """``"3"`` → 3, ``"0.5"`` → 0.5, anything else stays the same text.

    A number is only made when it writes back to exactly the same text (``"01"``, ``"1e-3"``
    and ``"1.50"`` stay strings), so the program receives what OmniOpt gave it.
    """
    if not isinstance(text, str):
        return text
    s = text.strip()
    if _INT.match(s) and str(int(s)) == s.lstrip("+"):
        return int(s)
    try:
        f = float(s)
    except ValueError:
        return s
    if math.isfinite(f) and repr(f) == s:
        return f
    return s


def parse_number(
    text: Union[str, int, float], what: str, source: str, line: Optional[int]
) -> float:
    """A finite number from ``text``, or :class:`ImportSourceError` naming ``what``."""
    if isinstance(text, bool):
        raise ImportSourceError(f"{what} must be a number, not {text!r}", source, line)
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise ImportSourceError(f"{what} must be a number, not {text!r}", source, line) from None
    if not math.isfinite(v):
        raise ImportSourceError(f"{what} must be a finite number, not {text!r}", source, line)
    return v


def as_int_if_whole(v: float) -> Union[int, float]:
    return int(v) if float(v).is_integer() else v


def clean_float(v: float) -> float:
    """Round away binary noise (``0.30000000000000004`` → ``0.3``) from computed bounds."""
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.12g}")


_NAME_BAD = re.compile(r"[^A-Za-z0-9_]")


def safe_name(name: str, taken: Sequence[str], fallback: str) -> str:
    """A parameter name our studies accept (letters, digits, '_'; not starting with a digit)."""
    n = _NAME_BAD.sub("_", (name or "").strip()) or fallback
    if n[0].isdigit():
        n = "_" + n
    base, i = n, 2
    while n in taken:
        n = f"{base}_{i}"
        i += 1
    return n


def maybe_base64(text: str) -> Optional[str]:
    """The decoded text when ``text`` is strict base64 of printable UTF-8, else None."""
    s = text.strip()
    if len(s) < 4 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", s) or len(s) % 4:
        return None
    try:
        decoded = base64.b64decode(s, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not decoded.strip() or any(ord(ch) < 32 and ch not in "\t\r\n" for ch in decoded):
        return None
    return decoded


def minutes_text(minutes: float) -> str:
    """A duration for ``minutes``: ``"90m"``, ``"2h"``, ``"1.5m"``."""
    m = as_int_if_whole(minutes)
    if isinstance(m, int) and m and m % 60 == 0:
        return f"{m // 60}h"
    return f"{m}m"


def megabytes_text(mb: float) -> str:
    """``"4G"`` for 4096, else ``"1500M"``."""
    m = int(math.ceil(mb))
    return f"{m // 1024}G" if m and m % 1024 == 0 else f"{m}M"


_QUOTED_PLACEHOLDER = re.compile(r"""(['"])(%\([A-Za-z_][A-Za-z0-9_]*\))\1""")


def unquote_placeholders(command: str) -> str:
    """``'%(x)'`` and ``"%(x)"`` → ``%(x)``: our templates shell-quote every value themselves."""
    return _QUOTED_PLACEHOLDER.sub(r"\2", command)
