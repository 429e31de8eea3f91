"""Command templates: fill ``%(name)`` and ``($name)`` placeholders with shell-quoted values.

A placeholder matches a whole parameter name only (``%(lr)`` never matches inside
``%(lr_decay)``); every value is passed through :func:`shlex.quote`, so a choice value such as
``a; rm -rf ~`` reaches the program as one argument and runs nothing. Floats are written with
``repr`` so they round-trip exactly. Python 3.9+, stdlib only.
"""

from __future__ import annotations

import math
import re
import shlex
from typing import Any, Dict, List, Mapping

from ..errors import TemplateError

# %(name)  or  ($name)
PLACEHOLDER = re.compile(r"%\((?P<a>[A-Za-z_][A-Za-z0-9_]*)\)|\(\$(?P<b>[A-Za-z_][A-Za-z0-9_]*)\)")
ENV_PREFIX = "OMNIOPT_PARAM_"


def placeholders(template: str) -> List[str]:
    """Parameter names used in ``template``, in order of first appearance."""
    seen: Dict[str, None] = {}
    for m in PLACEHOLDER.finditer(template):
        seen.setdefault(m.group("a") or m.group("b"), None)
    return list(seen)


def _float_text(value: float) -> str:
    """The shortest text that reads back as ``value``, except float noise: a value within 2 ULP
    of a decimal of at most 12 digits is written as that decimal. Grid values of a ``step``
    parameter (0.1 + 0.2 = 0.30000000000000004) reach the program as the 0.3 the user meant;
    a sampled continuous value keeps all its digits (such a near miss is a 1-in-10,000 case)."""
    text = repr(value)
    if len(text) <= 13:
        return text
    limit = 2 * math.ulp(value)
    for digits in range(1, 13):
        short = float(f"{value:.{digits}g}")
        if abs(short - value) <= limit:
            return repr(short)
    return text


def format_value(value: Any) -> str:
    """The text of one value, unquoted: floats that read back exactly (float noise dropped, see
    :func:`_float_text`), lower-case booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return _float_text(value)
    if value is None:
        return ""
    return str(value)


def render_command(template: str, values: Mapping[str, Any], known: Any = None) -> str:
    """Fill ``template`` with ``values``.

    ``known`` (optional) is the collection of all parameter names of the study: a placeholder
    naming a known parameter absent from ``values`` (an inactive conditional one) becomes ``''``;
    a placeholder naming no parameter at all raises :class:`TemplateError`. Without ``known``,
    any name absent from ``values`` raises.
    """
    names = set(values) if known is None else set(known) | set(values)

    def fill(m: re.Match[str]) -> str:
        name = m.group("a") or m.group("b")
        if name not in names:
            hint = f"; parameters are: {', '.join(sorted(names))}" if names else ""
            raise TemplateError(f"command template uses unknown parameter '{name}'{hint}")
        if name not in values:
            return "''"
        return shlex.quote(format_value(values[name]))

    return PLACEHOLDER.sub(fill, template)


def parameter_env(values: Mapping[str, Any]) -> Dict[str, str]:
    """One environment variable per parameter: ``OMNIOPT_PARAM_<name>=<value>``."""
    return {ENV_PREFIX + name: format_value(v) for name, v in values.items()}
