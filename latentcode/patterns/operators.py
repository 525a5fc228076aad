"""The arithmetic of the language, in one table (:data:`OPS`), and what the merge operators do
with values.

One table serves three places: the merge operators (``|+ gain 1`` adds, ``|<`` keeps the left
value), arithmetic on patterns (``"1 2" + 10``, :meth:`~latentcode.patterns.core.Pattern.operate`)
and the language's constant folding (``tempo 1/3``, :func:`fold`). On values taken from
patterns the operators never fail on a zero: ``x / 0`` and ``x % 0`` are 0, as in Tidal.

>>> OPS["+"](1, 2), OPS["+"]("bell", 2), OPS["/"](6, 3), OPS["/"](1, 0)
(3, 'bell2', 2, 0)
>>> OPS["++"]("bell", "2"), OPS["**"](2, 3), OPS["**"](4, 0.5), OPS["**"](0, -1)
('bell2', 8, 2.0, 0)
>>> fold("/", 1, 3)
Fraction(1, 3)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from latentcode.errors import LanguageError
from latentcode.patterns.sampled import Along, Sampled, sample_at
from latentcode.patterns.time import Fraction, PatternError


def add(a: Any, b: Any) -> Any:
    """Numbers add; with a string on either side the two are joined (``"bell" |+ 2``)."""
    if isinstance(a, str) or isinstance(b, str):
        return f"{a}{b}"
    return a + b


def divide(a: Any, b: Any) -> Any:
    """Division that keeps whole numbers whole and gives 0 for a zero divisor."""
    if b == 0:
        return 0
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def modulo(a: Any, b: Any) -> Any:
    """The remainder, 0 for a zero divisor."""
    return 0 if b == 0 else a % b


def concat(a: Any, b: Any) -> str:
    """The ``++`` of ``|++``: two words joined (``"bell" |++ "2"``); only words join."""
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    raise PatternError(f"++ joins words, not {a!r:.40} and {b!r:.40}: use + for numbers")


def power(a: Any, b: Any) -> Any:
    """The ``**`` of ``|**``: ``a`` to the power ``b``; 0 where there is no real answer (0 to
    a negative power, a negative number to a fractional one), as a division by 0 gives 0."""
    if isinstance(a, int) and isinstance(b, int) and 0 <= b <= 64:
        return a ** b  # whole numbers stay whole (and small: no 2 ** 10**9)
    try:
        result = float(a) ** float(b)
    except ZeroDivisionError:
        return 0
    return 0 if isinstance(result, complex) else result


def keep_right(a: Any, b: Any) -> Any:
    """The ``>`` of ``|>`` (and so of ``#``): the right value wins."""
    return b


def keep_left(a: Any, b: Any) -> Any:
    """The ``<`` of ``|<``: the left value stays."""
    return a


OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": keep_right, "<": keep_left, "+": add, "-": operator.sub, "*": operator.mul,
    "/": divide, "%": modulo, "++": concat, "**": power,
}

# ``|+``, ``+|`` and ``|+|``: where the structure comes from, for each operator of the table
MERGE_OPERATORS = ("#",) + tuple(
    f"{left}{op}{right}" for op in OPS for left, right in (("|", ""), ("", "|"), ("|", "|")))

# these take a value from one side, so they accept any pair of values
_PICKS = (keep_right, keep_left)
# and these accept words
_JOINS = (add, concat, *_PICKS)


def fold(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for two constants of the language, folded before anything is played.

    Division is exact (``1/3`` is a Fraction, so ``tempo 1/3`` is exactly a third) and a
    division by zero is an error here: a constant divided by zero is a mistake in the text.

    >>> fold("/", 6, 3), fold("*", 2, 0.5)
    (2, 1.0)
    """
    if op == "/":
        if b == 0:
            raise LanguageError("division by zero")
        if isinstance(a, int) and isinstance(b, int):
            q = Fraction(a, b)
            return int(q) if q.denominator == 1 else q
        return a / b
    return OPS[op](a, b)


def apply(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    """``op(a, b)`` for two event values: dicts key by key, Sampled numbers stay re-samplable.

    >>> apply(add, {"sound": "a", "gain": 1}, {"gain": 2})
    {'sound': 'a', 'gain': 3}
    """
    if isinstance(a, Sampled) or isinstance(b, Sampled):
        if op in _PICKS:  # one side's value as it is: a signal stays itself
            return op(a, b)
        if isinstance(a, Along) or isinstance(b, Along):  # read in a voice's own time
            return Along.combined(op, a, b)
        value = op(float(a), float(b))
        return Sampled.derived(value, lambda c: op(sample_at(a, c), sample_at(b, c)))
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = as_controls(a), as_controls(b)
        out = dict(a)
        for key, v in b.items():
            out[key] = apply(op, a[key], v) if key in a else v
        return out
    if (isinstance(a, str) or isinstance(b, str)) and op not in _JOINS:
        raise PatternError(f"cannot combine {a!r:.40} and {b!r:.40} with an arithmetic "
                           "operator: only + and ++ join words")
    try:
        return op(a, b)
    except (TypeError, ArithmeticError) as e:  # e.g. a number too large for a float
        raise PatternError(f"cannot combine {a!r:.40} and {b!r:.40}: {e}") from None


def as_controls(value: Any) -> dict:
    """A value as a dict of controls: a bare value is a sound name."""
    return value if isinstance(value, dict) else {"sound": value}


def union(a: Any, b: Any) -> dict:
    """``a # b`` for two values: the right's controls win (the common case, kept fast)."""
    return {**(a if type(a) is dict else {"sound": a}), **(b if type(b) is dict else {"sound": b})}


def merge_operator(name: str) -> tuple[str, Callable[[Any, Any], Any]]:
    """Where the structure of ``left <name> right`` comes from, and how its values combine.

    >>> structure, combine = merge_operator("|+")
    >>> structure, combine({"gain": 1}, {"gain": 2})
    ('left', {'gain': 3})
    """
    if name == "#":
        name = "|>"
    if name not in MERGE_OPERATORS:
        raise LanguageError(f"unknown operator {name!r}")
    structure = ("both" if name[0] == "|" and name[-1] == "|"
                 else "left" if name[0] == "|" else "right")
    op = OPS[name.strip("|")]
    if op is keep_right:
        return structure, union
    return structure, lambda a, b: apply(op, as_controls(a), as_controls(b))
