"""Tracks: named slots that each play one pattern, and switch to the next at its cycle.

A :class:`Track` holds the pattern it plays and the one waiting to start (``pending``, written
by another thread in one assignment). Switching happens where the scheduler asks a track for
the onsets of a span: the old pattern's onsets before the start, the new one's from it. The
latent ``xfade`` is a :class:`Morph`: for its cycles, the new pattern's sounds start from the
old pattern's sound and move towards their own along a :class:`Ramp` of ``morph``. Tidal's
transitions (``xfadeIn`` ...) are patterns (:mod:`latentcode.patterns.transitions`).
"""

from __future__ import annotations

import math
from typing import Any

from latentcode.controls import sound_name
from latentcode.patterns.controllers import CONTROLLERS
from latentcode.patterns.time import Fraction
from latentcode.patterns.transitions import Transition, morphed


class Ramp(float):
    """A control value that rises from 0 at ``start`` to 1 at ``end`` (cycles), sampled along
    a voice like any continuous signal (see :mod:`latentcode.playback.voices`).

    >>> r = Ramp(Fraction(4), Fraction(8), at=Fraction(5)); float(r), r.at(7), r.at(9)
    (0.25, 0.75, 1.0)
    """

    def __new__(cls, start: Fraction, end: Fraction, *, at: Fraction) -> Ramp:
        self = super().__new__(cls, _ramp(start, end, at))
        self.start, self.end = start, end
        return self

    def at(self, cycle: Any) -> float:
        return _ramp(self.start, self.end, cycle)


def _ramp(start: Fraction, end: Fraction, cycle: Any) -> float:
    return min(1.0, max(0.0, float((cycle - start) / (end - start))))


class Morph:
    """A transition in latent space: over [start, end) the new pattern's onsets start from
    the sound the old pattern plays at that moment (their ``morphfrom``) and move to their own
    (and their ``mix``, where they have one) along a rising ``morph``. Each new voice keeps
    its own sound's length and pace. An event with its own ``morphfrom`` is left alone.

    >>> from latentcode import mini
    >>> m = Morph(mini("a"), Fraction(0), Fraction(4))
    >>> v = m.apply(mini("b").query(1, 2)[0]).value
    >>> v["sound"], v["morphfrom"], float(v["morph"])
    ('b', 'a', 0.25)
    >>> mixed = mini("b").fmap(lambda s: {"sound": s, "mix": "c"})  # "b" # mix "c"
    >>> v = m.apply(mixed.query(2, 3)[0]).value
    >>> v["sound"], v["mix"], v["morphfrom"], float(v["morph"])
    ('b', 'c', 'a', 0.5)
    >>> m.apply(mini("a").query(1, 2)[0]).value  # from a sound to itself: as it is
    'a'
    """

    def __init__(self, old: Any, start: Fraction, end: Fraction) -> None:
        self.old, self.start, self.end = old, start, end

    def apply(self, event: Any) -> Any:
        t = event.whole.begin
        value = event.value if isinstance(event.value, dict) else {"sound": event.value}
        old = self.sound_at(t) if self.start <= t < self.end else None
        if old is None:
            return event
        new = morphed(value, old, Ramp(self.start, self.end, at=t))
        return event if new is value else event.with_value(new)

    def sound_at(self, t: Fraction) -> str | None:
        """The sound the old pattern has at cycle ``t`` (the latest onset at or before it)."""
        found = None
        for e in self.old.query(t - 1, t + Fraction(1, 1_000_000)):
            value = sound_name(e.value) if isinstance(e.value, dict) else e.value
            if e.whole is not None and e.whole.begin <= t and isinstance(value, str):
                if found is None or e.whole.begin >= found[0]:
                    found = (e.whole.begin, value)
        return found[1] if found else None


