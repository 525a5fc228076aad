"""Transitions: Tidal's ways from the pattern a track plays to a new one, as pure patterns.

Each transition builds ONE pattern from the old pattern, the new one, the cycle the transition
starts at and how many cycles it lasts: the old pattern before ``start``, the transition over
[start, start + cycles), and the new pattern after it (the session hands it to the track as
any new pattern). Which pattern an event comes from is decided by its onset, so an event that
began before a boundary is never cut in two.

- ``xfadeIn``: a crossfade of ``gain``, equal-power (old × cos, new × sin of the way through);
- ``clutchIn``: old events drop out at random while the new ones come in, more each cycle;
- ``jumpIn``, ``jumpIn'``, ``jumpMod``: a plain switch, later;
- ``anticipateIn``: the old pattern echoes, its echoes closer and closer, until the new one
  drops in;
- ``interpolateIn``: the new pattern's rhythm at once, its numeric controls moving from the old
  pattern's values to its own, and its sound morphing from the old sound in latent space
  (``mix``/``alpha``, as the latent ``xfade`` does).

The way through an event is read at its onset. A transition spends what its patterns spend.

>>> from latentcode import mini
>>> p = xfade_in(mini("a"), mini("b"), Fraction(2), Fraction(4))
>>> [e.value for e in p.onsets(0, 1)], [e.value for e in p.onsets(6, 7)]
(['a'], ['b'])
>>> sorted((e.value["sound"], round(e.value["gain"], 3)) for e in p.onsets(4, 5))
[('a', 0.707), ('b', 0.707)]
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from latentcode.controls import CONTROLS, sound_name
from latentcode.patterns.budget import spent
from latentcode.patterns.core import Event, Pattern, per_cycle, silence
from latentcode.patterns.echoes import stut
from latentcode.patterns.operators import OPS, apply, as_controls
from latentcode.patterns.time import Fraction, Span, time_to_rand

Builder = Callable[[Pattern, Pattern, Fraction, Fraction], Pattern]

# Controls that move smoothly: a number that is not a choice of sound (``n`` picks one).
_MOVING = {name for name, c in CONTROLS.items() if c.kind == "number" and c.acts != "sound"}


class Transition(Pattern):
    """The pattern of a transition: it knows when it is over (``end``) and what it then plays
    (``new``), so that the track can go on with ``new`` alone; ``moved(start)`` is the same
    transition starting at another cycle (``resetCycles`` renumbers the cycles)."""

    __slots__ = ("build", "old", "new", "start", "cycles", "end")

    def __init__(self, build: Builder, old: Pattern, new: Pattern, start: Fraction,
                 cycles: Fraction, end: Fraction, query: Callable[[Span], list[Event]]) -> None:
        super().__init__(query)
        self.build, self.old, self.new = build, old, new
        self.start, self.cycles, self.end = start, cycles, end

    def moved(self, start: Fraction) -> Pattern:
        old = self.old  # a transition from a transition still under way moves with it
        if isinstance(old, Transition):
            old = old.moved(old.start + start - self.start)
        return self.build(old, self.new, start, self.cycles)


def _onset(e: Event) -> Fraction:
    return e.whole.begin if e.whole is not None else e.part.begin


def _phases(build: Builder, old: Pattern | None, new: Pattern, start: Fraction,
            cycles: Fraction, during: Pattern | None, end: Fraction | None = None) -> Transition:
    """``old`` for onsets before ``start``, ``during`` for those in [start, end), ``new`` from
    ``end`` on (``end`` defaults to start + cycles)."""
    old = old if old is not None else silence
    end = start + cycles if end is None else end

    def query(span: Span) -> list[Event]:
        out: list[Event] = []
        for pat, lo, hi in ((old, None, start), (during, start, end), (new, end, None)):
            if pat is None or (lo is not None and span.end < lo) or (
                    hi is not None and span.begin >= hi):
                continue
            out.extend(e for e in spent(pat.query_span(span))
                       if (lo is None or _onset(e) >= lo) and (hi is None or _onset(e) < hi))
        return out

    return Transition(build, old, new, start, cycles, end, query)


def _through(start: Fraction, cycles: Fraction, e: Event) -> float:
    """How far through the transition the onset of ``e`` is, from 0 to 1."""
    if cycles <= 0:
        return 1.0
    return min(1.0, max(0.0, float((_onset(e) - start) / cycles)))


def _mapped(pat: Pattern, f: Callable[[Event], Event | None]) -> Pattern:
    """``pat`` with ``f`` applied to each event (None drops it)."""

    def query(span: Span) -> list[Event]:
        return [m for m in (f(e) for e in spent(pat.query_span(span))) if m is not None]

    return Pattern(query)


def _gain(e: Event, factor: float) -> Event:
    return e.with_value(apply(OPS["*"], as_controls(e.value), {"gain": factor}))


def xfade_in(old: Pattern | None, new: Pattern, start: Fraction, cycles: Fraction) -> Pattern:
    """An equal-power crossfade of ``gain`` over ``cycles`` cycles: both patterns play, the
    old one's gain × cos and the new one's × sin of a quarter turn times the way through."""
    old_ = old if old is not None else silence
    fade_out = _mapped(old_, lambda e: _gain(e, math.cos(math.pi / 2 * _through(start, cycles,
                                                                               e))))
    fade_in = _mapped(new, lambda e: _gain(e, math.sin(math.pi / 2 * _through(start, cycles, e))))

    def both(span: Span) -> list[Event]:
        return fade_out.query_span(span) + fade_in.query_span(span)

    return _phases(xfade_in, old, new, start, cycles, Pattern(both))


def clutch_in(old: Pattern | None, new: Pattern, start: Fraction, cycles: Fraction) -> Pattern:
    """Over ``cycles`` cycles the old pattern's events drop out at random, more and more, as
    the new one's come in: an event is heard when a random number of its onset time is above
    (old) or below (new) the way through the transition.

    >>> from latentcode import mini
    >>> p = clutch_in(mini("a*64"), mini("b*64"), Fraction(0), Fraction(2))
    >>> [sum(e.value == "b" for e in p.onsets(c, c + 1)) for c in range(3)]   # more b each cycle
    [9, 49, 64]
    """
    old_ = old if old is not None else silence

    def keep(e: Event, new_side: bool) -> bool:
        r = time_to_rand(float(_onset(e)))
        x = _through(start, cycles, e)
        return r < x if new_side else r >= x

    going = _mapped(old_, lambda e: e if keep(e, False) else None)
    coming = _mapped(new, lambda e: e if keep(e, True) else None)

    def both(span: Span) -> list[Event]:
        return going.query_span(span) + coming.query_span(span)

    return _phases(clutch_in, old, new, start, cycles, Pattern(both))


def jump_in(old: Pattern | None, new: Pattern, start: Fraction, cycles: Fraction) -> Pattern:
    """The old pattern for ``cycles`` more cycles, then the new one.

    >>> from latentcode import mini
    >>> [e.value for e in jump_in(mini("a"), mini("b"), Fraction(1), Fraction(2)).onsets(0, 5)]
    ['a', 'a', 'a', 'b', 'b']
    """
    return _phases(jump_in, old, new, start, cycles, old)


def jump_in_next(old: Pattern | None, new: Pattern, start: Fraction,
                 cycles: Fraction) -> Pattern:
    """``jumpIn'``: the old pattern for ``cycles`` more cycles, then the new one from the next
    cycle boundary (the start may be mid-cycle under ``quant 0.25``).

    >>> from latentcode import mini
    >>> p = jump_in_next(mini("a*4"), mini("b*4"), Fraction(5, 4), Fraction(1))
    >>> "".join(e.value for e in p.onsets(2, 4))   # 9/4 is mid-cycle: b from cycle 3
    'aaaabbbb'
    """
    end = Fraction(math.ceil(start + cycles))
    return _phases(jump_in_next, old, new, start, cycles, old, end)


def jump_mod(old: Pattern | None, new: Pattern, start: Fraction, cycles: Fraction) -> Pattern:
    """``jumpMod N``: the new pattern from the first cycle that is a multiple of ``N``
    (``cycles``), at or after ``start``.

    >>> from latentcode import mini
    >>> [e.value for e in jump_mod(mini("a"), mini("b"), Fraction(5), Fraction(4)).onsets(6, 9)]
    ['a', 'a', 'b']
    """
    end = Fraction(math.ceil(start / cycles)) * cycles
    return _phases(jump_mod, old, new, start, cycles, old, end)


def anticipate_in(old: Pattern | None, new: Pattern, start: Fraction,
                  cycles: Fraction) -> Pattern:
    """The old pattern for ``cycles`` more cycles, echoing (8 echoes, ``stut`` 8 0.2) with the
    echoes closer each cycle, from an eighth of a cycle apart to none, when the new pattern
    drops in.

    >>> from latentcode import mini
    >>> p = anticipate_in(mini("a"), mini("b"), Fraction(0), Fraction(2))
    >>> [float(e.whole.begin) for e in p.onsets(0, 1)][:3], [e.value for e in p.onsets(2, 3)]
    ([0.0, 0.125, 0.25], ['b'])
    """
    old_ = old if old is not None else silence

    def echoing(cycle: int) -> Pattern:
        x = min(1.0, max(0.0, float((cycle - start) / cycles)))
        gap = Fraction(1 - x).limit_denominator(1024) / 8
        return stut(8, 0.2, gap, old_) if gap > 0 else old_

    return _phases(anticipate_in, old, new, start, cycles, per_cycle(echoing))


def interpolate_in(old: Pattern | None, new: Pattern, start: Fraction,
                   cycles: Fraction) -> Pattern:
    """The new pattern's events at once, each numeric control moving from the value the old
    pattern has at that onset (its latest onset) to the new one's over ``cycles`` cycles, and
    the sound morphing in latent space: from the old sound (``morphfrom``) to its own, and
    its ``mix`` where it has one, ``morph`` rising from 0 to 1.

    >>> from latentcode import mini
    >>> p = interpolate_in(mini("a").set(lpf=1000), mini("b").set(lpf=2000), Fraction(0), 4)
    >>> p.onsets(1, 2)[0].value
    {'sound': 'b', 'lpf': 1250.0, 'morphfrom': 'a', 'morph': 0.25}
    >>> p = interpolate_in(mini("a"), mini("b").set(mix="c"), Fraction(0), 4)
    >>> p.onsets(2, 3)[0].value
    {'sound': 'b', 'mix': 'c', 'morphfrom': 'a', 'morph': 0.5}
    """
    old_ = old if old is not None else silence

    def query(span: Span) -> list[Event]:
        coming = spent(new.query_span(span))
        if not coming:
            return []
        before = sorted((e for e in spent(old_.query_span(Span(span.begin - 1, span.end)))
                         if e.whole is not None), key=lambda e: e.whole.begin)
        begins = [e.whole.begin for e in before]
        out = []
        for e in coming:
            i = bisect_right(begins, _onset(e))
            was = as_controls(before[i - 1].value) if i else None
            out.append(e if was is None else _between(was, e, _through(start, cycles, e)))
        return out

    return _phases(interpolate_in, old, new, start, cycles, Pattern(query))


def _between(was: dict, e: Event, x: float) -> Event:
    """The controls of ``e`` a fraction ``x`` of the way from ``was``."""
    value = dict(as_controls(e.value))
    for key, v in value.items():
        w = was.get(key)
        if key in _MOVING and _number(v) and _number(w):
            value[key] = w + (v - w) * x
    sound, before = sound_name(value), sound_name(was)
    if isinstance(sound, str) and isinstance(before, str) and x < 1:
        value = morphed(value, before, x)
    return e.with_value(value)


def morphed(value: dict, before: str, morph: Any) -> dict:
    """The controls ``value`` starting from sound ``before`` in latent space: its
    ``morphfrom`` and ``morph`` set (``morph`` a number, or a signal rising along the voice),
    unless it names its own ``morphfrom`` or ``before`` is its sound and it mixes none (a
    morph from a sound to itself changes nothing). ``interpolate`` and ``xfade`` both morph so.

    >>> morphed({"sound": "bell", "mix": "pad"}, "drone", 0.5)
    {'sound': 'bell', 'mix': 'pad', 'morphfrom': 'drone', 'morph': 0.5}
    >>> morphed({"sound": "drone"}, "drone", 0.5)
    {'sound': 'drone'}
    """
    if "morphfrom" in value or (before == sound_name(value) and "mix" not in value):
        return value
    return {**value, "morphfrom": before, "morph": morph}


def _number(v: Any) -> bool:
    return isinstance(v, int | float | Fraction) and not isinstance(v, bool)


def once_from(pat: Pattern, start: Fraction) -> Pattern:
    """Cycle 0 of ``pat``, played from cycle ``start``: ``once``'s one-shot, and nothing else.

    >>> from latentcode import mini
    >>> [(str(e.whole), e.value) for e in once_from(mini("<a b> c"), Fraction(5, 2)).query(0, 9)]
    [('5/2→3', 'a'), ('3→7/2', 'c')]
    """

    def query(span: Span) -> list[Event]:
        inside = span.sect(Span(start, start + 1))
        if inside is None:
            return []
        events = spent(pat.query_span(Span(inside.begin - start, inside.end - start)))
        out = []
        for e in events:
            whole = None if e.whole is None else Span(e.whole.begin + start, e.whole.end + start)
            out.append(Event(whole, Span(e.part.begin + start, e.part.end + start), e.value,
                             e.sources))
        return out

    return Pattern(query)


# the statement's word -> (its builder, its cycles when the word takes no number)
TRANSITIONS: dict[str, tuple[Builder, Fraction | None]] = {
    "xfadeIn": (xfade_in, None),
    "clutchIn": (clutch_in, None),
    "clutch": (clutch_in, Fraction(2)),
    "jumpIn": (jump_in, None),
    "jumpIn'": (jump_in_next, None),
    "jumpMod": (jump_mod, None),
    "anticipateIn": (anticipate_in, None),
    "anticipate": (anticipate_in, Fraction(8)),
    "interpolateIn": (interpolate_in, None),
    "interpolate": (interpolate_in, Fraction(4)),
}
