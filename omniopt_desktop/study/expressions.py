"""A small, safe expression language for ``when`` conditions and constraints.

Parsed with :mod:`ast` and evaluated by walking the tree — never ``eval``. Allowed: literals
(numbers, strings, booleans, None), names, arithmetic (``+ - * / // % **``, unary ``-``/``+``),
comparisons (chains included, ``in``/``not in`` against a literal list/tuple), ``and``/``or``/
``not``, parentheses, and the functions ``abs``, ``min``, ``max``, ``log``, ``exp``, ``sqrt``.

Python 3.9+, stdlib only.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable, Dict, FrozenSet, Mapping

from ..errors import ExpressionError

_BINOPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_FUNCS: Dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "log": math.log,
    "exp": math.exp,
    "sqrt": math.sqrt,
}
_LITERAL_NAMES = {"true": True, "false": False}


class Expression:
    """A checked expression. ``names`` are the variables it reads (function names excluded)."""

    __slots__ = ("text", "names", "_tree")

    def __init__(self, text: str, tree: ast.Expression, names: FrozenSet[str]) -> None:
        self.text = text
        self.names = names
        self._tree = tree

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        try:
            return _eval(self._tree.body, variables)
        except ExpressionError:
            raise
        except KeyError as e:
            raise ExpressionError(f"'{self.text}': unknown name {e.args[0]!r}") from None
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as e:
            raise ExpressionError(f"'{self.text}': {e}") from None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def compile_expression(text: str) -> Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` naming what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError('empty expression; write e.g. "layers * 2 <= 12"')
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        col = f" at column {e.offset}" if e.offset else ""
        raise ExpressionError(f"'{text}': syntax error{col}; {e.msg}") from None
    names: set = set()
    _check(tree.body, text, names)
    return Expression(text, tree, frozenset(names))


def _check(node: ast.AST, text: str, names: set) -> None:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool, type(None))):
            raise ExpressionError(f"'{text}': literal {node.value!r} is not allowed")
    elif isinstance(node, ast.Name):
        if node.id in _FUNCS:
            raise ExpressionError(f"'{text}': {node.id} is a function; call it: {node.id}(...)")
        if node.id not in _LITERAL_NAMES:
            names.add(node.id)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check(node.left, text, names)
        _check(node.right, text, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        _check(node.operand, text, names)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, text, names)
    elif isinstance(node, ast.Compare):
        _check(node.left, text, names)
        for op, comp in zip(node.ops, node.comparators):
            if type(op) not in _CMPOPS:
                raise ExpressionError(f"'{text}': comparison '{type(op).__name__}' is not allowed")
            _check(comp, text, names)
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for e in node.elts:
            _check(e, text, names)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
            allowed = ", ".join(sorted(_FUNCS))
            raise ExpressionError(f"'{text}': only these functions may be called: {allowed}")
        if node.keywords:
            raise ExpressionError(f"'{text}': keyword arguments are not allowed")
        for a in node.args:
            _check(a, text, names)
    else:
        what = {
            ast.Attribute: "attribute access ('.')",
            ast.Subscript: "indexing ('[...]')",
            ast.Lambda: "lambda",
            ast.IfExp: "'x if c else y'",
        }.get(type(node), type(node).__name__)
        raise ExpressionError(
            f"'{text}': {what} is not allowed; use names, numbers, strings, arithmetic, "
            "comparisons and and/or/not"
        )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float))


def _eval(node: ast.AST, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _LITERAL_NAMES:
            return _LITERAL_NAMES[node.id]
        return env[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 1000:
            raise ExpressionError(f"exponent {right} is too large")
        if isinstance(node.op, ast.Mult) and not (_is_number(left) and _is_number(right)):
            raise ExpressionError("'*' works on numbers only")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return not v
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for v in node.values:
                result = _eval(v, env)
                if not result:
                    return result
            return result
        result = False
        for v in node.values:
            result = _eval(v, env)
            if result:
                return result
        return result
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators):
            right = _eval(comp, env)
            if not _CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return tuple(_eval(e, env) for e in node.elts)
    if isinstance(node, ast.Call):
        return _FUNCS[node.func.id](*(_eval(a, env) for a in node.args))  # type: ignore[attr-defined]
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")  # unreachable after _check
