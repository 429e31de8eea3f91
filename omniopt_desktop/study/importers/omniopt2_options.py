"""Reading OmniOpt2's options: command lines, the web GUI's curl line, ``--config_*`` files.

Everything ends up as one mapping of option name (without dashes) → value, merged the way
OmniOpt2 merges them (command-line options win over the config file's). Stdlib only; PyYAML is
imported when a YAML file is read.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .common import ImportSourceError, Notes, maybe_base64

# options that take no value (argparse store_true) in OmniOpt2
FLAGS = {
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
APPEND = {"parameter", "run_program", "experiment_constraints", "load_previous_job_data"}
MULTI = APPEND | {
    "result_names",
    "load_data_from_existing_jobs",
    "calculate_pareto_front_of_job",
    "transforms",
}
# OmniOpt2 options that take one value and have no meaning here (to tell them from typos)
KNOWN_VALUE_OPTIONS = {
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
CONFIG_OPTIONS = {"config_toml": "toml", "config_yaml": "yaml", "config_json": "json"}

INSTALLER_OPTIONS = {
    "installation_method",
    "depth",
    "no_whiptail",
    "omniopt_venv",
    "dryrun",
    "debug",
    "help",
}
HANDLED = {
    "experiment_name", "max_eval", "num_parallel_jobs", "worker_timeout", "mem_gb", "time",
    "gpus", "cpus_per_task", "partition", "account", "reservation", "exclude", "seed",
    "run_program", "parameter", "experiment_constraints", "result_names", "maximize", "workdir",
    "max_failed_jobs", "config_toml", "config_yaml", "config_json",
}  # fmt: skip
PROGRAM_NAMES = re.compile(r"(^|/)(\.?omniopt2?|\.omniopt\.py|omniopt_docker)$")


# -- command lines ------------------------------------------------------------------------------
def segments(text: str, source: str) -> List[List[str]]:
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


def pick_command(segments: Sequence[List[str]], source: str) -> List[str]:
    for i, seg in enumerate(segments):
        if any("install_omniax.sh" in w for w in seg) and i + 1 < len(segments):
            return seg + ["|"] + segments[i + 1]
    scored = [(sum(w.startswith("--") for w in seg), seg) for seg in segments]
    best = [
        s for s in scored if any(w.split("=")[0] in ("--run_program", "--parameter") for w in s[1])
    ]
    if not best:
        best = [s for s in scored if any(PROGRAM_NAMES.search(w) for w in s[1])]
    if not best:
        raise ImportSourceError(
            "no OmniOpt2 command found: expected ./omniopt with --run_program and --parameter "
            'options, or the web GUI\'s curl … | bash -s -- "<base64>" line',
            source,
        )
    return max(best, key=lambda s: s[0])[1]


def curl_payload(seg: List[str]) -> Optional[Tuple[str, Dict[str, List[str]]]]:
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


def option_tokens(seg: List[str]) -> List[str]:
    """The words after the program (``./omniopt``, ``bash omniopt_docker omniopt``, …)."""
    names = [i for i, w in enumerate(seg) if not w.startswith("-") and PROGRAM_NAMES.search(w)]
    if names:
        return seg[names[-1] + 1 :]
    for i, w in enumerate(seg):
        if w.startswith("--"):
            return seg[i:]
    return []


def parse_options(tokens: List[str], notes: Notes, source: str) -> Dict[str, Any]:
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
        if name in FLAGS and not eq:
            options[name] = True
            continue
        if name in MULTI or name not in HANDLED | FLAGS:
            while i < len(tokens) and not tokens[i].startswith("--"):
                values.append(tokens[i])
                i += 1
        elif not eq and i < len(tokens) and not tokens[i].startswith("--"):
            values.append(tokens[i])
            i += 1
        if name in APPEND:
            options.setdefault(name, []).append(values)
        elif name in MULTI:
            options[name] = values
        elif name in FLAGS:
            options[name] = (values[-1] if values else "true").lower() not in ("false", "0", "no")
        else:
            options[name] = values[-1] if len(values) == 1 else (values or True)
    return options


# -- config files -------------------------------------------------------------------------------
def load_config_text(text: str, fmt: str, source: str) -> Dict[str, Any]:
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


def merge_config_files(
    options: Dict[str, Any], notes: Notes, base_dir: Optional[Path], style: str
) -> Dict[str, Any]:
    merged = dict(options)
    for key, fmt in CONFIG_OPTIONS.items():
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
        for k, v in load_config_text(text, fmt, str(path)).items():
            merged.setdefault(k, v)  # command-line options win, as in OmniOpt2
    return merged
