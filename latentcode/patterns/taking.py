"""Tidal's ``nTake``: values taken in turn, one per event: ``"bell*4" # nTake "x" [0, 2, 5]``.

In Tidal it keeps a counter (named, shared by the patterns that use the name, kept across
evaluations) that each event's query moves on. A pattern here is a pure function of time, so
the counter is one of time instead: the events of the left-hand pattern are counted, in order,
from the start of an era of :data:`ERA` cycles (cycle 0, 256, 512 ...), and the k-th takes the
k-th value, wrapping round the list. The same cycle always gets the same values (live, offline,
in a render), the name is accepted for Tidal's spelling but shares nothing, and the count
starts again every :data:`ERA` cycles (the price of never counting more than that many cycles
back). Events that start together (a chord) count one each, in the order the pattern gives them.

The values go to ``n`` and the left-hand pattern gives the structure, so ``#`` and the other
operators that take their structure from the left (``|+``, ``|<``...) work; used alone, or on
the left, ``nTake`` has no events to count and says so.
"""

from __future__ import annotations

import threading
from typing import Any

from latentcode.patterns.budget import aside, spent
from latentcode.patterns.core import Event, Pattern
from latentcode.patterns.registry import register
from latentcode.patterns.time import Fraction, PatternError, Span, _floor, to_number

ERA = 256  # cycles counted at most: the count starts again at each multiple


class Taking(Pattern):
    """The values of an ``nTake``, waiting for the events on the left of an operator to count
    (see :func:`latentcode.patterns.core.merge_op`)."""

    def __init__(self, control: str, values: list[Any]) -> None:
        def alone(span: Span) -> list[Event]:
            raise PatternError('nTake gives its values to the events on its left: e.g. '
                               '"bell*4" # nTake "x" [0, 1, 2]')

        super().__init__(alone)
        self.control, self.values = control, values

    def number_events(self, left: Pattern, combine: Any) -> Pattern:
        """``left`` with each event's value combined with the value it takes."""
        counts = _Counts(left)
        values, control = self.values, self.control

        def query(span: Span) -> list[Event]:
            out = []
            for e in spent(left._q(span)):
                if e.whole is None:  # a continuous event has no turn
                    out.append(e)
                    continue
                k = counts.index(e)
                taken = {control: values[k % len(values)]}
                out.append(Event(e.whole, e.part, combine(e.value, taken), e.sources))
            return out

        return Pattern(query)


class _Counts:
    """The onsets of a pattern counted from the start of each era, cycle by cycle, kept."""

    def __init__(self, pat: Pattern) -> None:
        self.q = pat._q
        self.before: dict[int, int] = {}  # cycle -> onsets from its era's start up to it
        self.keys: dict[int, list[tuple]] = {}  # cycle -> its onsets, in order
        self.lock = threading.Lock()  # the REPL's check and the player may ask at once

    def index(self, e: Event) -> int:
        """The number of onsets before ``e``'s in its era."""
        c = _floor(e.whole.begin)
        with self.lock:
            keys = self._keys(c)
            before = self._before(c)
        key = _key(e)
        return before + (keys.index(key) if key in keys else 0)

    def _keys(self, c: int) -> list[tuple]:
        keys = self.keys.get(c)
        if keys is None:
            with aside(1):  # counting past cycles is this pattern's own work, not the query's
                found = [x for x in self.q(Span(Fraction(c), Fraction(c + 1)))
                         if x.whole is not None and x.has_onset()]
            keys = [_key(x) for x in sorted(found, key=lambda x: x.whole.begin)]
            if len(self.keys) > 4 * ERA:  # a long performance: forget the oldest
                for old in sorted(self.keys)[: ERA]:
                    del self.keys[old]
            self.keys[c] = keys
        return keys

    def _before(self, c: int) -> int:
        start = c - c % ERA
        known = max((k for k in self.before if start <= k <= c), default=start)
        total = self.before.get(known, 0)
        for k in range(known, c):
            total += len(self._keys(k))
            self.before[k + 1] = total
        self.before.setdefault(c, total)
        return total


def _key(e: Event) -> tuple:
    return e.whole.begin, e.whole.end, repr(e.value)


@register(name="nTake")
def n_take(name: Pattern, values: list) -> Pattern:
    """Values taken in turn by the events on its left, for ``n``: the k-th event (counted from
    cycle 0, again every 256 cycles) takes the k-th value, wrapping round the list.

    The name is Tidal's (it names a counter there); here each nTake counts on its own.

    lc> "a*4" # nTake "x" [0, 1, 2]  ==  "a*4" # n "<[0 1 2 0] [1 2 0 1] [2 0 1 2]>"
    lc> "a b" # nTake "x" [3, 5] |+ n 1  ==  "a b" # n "4 6"
    """
    if not values:
        raise PatternError('nTake: give it values to take, e.g. nTake "x" [0, 1, 2]')
    try:
        numbers = [to_number(v) for v in values]
    except PatternError:
        raise PatternError(f"nTake: the values are numbers for n, got {values!r}") from None
    return Taking("n", numbers)
