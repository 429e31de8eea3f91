"""A study.toml written by an OmniOpt user's habits: each error names the key to write instead."""

from __future__ import annotations

import pytest

from omniopt_desktop.study.toml_io import loads_study

TEXT = """[study]
name = "s"
max_eval = 50
num_parallel_jobs = 4
[program]
run_program = "./run %(x)"
[[parameter]]
name = "x"
param_type = "range"
min = 0
max = 1
[[parameter]]
name = "n"
type = "integer"
low = 1
high = 5
[[parameters]]
name = "y"
"""


def messages(text: str) -> list[str]:
    return [str(i) for i in loads_study(text, "study.toml").all_issues()]


@pytest.mark.parametrize(
    "expected",
    [
        "study.toml:3: [study]: unknown key 'max_eval'; write n_trials instead",
        "study.toml:4: [study]: unknown key 'num_parallel_jobs'; write workers in [resources]",
        "study.toml:6: [program]: unknown key 'run_program'; write command instead",
        "study.toml:9: parameter 'x': unknown key 'param_type'; write type instead",
        "study.toml:10: parameter 'x': unknown key 'min'; write low instead",
        "study.toml:11: parameter 'x': unknown key 'max'; write high instead",
        "study.toml:14: parameter 'n': type 'integer' is unknown; write type = \"int\"",
        "study.toml:17: unknown section or key 'parameters'; write [[parameter]] instead",
    ],
)
def test_omniopt_spelling_names_the_key_to_write(expected):
    got = messages(TEXT)
    assert any(m.startswith(expected) for m in got), got


def test_max_eval_is_not_mistaken_for_max_failures():
    # difflib finds 'max_failures' closest to 'max_eval'; the two mean different things
    assert not any("max_failures" in m for m in messages(TEXT))


def test_type_range_says_float_or_int():
    text = TEXT.replace('type = "integer"', 'type = "range"')
    assert any(
        'type \'range\' is unknown; write type = "float" (or "int"' in m for m in messages(text)
    )


def test_other_typos_still_get_a_guess():
    text = TEXT.replace("max_eval = 50", "n_trails = 50")
    assert any("unknown key 'n_trails'; did you mean 'n_trials'?" in m for m in messages(text))
