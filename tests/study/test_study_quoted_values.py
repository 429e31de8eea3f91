"""Values written in quotes that would fit without them: the error shows the line to write
('log' must be true or false, not 'true' read like a contradiction)."""

from __future__ import annotations

import pytest

from omniopt_desktop.study.toml_io import loads_study

TEXT = """[study]
name = "s"
n_trials = {n}
[program]
command = "./run %(x) %(c)"
[[parameter]]
name = "x"
type = "float"
low = {low}
high = 1
log = {log}
[[parameter]]
name = "c"
type = "choice"
values = {values}
"""
GOOD = {"n": "5", "low": "0.1", "log": "false", "values": '["a", "b"]'}


def messages(**bad) -> list[str]:
    return [str(i) for i in loads_study(TEXT.format(**{**GOOD, **bad})).all_issues()]


@pytest.mark.parametrize(
    "bad, expected",
    [
        (
            {"n": '"50"'},
            "'n_trials' must be a whole number, not '50'; write it without quotes: n_trials = 50",
        ),
        (
            {"log": '"true"'},
            "'log' must be true or false, not 'true'; write it without quotes: log = true",
        ),
        (
            {"low": '"1e-3"'},
            "'low' must be a number, not '1e-3'; write it without quotes: low = 1e-3",
        ),
        (
            {"values": '"a, b"'},
            "'values' must be a list [ ... ], not 'a, b'; write values = [\"a\", \"b\"]",
        ),
    ],
)
def test_quoted_value_gets_the_line_to_write(bad, expected):
    got = messages(**bad)
    assert len(got) == 1 and got[0].endswith(expected), got


def test_text_that_is_no_number_gets_no_hint():
    (msg,) = messages(n='"many"')
    assert msg.endswith("'n_trials' must be a whole number, not 'many'")


RESOURCES = """[study]
name = "s"
[program]
command = "./run %(x)"
[[parameter]]
name = "x"
type = "float"
low = 0
high = 1
[resources]
time = {time}
"""


@pytest.mark.parametrize("time", ["60", '"90"', "2.5"])
def test_slurm_time_without_unit_asks_for_one(time):
    bare = time.strip('"')
    (msg,) = [str(i) for i in loads_study(RESOURCES.format(time=time)).all_issues()]
    assert msg == (
        f"study.toml:11: [resources]: time {bare} has no unit; SLURM and OmniOpt2 read it as "
        f'minutes, a duration here as seconds: write time = "{bare}m" (or "{bare}s")'
    )


@pytest.mark.parametrize("time", ['"60m"', '"02:00:00"', '"1-00:00:00"', '"90s"'])
def test_slurm_time_with_unit_is_fine(time):
    assert loads_study(RESOURCES.format(time=time)).all_issues() == []


@pytest.mark.parametrize("mem", ["4", '"16"'])
def test_mem_in_gigabytes_habit_is_caught(mem):
    text = RESOURCES.replace("time = {time}", f"mem = {mem}")
    (msg,) = [str(i) for i in loads_study(text).all_issues()]
    bare = mem.strip('"')
    assert msg.endswith(f'too little for a worker; write mem = "{bare}G"')


@pytest.mark.parametrize("mem", ["4000", '"8G"', '"500M"'])
def test_mem_with_unit_or_megabytes_is_fine(mem):
    text = RESOURCES.replace("time = {time}", f"mem = {mem}")
    assert loads_study(text).all_issues() == []
