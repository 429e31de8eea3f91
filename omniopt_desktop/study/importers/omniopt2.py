"""OmniOpt2 command lines, web-GUI curl commands and ``--config_*`` files → :class:`Study`.

All three end up as one mapping of option name (without dashes) → value, as OmniOpt2 itself
merges them (command-line options win over the config file's). Parameters are
``NAME range LOW HIGH [int|float] [true|false]`` (the last one: log scale), ``NAME choice
a,b,c`` and ``NAME fixed V``; ``--run_program`` and ``--experiment_constraints`` may be base64.
Unknown options and options with no meaning here are listed in ``ignored``. Stdlib only (PyYAML
is imported when a YAML file is read).
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path, PurePath
from typing import Any, List, Mapping, Optional, Sequence

from ...errors import ExpressionError
from ..expressions import compile_expression
from ..model import Direction, Objective, Parameter, ParamType, Program, Resources, Study
from .common import (
    ImportResult,
    ImportSourceError,
    Notes,
    SourceKind,
    as_int_if_whole,
    maybe_base64,
    megabytes_text,
    minutes_text,
    safe_name,
    typed_value,
    unquote_placeholders,
)
from .omniopt2_options import (
    FLAGS,
    HANDLED,
    INSTALLER_OPTIONS,
    KNOWN_VALUE_OPTIONS,
    MULTI,
    curl_payload,
    load_config_text,
    merge_config_files,
    option_tokens,
    parse_options,
    pick_command,
    segments,
)

_REASONS = {
    "follow": "OmniOpt2 tails its SLURM log; the run monitor shows progress here",
    "send_anonymized_usage_stats": "nothing is sent anywhere from here",
    "live_share": "OmniOpt2's web sharing; results stay in the run folder here",
    "model": "OmniOpt2's Ax model; the sampler here is set by [study] sampler (TPE)",
    "num_random_steps": "TPE starts with its own random trials here",
    "gridsearch": 'set [study] sampler = "grid" (with a step for float parameters) by hand',
    "continue_previous_job": "the earlier run's results are not imported",
    "run_dir": "runs are stored in the study's run folders here",
    "ui_url": "the web GUI's address",
}


# -- entry points -------------------------------------------------------------------------------
def import_command(
    text: str, source: str = "<command>", base_dir: Optional[Path] = None
) -> ImportResult:
    """An OmniOpt2 command line (or the web GUI's ``curl … | bash -s -- "<base64>"``)."""
    notes = Notes()
    kind = SourceKind.OMNIOPT2_COMMAND
    segment = pick_command(segments(text, source), source)
    curl = curl_payload(segment)
    if curl is not None:
        kind = SourceKind.OMNIOPT2_CURL
        command_text, installer = curl
        segment = pick_command(segments(command_text, source), source)
        options = parse_options(option_tokens(segment), notes, source)
        for name, values in installer.items():
            if name == "reservation" and values and "reservation" not in options:
                options["reservation"] = values[-1]
            elif name in INSTALLER_OPTIONS or name == "reservation":
                notes.ignore(f"install_omniax.sh --{name}: an option of OmniOpt2's installer")
            else:
                notes.ignore(f"install_omniax.sh --{name}: unknown installer option")
    else:
        options = parse_options(option_tokens(segment), notes, source)
    options = merge_config_files(options, notes, base_dir, style="--")
    study = _build(options, notes, source, style="--")
    return notes.result(study, kind)


def import_config(
    text: str, fmt: str, source: str = "config", base_dir: Optional[Path] = None
) -> ImportResult:
    """An OmniOpt2 ``--config_toml`` / ``--config_yaml`` / ``--config_json`` file (``fmt``)."""
    notes = Notes()
    options = load_config_text(text, fmt, source)
    study = _build(options, notes, source, style="")
    kind = {"toml": SourceKind.OMNIOPT2_TOML, "yaml": SourceKind.OMNIOPT2_YAML}.get(
        fmt, SourceKind.OMNIOPT2_JSON
    )
    return notes.result(study, kind)


# -- options → study ----------------------------------------------------------------------------
def _build(opts: Mapping[str, Any], notes: Notes, source: str, style: str) -> Study:
    study = Study(name=_text(opts.get("experiment_name")) or _stem(source))
    for key in opts:
        if key not in HANDLED:
            known = key in FLAGS or key in MULTI or key in KNOWN_VALUE_OPTIONS
            reason = _REASONS.get(key) or (
                "no meaning here" if known else "unknown OmniOpt2 option"
            )
            shown = _show(opts[key])
            notes.ignore(f"{style}{key}{' ' + shown if shown else ''}: {reason}")

    names: List[str] = []
    for tokens in _parameter_entries(opts.get("parameter"), source):
        for p in _parse_parameter_tokens(tokens, notes, source, style):
            if p.name in names:
                notes.approximate(
                    f"parameter '{p.name}' is defined twice; the last definition is kept"
                )
                study.parameters[names.index(p.name)] = p
            else:
                names.append(p.name)
                study.parameters.append(p)
    if not study.parameters:
        raise ImportSourceError(
            f"no parameters: OmniOpt2 needs {style}parameter NAME range LOW HIGH (or choice/fixed)",
            source,
        )

    study.program = Program(command=_run_program(opts.get("run_program"), names, notes, style))
    if opts.get("workdir"):
        study.program.workdir = _text(opts["workdir"])
    if opts.get("worker_timeout") not in (None, ""):
        study.program.timeout = minutes_text(
            _number(opts["worker_timeout"], "worker_timeout", source, style)
        )
    study.objectives = _objectives(opts, notes, style)
    study.constraints = _constraints(opts.get("experiment_constraints"), names, notes, style)

    if opts.get("max_eval") not in (None, ""):
        study.n_trials = max(1, int(_number(opts["max_eval"], "max_eval", source, style)))
    if opts.get("seed") not in (None, ""):
        study.seed = int(_number(opts["seed"], "seed", source, style))
    if opts.get("max_failed_jobs") not in (None, ""):
        study.max_failures = max(
            1, int(_number(opts["max_failed_jobs"], "max_failed_jobs", source, style))
        )
    study.resources = _resources(opts, source, style)
    return study


def _resources(opts: Mapping[str, Any], source: str, style: str) -> Resources:
    r = Resources()

    def num(key: str) -> Optional[float]:
        v = opts.get(key)
        return None if v in (None, "") else _number(v, key, source, style)

    if num("num_parallel_jobs") is not None:
        r.workers = max(1, int(num("num_parallel_jobs") or 1))
    if num("cpus_per_task") is not None:
        r.cpus_per_task = max(1, int(num("cpus_per_task") or 1))
    if num("gpus") is not None:
        r.gpus = max(0, int(num("gpus") or 0))
    mem = num("mem_gb")
    if mem is not None:
        r.mem = megabytes_text(mem * 1024)
    t = opts.get("time")
    if t not in (None, ""):
        text = _text(t)
        r.time = (
            text if ":" in text or "-" in text else minutes_text(_number(t, "time", source, style))
        )
    for key in ("partition", "account", "reservation", "exclude"):
        if opts.get(key) not in (None, "", True):
            setattr(r, key, _text(opts[key]))
    return r


_KINDS = ("range", "choice", "fixed")


def _parameter_entries(raw: Any, source: str) -> List[List[str]]:
    """Each ``--parameter`` occurrence as a list of words, from any of OmniOpt2's forms."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out: List[List[str]] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("param", [])
        if isinstance(item, str):
            item = shlex.split(item)
        if isinstance(item, list):
            out.append(["true" if v is True else "false" if v is False else str(v) for v in item])
    return out


def _parse_parameter_tokens(
    tokens: List[str], notes: Notes, source: str, style: str
) -> List[Parameter]:
    out: List[Parameter] = []
    j = 0
    while j < len(tokens):
        raw_name = tokens[j]
        if j + 1 >= len(tokens):
            raise ImportSourceError(
                f"{style}parameter {raw_name}: the type is missing; write NAME range LOW HIGH, "
                "NAME choice a,b,c or NAME fixed VALUE",
                source,
            )
        kind = tokens[j + 1].lower()
        name = safe_name(raw_name, [p.name for p in out], "param")
        if name != raw_name:
            notes.approximate(
                f"parameter '{raw_name}' renamed to '{name}' (letters, digits and '_' only)"
            )
        if kind == "range":
            if j + 3 >= len(tokens):
                raise ImportSourceError(
                    f"{style}parameter {raw_name} range: LOW and HIGH are missing; write "
                    f"{raw_name} range 0 1 [int|float] [true|false]",
                    source,
                )
            low = _number(tokens[j + 2], f"parameter {raw_name}: LOW", source, "")
            high = _number(tokens[j + 3], f"parameter {raw_name}: HIGH", source, "")
            j += 4
            value_type = "float"
            if j < len(tokens) and tokens[j].lower() in ("int", "float"):
                value_type = tokens[j].lower()
                j += 1
            log = False
            if j < len(tokens) and tokens[j].lower() in ("true", "false"):
                log = tokens[j].lower() == "true"
                j += 1
            if j < len(tokens) and (j + 1 >= len(tokens) or tokens[j + 1].lower() not in _KINDS):
                raise ImportSourceError(  # not the start of the next parameter either
                    f"{style}parameter {raw_name} range: '{tokens[j]}' is neither a value type "
                    f"(int, float) nor a log scale (true, false); write {raw_name} range LOW "
                    "HIGH [int|float] [true|false]",
                    source,
                )
            out.append(_range_param(name, low, high, value_type, log, notes))
        elif kind == "choice":
            if j + 2 >= len(tokens):
                raise ImportSourceError(
                    f"{style}parameter {raw_name} choice: the values are missing; write a,b,c",
                    source,
                )
            values: List[Any] = []
            for v in re.split(r"\s*,\s*", tokens[j + 2]):
                tv = typed_value(v)
                if v != "" and tv not in values:
                    values.append(tv)
            j += 3
            if len(values) == 1:
                notes.approximate(f"parameter '{name}': a choice of one value is imported as fixed")
                out.append(Parameter(name, ParamType.FIXED, value=values[0]))
            else:
                out.append(Parameter(name, ParamType.CHOICE, values=values))
        elif kind == "fixed":
            if j + 2 >= len(tokens):
                raise ImportSourceError(
                    f"{style}parameter {raw_name} fixed: the value is missing", source
                )
            out.append(Parameter(name, ParamType.FIXED, value=typed_value(tokens[j + 2])))
            j += 3
        else:
            raise ImportSourceError(
                f"{style}parameter {raw_name} {tokens[j + 1]}: unknown type; OmniOpt2 knows range, "
                "choice and fixed",
                source,
            )
    return out


def _range_param(
    name: str, low: float, high: float, value_type: str, log: bool, notes: Notes
) -> Parameter:
    if low > high:
        low, high = high, low  # OmniOpt2 swaps them too
    if value_type == "int":
        low, high = math.floor(low), math.ceil(high)
    if low == high:
        notes.approximate(
            f"parameter '{name}': LOW equals HIGH ({as_int_if_whole(low)}); imported as fixed"
        )
        return Parameter(name, ParamType.FIXED, value=as_int_if_whole(low))
    if log and low <= 0:
        notes.approximate(
            f"parameter '{name}': log scale needs LOW above 0 (is {as_int_if_whole(low)}); linear scale used"
        )
        log = False
    if value_type == "int":
        return Parameter(name, ParamType.INT, low=int(low), high=int(high), log=log)
    return Parameter(name, ParamType.FLOAT, low=float(low), high=float(high), log=log)


def _run_program(raw: Any, names: List[str], notes: Notes, style: str) -> str:
    if raw in (None, "", []):
        notes.approximate(f"{style}run_program is missing: write [program] command by hand")
        return ""
    occurrences = raw if isinstance(raw, list) else [raw]
    first = occurrences[0]
    text = " ".join(str(w) for w in first) if isinstance(first, list) else str(first)
    if len(occurrences) > 1:
        notes.ignore(
            f"{style}run_program given {len(occurrences)} times: OmniOpt2 runs the first only"
        )
    text = maybe_base64(text) or text
    return convert_placeholders(text.strip(), names)


def convert_placeholders(command: str, names: Sequence[str]) -> str:
    """OmniOpt2's ``$x``, ``$(x)``, ``%x``, ``%(x)`` for each parameter ``x`` → ``%(x)``."""
    for n in sorted(names, key=len, reverse=True):
        e = re.escape(n)
        command = re.sub(rf"\$\({e}\)|%\({e}\)|[$%]{e}(?![A-Za-z0-9_])", f"%({n})", command)
    return unquote_placeholders(command)


def _objectives(opts: Mapping[str, Any], notes: Notes, style: str) -> List[Objective]:
    raw = opts.get("result_names")
    items: List[str] = []
    if isinstance(raw, str):
        items = raw.split()
    elif isinstance(raw, list):
        items = [str(x) for x in raw]
    out: List[Objective] = []
    for item in items:
        name, _, mode = item.replace("'", "").replace('"', "").partition("=")
        mode = mode.strip().lower() or "min"
        if mode not in ("min", "max"):
            notes.approximate(
                f"{style}result_names {item}: '{mode}' is neither min nor max; minimize is used"
            )
            mode = "min"
        if name and name not in [o.name for o in out]:
            out.append(
                Objective(name.strip(), Direction.MAXIMIZE if mode == "max" else Direction.MINIMIZE)
            )
    if not out:
        maximize = opts.get("maximize") in (True, "true", "True", "1", 1)
        out = [Objective("RESULT", Direction.MAXIMIZE if maximize else Direction.MINIMIZE)]
    elif "maximize" in opts:
        notes.ignore(f"{style}maximize: {style}result_names sets the directions")
    return out


def _constraints(raw: Any, names: List[str], notes: Notes, style: str) -> List[str]:
    if raw in (None, "", []):
        return []
    items = raw if isinstance(raw, list) else [raw]
    out: List[str] = []
    for item in items:
        text = " ".join(str(w) for w in item) if isinstance(item, list) else str(item)
        text = (maybe_base64(text) or text).strip()
        for rule in (r.strip() for r in text.split(";")):
            if not rule:
                continue
            try:
                expr = compile_expression(rule)
            except ExpressionError as e:
                notes.approximate(
                    f"{style}experiment_constraints '{rule}': cannot be written here ({e}); dropped"
                )
                continue
            unknown = sorted(n for n in expr.names if n not in names)
            if unknown:
                notes.approximate(
                    f"{style}experiment_constraints '{rule}': uses {', '.join(unknown)}, which is "
                    "no parameter; dropped"
                )
                continue
            out.append(rule)
    return out


# -- small helpers ------------------------------------------------------------------------------
def _number(v: Any, key: str, source: str, style: str) -> float:
    if isinstance(v, list) and len(v) == 1:
        v = v[0]
    try:
        if isinstance(v, bool):
            raise ValueError
        f = float(v)
        if not math.isfinite(f):
            raise ValueError
        return f
    except (TypeError, ValueError):
        raise ImportSourceError(f"{style}{key} must be a number, not {v!r}", source) from None


def _text(v: Any) -> str:
    if isinstance(v, list):
        v = " ".join(str(x) for x in v)
    return "" if v is None or v is True else str(v).strip()


def _show(v: Any) -> str:
    if v is True:
        return ""
    if isinstance(v, list):
        v = " ".join(" ".join(map(str, x)) if isinstance(x, list) else str(x) for x in v)
    s = str(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _stem(source: str) -> str:
    stem = PurePath(source).stem
    return stem if stem and not stem.startswith("<") else "omniopt2-import"