class Track:
    """A named slot that plays one pattern at a time.

    ``pending`` is a new pattern, the cycle it starts at (None: the first block that sees it)
    and the cycles of its latent crossfade (None: a plain switch). Writing ``pending`` is the
    only thing another thread does, and it is one assignment.
    """

    def __init__(self, name: str, slot: int, pattern: Any = None) -> None:
        self.name = name
        self.slot = slot
        self.pattern = pattern
        self.previous: Any = None
        self.pending: tuple[Any, Fraction | None, Fraction | None] | None = None
        self.morph: Morph | None = None
        self.until: Fraction | None = None  # a ``once`` one-shot: the cycle it is over
        # when a caller keeps one: (cycle, pattern, crossfade) of every switch, where it landed
        # (a live run's changes, to be played again offline: session/replay.py)
        self.log: list[tuple[Fraction, Any, Fraction | None]] | None = None
        # offline: (pattern, c0, c1, its onsets in [c0, c1)): one query to the next cycle
        # boundary, that the blocks up to it are served from (onsets, ``ahead``)
        self._ahead: tuple[Any, Fraction, Fraction, list[Any]] | None = None

    def latest(self) -> Any:
        """The pattern that plays once every pending change has happened."""
        pending = self.pending
        return pending[0] if pending is not None else self.pattern

    def onsets(self, c0: Fraction, c1: Fraction, ahead: bool = False) -> list[Any]:
        """Events of the span [c0, c1) that start a sound, switching pattern if one is due.

        ``ahead`` (offline renders): the pattern is queried once up to the next cycle
        boundary and the following blocks up to it are served from that query. A pattern is
        a function of the cycle, so the onsets are the same events either way (renders stay
        bit-identical); a block at a time, a render spent a tenth of its time in queries.
        Live, a pattern may read a knob while it is queried, so each block asks afresh; so
        does a pattern that read a knob or a pad's notes in its query ahead.

        >>> from latentcode import mini
        >>> t = Track("t1", 0, mini("a b c d"))
        >>> [e.value for e in t.onsets(Fraction(1, 8), Fraction(5, 8), ahead=True)]
        ['b', 'c']
        >>> t._ahead[2], [e.value for e in t.onsets(Fraction(5, 8), Fraction(1), ahead=True)]
        (Fraction(1, 1), ['d'])
        """
        over = self.pattern
        if isinstance(over, Transition) and c0 >= over.end and self.pending is None:
            self.pattern = over.new  # the transition is over: the new pattern alone is cheaper
        pending = self.pending
        if pending is not None:
            pattern, at, xfade = pending
            at = c0 if at is None or at < c0 else at
            if at < c1:
                before = self._onsets(self.pattern, c0, at, ahead)
                old = self.pattern
                self.previous, self.pattern, self.pending = old, pattern, None
                self.morph = Morph(old, at, at + xfade) if xfade and old is not None else None
                if self.log is not None:
                    self.log.append((at, pattern, xfade))
                return before + self._morphed(self._onsets(pattern, at, c1, ahead))
        return self._morphed(self._onsets(self.pattern, c0, c1, ahead))

    def _onsets(self, pattern: Any, c0: Fraction, c1: Fraction, ahead: bool) -> list[Any]:
        kept = self._ahead
        if not ahead or pattern is None or c1 <= c0 or (
                kept is not None and kept[0] is pattern and kept[3] is None):
            return _onsets(pattern, c0, c1)  # (None: it reads knobs or notes, see below)
        if kept is None or kept[0] is not pattern or not kept[1] <= c0 < c1 <= kept[2]:
            end, reads = max(c1, Fraction(math.floor(c0) + 1)), CONTROLLERS.reads
            events = _onsets(pattern, c0, end)
            # a pattern that reads a knob or a pad's notes reads them as they are now: the
            # following blocks ask it again, as live (a note may come meanwhile)
            self._ahead = (pattern, c0, end, events if CONTROLLERS.reads == reads else None)
            return [e for e in events if c0 <= e.whole.begin < c1]
        return [e for e in kept[3] if c0 <= e.whole.begin < c1]

    def _morphed(self, events: list[Any]) -> list[Any]:
        morph = self.morph
        if morph is None:
            return events
        if events and events[0].whole.begin >= morph.end:
            self.morph = None  # the transition is over
        return [morph.apply(e) for e in events]

    def revert(self) -> None:
        """Go back to the previous pattern (once: a second failure leaves it silent)."""
        self.pattern, self.previous, self.pending = self.previous, None, None
        self.morph = None

    def renumber(self, now: Fraction) -> None:
        """Cycle ``now`` becomes cycle 0 (``resetCycles``): a pending pattern starts at once
        (cycle 0 is a boundary), transitions and latent morphs under way go on from where they
        are."""
        if self.pending is not None:
            pattern, at, xfade = self.pending
            if isinstance(pattern, Transition):
                pattern = pattern.moved(pattern.start - (now if at is None else at))
            self.pending = (pattern, None, xfade)
        if isinstance(self.pattern, Transition):
            self.pattern = self.pattern.moved(self.pattern.start - now)
        if self.morph is not None:
            self.morph.start, self.morph.end = self.morph.start - now, self.morph.end - now


def _onsets(pattern: Any, c0: Fraction, c1: Fraction) -> list[Any]:
    if pattern is None or c1 <= c0:
        return []
    return [
        e
        for e in pattern.query(c0, c1)
        if e.whole is not None and e.has_onset() and c0 <= e.whole.begin < c1
    ]
