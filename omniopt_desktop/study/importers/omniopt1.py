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
import math
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple

from ..model import Direction, Objective, Parameter, ParamType, Program, Resources, Study
from .common import (
    ImportResult,
    ImportSourceError,
    Notes,
    SourceKind,
    as_int_if_whole,
    clean_float,
    megabytes_text,
    parse_number,
    safe_name,
    typed_value,
    unquote_placeholders,
)

#: How many standard deviations either side of mu a normal prior is cut at.
NORMAL_SIGMAS = 3

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


@dataclass
class _Dim:
    index: int
    name: str
    generator: str


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
        study.parameters.append(_parameter(ini, dims, d, uses.get(d.index, set()), notes))

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
    parent = PurePath(source).parent.name
    return parent if parent and parent not in (".", "") else "omniopt1-import"


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
def _dimensions(ini: _Ini, dims: Mapping[str, str], default_gen: str, notes: Notes) -> List[_Dim]:
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
    out: List[_Dim] = []
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
        out.append(_Dim(i, name, gen))
    return out


def _placeholder_uses(program: str, dims: List[_Dim]) -> Dict[int, Set[str]]:
    """For each dimension: {"plain", "int"} depending on how the program refers to it."""
    uses: Dict[int, Set[str]] = {}
    for d in dims:
        for key in {f"x_{d.index}", d.name}:
            if f"int(${key})" in program:
                uses.setdefault(d.index, set()).add("int")
            if program.replace(f"int(${key})", "").count(f"(${key})"):
                uses.setdefault(d.index, set()).add("plain")
    return uses


def _command(ini: _Ini, data: Mapping[str, str], dims: List[_Dim], notes: Notes) -> str:
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


# -- parameters ---------------------------------------------------------------------------------
def _parameter(
    ini: _Ini, dims: Mapping[str, str], d: _Dim, uses: Set[str], notes: Notes
) -> Parameter:
    gen = d.generator
    build = _BUILDERS.get(gen[3:] if gen.startswith("hp.") else gen)
    if build is None:
        known = ", ".join(f"hp.{k}" for k in _BUILDERS)
        raise ImportSourceError(
            f"[DIMENSIONS] range_generator_{d.index} = {gen}: unknown range generator; "
            f"OmniOpt1 knows {known}",
            ini.source,
            ini.line("DIMENSIONS", f"range_generator_{d.index}"),
        )
    p = build(d, _Fields(ini, dims, d), notes)
    if "int" in uses:
        _apply_int_cast(p, d, "plain" in uses, notes)
    return p


class _Fields:
    """The [DIMENSIONS] keys of one dimension (``min_dim_{i}`` etc.), with clear errors."""

    def __init__(self, ini: _Ini, dims: Mapping[str, str], d: _Dim) -> None:
        self.ini, self.dims, self.d = ini, dims, d

    def _missing(self, key: str, what: str) -> ImportSourceError:
        d = self.d
        return ImportSourceError(
            f"[DIMENSIONS] {key} is missing: {d.generator} (dimension {d.index}, '{d.name}') "
            f"needs {what}; write {key} = ...",
            self.ini.source,
            self.ini.line("DIMENSIONS", f"range_generator_{d.index}"),
        )

    def has(self, field: str) -> bool:
        return bool((self.dims.get(field.format(i=self.d.index)) or "").strip())

    def num(self, field: str, what: str, default: Optional[float] = None) -> float:
        key = field.format(i=self.d.index)
        text = (self.dims.get(key) or "").strip()
        if not text:
            if default is None:
                raise self._missing(key, what)
            return default
        return parse_number(
            text, f"[DIMENSIONS] {key}", self.ini.source, self.ini.line("DIMENSIONS", key)
        )

    def q(self) -> float:
        q = abs(self.num("q_{i}", "q (the step)"))
        if q == 0:
            key = f"q_{self.d.index}"
            raise ImportSourceError(
                f"[DIMENSIONS] {key} is 0; write the step, e.g. {key} = 1",
                self.ini.source,
                self.ini.line("DIMENSIONS", key),
            )
        return q

    def bounds(self, notes: Notes) -> Tuple[float, float]:
        low, high = self.num("min_dim_{i}", "min_dim"), self.num("max_dim_{i}", "max_dim")
        if low > high:
            notes.approximate(
                f"'{self.d.name}': min_dim ({_fmt(low)}) was above max_dim ({_fmt(high)}); swapped"
            )
            return high, low
        return low, high

    def options(self) -> List[str]:
        key = f"options_{self.d.index}"
        items = [s.strip() for s in (self.dims.get(key) or "").split(",") if s.strip()]
        if not items:
            raise self._missing(key, "a comma-separated list (options = a,b,c)")
        return items


def _label(d: _Dim, text: str) -> str:
    return f"'{d.name}' (hp.{text})"


