"""Time in cycles: exact fractions, spans, ratio shorthands and randomness as a function of time.

Cycles are exact fractions: quicktions' ``Fraction``, a compiled drop-in for
``fractions.Fraction`` with the same values, the same floats and the same repr, five to nine
times faster, which the rehearsal of every line and every query of a live block feel. Any other
rational (``fractions.Fraction`` included) is taken at the boundary (:func:`to_time`).

A :class:`Span` is [begin, end) in cycles; most queries lie inside one cycle and
:meth:`Span.cycles` splits the others at cycle boundaries. Randomness is a pure function of time
and seed (:func:`time_to_rand`), so querying a pattern twice gives the same events.
"""

from __future__ import annotations

import fractions
import math
import numbers
from typing import Any

from quicktions import Fraction

from latentcode.errors import LanguageError
from latentcode.patterns.budget import spend

Time = Fraction


class PatternError(LanguageError):
    """A pattern met a value it cannot use while being queried (e.g. ``fast "bd"``)."""

# ---------------------------------------------------------------------------------------------
# time


def to_time(x: Any) -> Fraction:
    """A time or factor as an exact Fraction; floats snap to the nearest simple ratio.

    >>> to_time(0.25), to_time(1 / 3), to_time("h")
    (Fraction(1, 4), Fraction(1, 3), Fraction(1, 2))
    """
    if type(x) is Fraction:
        return x
    if isinstance(x, int):
        return Fraction(int(x))
    if isinstance(x, float):
        if not math.isfinite(x):
            raise PatternError(f"expected a finite number, got {x}")
        return Fraction(x).limit_denominator(1 << 20)
    if isinstance(x, numbers.Rational):  # fractions.Fraction from a script, say
        return Fraction(x.numerator, x.denominator)
    return to_time(to_number(x))


def read_fraction(text: str) -> Fraction:
    """A number written as text (``"3"``, ``"0.25"``, ``"-1/3"``), exactly.

    Read by the standard library, never by quicktions' own constructor: quicktions 1.24, given
    a one-character string on CPython 3.11, writes the digit into an int object that CPython
    shares, after which ``int.from_bytes(b"\\0", "little")`` is no longer 0 (and torch cannot
    load a checkpoint). Every text that becomes a Fraction comes through here.

    >>> read_fraction("3"), read_fraction("0.25"), read_fraction("-1/3")
    (Fraction(3, 1), Fraction(1, 4), Fraction(-1, 3))
    """
    exact = fractions.Fraction(text)
    return Fraction(exact.numerator, exact.denominator)


SHORTHANDS = {  # mini-notation's ratio shorthands
    "w": Fraction(1), "h": Fraction(1, 2), "q": Fraction(1, 4), "e": Fraction(1, 8),
    "s": Fraction(1, 16), "t": Fraction(1, 3), "f": Fraction(1, 5), "x": Fraction(1, 6),
}


def to_number(x: Any) -> int | float:
    """A pattern value as a number; words ``w h q e s t f x`` are the ratio shorthands.

    Mini-notation keeps a bare ``h`` as the word "h" (it may be a sound name); anything that
    needs a number reads it as ½.

    >>> to_number("h"), to_number(-0.5), to_number(True)
    (0.5, -0.5, 1)
    """
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int | float):
        return x
    if isinstance(x, numbers.Real):  # our Fraction, or any other rational
        return float(x)
    if isinstance(x, str):
        sign = -1 if x.startswith("-") else 1
        short = SHORTHANDS.get(x.lstrip("-"))
        if short is not None:
            return sign * float(short)
        try:
            return float(x)
        except ValueError:
            pass
    # a word: the caret goes under it where the line shows it
    raise PatternError(f"expected a number, got {x!r}", culprit=x if isinstance(x, str) else None)


def _floor(t: Fraction) -> int:
    return t.numerator // t.denominator


def sam(t: Fraction) -> Fraction:
    """The start of the cycle ``t`` is in."""
    return Fraction(_floor(t))


# ---------------------------------------------------------------------------------------------
# spans and events


class Span:
    """A time span [begin, end) in cycles.

    >>> Span(Fraction(1, 2), Fraction(5, 2)).cycles()
    [Span(1/2, 1), Span(1, 2), Span(2, 5/2)]
    """

    __slots__ = ("begin", "end")

    def __init__(self, begin: Fraction, end: Fraction) -> None:
        self.begin = begin
        self.end = end

    def cycles(self) -> list[Span]:
        """Split at cycle boundaries; a zero-width span stays one span."""
        begin, end = self.begin, self.end
        # Most queries lie within one cycle: decide that with integer arithmetic only.
        bn, bd, en, ed = begin.numerator, begin.denominator, end.numerator, end.denominator
        if bn * ed >= en * bd:
            return [self] if bn * ed == en * bd else []
        if en <= (bn // bd + 1) * ed:
            return [self]
        # spend before building the list: "fast 1e12" spans 10^12 cycles
        spend(-(-en // ed) - bn // bd)
        out = []
        while begin < end:
            nxt = Fraction(_floor(begin) + 1)
            if nxt >= end:
                out.append(Span(begin, end))
                break
            out.append(Span(begin, nxt))
            begin = nxt
        return out

    def sect(self, other: Span) -> Span | None:
        """The intersection, or None when they do not meet (touching zero-width spans meet)."""
        b = self.begin if self.begin > other.begin else other.begin
        e = self.end if self.end < other.end else other.end
        if b > e:
            return None
        if b == e and (b == self.end and self.begin < self.end
                       or b == other.end and other.begin < other.end):
            return None
        return Span(b, e)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Span) and self.begin == other.begin
                and self.end == other.end)

    def __hash__(self) -> int:
        return hash((self.begin, self.end))

    def __repr__(self) -> str:
        return f"Span({self.begin}, {self.end})"

    def __str__(self) -> str:
        return f"{self.begin}→{self.end}"


# ---------------------------------------------------------------------------------------------
# randomness


def time_to_rand(t: float, seed: int = 0) -> float:
    """A pseudo-random number in [0, 1) that depends only on time and seed.

    Tidal's scheme: xorshift of frac(t/300)·2^29; a seed shifts time by 0.0001 cycles a step.

    >>> time_to_rand(1.5) == time_to_rand(1.5) and 0 <= time_to_rand(1.5) < 1
    True
    """
    x = (t + seed * 0.0001) / 300.0
    a = int((x - math.floor(x)) * 536870912)
    a ^= a << 13
    a ^= a >> 17
    a ^= a << 5
    return (a % 536870912) / 536870912
