from __future__ import annotations

import pytest

from omniopt_desktop.errors import ExpressionError
from omniopt_desktop.study.expressions import compile_expression


@pytest.mark.parametrize(
    "text,env,expected",
    [
        ("layers * 2 <= 12", {"layers": 6}, True),
        ("layers * 2 <= 12", {"layers": 7}, False),
        ("act == 'relu'", {"act": "relu"}, True),
        ("act == 'relu' and not flag", {"act": "relu", "flag": True}, False),
        ("a < b < c", {"a": 1, "b": 2, "c": 3}, True),
        ("a < b < c", {"a": 1, "b": 5, "c": 3}, False),
        ("x in [1, 2, 3]", {"x": 2}, True),
        ("x not in ('a', 'b')", {"x": "c"}, True),
        ("-x + 2 ** 3 // 3 % 5", {"x": 1}, 1),
        ("max(a, b) - min(a, b) > 1", {"a": 1, "b": 5}, True),
        ("log(exp(1)) == 1", {}, True),
        ("flag == true or other", {"flag": False, "other": 0}, 0),
        ("lr / 2 > 1e-3", {"lr": 0.1}, True),
    ],
)
def test_evaluates(text, env, expected):
    assert compile_expression(text).evaluate(env) == expected


def test_names_exclude_functions_and_literals():
    e = compile_expression("max(lr, wd) > 0 and act == 'relu' and flag == true")
    assert e.names == frozenset({"lr", "wd", "act", "flag"})


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("__import__('os').system('x')", "only these functions"),
        ("a.b", "attribute access"),
        ("x[0]", "indexing"),
        ("(lambda: 1)()", "only these functions"),
        ("1 if a else 2", "'x if c else y'"),
        ("a +", "syntax error"),
        ("", "empty expression"),
        ("[x for x in y]", "ListComp"),
        ("max(a, key=b)", "keyword"),
        ("a is b", "comparison 'Is'"),
    ],
)
def test_rejects(text, fragment):
    with pytest.raises(ExpressionError) as e:
        compile_expression(text)
    assert fragment in str(e.value)


def test_unknown_name_and_runtime_errors_are_expression_errors():
    with pytest.raises(ExpressionError, match="unknown name 'k'"):
        compile_expression("k > 1").evaluate({})
    with pytest.raises(ExpressionError, match="division by zero"):
        compile_expression("1 / x").evaluate({"x": 0})
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression("2 ** x").evaluate({"x": 10**6})
    with pytest.raises(ExpressionError, match="numbers only"):
        compile_expression("s * 1000000").evaluate({"s": "a"})