def _randint(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # hyperopt: randint(label, upper) → integers 0 .. upper-1; randint(label, low, high) → low .. high-1
    high = int(f.num("max_dim_{i}", "max_dim (the exclusive upper end)"))
    low = int(f.num("min_dim_{i}", "min_dim", 0))
    if high - 1 <= low:
        return Parameter(d.name, ParamType.FIXED, value=low)
    return Parameter(d.name, ParamType.INT, low=low, high=high - 1)


def _uniform(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    low, high = f.bounds(notes)
    return _range(d, ParamType.FLOAT, low, high)


def _uniformint(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # hyperopt: uniformint = quniform(low, high, q=1) as int → round(low) .. round(high)
    low, high = f.bounds(notes)
    return _range(d, ParamType.INT, int(round(low)), int(round(high)))


def _quniform(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # hyperopt: round(uniform(low, high) / q) * q
    low, high = f.bounds(notes)
    q = f.q()
    return _stepped(d, round(low / q) * q, round(high / q) * q, q)


def _loguniform(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # hyperopt: exp(uniform(low, high)); low/high are in log space
    low, high = f.bounds(notes)
    p = _range(d, ParamType.FLOAT, clean_float(math.exp(low)), clean_float(math.exp(high)))
    p.log = p.type is ParamType.FLOAT
    return p


def _qloguniform(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # hyperopt: round(exp(uniform(low, high)) / q) * q
    low, high = f.bounds(notes)
    q = f.q()
    lo, hi = round(math.exp(low) / q) * q, round(math.exp(high) / q) * q
    notes.approximate(
        f"{_label(d, 'qloguniform')}: a log-uniform prior with step {_fmt(q)} is not possible here; "
        f"imported as the multiples of {_fmt(q)} in [{_fmt(lo)}, {_fmt(hi)}] with a uniform prior"
    )
    return _stepped(d, lo, hi, q)


def _normal(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    mu, sigma = f.num("mu_{i}", "mu"), abs(f.num("sigma_{i}", "sigma"))
    lo, hi = clean_float(mu - NORMAL_SIGMAS * sigma), clean_float(mu + NORMAL_SIGMAS * sigma)
    notes.approximate(
        f"{_label(d, f'normal(mu={_fmt(mu)}, sigma={_fmt(sigma)})')}: an unbounded normal prior; "
        f"imported as the uniform range [{_fmt(lo)}, {_fmt(hi)}] (mu ± {NORMAL_SIGMAS}·sigma)"
    )
    return _range(d, ParamType.FLOAT, lo, hi)


def _qnormal(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    mu, sigma, q = f.num("mu_{i}", "mu"), abs(f.num("sigma_{i}", "sigma")), f.q()
    lo = round((mu - NORMAL_SIGMAS * sigma) / q) * q
    hi = round((mu + NORMAL_SIGMAS * sigma) / q) * q
    notes.approximate(
        f"{_label(d, f'qnormal(mu={_fmt(mu)}, sigma={_fmt(sigma)}, q={_fmt(q)})')}: an unbounded "
        f"normal prior; imported as the multiples of {_fmt(q)} in [{_fmt(lo)}, {_fmt(hi)}] "
        f"(mu ± {NORMAL_SIGMAS}·sigma) with a uniform prior"
    )
    return _stepped(d, lo, hi, q)


def _lognormal(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    mu, sigma = f.num("mu_{i}", "mu"), abs(f.num("sigma_{i}", "sigma"))
    lo = clean_float(math.exp(mu - NORMAL_SIGMAS * sigma))
    hi = clean_float(math.exp(mu + NORMAL_SIGMAS * sigma))
    notes.approximate(
        f"{_label(d, f'lognormal(mu={_fmt(mu)}, sigma={_fmt(sigma)})')}: exp of an unbounded normal "
        f"prior; imported as the log-uniform range [{_fmt(lo)}, {_fmt(hi)}] "
        f"(exp(mu ± {NORMAL_SIGMAS}·sigma))"
    )
    p = _range(d, ParamType.FLOAT, lo, hi)
    p.log = p.type is ParamType.FLOAT
    return p


def _qlognormal(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    mu, sigma, q = f.num("mu_{i}", "mu"), abs(f.num("sigma_{i}", "sigma")), f.q()
    lo = round(math.exp(mu - NORMAL_SIGMAS * sigma) / q) * q
    hi = round(math.exp(mu + NORMAL_SIGMAS * sigma) / q) * q
    notes.approximate(
        f"{_label(d, f'qlognormal(mu={_fmt(mu)}, sigma={_fmt(sigma)}, q={_fmt(q)})')}: exp of an "
        f"unbounded normal prior; imported as the multiples of {_fmt(q)} in [{_fmt(lo)}, {_fmt(hi)}] "
        f"(exp(mu ± {NORMAL_SIGMAS}·sigma)) with a uniform prior"
    )
    return _stepped(d, lo, hi, q)


def _choice(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    return _choice_of(d, [typed_value(o) for o in f.options()])


def _pchoice(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # OmniOpt1 writes pchoice options as value=percent,value=percent
    values, probs = [], []
    for item in f.options():
        value, _, prob = item.rpartition("=") if "=" in item else (item, "", "")
        values.append(typed_value(value.strip()))
        probs.append(prob.strip())
    shown = ", ".join(f"{v}={p}" if p else str(v) for v, p in zip(values, probs))
    notes.approximate(
        f"{_label(d, 'pchoice')}: the probabilities ({shown}) cannot be carried over; "
        "every value is equally likely at the start"
    )
    return _choice_of(d, values)


def _choicestep(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # OmniOpt1: hp.choice over range(int(min), int(max) + 1, step)
    low, high = int(f.num("min_dim_{i}", "min_dim")), int(f.num("max_dim_{i}", "max_dim"))
    step = int(f.num("step_dim_{i}", "step_dim"))
    if step < 1:
        step = 1
        notes.approximate(f"{_label(d, 'choicestep')}: step_dim_{d.index} below 1; 1 is used")
    return _choice_of(d, list(range(low, high + 1, step)) or [low])


def _choiceint(d: _Dim, f: _Fields, notes: Notes) -> Parameter:
    # OmniOpt1: hp.choice over range(int(min), int(max) + 1)
    if not f.has("min_dim_{i}") and f.has("options_{i}"):
        return _choice(d, f, notes)  # written as options_N, like hp.choice
    low, high = int(f.num("min_dim_{i}", "min_dim")), int(f.num("max_dim_{i}", "max_dim"))
    return _choice_of(d, list(range(low, high + 1)) or [low])


_BUILDERS: Dict[str, Callable[[_Dim, _Fields, Notes], Parameter]] = {
    "randint": _randint,
    "choice": _choice,
    "pchoice": _pchoice,
    "uniform": _uniform,
    "loguniform": _loguniform,
    "uniformint": _uniformint,
    "quniform": _quniform,
    "qloguniform": _qloguniform,
    "normal": _normal,
    "lognormal": _lognormal,
    "qnormal": _qnormal,
    "qlognormal": _qlognormal,
    "choicestep": _choicestep,
    "choiceint": _choiceint,
}


# -- helpers ------------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    return repr(as_int_if_whole(clean_float(v)))


def _range(d: _Dim, kind: ParamType, low: float, high: float) -> Parameter:
    if low == high:
        return Parameter(d.name, ParamType.FIXED, value=as_int_if_whole(low))
    if kind is ParamType.INT:
        return Parameter(d.name, ParamType.INT, low=int(low), high=int(high))
    return Parameter(d.name, ParamType.FLOAT, low=float(low), high=float(high))


def _stepped(d: _Dim, low: float, high: float, q: float) -> Parameter:
    low, high, q = clean_float(low), clean_float(high), clean_float(q)
    if low == high:
        return Parameter(d.name, ParamType.FIXED, value=low)
    return Parameter(d.name, ParamType.FLOAT, low=float(low), high=float(high), step=float(q))


def _choice_of(d: _Dim, values: List) -> Parameter:
    unique: List = []
    for v in values:
        if all(not (type(v) is type(u) and v == u) for u in unique):
            unique.append(v)
    if len(unique) == 1:
        return Parameter(d.name, ParamType.FIXED, value=unique[0])
    return Parameter(d.name, ParamType.CHOICE, values=unique)


def _apply_int_cast(p: Parameter, d: _Dim, also_plain: bool, notes: Notes) -> None:
    """The program sees ``int(value)`` (truncation): make the parameter hold those integers."""
    ref = f"int($x_{d.index})"
    if p.type is ParamType.INT:
        return
    if p.type is ParamType.FIXED:
        if isinstance(p.value, float) and not also_plain:
            p.value = int(p.value)
        return
    if p.type is ParamType.CHOICE:
        if not also_plain and all(isinstance(v, (int, float)) for v in p.values):
            ints = []
            for v in p.values:
                if int(v) not in ints:
                    ints.append(int(v))
            if any(not float(v).is_integer() for v in p.values):
                notes.approximate(
                    f"'{d.name}': the program used {ref}; choice values truncated to {ints}"
                )
            p.values = ints
        return
    if also_plain:
        notes.approximate(
            f"'{d.name}': the program used both ($x_{d.index}) and {ref}; both now receive the "
            "same value (edit [program] command if the whole number mattered)"
        )
        return
    assert p.low is not None and p.high is not None
    if p.step is not None and float(p.step).is_integer() and float(p.low).is_integer():
        p.type, p.low, p.high, p.step = ParamType.INT, int(p.low), int(p.high), int(p.step)
        if p.step == 1:
            p.step = None
        return
    # int() truncates; the upper end itself is (almost surely) never drawn
    lo = math.trunc(p.low)
    hi = math.trunc(p.high) - 1 if float(p.high).is_integer() and p.high > 0 else math.trunc(p.high)
    notes.approximate(
        f"'{d.name}': the program used {ref} of a real value; imported as the whole numbers "
        f"{lo}..{hi} it could receive, each equally likely"
    )
    p.type, p.low, p.high, p.step = ParamType.INT, lo, max(hi, lo), None
    if p.low == p.high:
        p.type, p.value = ParamType.FIXED, p.low
    if p.log and (p.low or 0) < 1:
        p.log = False
