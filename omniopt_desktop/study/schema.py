"""The keys a study file may hold, their types and defaults. Python 3.9+, stdlib only.

Used to read a file (unknown keys are errors with a did-you-mean; wrong types name the key)
and to write one (a default the user did not write is not added).
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, Optional, Sequence, Tuple

# type names: "str", "int", "number", "bool", "list", "duration" (str or number), "scalar"
Spec = Dict[str, Tuple[str, Any]]  # key -> (type, default)

SECTIONS: Dict[str, Spec] = {
    "study": {
        "name": ("str", None),
        "n_trials": ("int", 100),
        "sampler": ("str", "tpe"),
        "seed": ("int", None),
        "storage": ("str", "sqlite"),
        "max_failures": ("int", None),
        "max_retries": ("int", 2),
        "description": ("str", None),
    },
    "objective": {
        "name": ("str", "RESULT"),
        "direction": ("str", "minimize"),
    },
    "program": {
        "command": ("str", None),
        "workdir": ("str", "."),
        "timeout": ("duration", None),
    },
    "parameter": {
        "name": ("str", None),
        "type": ("str", "float"),
        "low": ("number", None),
        "high": ("number", None),
        "log": ("bool", False),
        "step": ("number", None),
        "values": ("list", None),
        "value": ("scalar", None),
        "when": ("str", None),
    },
    "constraints": {
        "rules": ("list", None),
    },
    "resources": {
        "workers": ("int", 1),
        "partition": ("str", None),
        "time": ("duration", None),
        "cpus_per_task": ("int", 1),
        "mem": ("scalar", None),
        "gpus": ("int", 0),
        "account": ("str", None),
        "reservation": ("str", None),
        "qos": ("str", None),
        "constraint": ("str", None),
        "exclude": ("str", None),
        "extra_sbatch": ("list", None),
    },
}
ARRAY_SECTIONS = ("objective", "parameter")  # [[objective]], [[parameter]]
TOP_LEVEL = ("schema_version",) + tuple(SECTIONS)


# OmniOpt1/OmniOpt2 spellings a user may write by habit -> what to write here. Looked up before
# any did-you-mean guess: 'max_eval' is close to 'max_failures' but means n_trials.
OMNIOPT_KEYS: Dict[str, str] = {
    "max_eval": "n_trials",
    "max_evals": "n_trials",
    "experiment_name": "name",
    "max_failed_jobs": "max_failures",
    "num_parallel_jobs": "workers in [resources] (or run --workers N)",
    "run_program": "command",
    "param_type": "type",
    "value_type": 'type = "int" or "float"',
    "min": "low",
    "max": "high",
    "lower": "low",
    "upper": "high",
    "lower_bound": "low",
    "upper_bound": "high",
    "bounds": "low and high",
    "range": "low and high",
    "log_scale": "log",
    "choices": "values",
    "options": "values",
    "goal": "direction",
    "parameters": "[[parameter]]",
    "objectives": "[[objective]]",
    "constraint": "[constraints] rules",
}
# parameter type names from OmniOpt and elsewhere -> the type to write
TYPE_WORDS: Dict[str, str] = {
    "range": '"float" (or "int" for whole numbers) with low and high',
    "double": '"float"',
    "real": '"float"',
    "continuous": '"float"',
    "integer": '"int"',
    "discrete": '"int"',
    "categorical": '"choice" with values = [...]',
    "category": '"choice" with values = [...]',
    "constant": '"fixed" with value = ...',
}


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` or ``` (allowed: a, b, c)``; OmniOpt spellings are translated."""
    known = OMNIOPT_KEYS.get(word.lower())
    if known is not None:
        return f"; write {known} instead"
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; allowed: {', '.join(choices)}"


def type_problem(kind: str, value: Any) -> Optional[str]:
    """None when ``value`` fits ``kind``, else what was expected."""
    is_num = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": is_num,
        "bool": isinstance(value, bool),
        "list": isinstance(value, list),
        "duration": isinstance(value, str) or is_num,
        "scalar": isinstance(value, (str, int, float, bool)),
    }[kind]
    if ok:
        return None
    return {
        "str": "a string in quotes",
        "int": "a whole number",
        "number": "a number",
        "bool": "true or false",
        "list": "a list [ ... ]",
        "duration": 'a duration such as "30m" or a number of seconds',
        "scalar": "a string, number or boolean",
    }[kind]
