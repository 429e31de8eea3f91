"""Hints that make a validation message say what to write: a plain parameter name, the value
without its quotes, the size of the grid. Python 3.9+, stdlib only."""

from __future__ import annotations

import re
from typing import Any, Optional

from .model import ParamType, Study
from .schema import type_problem

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def grid_points(s: Study) -> Optional[int]:
    """How many points the grid sampler's grid has (as engine.space builds it); None if unknown."""
    total = 1
    try:
        for p in s.parameters:
            if p.type is ParamType.CHOICE:
                total *= len(p.values)
            elif p.type is ParamType.INT:
                total *= len(range(int(p.low), int(p.high) + 1, int(p.step or 1)))  # type: ignore[arg-type]
            elif p.type is ParamType.FLOAT:
                if not p.step or p.step <= 0:
                    return None
                total *= int(round((float(p.high) - float(p.low)) / float(p.step))) + 1  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return total if total >= 1 else None


def name_hint(name: object) -> str:
    """``; e.g. 'my_param'`` for 'my-param', or nothing when no plain name is near."""
    if not isinstance(name, str):
        return ""
    fixed = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if fixed[:1].isdigit():
        fixed = "_" + fixed
    return f"; e.g. '{fixed}'" if _NAME.match(fixed) and fixed.strip("_") else ""


def unquote_hint(key: str, value: Any, kind: str) -> str:
    """``; write it without quotes: n_trials = 50`` when the quoted text would fit."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if kind == "list" and "," in text:
        items = ", ".join(f'"{w.strip()}"' for w in text.split(",") if w.strip())
        return f"; write {key} = [{items}]"
    plain: Any = {"true": True, "false": False}.get(text.lower())
    if plain is None:
        try:
            plain = int(text)
        except ValueError:
            try:
                plain = float(text)
            except ValueError:
                return ""
    if type_problem(kind, plain) is not None:
        return ""
    shown = str(plain).lower() if isinstance(plain, bool) else text
    return f"; write it without quotes: {key} = {shown}"
