"""An editable, observable study for the editor: edits go through it, listeners hear of them.

Qt-free (tested without a display). The document owns one :class:`Study`; views must not
mutate it directly. Every edit announces a :class:`Change` to plain-callback listeners, marks
the document dirty (compared with the last saved/loaded state), and re-validates: ``issues``
holds the current :class:`~omniopt_desktop.study.validate.Issue` list, the same messages as
``omniopt-desktop validate``. Saving keeps the tomlkit document of the loaded file, so comments
and key order survive.

Workstation-side only (uses ``toml_io``).
"""

from __future__ import annotations

import math
import os
import random
from copy import deepcopy
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from ..errors import OmniOptError
from .model import Direction, Objective, Parameter, ParamType, Study

FieldPath = Tuple[Any, ...]
Listener = Callable[["Change"], None]

_SECTIONS = {"study", "program", "resources"}
_STUDY_FIELDS = {
    "name",
    "n_trials",
    "sampler",
    "seed",
    "storage",
    "max_failures",
    "max_retries",
}


class ChangeKind(str, Enum):
    EDITED = "edited"  # one field changed; path names it
    INSERTED = "inserted"  # path = (list name, index)
    REMOVED = "removed"  # path = (list name, index)
    MOVED = "moved"  # path = (list name, new index); old index in ``old_index``
    RESET = "reset"  # the whole study was replaced (new/open)
    SAVED = "saved"  # written to disk; dirty is now False
    DIRTY_CHANGED = "dirty_changed"
    ISSUES_CHANGED = "issues_changed"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: FieldPath = ()
    old_index: int | None = None


class PendingSave:
    """A snapshot of a document to be written by :meth:`write` (safe on any thread)."""

    def __init__(self, loaded: Any, target: str, state: dict) -> None:
        self.loaded = loaded
        self.target = target
        self.state = state

    def write(self) -> str:
        from ..errors import StudyFileError
        from .toml_io import save_study

        try:
            return save_study(self.loaded, self.target)
        except OSError as e:
            why = e.strerror or str(e)
            raise StudyFileError(
                f"{self.target}: cannot be saved: {why}; choose another place with Save As"
            ) from e


