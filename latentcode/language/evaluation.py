"""Evaluation: an expression tree of the language becomes a Pattern (or a function, a number).

Names are looked up in the ``let`` bindings, then in the function registry; application curries
as in Haskell; sections and ``.`` make functions; the operators combine patterns.

>>> from latentcode.language.statements import parse_expression
>>> evaluate(parse_expression('fast 2 $ "a b"')).query(0, 1)[1].value
'b'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from latentcode.controls import RENAMED
from latentcode.errors import LanguageError
from latentcode.language.mininotation import mini
from latentcode.language.positions import find_culprit
from latentcode.language.statements import (
    App,
    BinOp,
    ListOf,
    Name,
    Node,
    Num,
    Section,
    Str,
    TupleOf,
)
from latentcode.patterns.core import Pattern, merge_op, reify
from latentcode.patterns.functions import early, late
from latentcode.patterns.operators import fold
from latentcode.patterns.registry import FUNCTIONS, Curried
from latentcode.patterns.time import Fraction


class _Function:
    """A function value made by the language (a section or a composition)."""

    __slots__ = ("fn", "description")

    def __init__(self, fn: Callable[[Any], Any], description: str) -> None:
        self.fn = fn
        self.description = description

    def __call__(self, arg: Any) -> Any:
        return self.fn(arg)

    def __repr__(self) -> str:
        return self.description


def _fail(node: Node, message: str) -> LanguageError:
    return LanguageError(message, line=node.line or None, column=node.column or None,
                         source_line=node.source or None)


def _describe(value: Any) -> str:
    if isinstance(value, Pattern):
        return "a pattern"
    if isinstance(value, Curried):
        return f"the function '{value.spec.name}'"
    if callable(value):
        return "a function"
    if isinstance(value, list | tuple):
        return "a list"
    return f"the number {value}" if isinstance(value, int | float | Fraction) else repr(value)


def _operate(node: BinOp | Section, op: str, left: Any, right: Any) -> Any:
    if op == "$":
        return _apply(node, left, right, None)
    if op == ".":
        for side in (left, right):
            if not callable(side) or isinstance(side, Pattern):
                raise _fail(node, f"'.' joins two functions, but got {_describe(side)}")
        return _Function(lambda x: left(right(x)), f"({left} . {right})")
    if op in ("+", "-", "*", "/") and isinstance(left, int | float | Fraction) and isinstance(
            right, int | float | Fraction):
        return fold(op, left, right)  # constants: exact, and 1/0 is an error
    for side in (left, right):
        if callable(side) and not isinstance(side, Pattern):
            raise _fail(node, f"'{op}' needs a pattern on each side, but got {_describe(side)}")
        if isinstance(side, list | tuple):
            raise _fail(node, f"'{op}' needs a pattern on each side, but got a list")
    if op == "<~":
        return early(left, right)
    if op == "~>":
        return late(left, right)
    if op in ("+", "-", "*", "/"):
        return reify(left).operate(op, reify(right))  # a pattern divided by 0 gives 0
    return merge_op(op, reify(left), reify(right))


def _apply(node: Node, f: Any, arg: Any, name: str | None) -> Any:
    if isinstance(f, Curried) or (callable(f) and not isinstance(f, Pattern)):
        return f(arg)
    more = getattr(f, "apply_more", None)  # a pattern with optional arguments: cc 74 2
    if more is not None:
        return more(arg)
    if name is not None:
        spec = FUNCTIONS[name]
        raise _fail(node, f"too many arguments: {name} takes {len(spec.params)} "
                          f"({', '.join(p.name for p in spec.params) or 'none'})")
    raise _fail(node, f"{_describe(f)} is not a function and cannot be applied to "
                      f"{_describe(arg)} (a missing '$' or '#'?)")


def _lookup(node: Name, env: Mapping[str, Any]) -> Any:
    if node.name in env:
        return env[node.name]
    spec = FUNCTIONS.get(node.name)
    if spec is None and node.name in RENAMED:
        raise _fail(node, RENAMED[node.name])
    if spec is None and node.name in TIDAL_ONLY:
        raise _fail(node, TIDAL_ONLY[node.name])
    if spec is None:
        known = sorted(set(env) | set(FUNCTIONS))
        close = difflib.get_close_matches(node.name, known, n=1)
        hint = f": did you mean '{close[0]}'?" if close else ""
        raise _fail(node, f"unknown function '{node.name}'{hint}")
    return spec.function() if not spec.params else Curried(spec, ())


# Tidal words whose form the language cannot write, and how to say the same here.
TIDAL_ONLY: dict[str, str] = {
    "whenT": "whenT takes a function of time, which latentcode cannot write (it has no "
             "comparisons): a pattern of 1s and 0s in time says when, e.g. "
             "while \"1 0\" (# speed 2) $ ... for Tidal's whenT ((< 0.5) . cyclePos)",
}


def _value(node: Node, env: Mapping[str, Any]) -> Any:
    try:
        return _eval(node, env)
    except LanguageError as exc:
        if exc.line is None and node.line:
            exc.line, exc.column, exc.source_line = node.line, _column(node, exc), node.source
        raise


def _column(node: Node, exc: LanguageError) -> int:
    """Where an error met in ``node`` points: at its culprit (the word that caused it) where
    the line shows it from the node on, after the control or function it was given to when
    the error names one (``after``), else at the node."""
    if not exc.culprit or not node.source:
        return node.column
    found = find_culprit(node.source, exc.culprit, exc.after, node.column - 1)
    return found + 1 if found is not None else node.column


def _eval(node: Node, env: Mapping[str, Any]) -> Any:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Str):
        return mini(node.text, node.line, node.column + 1)
    if isinstance(node, Name):
        return _lookup(node, env)
    if isinstance(node, App):
        f = _value(node.function, env)
        name = node.function.name if isinstance(node.function, Name) else None
        for arg in node.args:
            f = _apply(arg, f, _value(arg, env), name)
        return f
    if isinstance(node, BinOp):
        left, right = _value(node.left, env), _value(node.right, env)
        try:
            return _operate(node, node.op, left, right)
        except LanguageError as exc:
            if exc.line is None and node.op == "$":  # blame the function, not the '$'
                exc.line, exc.column, exc.source_line = (node.left.line,
                                                         _column(node.left, exc),
                                                         node.left.source)
            raise
    if isinstance(node, Section):
        if node.left is not None:
            left = _value(node.left, env)
            return _Function(lambda x: _operate(node, node.op, left, x), f"({node.op} section)")
        right = _value(node.right, env)
        return _Function(lambda x: _operate(node, node.op, x, right), f"({node.op} section)")
    if isinstance(node, ListOf):
        return [_value(item, env) for item in node.items]
    if isinstance(node, TupleOf):
        return tuple(_value(item, env) for item in node.items)
    raise LanguageError(f"cannot evaluate {node!r}")


def evaluate(expr: Node, env: Mapping[str, Any] | None = None, *, value: bool = False) -> Any:
    """The Pattern an expression describes; ``env`` holds the ``let`` bindings.

    With ``value=True`` any value is returned (a function for ``let f = fast 2``), otherwise
    the result must be a pattern (a number or string becomes one).

    >>> from latentcode.language.statements import parse_expression
    >>> evaluate(parse_expression('fast 2 $ "a b"')).query(0, 1)[1].value
    'b'
    """
    result = _value(expr, env or {})
    if value or isinstance(result, Pattern):
        return result
    if isinstance(result, int | float | Fraction | str):
        return reify(result)
    if isinstance(result, Curried):
        missing = ", ".join(p.name for p in result.missing)
        raise _fail(expr, f"{result.spec.name} needs more arguments: {missing}")
    raise _fail(expr, f"expected a pattern, got {_describe(result)} (apply it with '$')")
