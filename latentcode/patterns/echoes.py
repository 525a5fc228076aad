"""Echoes: a pattern played again and again, later each time, as Tidal's ``echo``, ``stut``,
``echoWith`` and ``stutWith``.

``count`` is the number of times heard, the original included; copy ``k`` (0 the original) is
``k * time`` cycles later (a negative time: earlier). ``echo`` multiplies each copy's ``gain``
by ``feedback`` once more than the one before; ``stut`` lowers it in a straight line, from 1
towards ``feedback``; ``echoWith`` applies a function once more to each copy.

Every copy is a query of the pattern, so the copies spend from the query's budget as they are
made, and ``echoWith``'s copy ``k`` spends its events, and an event's work more, at each of
the ``k`` applications it passes through.

>>> from latentcode import mini
>>> echoed = echo(3, 0.25, 0.5, mini("a").set(gain=1))
>>> [(float(e.whole.begin), e.value["gain"]) for e in echoed.onsets(0, 1)]
[(0.0, 1), (0.25, 0.5), (0.5, 0.25)]
"""

from __future__ import annotations

from collections.abc import Sequence

from latentcode.patterns.budget import WORK_PER_EVENT, check_count, spend, spent
from latentcode.patterns.core import Event, Pattern, joint_period, merge_op, pure
from latentcode.patterns.registry import Fn, register
from latentcode.patterns.time import Span, Time
from latentcode.patterns.timing import shift


def _layered(copies: Sequence[Pattern]) -> Pattern:
    """The copies played together, each one's events spent as soon as they are made (a long
    echo of a dense pattern stops at the cap, not after making every copy)."""
    qs = [c.query_span for c in copies]

    def query(span: Span) -> list[Event]:
        out = []
        for q in qs:
            out.extend(spent(q(span)))
        return out

    return Pattern(query, period=joint_period(*(c.period for c in copies)))


def _gained(pat: Pattern, factor: float) -> Pattern:
    """``pat |* gain factor`` (a sound without ``gain`` gets ``factor``)."""
    return merge_op("|*", pat, pure({"gain": factor}))


def _echoes(count: int, time: Time, gains: Sequence[float], pat: Pattern) -> Pattern:
    return _layered([pat] + [_gained(shift(pat, k * time), gains[k - 1])
                             for k in range(1, count)])


@register
def echo(count: int, time: Time, feedback: float, pat: Pattern) -> Pattern:
    """Play a pattern ``count`` times, each ``time`` cycles after the last and its ``gain``
    multiplied by ``feedback`` once more.

    lc> echo 3 0.2 0.5 $ "a"  ==  stack ["a", 0.2 ~> "a" # gain 0.5, 0.4 ~> "a" # gain 0.25]
    lc> echo 1 0.2 0.5 $ "a b"  ==  "a b"
    """
    if count <= 1:
        return pat
    count = check_count(count, "echo")
    return _echoes(count, time, [feedback ** k for k in range(1, count)], pat)


@register
def stut(count: int, feedback: float, time: Time, pat: Pattern) -> Pattern:
    """Play a pattern ``count`` times, ``time`` cycles apart, the ``k``-th echo's ``gain``
    multiplied by ``feedback + (1 - feedback) * (count - k) / count``, as Tidal does.

    lc> stut 3 0.25 0.125 $ "a b"  ==  stack ["a b", 0.125 ~> "a b" # gain 0.75, 0.25 ~> "a b" # gain 0.5]
    lc> stut 3 1 0.25 $ "a"  ==  stutWith 3 0.25 (# gain 1) $ "a"
    """  # noqa: E501 - an equation is one line
    if count <= 1:
        return pat
    count = check_count(count, "stut")
    gains = [feedback + (1 - feedback) * (count - k) / count for k in range(1, count)]
    return _echoes(count, time, gains, pat)


def _counted(pat: Pattern) -> Pattern:
    """``pat``, whose events are spent from the budget each time it is queried."""
    q = pat.query_span
    return Pattern(lambda span: spent(q(span)), period=pat.period)


def _charged(pat: Pattern, cost: int) -> Pattern:
    """``pat``, whose every query first spends ``cost``."""
    q = pat.query_span

    def query(span: Span) -> list[Event]:
        spend(cost)
        return q(span)

    return Pattern(query, period=pat.period)


def _echo_with(count: int, time: Time, f: Fn, pat: Pattern) -> Pattern:
    if count <= 1:
        return pat
    count = check_count(count, "echoWith")
    copies = [pat]
    for _ in range(1, count):
        # each application's events are spent as they pass through it: a copy k applications
        # deep costs k times its events (``fast 2`` nested 60 deep stops at the cap at once)
        copies.append(_counted(f(shift(copies[-1], time))))
    # and each application once more, so that a long chain of cheap ones (one event each) stops
    # at the cap before it nests deeper than Python allows
    return _layered([_charged(c, k * WORK_PER_EVENT) for k, c in enumerate(copies)])


@register
def echoWith(count: int, time: Time, f: Fn, pat: Pattern) -> Pattern:
    """Play a pattern ``count`` times, each ``time`` cycles after the last with a function
    applied once more.

    lc> echoWith 3 0.25 (|* stretch 2) $ "a" # stretch 1  ==  stack ["a" # stretch 1, 0.25 ~> "a" # stretch 2, 0.5 ~> "a" # stretch 4]
    lc> echoWith 3 (1/3) id $ "a"  ==  stack ["a", (1/3) ~> "a", (2/3) ~> "a"]
    """  # noqa: E501 - an equation is one line
    return _echo_with(count, time, f, pat)


@register
def stutWith(count: int, time: Time, f: Fn, pat: Pattern) -> Pattern:
    """Tidal's former name of ``echoWith``.

    lc> stutWith 3 0.25 (# gain 0.5) $ "a"  ==  echoWith 3 0.25 (# gain 0.5) $ "a"
    """
    return _echo_with(count, time, f, pat)