class StudyDocument:
    """One study being edited. Construct with :meth:`new`, :meth:`open` or :meth:`from_text`."""

    def __init__(self, loaded: Any, path: str | None = None) -> None:
        self._loaded = loaded
        self._path = os.path.abspath(path) if path else None
        self._listeners: List[Listener] = []
        self._saved = self.study.to_dict()
        self._dirty = False
        self._issues: list = []
        # problems found while reading the file (unknown keys, wrong types): kept until the
        # field they name is edited
        self._read_issues: list = list(getattr(loaded, "issues", []) or [])
        self._revalidate(announce=False)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def new(cls, study: Study | None = None, unsaved: bool = False) -> StudyDocument:
        """A new document without a file (from ``study`` or the default study). With
        ``unsaved`` (e.g. an imported study) it counts as changed until saved."""
        from .toml_io import dumps_study, loads_study

        study = study if study is not None else default_study()
        doc = cls(loads_study(dumps_study(study)), None)
        if unsaved:
            doc._saved = {}
            doc._dirty = True
        return doc

    @classmethod
    def open(cls, path: str) -> StudyDocument:
        """Load ``path``; raises StudyFileError when it cannot be parsed."""
        from .toml_io import load_study

        return cls(load_study(path), path)

    @classmethod
    def from_text(cls, text: str, filename: str = "study.toml") -> StudyDocument:
        from .toml_io import loads_study

        return cls(loads_study(text, filename=filename), None)

    # -- state -----------------------------------------------------------------------------
    @property
    def study(self) -> Study:
        """The study being edited. Read it; change it only through the document."""
        return self._loaded.study

    @property
    def loaded(self) -> Any:
        return self._loaded

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def display_name(self) -> str:
        return os.path.basename(self._path) if self._path else "untitled.toml"

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def issues(self) -> list:
        return list(self._issues)

    @property
    def is_valid(self) -> bool:
        return not self._issues

    def issues_at(self, path: Sequence[Any], prefix: bool = False) -> list:
        """Issues whose path equals ``path`` (or starts with it when ``prefix``)."""
        p = tuple(path)
        if prefix:
            return [i for i in self._issues if tuple(i.path)[: len(p)] == p]
        return [i for i in self._issues if tuple(i.path) == p]

    def get(self, path: Sequence[Any]) -> Any:
        obj, attr = self._resolve(tuple(path))
        return obj[attr] if isinstance(obj, list) else getattr(obj, attr)

    # -- listeners -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(change)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _announce(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    # -- edits -----------------------------------------------------------------------------
    def set(self, path: Sequence[Any], value: Any) -> None:
        """Set one field: ``("study", "name")``, ``("parameter", 0, "low")``,
        ``("objective", 1, "direction")``, ``("program", "command")``,
        ``("resources", "partition")``, ``("constraints", "rules", 2)`` — the paths of
        :class:`~omniopt_desktop.study.validate.Issue`."""
        path = tuple(path)
        obj, attr = self._resolve(path)
        value = _coerce(path, value)
        old = obj[attr] if isinstance(obj, list) else getattr(obj, attr)
        if _same(old, value):
            return
        if isinstance(obj, list):
            obj[attr] = value
        else:
            setattr(obj, attr, value)
        self._changed(Change(ChangeKind.EDITED, path))

    def add_parameter(self, parameter: Parameter | None = None, index: int | None = None) -> int:
        params = self.study.parameters
        if parameter is None:
            parameter = Parameter(
                name=unique_name("x", [p.name for p in params]), low=0.0, high=1.0
            )
        return self._insert("parameter", params, parameter, index)

    def duplicate_parameter(self, index: int) -> int:
        params = self.study.parameters
        copy = deepcopy(params[index])
        copy.name = unique_name(params[index].name + "_copy", [p.name for p in params])
        return self._insert("parameter", params, copy, index + 1)

    def remove_parameter(self, index: int) -> None:
        self._remove("parameter", self.study.parameters, index)

    def move_parameter(self, index: int, new_index: int) -> None:
        self._move("parameter", self.study.parameters, index, new_index)

    def add_objective(self, objective: Objective | None = None) -> int:
        objs = self.study.objectives
        if objective is None:
            objective = Objective(unique_name("RESULT", [o.name for o in objs]))
        return self._insert("objective", objs, objective, None)

    def remove_objective(self, index: int) -> None:
        self._remove("objective", self.study.objectives, index)

    def move_objective(self, index: int, new_index: int) -> None:
        self._move("objective", self.study.objectives, index, new_index)

    def add_constraint(self, text: str = "", index: int | None = None) -> int:
        return self._insert("constraints", self.study.constraints, text, index)

    def remove_constraint(self, index: int) -> None:
        self._remove("constraints", self.study.constraints, index)

    def move_constraint(self, index: int, new_index: int) -> None:
        self._move("constraints", self.study.constraints, index, new_index)

    def _insert(self, name: str, items: list, item: Any, index: int | None) -> int:
        index = len(items) if index is None else max(0, min(index, len(items)))
        items.insert(index, item)
        self._changed(Change(ChangeKind.INSERTED, (name, index)))
        return index

    def _remove(self, name: str, items: list, index: int) -> None:
        del items[index]
        self._changed(Change(ChangeKind.REMOVED, (name, index)))

    def _move(self, name: str, items: list, index: int, new_index: int) -> None:
        new_index = max(0, min(new_index, len(items) - 1))
        if new_index == index:
            return
        items.insert(new_index, items.pop(index))
        self._changed(Change(ChangeKind.MOVED, (name, new_index), old_index=index))

    def _changed(self, change: Change) -> None:
        if self._read_issues:
            p = change.path if change.kind is ChangeKind.EDITED else change.path[:1]
            self._read_issues = [
                i
                for i in self._read_issues
                if tuple(i.path)[: len(p)] != p and p[: len(i.path)] != tuple(i.path)
            ]
        self._announce(change)
        self._update_dirty()
        self._revalidate()

    def fix_unknown_keys(self) -> List[str]:
        """Rename OmniOpt spellings, remove other unknown keys (see :mod:`.unknown_keys`)."""
        from .unknown_keys import fix_unknown_keys

        return fix_unknown_keys(self)

    def forget_read_issues(self, paths: Sequence[FieldPath]) -> None:
        """Drop the reading issues at ``paths`` (their keys left the document): changed."""
        gone = {tuple(p) for p in paths}
        if not gone:
            return
        self._read_issues = [i for i in self._read_issues if tuple(i.path) not in gone]
        self._saved = {}  # the file on disk still holds them until saved
        self._update_dirty()
        self._revalidate()

    # -- saving ----------------------------------------------------------------------------
    def save(self, path: str | None = None) -> str:
        """Write the study (to ``path`` or the current path), keeping comments; returns the path.

        Raises OmniOptError when there is no path or the file cannot be written.
        """
        pending = self.begin_save(path)
        pending.write()
        return self.finish_save(pending)

    def begin_save(self, path: str | None = None) -> PendingSave:
        """Snapshot what to write now; :meth:`PendingSave.write` may then run on another thread
        while editing goes on; :meth:`finish_save` records it (on the editing thread)."""
        target = os.path.abspath(path) if path else self._path
        if not target:
            raise OmniOptError("this study has no file yet: choose where to save it")
        return PendingSave(deepcopy(self._loaded), target, self.study.to_dict())

    def finish_save(self, pending: PendingSave) -> str:
        self._path = pending.target
        self._loaded.path = pending.target
        self._saved = pending.state
        self._update_dirty()
        self._announce(Change(ChangeKind.SAVED))
        return pending.target

    def to_text(self) -> str:
        from .toml_io import dumps_study

        return dumps_study(self._loaded)

    # -- internals -------------------------------------------------------------------------
    def _update_dirty(self) -> None:
        dirty = self.study.to_dict() != self._saved
        if dirty != self._dirty:
            self._dirty = dirty
            self._announce(Change(ChangeKind.DIRTY_CHANGED))

    def _revalidate(self, announce: bool = True) -> None:
        from .validate import validate

        seen = {(tuple(i.path), i.message) for i in self._read_issues}
        issues = list(self._read_issues) + [
            i
            for i in validate(self.study, filename=self.display_name)
            if (tuple(i.path), i.message) not in seen
        ]
        if [(tuple(i.path), i.message) for i in issues] != [
            (tuple(i.path), i.message) for i in self._issues
        ]:
            self._issues = issues
            if announce:
                self._announce(Change(ChangeKind.ISSUES_CHANGED))

    def _resolve(self, path: FieldPath) -> Tuple[Any, Any]:
        s = self.study
        try:
            head = path[0]
            if head == "study" and len(path) == 2 and path[1] in _STUDY_FIELDS:
                return s, path[1]
            if head in ("program", "resources") and len(path) == 2:
                obj = getattr(s, head)
                if hasattr(obj, path[1]):
                    return obj, path[1]
            if head == "parameter" and len(path) == 3:
                p = s.parameters[path[1]]
                if hasattr(p, path[2]):
                    return p, path[2]
            if head == "objective" and len(path) == 3:
                o = s.objectives[path[1]]
                if hasattr(o, path[2]):
                    return o, path[2]
            if head == "constraints" and len(path) == 3 and path[1] == "rules":
                s.constraints[path[2]]
                return s.constraints, path[2]
        except (IndexError, TypeError) as e:
            raise KeyError(f"no such study field: {path!r}") from e
        raise KeyError(f"no such study field: {path!r}")


