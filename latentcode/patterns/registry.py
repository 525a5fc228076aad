"""The function library: one registry for the language and the Python API.

Every function is a small Python function of the same name as in the language, decorated with
:func:`register`. The decorator reads the parameter annotations:

========================  =====================================================================
annotation                meaning
========================  =====================================================================
``Pattern``               a pattern; a string is mini-notation, a number a constant
``Time`` ``float`` ``int``  a value, *patternable*: a constant takes a fast path, a pattern is
                          joined (the function is applied per event of it, structure from the
                          result)
``Fn``                    a function from pattern to pattern, e.g. ``(fast 2)``
``list[...]``             a list of patterns, functions or ``(weight, pattern)`` pairs
========================  =====================================================================

Called with fewer arguments than it takes, a function returns a :class:`Curried` waiting for
the rest, as in Haskell: ``every(4, fast(2), p)``. ``FUNCTIONS`` maps each name to a
:class:`FunctionSpec` (signature and docstring for ``:help`` and completion). Every docstring
has an ``lc>`` line, an equation in the language that the tests check.

A function whose last parameter is a pattern also becomes a method of :class:`Pattern`, as
Strudel's ``register`` does: ``p.fast(2)`` is ``fast(2, p)``.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from latentcode.errors import LanguageError
from latentcode.patterns.arguments import argument, join_arguments
from latentcode.patterns.core import Pattern, Pure, reify

Fn = Callable[[Pattern], Pattern]
# a function that takes a value first and then a pattern: what spread gives each value to
FnOf = Callable[[Any], Fn]

_KINDS = {
    "Pattern": "pattern", "Time": "time", "float": "number", "int": "int", "Fn": "function",
    "FnOf": "function of a value",
    "list[Pattern]": "patterns", "list[Fn]": "functions", "list[tuple[Time, Pattern]]": "pairs",
    "list": "values", "tuple[Time, Time]": "span",
}
PATTERNABLE = frozenset({"time", "number", "int"})


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # one of _KINDS' values


@dataclass
class FunctionSpec:
    """One library function: its name, parameters, documentation and callable."""

    name: str
    params: tuple[Param, ...]
    doc: str
    function: Callable[..., Any] = field(repr=False)
    impl: Callable[..., Any] = field(repr=False)

    @property
    def signature(self) -> str:
        """``fast factor pat``: how it is called in the language."""
        return " ".join([self.name, *(p.name for p in self.params)])

    @property
    def summary(self) -> str:
        """The first line of the docstring."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    @property
    def examples(self) -> list[tuple[str, str]]:
        """The ``lc>`` equations of the docstring, as (left, right) source pairs."""
        out = []
        for line in self.doc.splitlines():
            line = line.strip()
            if line.startswith("lc> "):
                left, right = line[4:].split("  ==  ")
                out.append((left.strip(), right.strip()))
        return out


FUNCTIONS: dict[str, FunctionSpec] = {}


class Curried:
    """A library function given some of its arguments; call it with the rest.

    >>> from latentcode.patterns.functions import fast
    >>> f = fast(2)
    >>> f("a b").query(0, 1)[1].value
    'b'
    """

    __slots__ = ("spec", "args")

    def __init__(self, spec: FunctionSpec, args: Sequence[Any]) -> None:
        self.spec = spec
        self.args = tuple(args)

    @property
    def missing(self) -> tuple[Param, ...]:
        return self.spec.params[len(self.args):]

    def __call__(self, *more: Any) -> Any:
        return self.spec.function(*self.args, *more)

    def __repr__(self) -> str:
        return f"<{self.spec.name} waiting for {', '.join(p.name for p in self.missing)}>"


def _convert(spec: FunctionSpec, param: Param, value: Any) -> Any:
    """A value taken from a pattern's event, as the parameter's kind needs it."""
    return argument(value, param.kind, spec.name, param.name)


def _coerce(spec: FunctionSpec, param: Param, value: Any) -> Any:
    """An argument as given (Python or language) made ready for the implementation."""
    kind = param.kind

    def bad(wanted: str) -> LanguageError:
        got = "a function" if callable(value) and not isinstance(value, Pattern) else (
            "a pattern" if isinstance(value, Pattern) else f"{value!r}")
        return LanguageError(f"{spec.name}: argument '{param.name}' must be {wanted}, not {got}")

    if kind == "pattern":
        if isinstance(value, Pattern | str | dict | numbers.Real):
            return reify(value)
        raise bad("a pattern, a string or a number")
    if kind in PATTERNABLE:
        if isinstance(value, str):
            value = reify(value)
        if isinstance(value, Pure):  # "2" is as constant as 2: take the fast path
            return _convert(spec, param, value.value)
        if isinstance(value, Pattern):
            return value
        if isinstance(value, numbers.Real):  # any rational too (fractions.Fraction)
            return _convert(spec, param, value)
        raise bad("a number or a pattern")
    if kind == "function":
        if callable(value) and not isinstance(value, Pattern):
            return _checked_function(spec, param, value)
        raise bad("a function such as (fast 2)")
    if kind == "function of a value":
        if callable(value) and not isinstance(value, Pattern):
            return _function_of_a_value(spec, param, value)
        raise bad("a function that takes a value and then a pattern, such as fast")
    if kind == "span":
        if isinstance(value, tuple | list) and len(value) == 2:
            return tuple(_convert(spec, Param(param.name, "time"), v) for v in value)
        raise bad("a pair such as (0, 0.5)")
    if not isinstance(value, list | tuple):
        raise bad("a list such as [\"a\", \"b\"]")
    if kind == "patterns":
        return [_coerce(spec, Param(param.name, "pattern"), v) for v in value]
    if kind == "functions":
        return [_coerce(spec, Param(param.name, "function"), v) for v in value]
    if kind == "pairs":
        out = []
        for v in value:
            if not (isinstance(v, tuple | list) and len(v) == 2):
                raise bad("a list of pairs such as [(1, \"a\"), (2, \"b\")]")
            out.append((_convert(spec, Param(param.name, "time"), v[0]),
                        _coerce(spec, Param(param.name, "pattern"), v[1])))
        return out
    # "values": plain values; a string such as "a" arrives as a one-atom pattern
    return [v.sample(0) if isinstance(v, Pattern) else v for v in value]


