from __future__ import annotations

import shlex
import subprocess

import pytest

from omniopt_desktop.errors import TemplateError
from omniopt_desktop.study.template import format_value, parameter_env, placeholders, render_command


def test_both_placeholder_forms_and_order():
    assert placeholders("a %(x) ($y) %(x) %(z)") == ["x", "y", "z"]


def test_name_never_matches_inside_a_longer_one():
    cmd = render_command("p --lr %(lr) --decay %(lr_decay) ($lr)", {"lr": 0.5, "lr_decay": 0.25})
    assert shlex.split(cmd) == ["p", "--lr", "0.5", "--decay", "0.25", "0.5"]


@pytest.mark.parametrize(
    "value", ["a; rm -rf ~", "$(touch pwned)", "`id`", "it's", "a b\nc", "*", ""]
)
def test_values_are_one_argument_and_run_nothing(tmp_path, value):
    cmd = render_command("printf '%s\\n' %(v) | od -c >/dev/null; printf '[%s]' %(v)", {"v": value})
    out = subprocess.run(
        ["/bin/sh", "-c", cmd], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    assert out == f"[{value}]"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "x", [0.1, 1e-5, 1 / 3, 123456789.123456789, 5e-324, 1.7976931348623157e308, -2.5, 3.0]
)
def test_floats_round_trip_exactly(x):
    assert float(format_value(x)) == x
    assert float(shlex.split(render_command("%(x)", {"x": x}))[0]) == x


@pytest.mark.parametrize(
    "x, text",
    [(0.1 + 0.2, "0.3"), (3 * 0.05, "0.15"), (0.05 * 7, "0.35"), (1.1 * 3, "3.3"), (1e-5 * 3, "3e-05")],
)
def test_grid_values_lose_their_float_noise(x, text):
    """A step parameter's grid value (low + k * step) reached the program, the summary and the
    CSV as 0.30000000000000004."""
    assert repr(x) != text and format_value(x) == text


def test_sampled_floats_keep_every_digit():
    import random

    rng = random.Random(5)
    values = [rng.uniform(-10, 10) for _ in range(2000)] + [rng.random() for _ in range(2000)]
    exact = sum(float(format_value(v)) == v for v in values)
    assert exact >= len(values) - 2, exact


def test_booleans_ints_and_inactive_parameters():
    assert format_value(True) == "true" and format_value(False) == "false"
    assert format_value(7) == "7"
    assert render_command("a %(m) b", {}, known=["m"]) == "a '' b"


def test_unknown_placeholder_is_an_error():
    with pytest.raises(TemplateError, match="unknown parameter 'lrr'"):
        render_command("x %(lrr)", {"lr": 1}, known=["lr"])


def test_parameter_env():
    assert parameter_env({"lr": 0.1, "act": "relu", "f": False}) == {
        "OMNIOPT_PARAM_lr": "0.1",
        "OMNIOPT_PARAM_act": "relu",
        "OMNIOPT_PARAM_f": "false",
    }
