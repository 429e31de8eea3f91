"""Validation of studies: the file's structure (keys, types) and the study's meaning.

Every problem is an :class:`Issue` naming the field (``path``), the line when known, and what to
do. ``str(issue)`` is the one line the CLI prints: ``study.toml:14: parameter 'lr': low (0.1)
must be below high (0.01)``. The editor marks the cell at ``path``. Python 3.9+, stdlib only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..errors import ExpressionError, StudyFileError
from .durations import parse_duration
from .expressions import compile_expression
from .hints import grid_points, name_hint, unquote_hint
from .model import SAMPLERS, SCHEMA_VERSION, Direction, ParamType, Study
from .schema import ARRAY_SECTIONS, SECTIONS, TOP_LEVEL, did_you_mean, type_problem
from .template import placeholders

Path = Tuple[Any, ...]
Locate = Callable[[Path], Optional[int]]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MEM = re.compile(r"^\d+(\.\d+)?\s*[KMGTkmgt]?[Bb]?$")
_PARAM_TYPES = [t.value for t in ParamType]
_DIRECTIONS = [d.value for d in Direction]


@dataclass(frozen=True)
class Issue:
    path: Path
    message: str
    line: Optional[int] = None
    filename: Optional[str] = None

    def __str__(self) -> str:
        where = self.filename or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message


class _Collector:
    def __init__(self, locate: Optional[Locate], filename: Optional[str]) -> None:
        self.issues: List[Issue] = []
        self._locate = locate
        self._filename = filename

    def add(self, path: Path, message: str) -> None:
        line = self._locate(path) if self._locate else None
        self.issues.append(Issue(tuple(path), message, line, self._filename))


def _label(section: str, index: Optional[int], entry: Mapping[str, Any]) -> str:
    if section in ARRAY_SECTIONS:
        name = entry.get("name") if isinstance(entry, Mapping) else None
        return (
            f"{section} '{name}'"
            if isinstance(name, str) and name
            else f"{section} #{(index or 0) + 1}"
        )
    return f"[{section}]"


# -- structure ---------------------------------------------------------------------------------
def validate_mapping(
    data: Mapping[str, Any], locate: Optional[Locate] = None, filename: Optional[str] = None
) -> List[Issue]:
    """Unknown keys, wrong types and a too-new schema in the raw file content."""
    c = _Collector(locate, filename)
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        c.add(
            ("schema_version",), "schema_version must be a whole number; write schema_version = 1"
        )
    elif version > SCHEMA_VERSION:
        c.add(
            ("schema_version",),
            f"schema_version {version} was written by a newer OmniOpt Desktop "
            f"(this one reads up to {SCHEMA_VERSION}); upgrade OmniOpt Desktop",
        )
    for key, value in data.items():
        if key not in TOP_LEVEL:
            c.add((key,), f"unknown section or key '{key}'{did_you_mean(key, TOP_LEVEL)}")
            continue
        if key == "schema_version":
            continue
        entries: List[Tuple[Optional[int], Any]]
        if key in ARRAY_SECTIONS:
            if isinstance(value, Mapping):
                entries = [(0, value)]  # [objective] written for [[objective]]: accept
            elif isinstance(value, list):
                entries = list(enumerate(value))
            else:
                c.add((key,), f"'{key}' must be a table: write [[{key}]] and its keys below it")
                continue
        elif isinstance(value, Mapping):
            entries = [(None, value)]
        else:
            c.add((key,), f"'{key}' must be a table: write [{key}] and its keys below it")
            continue
        spec = SECTIONS[key]
        for index, entry in entries:
            base: Path = (key,) if index is None else (key, index)
            if not isinstance(entry, Mapping):
                c.add(base, f"each {key} must be a table of keys: write [[{key}]]")
                continue
            label = _label(key, index, entry)
            for k, v in entry.items():
                if k not in spec:
                    c.add(base + (k,), f"{label}: unknown key '{k}'{did_you_mean(k, list(spec))}")
                    continue
                expected = type_problem(spec[k][0], v)
                if expected:
                    c.add(
                        base + (k,),
                        f"{label}: '{k}' must be {expected}, not {v!r}{unquote_hint(k, v, spec[k][0])}",
                    )
    return c.issues


# -- meaning -----------------------------------------------------------------------------------
def validate(
    study: Study, locate: Optional[Locate] = None, filename: Optional[str] = None
) -> List[Issue]:
    """Everything that would make the study fail to run, in file order."""
    c = _Collector(locate, filename)
    _check_study(study, c)
    _check_objectives(study, c)
    _check_parameters(study, c)
    _check_program(study, c)
    _check_constraints(study, c)
    _check_resources(study, c)
    return c.issues


def check(study: Study, locate: Optional[Locate] = None, filename: Optional[str] = None) -> None:
    """Raise :class:`StudyFileError` listing every issue, if there is any."""
    issues = validate(study, locate, filename)
    if issues:
        raise StudyFileError(format_issues(issues), issues)


def format_issues(issues: List[Issue]) -> str:
    first = str(issues[0])
    more = (
        f" (and {len(issues) - 1} more problem{'s' if len(issues) > 2 else ''})"
        if len(issues) > 1
        else ""
    )
    return first + more


def _check_study(s: Study, c: _Collector) -> None:
    if not isinstance(s.name, str) or not s.name.strip():
        c.add(("study", "name"), '[study]: name is missing; write name = "my-study"')
    if not _is_int(s.n_trials) or s.n_trials < 1:
        c.add(("study", "n_trials"), f"[study]: n_trials ({s.n_trials}) must be 1 or more")
    if s.sampler not in SAMPLERS:
        c.add(
            ("study", "sampler"),
            f"[study]: unknown sampler '{s.sampler}'{did_you_mean(s.sampler, SAMPLERS)}",
        )
    elif s.sampler == "cmaes" and s.is_multi_objective:
        c.add(("study", "sampler"), "[study]: cmaes handles one objective only; use tpe or nsga2")
    elif s.sampler == "grid":
        for i, p in enumerate(s.parameters):
            if p.type is ParamType.FLOAT and p.step is None:
                c.add(
                    ("parameter", i, "step"),
                    f"parameter '{p.name}': the grid sampler needs a step for float parameters",
                )
        points = grid_points(s)
        if points is not None and _is_int(s.n_trials) and s.n_trials > points:
            # once every point ran, Optuna's grid sampler draws visited points again
            c.add(
                ("study", "n_trials"),
                f"[study]: n_trials ({s.n_trials}) is more than the grid's {points} points; the "
                f"grid sampler would run points again: set n_trials = {points}",
            )
    st = s.storage
    if st not in ("sqlite", "journal"):
        if not isinstance(st, str) or not re.match(r"^postgres(ql)?(\+\w+)?://", st):
            c.add(
                ("study", "storage"),
                f'[study]: storage \'{st}\' must be "sqlite", "journal" or a postgresql://user@host:port/db URL',
            )
        elif re.match(r"^[^:]+://[^/@]*:[^/@]*@", st):
            c.add(
                ("study", "storage"),
                "[study]: storage URL holds a password; remove it and keep the password in the keyring or ~/.pgpass",
            )
    if s.max_failures is not None and (not _is_int(s.max_failures) or s.max_failures < 1):
        c.add(
            ("study", "max_failures"),
            f"[study]: max_failures ({s.max_failures}) must be 1 or more, or left out",
        )
    if not _is_int(s.max_retries) or s.max_retries < 0:
        c.add(("study", "max_retries"), f"[study]: max_retries ({s.max_retries}) must be 0 or more")


def _check_objectives(s: Study, c: _Collector) -> None:
    if not s.objectives:
        c.add(
            ("objective",),
            'no [[objective]]; add one with name = "RESULT" and direction = "minimize"',
        )
    seen: Dict[str, int] = {}
    for i, o in enumerate(s.objectives):
        label = f"objective '{o.name}'" if o.name else f"objective #{i + 1}"
        if not isinstance(o.name, str) or not re.match(r"^[A-Za-z0-9_.\-]+$", o.name or ""):
            c.add(
                ("objective", i, "name"),
                f"{label}: name must be letters, digits, '_', '-' or '.' (the program prints 'NAME: value')",
            )
        elif o.name in seen:
            c.add(
                ("objective", i, "name"),
                f"{label}: the name is used twice; objective names must differ",
            )
        seen[o.name] = i
        if not isinstance(o.direction, Direction):
            c.add(
                ("objective", i, "direction"),
                f'{label}: direction must be "minimize" or "maximize"',
            )


def _check_parameters(s: Study, c: _Collector) -> None:
    if not s.parameters:
        c.add(("parameter",), "no [[parameter]]; add at least one parameter to optimise")
    names: Dict[str, int] = {}
    for i, p in enumerate(s.parameters):
        label = f"parameter '{p.name}'" if p.name else f"parameter #{i + 1}"
        if not isinstance(p.name, str) or not _NAME.match(p.name):
            c.add(
                ("parameter", i, "name"),
                f"{label}: name must start with a letter or '_' and hold only letters, digits and "
                f"'_' (ASCII: it becomes %(name) and OMNIOPT_PARAM_name){name_hint(p.name)}",
            )
        elif p.name in names:
            c.add(
                ("parameter", i, "name"),
                f"{label}: the name is used twice; parameter names must differ",
            )
        if p.type in (ParamType.FLOAT, ParamType.INT):
            _check_range(p, i, label, c)
        elif p.type is ParamType.CHOICE:
            if not p.values:
                c.add(("parameter", i, "values"), f'{label}: a choice needs values = ["a", "b"]')
            else:
                bad = [v for v in p.values if not isinstance(v, (str, int, float, bool))]
                if bad:
                    c.add(
                        ("parameter", i, "values"),
                        f"{label}: values must be strings, numbers or booleans, not {bad[0]!r}",
                    )
                elif len({(type(v), v) for v in p.values}) != len(p.values):
                    c.add(
                        ("parameter", i, "values"),
                        f"{label}: values are listed twice; list each once",
                    )
        elif p.type is ParamType.FIXED:
            if p.value is None or not isinstance(p.value, (str, int, float, bool)):
                c.add(("parameter", i, "value"), f"{label}: a fixed parameter needs value = ...")
        if p.when:
            try:
                expr = compile_expression(p.when)
            except ExpressionError as e:
                c.add(("parameter", i, "when"), f"{label}: when {e}")
            else:
                for n in sorted(expr.names):
                    if n == p.name:
                        c.add(
                            ("parameter", i, "when"),
                            f"{label}: when cannot refer to the parameter itself",
                        )
                    elif n not in names:
                        later = n in {q.name for q in s.parameters}
                        hint = (
                            "move this parameter below it"
                            if later
                            else _param_hint(n, list(names)).lstrip("; ")
                        )
                        c.add(
                            ("parameter", i, "when"),
                            f"{label}: when uses '{n}', which is not a parameter defined above; {hint}",
                        )
        if isinstance(p.name, str):
            names.setdefault(p.name, i)


def _check_range(p: Any, i: int, label: str, c: _Collector) -> None:
    lo, hi = p.low, p.high
    for key, v in (("low", lo), ("high", hi)):
        if v is None:
            c.add(
                ("parameter", i, key),
                f"{label}: {key} is missing; {'an int' if p.type is ParamType.INT else 'a float'} parameter needs low and high",
            )
        elif not _is_number(v) or not math.isfinite(v):
            c.add(("parameter", i, key), f"{label}: {key} must be a finite number, not {v!r}")
        elif p.type is ParamType.INT and not float(v).is_integer():
            c.add(
                ("parameter", i, key),
                f"{label}: {key} ({v}) must be a whole number for an int parameter",
            )
    if not (_is_number(lo) and _is_number(hi) and math.isfinite(lo) and math.isfinite(hi)):
        return
    if lo >= hi:
        c.add(("parameter", i, "low"), f"{label}: low ({lo}) must be below high ({hi})")
        return
    if p.log and lo <= 0:
        c.add(("parameter", i, "low"), f"{label}: low ({lo}) must be above 0 when log = true")
    if p.step is not None:
        if not _is_number(p.step) or p.step <= 0:
            c.add(("parameter", i, "step"), f"{label}: step ({p.step}) must be a number above 0")
        elif p.log:
            c.add(
                ("parameter", i, "step"),
                f"{label}: step and log = true cannot be combined; drop one",
            )
        elif p.step > hi - lo:
            c.add(
                ("parameter", i, "step"),
                f"{label}: step ({p.step}) is larger than high - low ({hi - lo})",
            )
        elif p.type is ParamType.INT and not float(p.step).is_integer():
            c.add(
                ("parameter", i, "step"),
                f"{label}: step ({p.step}) must be a whole number for an int parameter",
            )


def _check_program(s: Study, c: _Collector) -> None:
    cmd = s.program.command
    if not isinstance(cmd, str) or not cmd.strip():
        c.add(
            ("program", "command"),
            '[program]: command is missing; write e.g. command = "python3 train.py --lr %(lr)"',
        )
    else:
        known = [p.name for p in s.parameters]
        for name in placeholders(cmd):
            if name not in known:
                c.add(
                    ("program", "command"),
                    f"[program]: command uses %({name}), which is not a parameter{_param_hint(name, known)}",
                )
    if s.program.timeout not in (None, ""):
        try:
            if parse_duration(s.program.timeout) <= 0:
                raise ValueError(f"{s.program.timeout!r} must be above 0")
        except ValueError as e:
            c.add(("program", "timeout"), f"[program]: timeout {e}")
    if not isinstance(s.program.workdir, str) or not s.program.workdir.strip():
        c.add(
            ("program", "workdir"),
            '[program]: workdir is empty; write workdir = "." for the study\'s folder',
        )


def _check_constraints(s: Study, c: _Collector) -> None:
    known = [p.name for p in s.parameters]
    for i, rule in enumerate(s.constraints):
        try:
            expr = compile_expression(rule)
        except ExpressionError as e:
            c.add(("constraints", "rules", i), f"constraint {e}")
            continue
        for n in sorted(expr.names):
            if n not in known:
                c.add(
                    ("constraints", "rules", i),
                    f"constraint '{rule}': '{n}' is not a parameter{_param_hint(n, known)}",
                )


def _check_resources(s: Study, c: _Collector) -> None:
    r = s.resources
    for key, minimum in (("workers", 1), ("cpus_per_task", 1), ("gpus", 0)):
        v = getattr(r, key)
        if not _is_int(v) or v < minimum:
            c.add(
                ("resources", key),
                f"[resources]: {key} ({v}) must be a whole number, {minimum} or more",
            )
    if r.time not in (None, ""):
        try:
            parse_duration(r.time)
        except ValueError as e:
            c.add(("resources", "time"), f"[resources]: time {e}")
        else:
            bare = str(r.time).strip()
            if re.fullmatch(r"\d+(?:\.\d+)?", bare):
                c.add(
                    ("resources", "time"),
                    f"[resources]: time {bare} has no unit; SLURM and OmniOpt2 read it as "
                    f'minutes, a duration here as seconds: write time = "{bare}m" (or "{bare}s")',
                )
    if r.mem not in (None, "") and not _MEM.match(str(r.mem)):
        c.add(
            ("resources", "mem"),
            f'[resources]: mem {r.mem!r} must look like "8G", "500M" or a number of megabytes',
        )
    elif re.fullmatch(r"\d+(?:\.\d+)?", str(r.mem).strip()) and float(r.mem) < 100:
        c.add(  # OmniOpt2's --mem_gb=4 written as mem = 4: four megabytes per job
            ("resources", "mem"),
            f"[resources]: mem {r.mem} means {r.mem} megabytes (a number without unit is "
            f'megabytes, as in SLURM), too little for a worker; write mem = "{r.mem}G"',
        )
    for i, line in enumerate(r.extra_sbatch):
        if not isinstance(line, str) or "\n" in line:
            c.add(
                ("resources", "extra_sbatch", i),
                '[resources]: each extra_sbatch entry must be one line such as "--mail-type=END"',
            )


def _param_hint(name: str, known: List[str]) -> str:
    if not known:
        return "; the study has no parameters yet"
    hint = did_you_mean(name, known)
    return hint if "did you mean" in hint else f"; parameters are: {', '.join(known)}"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
