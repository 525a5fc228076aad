"""The primitives mini-notation is built from: speeding up, slowing down and euclidean rhythms.

Each takes constants or patterns for its numbers: ``"a*<2 3>"`` is ``fast`` with a pattern of
factors, applied cycle by cycle (:mod:`~latentcode.patterns.arguments`). The library's ``fast``,
``slow`` and ``euclid`` family (:mod:`~latentcode.patterns.functions`) wrap them.

>>> from latentcode import mini
>>> [str(e.whole) for e in fast(2, mini("a")).query(0, 1)]
['0→1/2', '1/2→1']
>>> [str(e.whole.begin) for e in euclid(3, 8, 2, mini("a")).query(0, 1)]
['1/8', '1/2', '3/4']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from latentcode.patterns.arguments import argument, join_arguments
from latentcode.patterns.budget import check_count
from latentcode.patterns.core import Pattern, Pure, silence
from latentcode.patterns.sequences import fastcat
from latentcode.patterns.time import Fraction
from latentcode.patterns.timing import rev, scale, shift


def _call(impl: Callable[..., Pattern], name: str, params: Sequence[tuple[str, str]],
          args: Sequence[Any]) -> Pattern:
    """``impl(*args)`` with the first ``len(params)`` arguments made numbers of the given kinds,
    or joined when they are patterns (a constant pattern is a constant)."""
    values = list(args)
    joined = []
    for i, (pname, kind) in enumerate(params):
        v = values[i]
        if isinstance(v, Pure):
            v = v.value
        if isinstance(v, Pattern):
            joined.append(i)
        else:
            values[i] = argument(v, kind, name, pname)
    if not joined:
        return impl(*values)
    return join_arguments(impl, values, joined,
                          lambda i, v: argument(v, params[i][1], name, params[i][0]))


def fast(factor: Any, pat: Pattern) -> Pattern:
    """``pat`` sped up by ``factor`` (0 is silence; a negative factor also reverses it)."""
    return _call(_fast, "fast", (("factor", "time"),), (factor, pat))


def _fast(factor: Fraction, pat: Pattern) -> Pattern:
    if factor == 0:
        return silence
    if factor < 0:
        return rev(_faster(pat, -factor))
    return pat if factor == 1 else _faster(pat, factor)


def _faster(pat: Pattern, factor: Fraction) -> Pattern:
    if isinstance(pat, Pure) and factor.denominator == 1 and factor <= 64:
        return fastcat([pat] * factor.numerator)  # "a*4": cheaper as four steps
    return scale(pat, factor)


def slow(factor: Any, pat: Pattern) -> Pattern:
    """``pat`` slowed down by ``factor`` (0 is silence)."""
    return _call(_slow, "slow", (("factor", "time"),), (factor, pat))


def _slow(factor: Fraction, pat: Pattern) -> Pattern:
    return silence if factor == 0 else _fast(1 / factor, pat)


def bjorklund(k: int, n: int) -> list[bool]:
    """The euclidean rhythm of ``k`` onsets in ``n`` steps (Bjorklund's algorithm).

    >>> "".join("x" if b else "." for b in bjorklund(5, 8))
    'x.xx.xx.'
    """
    if n <= 0:
        return []
    check_count(n, "a euclidean rhythm of {} steps")
    if k <= 0:
        return [False] * n
    if k >= n:
        return [True] * n
    heads, tails = [[True] for _ in range(k)], [[False] for _ in range(n - k)]
    while min(len(heads), len(tails)) > 1:
        m = min(len(heads), len(tails))
        heads, tails = ([h + t for h, t in zip(heads[:m], tails[:m], strict=True)],
                        heads[m:] if len(heads) > m else tails[m:])
    return [b for group in heads + tails for b in group]


def euclid(k: Any, n: Any, rotation: Any, pat: Pattern, invert: bool = False) -> Pattern:
    """``pat`` in the euclidean rhythm of ``k`` onsets in ``n`` steps, rotated left by
    ``rotation`` steps (mini-notation's ``a(k,n,rotation)``); ``invert`` plays the other steps,
    as does a negative ``k``."""

    def rhythm(k: int, n: int, rotation: int, pat: Pattern) -> Pattern:
        if n <= 0:
            return silence
        hits = bjorklund(abs(k), n)
        if (k < 0) != invert:
            hits = [not h for h in hits]
        seq = fastcat([pat if h else silence for h in hits])
        return shift(seq, Fraction(-rotation, n)) if rotation % n else seq

    return _call(rhythm, "euclidOff", (("k", "int"), ("n", "int"), ("rotation", "int")),
                 (k, n, rotation, pat))
