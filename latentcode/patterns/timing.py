"""Moving patterns in time: scaling, shifting and reversing, built from the two helpers of the
core (:meth:`~latentcode.patterns.core.Pattern.with_query_span` and
:meth:`~latentcode.patterns.core.Pattern.with_event_span`).

These are the primitives of the language's ``fast``, ``slow``, ``early``, ``late`` and ``rev``
and of mini-notation's ``*`` and ``/``; factors and offsets here are constants (Fractions).

>>> from latentcode import mini
>>> [str(e.whole) for e in shift(mini("a"), Fraction(1, 4)).query(0, 1)]
['-3/4→1/4', '1/4→5/4']
"""

from __future__ import annotations

import math

from latentcode.patterns.core import Pattern, per_cycle
from latentcode.patterns.time import Fraction, Span


def scale(pat: Pattern, factor: Fraction) -> Pattern:
    """``pat`` played ``factor`` times as fast (``factor`` > 0).

    >>> from latentcode import mini
    >>> [str(e.whole) for e in scale(mini("a b"), Fraction(2)).query(0, Fraction(1, 2))]
    ['0→1/4', '1/4→1/2']
    """
    inv = 1 / factor
    out = (pat.with_query_span(lambda s: Span(s.begin * factor, s.end * factor),
                               lambda t: t * factor)
           .with_event_span(lambda s: Span(s.begin * inv, s.end * inv)))
    out.period = scaled_period(pat.period, factor)
    return out


def scaled_period(period: int | None, factor: Fraction) -> int | None:
    """The period of a pattern of ``period`` cycles played ``factor`` times as fast: the fewest
    whole cycles that hold a whole number of its periods.

    >>> [scaled_period(p, Fraction(a, b)) for p, a, b in ((1, 1, 3), (2, 4, 1), (1, 3, 2))]
    [3, 1, 2]
    """
    if period is None:
        return None
    a, b = factor.numerator, factor.denominator  # P outer cycles are P * a / b inner ones
    return period * b // math.gcd(period * b, a)


def shift(pat: Pattern, offset: Fraction) -> Pattern:
    """``pat`` moved ``offset`` cycles later (earlier when ``offset`` is negative).

    >>> from latentcode import mini
    >>> [e.value for e in shift(mini("a b c d"), Fraction(-1, 4)).query(0, 1)]
    ['b', 'c', 'd', 'a']
    """
    if offset == 0:
        return pat
    out = (pat.with_query_span(lambda s: Span(s.begin - offset, s.end - offset),
                               lambda t: t - offset)
           .with_event_span(lambda s: Span(s.begin + offset, s.end + offset)))
    out.period = pat.period  # moved, it repeats as often
    return out


def rev(pat: Pattern) -> Pattern:
    """Each cycle of ``pat`` played backwards.

    >>> from latentcode import mini
    >>> [(str(e.whole), e.value) for e in rev(mini("a [b c]")).query(0, 1)]
    [('1/2→1', 'a'), ('1/4→1/2', 'b'), ('0→1/4', 'c')]
    """

    def cycle(c: int) -> Pattern:
        mirror = 2 * c + 1  # t -> mirror - t reflects cycle c onto itself

        def reflect(s: Span) -> Span:
            return Span(mirror - s.end, mirror - s.begin)

        return pat.with_query_span(reflect).with_event_span(reflect)

    return per_cycle(cycle, pat.period)  # each cycle reflected onto itself