def _function_of_a_value(spec: FunctionSpec, param: Param, f: Callable) -> FnOf:
    def give(v: Any) -> Fn:
        made = f(v)
        if callable(made) and not isinstance(made, Pattern):
            return _checked_function(spec, param, made)
        raise LanguageError(f"{spec.name}: the function given as '{param.name}' must take a "
                            f"value and then a pattern (such as fast), not a pattern alone")

    return give


def _checked_function(spec: FunctionSpec, param: Param, f: Callable) -> Fn:
    def call(p: Pattern) -> Pattern:
        result = f(p)
        if isinstance(result, Pattern):
            return result
        if isinstance(result, Curried):
            raise LanguageError(f"{spec.name}: the function given as '{param.name}' still needs "
                                f"{', '.join(q.name for q in result.missing)}")
        raise LanguageError(f"{spec.name}: the function given as '{param.name}' must return a "
                            f"pattern")

    return call


def register(impl: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Make ``impl`` a library function: patternable arguments, currying, an entry in FUNCTIONS.

    The implementation receives constants only; patterned arguments are joined around it.
    """
    if impl is None:
        return lambda f: register(f, name=name)
    fname = name or impl.__name__.rstrip("_")
    params = tuple(Param(p.name.rstrip("_"), _KINDS[str(p.annotation)])
                   for p in inspect.signature(impl).parameters.values())
    arity = len(params)
    spec = FunctionSpec(fname, params, inspect.cleandoc(impl.__doc__ or ""), impl, impl)
    patternable = [i for i, p in enumerate(params) if p.kind in PATTERNABLE]

    def function(*args: Any) -> Any:
        if len(args) < arity:
            return Curried(spec, args)
        if len(args) > arity:
            raise LanguageError(f"{fname} takes {arity} argument{'s' * (arity != 1)} "
                                f"({', '.join(p.name for p in params)}), got {len(args)}")
        values = [_coerce(spec, p, a) for p, a in zip(params, args, strict=True)]
        joined = [i for i in patternable if isinstance(values[i], Pattern)]
        if not joined:
            return impl(*values)
        return _join_arguments(spec, impl, values, joined)

    function.__name__ = fname
    function.__doc__ = spec.doc
    spec.function = function
    FUNCTIONS[fname] = spec
    if params and params[-1].kind == "pattern":
        _install_method(fname)
    return function


def _join_arguments(spec: FunctionSpec, impl: Callable, values: list, joined: list[int]) -> Pattern:
    """Apply ``impl`` per event of the patterned arguments (Tidal's tParam and innerJoin)."""
    return join_arguments(impl, values, joined,
                          lambda i, v: _convert(spec, spec.params[i], v))


class _Method:
    """A library function as a method of Pattern: ``p.name(*args)`` is ``name(*args, p)``.

    The function is looked up in ``FUNCTIONS`` at each use, so a function registered again is
    the new one, and one taken out of the registry (a test's temporary function) is no longer a
    method either.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, pat: Pattern | None, owner: type | None = None) -> Any:
        spec = FUNCTIONS.get(self.name)
        if spec is None or not spec.params or spec.params[-1].kind != "pattern":
            raise AttributeError(f"'Pattern' object has no attribute {self.name!r}")
        if pat is None:
            return self
        fn = spec.function
        return lambda *args: fn(*args, pat)

    def __repr__(self) -> str:
        return f"<library method {self.name}>"


def _install_method(name: str) -> None:
    # The core's own methods (query, fmap, merge, set, sample, onsets, ...) win: a library
    # function of the same name stays a word of the language but never replaces them.
    existing = inspect.getattr_static(Pattern, name, None)
    if existing is None:
        setattr(Pattern, name, _Method(name))


def register_value(fname: str, pattern: Pattern, doc: str) -> Pattern:
    """A name for a pattern taking no arguments (signals, ``silence``)."""
    FUNCTIONS[fname] = FunctionSpec(fname, (), inspect.cleandoc(doc), lambda: pattern,
                                    lambda: pattern)
    return pattern
