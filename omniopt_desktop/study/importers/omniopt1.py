"""OmniOpt1 ``config.ini`` → :class:`Study`.

OmniOpt1 (TU Dresden, hyperopt on SLURM) reads ``[DATA]`` (``max_evals``, ``objective_program``
with ``($x_0)`` / ``int($x_0)`` placeholders, ``algo_name``, ``range_generator_name``, SLURM
settings) and ``[DIMENSIONS]`` (``dimensions``, ``dim_N_name``, ``range_generator_N`` and the
generator's keys ``min_dim_N``, ``max_dim_N``, ``q_N``, ``mu_N``, ``sigma_N``, ``options_N``,
``step_dim_N``). Every range generator is mapped as hyperopt defines it; normal priors, which
have no bounds, become ``mu ± 3·sigma`` and are listed as approximations. Stdlib only.
"""

from __future__ import annotations

import configparser
import os
import re
from typing import Dict, List, Mapping, Optional, Set, Tuple

from ..hints import grid_points
from ..model import Direction, Objective, ParamType, Program, Resources, Study
from .common import (
    ImportResult,
    ImportSourceError,
    Notes,
    SourceKind,
    as_int_if_whole,
    megabytes_text,
    parse_number,
    safe_name,
    unquote_placeholders,
)
from .hyperopt_space import NORMAL_SIGMAS, Dim, Fields, build_parameter

__all__ = ["NORMAL_SIGMAS", "import_omniopt1"]

_ALGOS: Dict[str, Tuple[str, Optional[str]]] = {
    "tpe.suggest": ("tpe", None),
    "hyperopt.tpe.suggest": ("tpe", None),
    "rand.suggest": ("random", None),
    "hyperopt.rand.suggest": ("random", None),
    "random": ("random", None),
    "gridsearch": ("grid", None),
    "simulated_annealing": ("tpe", "simulated annealing has no sampler here; TPE is used"),
    "anneal.suggest": ("tpe", "hyperopt's anneal has no sampler here; TPE is used"),
    "hyperopt.anneal.suggest": ("tpe", "hyperopt's anneal has no sampler here; TPE is used"),
    "atpe.suggest": ("tpe", "adaptive TPE has no sampler here; plain TPE is used"),
    "hyperopt.atpe.suggest": ("tpe", "adaptive TPE has no sampler here; plain TPE is used"),
}

# [DATA] keys this importer reads; everything else there is listed as ignored
_DATA_KEYS = {
    "max_evals",
    "objective_program",
    "algo_name",
    "range_generator_name",
    "number_of_workers",
    "partition",
    "account",
    "reservation",
    "computing_time",
    "mem_per_cpu",
    "num_gpus_per_worker",
    "enable_gpus",
    "seed",
    "projectname",
}
_IGNORED_DATA = {
    "enable_debug": None,
}
_PATH_VARS = {
    "homepath": "$HOME",
    "thisprojectdir": ".",
    "thisprojectpath": ".",
    "projectdir": "..",
    "mainpath": ".",
}


