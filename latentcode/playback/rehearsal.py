"""A rehearsal: a new pattern played through in advance, silently, before it is accepted.

The cycles to come are queried, each within the events' cap
(:mod:`~latentcode.patterns.budget`), and the sounds they name are looked up and made into
voices, so that ``"<bell nosuch>"`` or ``"<bell bell*1e12>"`` fails when it is evaluated, not
a cycle after it was accepted.

A pattern that repeats every ``period`` cycles (:attr:`~latentcode.patterns.core.Pattern.period`)
is queried for its period alone, when that is shorter: the cycles after it hold the same events
again. A dense line's eval was mostly its sixteen identical cycles.

>>> from latentcode import mini
>>> rehearse(mini("~"), start=0, bank=None, framing=None)   # no onsets: nothing to look up
"""

from __future__ import annotations

from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.model.bank import NotReady
from latentcode.patterns.budget import MAX_EVENTS_PER_CYCLE, BudgetError
from latentcode.patterns.controllers import CONTROLLERS
from latentcode.patterns.time import Fraction
from latentcode.playback.voice import make_voice

CHECKED_CYCLES = 16  # how far ahead a new pattern is queried before it is accepted


def rehearse(pattern: Any, *, start: Fraction | int, bank: Any, framing: Any,
             cycles: int = CHECKED_CYCLES) -> None:
    """Query ``cycles`` cycles of ``pattern`` from ``start`` (fewer when its period is shorter)
    and make a voice of each new value it plays (a sound still being prepared,
    :class:`NotReady`, passes); raise what fails."""
    period = getattr(pattern, "period", None)
    if period is not None:
        cycles = min(cycles, period)
    seen: set[Any] = set()  # the same values come back every cycle: make each voice once
    for cycle in range(cycles):
        with CONTROLLERS.rehearsal():  # pads (on 36 $ ...) play here: their sounds checked
            events = pattern.query(start + cycle, start + cycle + 1)
        if len(events) > MAX_EVENTS_PER_CYCLE:
            raise BudgetError(f"cycle {start + cycle} has {len(events)} events: over the "
                              f"cap of {MAX_EVENTS_PER_CYCLE} events a cycle: play fewer")
        if cycle == 0 and events and all(e.whole is None for e in events):
            raise LatentcodeError(
                "a continuous signal has no onsets to play: give it structure, "
                'e.g. "drone*4" # alpha sine'
            )
        for e in events:
            if e.whole is None or not e.has_onset() or _seen(e.value, seen):
                continue
            try:
                make_voice(e.value, bank=bank, track=0, start=0, duration=1024,
                           framing=framing)
            except NotReady:
                pass


def _seen(value: Any, seen: set[Any]) -> bool:
    """Whether ``value`` was met before (and remember it); unhashable values count as new."""
    # in the order the pattern built it: sorting cost a fifth of a dense line's eval, and an
    # equal dict in another order only makes one voice more
    key = tuple(value.items()) if isinstance(value, dict) else value
    try:
        if key in seen:
            return True
        seen.add(key)
    except TypeError:
        pass
    return False
