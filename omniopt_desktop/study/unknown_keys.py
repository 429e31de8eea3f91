"""Keys a study file holds that this app does not know: find them, and clean them up on request.

A hand-written or OmniOpt-flavoured ``study.toml`` may carry keys such as ``max_eval`` or
``run_program``. Each is a reading issue that no field of the editor can clear, so the study
could not become runnable without a text editor. :func:`fix_unknown_keys` renames an OmniOpt
spelling, or a typo with one close match, to the key it stands for when that key is not set yet
(``max_eval = 50`` becomes ``n_trials = 50``, ``min`` becomes ``low``, ``param_type = "range"``
becomes ``type = "float"``, ``goal = "max"`` becomes ``direction = "maximize"``, ``n_trails``
becomes ``n_trials``); keeps a key whose value does not fit its new name; removes every other
unknown key. It returns one line per key saying what it did. Nothing is written to disk until
the document is saved.

Workstation-side only (tomlkit).
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from .schema import OMNIOPT_KEYS, SECTIONS, TOP_LEVEL, TYPE_WORDS

if TYPE_CHECKING:
    from .document import StudyDocument

Path = Tuple[Any, ...]
_DIRECTIONS = {"min": "minimize", "minimise": "minimize", "max": "maximize", "maximise": "maximize"}


def is_unknown_key(path: Path) -> bool:
    """True when ``path`` (an issue's path) names a key the study file format does not have."""
    if len(path) == 1:
        return isinstance(path[0], str) and path[0] not in TOP_LEVEL
    section, key = path[0], path[-1]
    spec = SECTIONS.get(section)
    if spec is None or not isinstance(key, str):
        return False
    shape_ok = len(path) == 2 or (len(path) == 3 and isinstance(path[1], int))
    return shape_ok and key not in spec


def unknown_key_paths(doc: StudyDocument) -> List[Path]:
    return [tuple(i.path) for i in doc.issues if is_unknown_key(tuple(i.path))]


def _target(path: Path, value: Any) -> Optional[Tuple[str, Any]]:
    """(key, value) an OmniOpt spelling stands for in the same table, or None."""
    if len(path) == 1:
        return None
    spec = list(SECTIONS[path[0]])
    known = OMNIOPT_KEYS.get(str(path[-1]).lower())
    if known is None:  # a typo: the key the did-you-mean names
        close = difflib.get_close_matches(str(path[-1]), spec, n=1, cutoff=0.8)
        known = close[0] if close else None
    if known is None or not re.fullmatch(r"[a-z_]+", known) or known not in spec:
        return None
    if known == "type" and isinstance(value, str):
        word = TYPE_WORDS.get(value.lower(), f'"{value.lower()}"')
        value = word.split('"')[1]
    if known == "direction" and isinstance(value, str):
        value = _DIRECTIONS.get(value.lower(), value)
    return known, value


def fix_unknown_keys(doc: StudyDocument) -> List[str]:
    """Rename OmniOpt spellings, remove the other unknown keys (see the module docstring)."""
    done: List[str] = []
    handled: List[Path] = []
    for path in unknown_key_paths(doc):
        table: Any = doc.loaded.document
        for part in path[:-1]:
            if isinstance(part, int) and not isinstance(table, list):
                continue  # [parameter] written as one table
            table = table[part]
        key = path[-1]
        plain = table[key].unwrap() if hasattr(table[key], "unwrap") else table[key]
        if len(path) == 1 and isinstance(plain, (dict, list)):
            continue  # a whole unknown section ([[parameters]]): left for the user to rename
        where = "" if len(path) == 1 else f"[{path[0]}] "
        target = _target(path, plain)
        if target and target[0] not in table:
            try:
                doc.set(path[:-1] + (target[0],), target[1])
            except (KeyError, ValueError, TypeError):
                done.append(f"{where}{key} = {plain!r} kept: write {target[0]} by hand")
                continue  # its value means something: never dropped unread
            done.append(f"{where}{key} = {plain!r} → {target[0]} = {target[1]!r}")
        else:
            done.append(f"{where}{key} = {plain!r} removed")
        del table[key]
        handled.append(path)
    doc.forget_read_issues(handled)
    return done
