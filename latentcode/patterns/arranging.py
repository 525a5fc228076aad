"""Arranging patterns: picking among patterns or functions by a pattern, spreading a function
over values, splitting a cycle between two patterns, and playing parts of one in a new order.

Tidal's ``select``, ``pickF``, ``spread`` (``slowspread``), ``fastspread``, ``wedge``, ``bite``,
``euclidFull``, ``stutter``, ``scan``, ``discretise`` and ``quantise``, registered as
:mod:`~latentcode.patterns.functions` does: each a small function with an ``lc>`` equation
that the tests check. A list index wraps round (``select 1 [a, b]`` is ``a`` again, as
``squeeze`` does with its numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from latentcode.errors import LanguageError
from latentcode.patterns.budget import check_count
from latentcode.patterns.core import Pattern
from latentcode.patterns.core import silence as _silence
from latentcode.patterns.echoes import echoWith
from latentcode.patterns.functions import euclid, euclidInv, run, segment, zoom
from latentcode.patterns.more import fastGap
from latentcode.patterns.registry import Fn, FnOf, register
from latentcode.patterns.sequences import fastcat, slowcat
from latentcode.patterns.sequences import stack as _stack
from latentcode.patterns.time import Fraction, Time, to_number
from latentcode.patterns.timing import shift


@register
def select(position: Pattern, pats: list[Pattern]) -> Pattern:
    """Choose a pattern from a list by a number from 0 to 1, cut to the chooser's events.

    0 picks the first, and each 1/n further the next (n patterns; past the last it wraps).

    lc> select "<0 0.5>" ["a b", "c*3"]  ==  "<[a b] [c c c]>"
    lc> select "0 0.5" ["a b", "c d"]  ==  "a d"
    """
    if not pats:
        return _silence
    n = len(pats)
    return position.fmap(
        lambda f: pats[math.floor(to_number(f) * n) % n]).inner_join()


@register
def pickF(index: Pattern, fs: list[Fn], pat: Pattern) -> Pattern:
    """Apply one function of a list to a pattern, picked by a pattern of whole numbers.

    lc> pickF "<0 1>" [fast 2, rev] $ "a b"  ==  "<[a b a b] [b a]>"
    """
    if not fs:
        return pat
    n = len(fs)
    return index.fmap(lambda i: fs[math.floor(to_number(i)) % n](pat)).inner_join()


def _spread(join: Callable[[list[Pattern]], Pattern], f: FnOf, values: list, pat: Pattern
            ) -> Pattern:
    return join([f(v)(pat) for v in values]) if values else _silence


@register
def spread(f: FnOf, values: list, pat: Pattern) -> Pattern:
    """Give a function each value of a list in turn, a cycle each.

    lc> spread fast [1, 2] $ "a b"  ==  "<[a b] [a b a b]>"
    """
    return _spread(slowcat, f, values, pat)


@register
def slowspread(f: FnOf, values: list, pat: Pattern) -> Pattern:
    """Tidal's other name of ``spread``.

    lc> slowspread fast [1, 2] $ "a b"  ==  spread fast [1, 2] $ "a b"
    """
    return _spread(slowcat, f, values, pat)


@register
def fastspread(f: FnOf, values: list, pat: Pattern) -> Pattern:
    """Like ``spread``, but every value in one cycle, each its share of it.

    lc> fastspread fast [1, 2] $ "a b"  ==  "[a b] [a b a b]"
    """
    return _spread(fastcat, f, values, pat)


@register
def wedge(share: Time, a: Pattern, b: Pattern) -> Pattern:
    """Squash ``a`` into the first ``share`` of each cycle and ``b`` into the rest.

    lc> wedge (1/4) "a a" "b b b"  ==  "[a a] b b b"
    lc> wedge 0 "a" "b"  ==  "b"
    """
    if share <= 0:
        return b
    if share >= 1:
        return a
    rest = 1 - share
    return _stack([fastGap(1 / share, a), shift(fastGap(1 / rest, b), share)])


@register
def bite(n: int, index: Pattern, pat: Pattern) -> Pattern:
    """Play the ``n`` parts of each cycle in the order of a pattern of their numbers.

    Each part is squeezed into the event that names it.

    lc> bite 4 "0 2*2" $ "a b c d e f g h"  ==  "[a b] [e f e f]"
    lc> bite 2 "1 0" $ "a b c d"  ==  "c d a b"
    """
    n = check_count(n, "bite")
    if n <= 0:
        return _silence

    def part(i: object) -> Pattern:
        k = math.floor(to_number(i)) % n
        return zoom((Fraction(k, n), Fraction(k + 1, n)), pat)

    return index.fmap(part).squeeze_join()


@register
def euclidFull(k: int, n: int, pat: Pattern, other: Pattern) -> Pattern:
    """A euclidean rhythm of one pattern, with another in the steps it leaves empty.

    lc> euclidFull 3 8 "a" "b"  ==  "a b b a b b a b"
    """
    return _stack([euclid(k, n, pat), euclidInv(k, n, other)])


@register
def stutter(count: int, time: Time, pat: Pattern) -> Pattern:
    """Play a pattern ``count`` times, each ``time`` cycles after the last.

    lc> stutter 4 (1/16) $ "a"  ==  echoWith 4 (1/16) id $ "a"
    """
    return echoWith(count, time, lambda p: p, pat)


@register
def scan(n: int) -> Pattern:
    """``run 1``, then ``run 2``... up to ``run n``, a cycle each, then again.

    lc> scan 3  ==  "<0 [0 1] [0 1 2]>"
    """
    n = check_count(n, "scan")
    return slowcat([run(i) for i in range(1, n + 1)]) if n > 0 else _silence


@register
def discretise(n: Time, pat: Pattern) -> Pattern:
    """Tidal's other name of ``segment``.

    lc> discretise 4 $ saw  ==  segment 4 $ saw
    """
    return segment(n, pat)


@register
def quantise(step: float, pat: Pattern) -> Pattern:
    """Round numbers to the nearest multiple of 1/``step``.

    Halves go to the even one, as Tidal's rounding does.

    lc> quantise 1 "0.4 1.6 2.5"  ==  "0 2 2"
    lc> quantise 4 "0.3 0.6"  ==  "0.25 0.5"
    """
    if step == 0:
        raise LanguageError("quantise needs a step other than 0: e.g. quantise 4 rounds to "
                            "quarters")
    return pat.fmap(lambda v: round(to_number(v) * step) / step)

