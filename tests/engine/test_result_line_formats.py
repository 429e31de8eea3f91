"""Result lines as programs really print them: near misses of 'NAME: value' say what is wrong.

OmniOpt accepts only ``RESULT: <number>`` at the start of a line. A program printing
``RESULT = 0.5`` or ``result: 0.5`` (or its result on stderr) used to fail with 'printed no
RESULT: <number> line' only; the reason now quotes the line it did print.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from omniopt_desktop.engine.results import FailureKind, RunEnd, classify, parse_output, tail

OK = RunEnd(exit_code=0)


@pytest.mark.parametrize(
    "out",
    ["RESULT = 0.5", "RESULT=0.5", "result: 0.5", "Result:0.5", "final RESULT: 0.5", "RESULT 0.5"],
)
def test_near_miss_is_quoted_in_the_reason(out):
    outcome = classify(OK, parse_output(f"noise\n{out}\nmore noise\n", ["RESULT"]), ["RESULT"])
    assert outcome.failure is FailureKind.NO_RESULT
    assert f"(it printed '{out}'; the line must start with 'RESULT:')" in outcome.reason


@pytest.mark.parametrize("out", ["RESULT:0.5", "  RESULT :  0.5  ", "RESULT: 5e-1\r"])
def test_accepted_forms(out):
    assert classify(OK, parse_output(out, ["RESULT"]), ["RESULT"]).values == [0.5]


@pytest.mark.parametrize("out", ["RESULTS: 1", "MY_RESULT: 1", "the RESULT is fine", "nothing"])
def test_unrelated_lines_are_not_near_misses(out):
    outcome = classify(OK, parse_output(out, ["RESULT"]), ["RESULT"])
    assert outcome.reason == "no result: the program printed no 'RESULT: <number>' line"


def test_one_objective_found_the_other_near_missed():
    parsed = parse_output("LOSS: 1\nacc = 0.9\n", ["LOSS", "ACC"])
    assert parsed.near == {"ACC": "acc = 0.9"}
    assert "(it printed 'acc = 0.9'" in classify(OK, parsed, ["LOSS", "ACC"]).reason


def test_result_on_stderr_says_stdout():
    outcome = classify(OK, parse_output("", ["RESULT"]), ["RESULT"], tail("warn\nRESULT: 3\n"))
    assert "'RESULT: <number>' line on stdout (it printed one on stderr)" in outcome.reason


STUDY = """\
[study]
name = "eq"
n_trials = 1
max_failures = 1
[[objective]]
name = "RESULT"
[program]
command = "echo 'RESULT = %(x)'"
[[parameter]]
name = "x"
type = "float"
low = 0
high = 1
"""


def test_run_reports_the_near_miss(tmp_path):
    (tmp_path / "study.toml").write_text(STUDY)
    r = subprocess.run(
        [sys.executable, "-m", "omniopt_desktop.cli", "run", str(tmp_path / "study.toml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0
    assert "(it printed 'RESULT = " in r.stderr + r.stdout
    status = json.loads((tmp_path / "runs" / "eq" / "trials" / "0" / "status.json").read_text())
    assert "the line must start with 'RESULT:'" in status["fail_reason"]
