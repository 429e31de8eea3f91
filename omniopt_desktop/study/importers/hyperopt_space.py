"""hyperopt's range generators, as OmniOpt1 used them, → parameters of our study model.

Each generator is mapped as hyperopt defines it (``hyperopt/pyll_utils.py``; OmniOpt1's
``create_space``); what has no exact equivalent (normal priors, probabilities, a stepped log
prior) is mapped to the closest honest form and listed in the notes. Stdlib only, Python 3.9+.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple

from ..model import Parameter, ParamType
from .common import (
    ImportSourceError,
    Notes,
    as_int_if_whole,
    clean_float,
    parse_number,
    typed_value,
)

#: How many standard deviations either side of mu a normal prior is cut at.
NORMAL_SIGMAS = 3


@dataclass
class Dim:
    """One OmniOpt1 dimension: its number, (safe) name and range generator."""

    index: int
    name: str
    generator: str


def build_parameter(d: Dim, fields: Fields, uses: Set[str], notes: Notes) -> Parameter:
    """The parameter for dimension ``d``; ``uses`` holds "int" when the program used int(...)."""
    gen = d.generator
    build = GENERATORS.get(gen[3:] if gen.startswith("hp.") else gen)
    if build is None:
        known = ", ".join(f"hp.{k}" for k in GENERATORS)
        raise ImportSourceError(
            f"[DIMENSIONS] range_generator_{d.index} = {gen}: unknown range generator; "
            f"OmniOpt1 knows {known}",
            fields.source,
            fields.line(f"range_generator_{d.index}"),
        )
    p = build(d, fields, notes)
    if "int" in uses:
        _apply_int_cast(p, d, "plain" in uses, notes)
    return p


class Fields:
    """The [DIMENSIONS] keys of one dimension (``min_dim_{i}`` etc.), with clear errors."""

    def __init__(
        self, source: str, line: Callable[[str], Optional[int]], dims: Mapping[str, str], d: Dim
    ) -> None:
        self.source, self.line, self.dims, self.d = source, line, dims, d

    def _missing(self, key: str, what: str) -> ImportSourceError:
        d = self.d
        return ImportSourceError(
            f"[DIMENSIONS] {key} is missing: {d.generator} (dimension {d.index}, '{d.name}') "
            f"needs {what}; write {key} = ...",
            self.source,
            self.line(f"range_generator_{d.index}"),
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
        return parse_number(text, f"[DIMENSIONS] {key}", self.source, self.line(key))

    def q(self) -> float:
        q = abs(self.num("q_{i}", "q (the step)"))
        if q == 0:
            key = f"q_{self.d.index}"
            raise ImportSourceError(
                f"[DIMENSIONS] {key} is 0; write the step, e.g. {key} = 1",
                self.source,
                self.line(key),
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


def _label(d: Dim, text: str) -> str:
    return f"'{d.name}' (hp.{text})"


def _randint(d: Dim, f: Fields, notes: Notes) -> Parameter:
    # hyperopt: randint(label, upper) → integers 0 .. upper-1; randint(label, low, high) → low .. high-1
    high = int(f.num("max_dim_{i}", "max_dim (the exclusive upper end)"))
    low = int(f.num("min_dim_{i}", "min_dim", 0))
    if high - 1 <= low:
        return Parameter(d.name, ParamType.FIXED, value=low)
    return Parameter(d.name, ParamType.INT, low=low, high=high - 1)


def _uniform(d: Dim, f: Fields, notes: Notes) -> Parameter:
    low, high = f.bounds(notes)
    return _range(d, ParamType.FLOAT, low, high)


def _uniformint(d: Dim, f: Fields, notes: Notes) -> Parameter:
    # hyperopt: uniformint = quniform(low, high, q=1) as int → round(low) .. round(high)
    low, high = f.bounds(notes)
    return _range(d, ParamType.INT, int(round(low)), int(round(high)))


def _quniform(d: Dim, f: Fields, notes: Notes) -> Parameter:
    # hyperopt: round(uniform(low, high) / q) * q
    low, high = f.bounds(notes)
    q = f.q()
    return _stepped(d, round(low / q) * q, round(high / q) * q, q)


def _loguniform(d: Dim, f: Fields, notes: Notes) -> Parameter:
    # hyperopt: exp(uniform(low, high)); low/high are in log space
    low, high = f.bounds(notes)
    p = _range(d, ParamType.FLOAT, clean_float(math.exp(low)), clean_float(math.exp(high)))
    p.log = p.type is ParamType.FLOAT
    return p


def _qloguniform(d: Dim, f: Fields, notes: Notes) -> Parameter:
    # hyperopt: round(exp(uniform(low, high)) / q) * q
    low, high = f.bounds(notes)
    q = f.q()
    lo, hi = round(math.exp(low) / q) * q, round(math.exp(high) / q) * q
    notes.approximate(
        f"{_label(d, 'qloguniform')}: a log-uniform prior with step {_fmt(q)} is not possible here; "
        f"imported as the multiples of {_fmt(q)} in [{_fmt(lo)}, {_fmt(hi)}] with a uniform prior"
    )
    return _stepped(d, lo, hi, q)


def _normal(d: Dim, f: Fields, notes: Notes) -> Parameter:
    mu, sigma = f.num("mu_{i}", "mu"), abs(f.num("sigma_{i}", "sigma"))
    lo, hi = clean_float(mu - NORMAL_SIGMAS * sigma), clean_float(mu + NORMAL_SIGMAS * sigma)
    notes.approximate(
        f"{_label(d, f'normal(mu={_fmt(mu)}, sigma={_fmt(sigma)})')}: an unbounded normal prior; "
        f"imported as the uniform range [{_fmt(lo)}, {_fmt(hi)}] (mu ± {NORMAL_SIGMAS}·sigma)"
    )
    return _range(d, ParamType.FLOAT, lo, hi)


def _qnormal(d: Dim, f: Fields, notes: Notes) -> Parameter:
    mu, sigma, q = f.num("mu_{i}", "mu"), abs(f.num("sigma_{i}", "sigma")), f.q()
    lo = round((mu - NORMAL_SIGMAS * sigma) / q) * q
    hi = round((mu + NORMAL_SIGMAS * sigma) / q) * q
    notes.approximate(
        f"{_label(d, f'qnormal(mu={_fmt(mu)}, sigma={_fmt(sigma)}, q={_fmt(q)})')}: an unbounded "
        f"normal prior; imported as the multiples of {_fmt(q)} in [{_fmt(lo)}, {_fmt(hi)}] "
        f"(mu ± {NORMAL_SIGMAS}·sigma) with a uniform prior"
    )
    return _stepped(d, lo, hi, q)


def _lognormal(d: Dim, f: Fields, notes: Notes) -> Parameter:
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


def _qlognormal(d: Dim, f: Fields, notes: Notes) -> Parameter:
    mu, sigma, q = f.num("mu_{i}", "mu"), abs(f.num("sigma_{i}", "sigma")), f.q()
    lo = round(math.exp(mu - NORMAL_SIGMAS * sigma) / q) * q
    hi = round(math.exp(mu + NORMAL_SIGMAS * sigma) / q) * q
    notes.approximate(
        f"{_label(d, f'qlognormal(mu={_fmt(mu)}, sigma={_fmt(sigma)}, q={_fmt(q)})')}: exp of an "
        f"unbounded normal prior; imported as the multiples of {_fmt(q)} in [{_fmt(lo)}, {_fmt(hi)}] "
        f"(exp(mu ± {NORMAL_SIGMAS}·sigma)) with a uniform prior"
    )
    return _stepped(d, lo, hi, q)


def _choice(d: Dim, f: Fields, notes: Notes) -> Parameter:
    return _choice_of(d, [typed_value(o) for o in f.options()])


def _pchoice(d: Dim, f: Fields, notes: Notes) -> Parameter:
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


def _choicestep(d: Dim, f: Fields, notes: Notes) -> Parameter:
    # OmniOpt1: hp.choice over range(int(min), int(max) + 1, step)
    low, high = int(f.num("min_dim_{i}", "min_dim")), int(f.num("max_dim_{i}", "max_dim"))
    step = int(f.num("step_dim_{i}", "step_dim"))
    if step < 1:
        step = 1
        notes.approximate(f"{_label(d, 'choicestep')}: step_dim_{d.index} below 1; 1 is used")
    return _choice_of(d, list(range(low, high + 1, step)) or [low])


def _choiceint(d: Dim, f: Fields, notes: Notes) -> Parameter:
    # OmniOpt1: hp.choice over range(int(min), int(max) + 1)
    if not f.has("min_dim_{i}") and f.has("options_{i}"):
        return _choice(d, f, notes)  # written as options_N, like hp.choice
    low, high = int(f.num("min_dim_{i}", "min_dim")), int(f.num("max_dim_{i}", "max_dim"))
    return _choice_of(d, list(range(low, high + 1)) or [low])


GENERATORS: Dict[str, Callable[[Dim, Fields, Notes], Parameter]] = {
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


def _range(d: Dim, kind: ParamType, low: float, high: float) -> Parameter:
    if low == high:
        return Parameter(d.name, ParamType.FIXED, value=as_int_if_whole(low))
    if kind is ParamType.INT:
        return Parameter(d.name, ParamType.INT, low=int(low), high=int(high))
    return Parameter(d.name, ParamType.FLOAT, low=float(low), high=float(high))


def _stepped(d: Dim, low: float, high: float, q: float) -> Parameter:
    low, high, q = clean_float(low), clean_float(high), clean_float(q)
    if low == high:
        return Parameter(d.name, ParamType.FIXED, value=low)
    return Parameter(d.name, ParamType.FLOAT, low=float(low), high=float(high), step=float(q))


def _choice_of(d: Dim, values: List) -> Parameter:
    unique: List = []
    for v in values:
        if all(not (type(v) is type(u) and v == u) for u in unique):
            unique.append(v)
    if len(unique) == 1:
        return Parameter(d.name, ParamType.FIXED, value=unique[0])
    return Parameter(d.name, ParamType.CHOICE, values=unique)


def _apply_int_cast(p: Parameter, d: Dim, also_plain: bool, notes: Notes) -> None:
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