class _Ini:
    """configparser plus the line number of each ``key = value`` for error messages."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.cp = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            self.cp.read_string(text, source=source)
        except configparser.MissingSectionHeaderError as e:
            raise ImportSourceError(
                "not an OmniOpt1 config.ini: the first setting comes before any [DATA] or "
                "[DIMENSIONS] section header",
                source,
                e.lineno,
            ) from e
        except configparser.Error as e:
            raise ImportSourceError(f"cannot read this config.ini: {e}", source) from e
        self.lines: Dict[Tuple[str, str], int] = {}
        section = ""
        for no, raw in enumerate(text.splitlines(), 1):
            m = re.match(r"^\s*\[\s*(.+?)\s*\]\s*$", raw)
            if m:
                section = m.group(1)
                continue
            m = re.match(r"^\s*([^=:#;\s][^=:]*?)\s*[=:]", raw)
            if m:
                self.lines.setdefault((section.upper(), m.group(1).lower()), no)

    def section(self, name: str) -> Mapping[str, str]:
        for s in self.cp.sections():
            if s.upper() == name:
                return self.cp[s]
        return {}

    def sections(self) -> List[str]:
        return self.cp.sections()

    def line(self, section: str, key: str) -> Optional[int]:
        return self.lines.get((section.upper(), key.lower()))


def import_omniopt1(text: str, source: str = "config.ini") -> ImportResult:
    """Map an OmniOpt1 ``config.ini`` (its text) to a study; see the module docstring."""
    ini = _Ini(text, source)
    data, dims = ini.section("DATA"), ini.section("DIMENSIONS")
    if not dims:
        raise ImportSourceError(
            "no [DIMENSIONS] section: an OmniOpt1 config.ini lists its parameters there "
            "(dimensions = N, dim_0_name = ..., range_generator_0 = ...)",
            source,
        )
    notes = Notes()
    study = Study(name=_study_name(data, source))

    for sec in ini.sections():
        if sec.upper() not in ("DATA", "DIMENSIONS"):
            keys = ", ".join(ini.cp[sec].keys())
            notes.ignore(
                f"[{sec}] ({keys}): no meaning here" if keys else f"[{sec}]: no meaning here"
            )
    for key in data:
        if key not in _DATA_KEYS:
            why = _IGNORED_DATA.get(key) or "no meaning here"
            notes.ignore(f"[DATA] {key} = {data[key]}: {why}")

    default_gen = (
        data.get("range_generator_name") or dims.get("range_generator_name") or "hp.randint"
    )
    dim_list = _dimensions(ini, dims, default_gen, notes)
    uses = _placeholder_uses(data.get("objective_program", ""), dim_list)
    for d in dim_list:
        fields = Fields(source, lambda key: ini.line("DIMENSIONS", key), dims, d)
        study.parameters.append(build_parameter(d, fields, uses.get(d.index, set()), notes))

    study.program = Program(command=_command(ini, data, dim_list, notes))
    study.objectives = [Objective("RESULT", Direction.MINIMIZE)]
    _study_settings(ini, data, study, notes)
    study.resources = _resources(ini, data, notes)
    return notes.result(study, SourceKind.OMNIOPT1_INI)


# -- study-level --------------------------------------------------------------------------------
def _study_name(data: Mapping[str, str], source: str) -> str:
    name = (data.get("projectname") or "").strip()
    if name:
        return name
    # OmniOpt1 kept each project in projects/<name>/config.ini
    if os.path.isfile(source):
        folder = os.path.basename(os.path.dirname(os.path.abspath(source)))
        if folder:
            return folder
    return "omniopt1-import"


def _study_settings(ini: _Ini, data: Mapping[str, str], study: Study, notes: Notes) -> None:
    src = ini.source
    if data.get("max_evals", "").strip():
        v = parse_number(data["max_evals"], "[DATA] max_evals", src, ini.line("DATA", "max_evals"))
        study.n_trials = max(1, int(v))
    else:
        notes.approximate(f"[DATA] max_evals is missing: n_trials = {study.n_trials}")
    algo = (data.get("algo_name") or "tpe.suggest").strip()
    sampler, why = _ALGOS.get(algo, ("tpe", f"unknown algorithm '{algo}'; TPE is used"))
    if why:
        notes.approximate(f"[DATA] algo_name = {algo}: {why}")
    if sampler == "grid":
        floats = [p.name for p in study.parameters if p.type is ParamType.FLOAT and p.step is None]
        if floats:
            notes.approximate(
                f"[DATA] algo_name = gridsearch: continuous parameters ({', '.join(floats)}) "
                "cannot be searched on a grid; TPE is used"
            )
            sampler = "tpe"
    study.sampler = sampler
    points = grid_points(study) if sampler == "grid" else None
    if points is not None and study.n_trials > points:
        notes.approximate(
            f"[DATA] max_evals = {study.n_trials} is more than the grid's {points} points: "
            f"n_trials = {points} (the grid sampler would run points again)"
        )
        study.n_trials = points
    if data.get("seed", "").strip():
        study.seed = int(parse_number(data["seed"], "[DATA] seed", src, ini.line("DATA", "seed")))


def _resources(ini: _Ini, data: Mapping[str, str], notes: Notes) -> Resources:
    src = ini.source
    r = Resources()

    def num(key: str) -> Optional[float]:
        text = (data.get(key) or "").strip()
        return None if not text else parse_number(text, f"[DATA] {key}", src, ini.line("DATA", key))

    workers = num("number_of_workers")
    if workers is not None:
        r.workers = max(1, int(workers))
    for key in ("partition", "account", "reservation"):
        text = (data.get(key) or "").strip()
        if text:
            setattr(r, key, text)
    ct = (data.get("computing_time") or "").strip()
    if ct:
        # OmniOpt1 takes hours ("4") or a SLURM time ("04:30:00")
        r.time = ct if ":" in ct else f"{as_int_if_whole(num('computing_time') or 0)}h"
    mem = num("mem_per_cpu")
    if mem is not None:
        r.mem = megabytes_text(mem)
        notes.approximate(
            f'[DATA] mem_per_cpu = {data["mem_per_cpu"]} (MB per CPU): mem = "{r.mem}" per worker '
            "(one CPU per worker)"
        )
    gpus = num("num_gpus_per_worker")
    enabled = (data.get("enable_gpus") or "").strip()
    if gpus is not None:
        r.gpus = 0 if enabled in ("0", "false", "False") else max(0, int(gpus))
    elif enabled not in ("", "0", "false", "False"):
        r.gpus = 1
    return r


# -- dimensions ---------------------------------------------------------------------------------
def _dimensions(ini: _Ini, dims: Mapping[str, str], default_gen: str, notes: Notes) -> List[Dim]:
    src = ini.source
    count_text = (dims.get("dimensions") or "").strip()
    if count_text:
        count = int(
            parse_number(
                count_text, "[DIMENSIONS] dimensions", src, ini.line("DIMENSIONS", "dimensions")
            )
        )
    else:
        found = {int(m.group(1)) for k in dims for m in [re.search(r"_(\d+)(?:_name)?$", k)] if m}
        if not found:
            raise ImportSourceError(
                "[DIMENSIONS] has no 'dimensions = N' and no dim_N_name keys", src
            )
        count = max(found) + 1
        notes.approximate(f"[DIMENSIONS] dimensions is missing: {count} taken from the dim_N keys")
    if count < 1:
        raise ImportSourceError(
            f"[DIMENSIONS] dimensions = {count_text}: an OmniOpt1 study needs 1 or more dimensions",
            src,
            ini.line("DIMENSIONS", "dimensions"),
        )
    out: List[Dim] = []
    taken: List[str] = []
    for i in range(count):
        raw = (dims.get(f"dim_{i}_name") or "").strip()
        name = safe_name(raw, taken, f"x_{i}")
        if raw and name != raw:
            notes.approximate(
                f"[DIMENSIONS] dim_{i}_name = {raw}: renamed to '{name}' (letters, digits and '_' only)"
            )
        taken.append(name)
        gen = (dims.get(f"range_generator_{i}") or default_gen).strip()
        out.append(Dim(i, name, gen))
    return out


def _placeholder_uses(program: str, dims: List[Dim]) -> Dict[int, Set[str]]:
    """For each dimension: {"plain", "int"} depending on how the program refers to it."""
    uses: Dict[int, Set[str]] = {}
    for d in dims:
        for key in {f"x_{d.index}", d.name}:
            if f"int(${key})" in program:
                uses.setdefault(d.index, set()).add("int")
            if program.replace(f"int(${key})", "").count(f"(${key})"):
                uses.setdefault(d.index, set()).add("plain")
    return uses


def _command(ini: _Ini, data: Mapping[str, str], dims: List[Dim], notes: Notes) -> str:
    program = (data.get("objective_program") or "").strip()
    if not program:
        notes.approximate("[DATA] objective_program is missing: write [program] command by hand")
        return ""
    for d in sorted(dims, key=lambda d: -len(d.name)):
        for key in (f"x_{d.index}", d.name):
            program = program.replace(f"int(${key})", f"%({d.name})").replace(
                f"(${key})", f"%({d.name})"
            )
    for var, repl in _PATH_VARS.items():
        for form in (f"int(${var})", f"(${var})"):
            if form in program:
                program = program.replace(form, repl)
                notes.approximate(
                    f"[DATA] objective_program uses ({'$'}{var}), an OmniOpt1 folder: replaced by "
                    f"'{repl}' (relative to [program] workdir; check it)"
                )
    left = re.findall(r"\(\$([A-Za-z_][A-Za-z0-9_]*)\)", program)
    if left:
        notes.approximate(
            f"[DATA] objective_program uses {', '.join('($' + n + ')' for n in left)}, which is no "
            "dimension: edit [program] command"
        )
        program = re.sub(r"(?:int)?\(\$([A-Za-z_][A-Za-z0-9_]*)\)", r"$\1", program)
    return unquote_placeholders(program)
