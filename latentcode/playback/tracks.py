"""Tracks: named slots that each play one pattern, and switch to the next at its cycle.

A :class:`Track` holds the pattern it plays and the one waiting to start (``pending``, written
by another thread in one assignment). Switching happens where the scheduler asks a track for
the onsets of a span: the old pattern's onsets before the start, the new one's from it. The
latent ``xfade`` is a :class:`Morph`: for its cycles, the new pattern's sounds start from the
old pattern's sound and move towards their own along a :class:`Ramp` of ``alpha``. Tidal's
transitions (``xfadeIn`` ...) are patterns (:mod:`latentcode.patterns.transitions`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from latentcode.controls import sound_name
from latentcode.patterns.transitions import Transition


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
    the sound the old pattern plays at that moment and move to their own (``mix`` with a
    rising ``alpha``). Events that already interpolate (have a ``mix``) are left alone."""

    def __init__(self, old: Any, start: Fraction, end: Fraction) -> None:
        self.old, self.start, self.end = old, start, end

    def apply(self, event: Any) -> Any:
        t = event.whole.begin
        value = event.value if isinstance(event.value, dict) else {"sound": event.value}
        if not (self.start <= t < self.end) or "mix" in value:
            return event
        old = self.sound_at(t)
        if old is None:
            return event
        morphed = {**value, "sound": old, "mix": sound_name(value),
                   "alpha": Ramp(self.start, self.end, at=t)}
        morphed.pop("n", None)  # ``n`` picked the new sound (the mix), not the old one
        return event.with_value(morphed)

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

    def latest(self) -> Any:
        """The pattern that plays once every pending change has happened."""
        pending = self.pending
        return pending[0] if pending is not None else self.pattern

    def onsets(self, c0: Fraction, c1: Fraction) -> list[Any]:
        """Events of the span [c0, c1) that start a sound, switching pattern if one is due."""
        over = self.pattern
        if isinstance(over, Transition) and c0 >= over.end and self.pending is None:
            self.pattern = over.new  # the transition is over: the new pattern alone is cheaper
        pending = self.pending
        if pending is not None:
            pattern, at, xfade = pending
            at = c0 if at is None or at < c0 else at
            if at < c1:
                before = _onsets(self.pattern, c0, at)
                old = self.pattern
                self.previous, self.pattern, self.pending = old, pattern, None
                self.morph = Morph(old, at, at + xfade) if xfade and old is not None else None
                if self.log is not None:
                    self.log.append((at, pattern, xfade))
                return before + self._morphed(_onsets(pattern, at, c1))
        return self._morphed(_onsets(self.pattern, c0, c1))

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
