"""Result parsing and failure classification (pure functions, no processes)."""

from __future__ import annotations

import math

import pytest

from omniopt_desktop.engine.results import (
    FailureKind,
    RunEnd,
    classify,
    parse_number,
    parse_output,
    tail,
)

OK = RunEnd(exit_code=0)


def test_last_line_wins_and_other_lines_ignored():
    out = "epoch 1\nRESULT: 5\nRESULTS: 9\nMY_RESULT: 7\n  RESULT : 0.25  \nnoise"
    parsed = parse_output(out, ["RESULT"])
    assert parsed.raw == {"RESULT": "0.25"}
    assert classify(OK, parsed, ["RESULT"]).values == [0.25]


@pytest.mark.parametrize(
    "text, value",
    [("1e-3", 1e-3), ("-2.5E+4", -2.5e4), ("3", 3.0), ("+7.5", 7.5), ("0.1 (loss)", 0.1)],
)
def test_numbers_with_exponents(text, value):
    assert parse_number(text) == value


def test_several_objectives_in_order():
    parsed = parse_output("LOSS: 2\nACC: 0.9\n", ["ACC", "LOSS"])
    assert classify(OK, parsed, ["ACC", "LOSS"]).values == [0.9, 2.0]


def test_oo_info_lines_become_attrs():
    out = "OO-Info: gpu: A100\nOO-Info: epochs_run: 12\nOO-Info: gpu: H100\nRESULT: 1\n"
    parsed = parse_output(out, ["RESULT"])
    assert parsed.info == {"gpu": "H100", "epochs_run": 12.0}
    assert "RESULT" in parsed.raw


@pytest.mark.parametrize(
    "out, kind",
    [
        ("nothing here\n", FailureKind.NO_RESULT),
        ("RESULT: oops\n", FailureKind.NON_NUMERIC),
        ("RESULT:\n", FailureKind.NON_NUMERIC),
        ("RESULT: nan\n", FailureKind.NON_FINITE),
        ("RESULT: inf\n", FailureKind.NON_FINITE),
        ("RESULT: -Infinity\n", FailureKind.NON_FINITE),
        ("RESULT: 1\nRESULT: nan\n", FailureKind.NON_FINITE),
    ],
)
def test_bad_results_fail_with_kind(out, kind):
    o = classify(OK, parse_output(out, ["RESULT"]), ["RESULT"], "Traceback: boom")
    assert o.failure is kind
    assert o.values is None
    assert o.reason.endswith("stderr: Traceback: boom")
    assert "\n" not in o.reason


def test_nan_value_text_is_kept_as_written():
    o = classify(OK, parse_output("RESULT: nan", ["RESULT"]), ["RESULT"])
    assert "non-finite" in o.reason and "nan" in o.reason
    assert math.isnan(parse_number("nan"))


@pytest.mark.parametrize(
    "end, kind, words",
    [
        (RunEnd(exit_code=3), FailureKind.EXIT_CODE, "exited with status 3"),
        (RunEnd(exit_code=None, signal="SIGSEGV"), FailureKind.SIGNAL, "killed by SIGSEGV"),
        (
            RunEnd(exit_code=None, signal="SIGTERM", timed_out=True, timeout=5),
            FailureKind.TIMEOUT,
            "timeout of 5 s",
        ),
        (
            RunEnd(exit_code=None, signal="SIGTERM", interrupted=True),
            FailureKind.INTERRUPTED,
            "interrupted",
        ),
        (
            RunEnd(exit_code=None, start_error="No such file"),
            FailureKind.NOT_STARTED,
            "could not be started",
        ),
    ],
)
def test_run_ends_are_classified_before_results(end, kind, words):
    # a result line does not rescue a program that failed
    o = classify(end, parse_output("RESULT: 1", ["RESULT"]), ["RESULT"], "last words")
    assert o.failure is kind
    assert words in o.reason
    assert "last words" in o.reason


def test_missing_one_of_two_objectives():
    o = classify(OK, parse_output("A: 1", ["A", "B"]), ["A", "B"])
    assert o.failure is FailureKind.NO_RESULT and "'B: <number>'" in o.reason


def test_tail_is_one_bounded_line():
    text = "\n".join(f"line {i}" for i in range(100)) + "\n" + "x" * 1000
    t = tail(text, limit=200)
    assert "\n" not in t and len(t) <= 200 and t.endswith("x")
    assert tail("") == ""
    assert tail("a\n\nb\n") == "a | b"
