"""OmniOpt2 command lines, web-GUI curl commands and ``--config_*`` files → :class:`Study`.

All three end up as one mapping of option name (without dashes) → value, as OmniOpt2 itself
merges them (command-line options win over the config file's). Parameters are
``NAME range LOW HIGH [int|float] [true|false]`` (the last one: log scale), ``NAME choice
a,b,c`` and ``NAME fixed V``; ``--run_program`` and ``--experiment_constraints`` may be base64.
Unknown options and options with no meaning here are listed in ``ignored``. Stdlib only (PyYAML
is imported when a YAML file is read).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path, PurePath
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

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

# options that take no value (argparse store_true) in OmniOpt2
_FLAGS = {
    "follow", "send_anonymized_usage_stats", "live_share", "maximize", "gridsearch", "occ",
    "verbose_tqdm", "show_sixel_scatter", "show_sixel_general", "show_sixel_trial_index_result",
    "abbreviate_job_names", "checkout_to_latest_tested_version", "disable_tqdm",
    "disable_previous_job_constraint", "generate_all_jobs_at_once",
    "revert_to_random_when_seemingly_exhausted", "show_generate_time_table",
    "force_choice_for_ranges", "dryrun", "save_to_database", "skip_search",
    "dont_warm_start_refitting", "refit_on_cv", "fit_out_of_design", "fit_abandoned",
    "dont_jit_compile", "no_transform_inputs", "no_normalize_y", "slurm_use_srun",
    "force_local_execution", "verbose", "verbose_break_run_search_table", "debug",
    "flame_graph", "memray", "no_sleep", "tests", "show_worker_percentage_table_at_end",
    "auto_exclude_defective_hosts", "run_tests_that_fail_on_taurus", "raise_in_eval",
    "show_generation_and_submission_sixel", "just_return_defaults", "prettyprint",
    "runtime_debug", "show_func_name", "beartype", "stderr_to_stdout",
    "enforce_sequential_optimization", "hide_ascii_plots", "experimental",
    "auto_execute_suggestions", "show_parameter_suggestions", "evaluate_to_random_value",
}  # fmt: skip
# options taking several values (nargs='+' / '*'); action='append' ones may repeat
_APPEND = {"parameter", "run_program", "experiment_constraints", "load_previous_job_data"}
_MULTI = _APPEND | {
    "result_names",
    "load_data_from_existing_jobs",
    "calculate_pareto_front_of_job",
    "transforms",
}
# OmniOpt2 options that take one value and have no meaning here (to tell them from typos)
_KNOWN_VALUE_OPTIONS = {
    "num_random_steps", "continue_previous_job", "run_dir", "model", "ui_url", "root_venv_dir",
    "main_process_gb", "max_nr_of_zero_results", "orchestrator_file", "occ_type",
    "minkowski_p", "signed_weighted_euclidean_weights", "generation_strategy",
    "n_estimators_randomforest", "max_attempts_for_generation", "external_generator",
    "username", "num_cpus_main_job", "max_abandoned_retrial", "share_password", "db_url",
    "run_program_once", "worker_generator_path", "range_max_difference", "num_restarts",
    "raw_samples", "max_num_of_parallel_sruns", "number_of_generators", "slurm_signal_delay_s",
    "nodes_per_job", "dependency", "run_mode", "show_ram_every_n_seconds", "debug_stack_regex",
    "debug_stack_trace_regex", "tasks_per_node", "auto_execute_counter", "max_auto_execute",
    "maximizer",
}  # fmt: skip
_CONFIG_OPTIONS = {"config_toml": "toml", "config_yaml": "yaml", "config_json": "json"}

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
_INSTALLER_OPTIONS = {
    "installation_method",
    "depth",
    "no_whiptail",
    "omniopt_venv",
    "dryrun",
    "debug",
    "help",
}
_HANDLED = {
    "experiment_name", "max_eval", "num_parallel_jobs", "worker_timeout", "mem_gb", "time",
    "gpus", "cpus_per_task", "partition", "account", "reservation", "exclude", "seed",
    "run_program", "parameter", "experiment_constraints", "result_names", "maximize", "workdir",
    "max_failed_jobs", "config_toml", "config_yaml", "config_json",
}  # fmt: skip
_PROGRAM_NAMES = re.compile(r"(^|/)(\.?omniopt2?|\.omniopt\.py|omniopt_docker)$")


# -- entry points -------------------------------------------------------------------------------
def import_command(
    text: str, source: str = "<command>", base_dir: Optional[Path] = None
) -> ImportResult:
    """An OmniOpt2 command line (or the web GUI's ``curl … | bash -s -- "<base64>"``)."""
    notes = Notes()
    kind = SourceKind.OMNIOPT2_COMMAND
    segment = _pick_command(_segments(text, source), source)
    curl = _curl_payload(segment)
    if curl is not None:
        kind = SourceKind.OMNIOPT2_CURL
        command_text, installer = curl
        segment = _pick_command(_segments(command_text, source), source)
        options = _parse_options(_option_tokens(segment), notes, source)
        for name, values in installer.items():
            if name == "reservation" and values and "reservation" not in options:
                options["reservation"] = values[-1]
            elif name in _INSTALLER_OPTIONS or name == "reservation":
                notes.ignore(f"install_omniax.sh --{name}: an option of OmniOpt2's installer")
            else:
                notes.ignore(f"install_omniax.sh --{name}: unknown installer option")
    else:
        options = _parse_options(_option_tokens(segment), notes, source)
    options = _merge_config_files(options, notes, base_dir, style="--")
    study = _build(options, notes, source, style="--")
    return notes.result(study, kind)


def import_config(
    text: str, fmt: str, source: str = "config", base_dir: Optional[Path] = None
) -> ImportResult:
    """An OmniOpt2 ``--config_toml`` / ``--config_yaml`` / ``--config_json`` file (``fmt``)."""
    notes = Notes()
    options = _load_config_text(text, fmt, source)
    study = _build(options, notes, source, style="")
    kind = {"toml": SourceKind.OMNIOPT2_TOML, "yaml": SourceKind.OMNIOPT2_YAML}.get(
        fmt, SourceKind.OMNIOPT2_JSON
    )
    return notes.result(study, kind)


# -- command lines ------------------------------------------------------------------------------
def _segments(text: str, source: str) -> List[List[str]]:
    """Shell words of each simple command in ``text`` (split at newlines, ``;``, ``|``, ``&&``)."""
    joined = re.sub(r"\\\r?\n", " ", text)
    out: List[List[str]] = []
    for line in joined.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lex = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lex.whitespace_split = True
        lex.commenters = ""
        try:
            words = list(lex)
        except ValueError as e:
            raise ImportSourceError(
                f"cannot split this command line into words: {e}", source
            ) from e
        current: List[str] = []
        for w in words:
            if w and set(w) <= set(";&|"):
                if current:
                    out.append(current)
                current = []
            else:
                current.append(w)
        if current:
            out.append(current)
    return out


def _pick_command(segments: Sequence[List[str]], source: str) -> List[str]:
    for i, seg in enumerate(segments):
        if any("install_omniax.sh" in w for w in seg) and i + 1 < len(segments):
            return seg + ["|"] + segments[i + 1]
    scored = [(sum(w.startswith("--") for w in seg), seg) for seg in segments]
    best = [
        s for s in scored if any(w.split("=")[0] in ("--run_program", "--parameter") for w in s[1])
    ]
    if not best:
        best = [s for s in scored if any(_PROGRAM_NAMES.search(w) for w in s[1])]
    if not best:
        raise ImportSourceError(
            "no OmniOpt2 command found: expected ./omniopt with --run_program and --parameter "
            'options, or the web GUI\'s curl … | bash -s -- "<base64>" line',
            source,
        )
    return max(best, key=lambda s: s[0])[1]


def _curl_payload(seg: List[str]) -> Optional[Tuple[str, Dict[str, List[str]]]]:
    """(decoded command, installer options) of a ``curl …install_omniax.sh | bash -s -- …``."""
    if "|" not in seg or not any("install_omniax.sh" in w for w in seg):
        return None
    after = seg[seg.index("|") + 1 :]
    if "--" in after:
        after = after[after.index("--") + 1 :]
    command: Optional[str] = None
    installer: Dict[str, List[str]] = {}
    for w in after:
        if w.startswith("--"):
            name, _, value = w[2:].partition("=")
            installer.setdefault(name, []).append(value)
        elif command is None:
            command = maybe_base64(w)
    if command is None:
        raise ImportSourceError(
            "the curl … | bash -s -- line holds no base64 OmniOpt2 command after '--'; copy the "
            "whole line from the OmniOpt2 web GUI"
        )
    return command, installer


def _option_tokens(seg: List[str]) -> List[str]:
    """The words after the program (``./omniopt``, ``bash omniopt_docker omniopt``, …)."""
    names = [i for i, w in enumerate(seg) if not w.startswith("-") and _PROGRAM_NAMES.search(w)]
    if names:
        return seg[names[-1] + 1 :]
    for i, w in enumerate(seg):
        if w.startswith("--"):
            return seg[i:]
    return []


def _parse_options(tokens: List[str], notes: Notes, source: str) -> Dict[str, Any]:
    """argparse-like: ``--name=value``, ``--name v1 v2``, flags; repeated append options."""
    options: Dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if not tok.startswith("--") or tok == "--":
            notes.ignore(f"'{tok}': a word that belongs to no option")
            continue
        name, eq, inline = tok[2:].partition("=")
        name = name.replace("-", "_")
        values: List[str] = [inline] if eq else []
        if name in _FLAGS and not eq:
            options[name] = True
            continue
        if name in _MULTI or name not in _HANDLED | _FLAGS:
            while i < len(tokens) and not tokens[i].startswith("--"):
                values.append(tokens[i])
                i += 1
        elif not eq and i < len(tokens) and not tokens[i].startswith("--"):
            values.append(tokens[i])
            i += 1
        if name in _APPEND:
            options.setdefault(name, []).append(values)
        elif name in _MULTI:
            options[name] = values
        elif name in _FLAGS:
            options[name] = (values[-1] if values else "true").lower() not in ("false", "0", "no")
        else:
            options[name] = values[-1] if len(values) == 1 else (values or True)
    return options


# -- config files -------------------------------------------------------------------------------
def _load_config_text(text: str, fmt: str, source: str) -> Dict[str, Any]:
    try:
        if fmt == "json":
            data = json.loads(text)
        elif fmt == "toml":
            data = _toml_loads(text)
        elif fmt == "yaml":
            try:
                import yaml
            except ImportError as e:  # pragma: no cover - PyYAML is a dependency
                raise ImportSourceError(
                    "reading YAML needs PyYAML: pip install pyyaml", source
                ) from e
            data = yaml.safe_load(text)
        else:
            raise ImportSourceError(
                f"unknown config format '{fmt}'; use toml, yaml or json", source
            )
    except ImportSourceError:
        raise
    except Exception as e:  # each parser has its own error type; all mean "not readable"
        line = getattr(e, "lineno", None) or getattr(getattr(e, "problem_mark", None), "line", None)
        raise ImportSourceError(
            f"cannot read this {fmt.upper()} file: {_first_line(e)}", source, line
        ) from e
    if not isinstance(data, dict):
        raise ImportSourceError(
            f"an OmniOpt2 --config_{fmt} file holds option = value pairs at its top level", source
        )
    return _flatten_parameter_extras(data)


def _toml_loads(text: str) -> Dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.9/3.10
        import tomlkit

        return tomlkit.parse(text).unwrap()
    return tomllib.loads(text)


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _flatten_parameter_extras(data: Dict[str, Any]) -> Dict[str, Any]:
    """OmniOpt2's own YAML/JSON examples nest options inside the last ``parameter`` entry."""
    out = dict(data)
    params = data.get("parameter")
    if isinstance(params, list):
        for entry in params:
            if isinstance(entry, dict):
                for k, v in entry.items():
                    if k != "param":
                        out.setdefault(k, v)
    return out


def _merge_config_files(
    options: Dict[str, Any], notes: Notes, base_dir: Optional[Path], style: str
) -> Dict[str, Any]:
    merged = dict(options)
    for key, fmt in _CONFIG_OPTIONS.items():
        if key not in options:
            continue
        raw = options[key]
        ref = str(raw[-1] if isinstance(raw, list) else raw)
        path = Path(ref).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if (base_dir is None and not path.is_absolute()) or not path.is_file():
            notes.ignore(
                f"{style}{key} {ref}: file not found next to the source; import it separately"
            )
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            notes.ignore(f"{style}{key} {ref}: cannot read it ({e.strerror})")
            continue
        for k, v in _load_config_text(text, fmt, str(path)).items():
            merged.setdefault(k, v)  # command-line options win, as in OmniOpt2
    return merged


# -- options → study ----------------------------------------------------------------------------
def _build(opts: Mapping[str, Any], notes: Notes, source: str, style: str) -> Study:
    study = Study(name=_text(opts.get("experiment_name")) or _stem(source))
    for key in opts:
        if key not in _HANDLED:
            known = key in _FLAGS or key in _MULTI or key in _KNOWN_VALUE_OPTIONS
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