def _coerce(path: FieldPath, value: Any) -> Any:
    last = path[-1]
    if path[0] == "parameter" and last == "type":
        return ParamType(value)
    if path[0] == "objective" and last == "direction":
        return Direction(value)
    if last in ("values", "extra_sbatch"):
        return list(value)
    if isinstance(value, str) and last in ("when",) and not value.strip():
        return None
    return value


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def unique_name(base: str, taken: Sequence[str]) -> str:
    """``base`` or ``base_2``, ``base_3``, … whichever is not in ``taken``."""
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def default_study() -> Study:
    """What File → New starts from: one float parameter and a command that prints RESULT."""
    study = Study(name="my_study", n_trials=50)
    study.parameters = [Parameter(name="x", type=ParamType.FLOAT, low=-5.0, high=5.0)]
    study.program.command = "python3 train.py --x %(x)"
    return study


# -- preview sampling --------------------------------------------------------------------------
def sample_values(study: Study, rng: random.Random | None = None) -> Dict[str, Any]:
    """One random point of the search space, as a sampler could propose it.

    Parameters whose ``when`` condition is false (or cannot be evaluated yet) are left out, as
    the engine leaves out inactive parameters. Raises OmniOptError for a parameter that cannot
    be sampled (fix the issues shown by validation first).
    """
    from .expressions import compile_expression

    rng = rng or random.Random()
    values: Dict[str, Any] = {}
    pending = list(study.parameters)
    # conditions may depend on parameters further down: repeat until nothing changes
    for _ in range(len(pending) + 1):
        rest = []
        for p in pending:
            if p.when:
                expr = compile_expression(p.when)
                if not expr.names <= set(values):
                    rest.append(p)
                    continue
                try:
                    active = bool(expr.evaluate(values))
                except OmniOptError:
                    active = False
                if not active:
                    continue
            values[p.name] = _sample_one(p, rng)
        if len(rest) == len(pending):
            break
        pending = rest
    return values


def _sample_one(p: Parameter, rng: random.Random) -> Any:
    if p.type is ParamType.FIXED:
        return p.value
    if p.type is ParamType.CHOICE:
        if not p.values:
            raise OmniOptError(f"parameter '{p.name}': no values to choose from")
        return rng.choice(p.values)
    if p.low is None or p.high is None:
        raise OmniOptError(f"parameter '{p.name}': low and high are needed")
    low, high = float(p.low), float(p.high)
    if p.log and low > 0 and high > 0:
        x = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        x = rng.uniform(low, high)
    if p.step:
        x = low + round((x - low) / float(p.step)) * float(p.step)
        x = min(max(x, low), high)
    if p.type is ParamType.INT:
        return int(round(x))
    return x


def preview_command(
    study: Study, values: Mapping[str, Any] | None = None, seed: int | None = None
) -> str:
    """The command one trial would run, with ``values`` (or freshly sampled ones) filled in."""
    from .template import render_command

    if values is None:
        values = sample_values(study, random.Random(seed))
    return render_command(study.program.command, values, known=[p.name for p in study.parameters])
