"""MIDI clock out: 24 ticks a beat, with start and stop, following latentcode's own clock.

The producer hands every block it makes to :meth:`MidiClock.block`, which works out the ticks
that fall in it from the scheduler's clock (so tempo changes, ``resetCycles`` and ``bpm`` are
followed at the sample they take effect) and passes each on, with its sample, to ``send``: the
events-out sender, which turns samples into heard times and writes the bytes to the JACK MIDI
output at their frame (:mod:`latentcode.ports.midi_out`). A beat is a quarter of a cycle, as
``bpm`` counts it.

A follower starts with the Start message at the first cycle boundary after the clock is
turned on, so bar 1 of a drum machine is a cycle start of latentcode; Stop goes out when it is
turned off.

>>> from latentcode.playback.clock import Clock
>>> sent = []
>>> mc = MidiClock(lambda sample, data: sent.append((sample, data[0])))
>>> mc.block(0, 44100, Clock(44100, cps=0.5))       # 1 s at 120 bpm: start, then 48 ticks
>>> sent[:3], len(sent)
([(0, 250), (0, 248), (919, 248)], 49)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from latentcode.patterns.time import Fraction

PPQN = 24  # MIDI clock ticks a beat (a quarter note)
BEATS_PER_CYCLE = 4  # as bpm counts them: bpm 120 is tempo 0.5
TICKS_PER_CYCLE = PPQN * BEATS_PER_CYCLE
STEP = Fraction(1, TICKS_PER_CYCLE)  # cycles from one tick to the next
TICK, START, STOP = b"\xf8", b"\xfa", b"\xfc"


class MidiClock:
    """Ticks for each block the producer makes; ``send(sample, data)`` takes them.

    Runs in the producer: per block it does a few fraction operations and one ``send`` per
    tick (4 a block at 120 bpm and 1024 samples).
    """

    def __init__(self, send: Callable[[int, bytes], None]) -> None:
        self.send = send
        self.on = True
        self.started_at: Fraction | None = None  # the cycle the follower's bar 1 is
        self.next: Fraction | None = None  # the cycle of the next tick
        self._stopped = False

    def block(self, start: int, n: int, clock: Any) -> None:
        """Send what falls in samples [start, start + n) of ``clock`` (a playback Clock)."""
        if not self.on:
            if self.started_at is not None and not self._stopped:
                self.send(start, STOP)
                self._stopped = True
            return
        c0, c1 = clock.cycle_at(start), clock.cycle_at(start + n)
        if self.next is None:
            first = Fraction(math.ceil(c0))
            if first >= c1:
                return  # no cycle starts in this block: wait for the next
            self.started_at = self.next = first
            self.send(clock.sample_at(first), START)
        elif not c0 - STEP <= self.next <= c1:
            # the cycles jumped (resetCycles): carry on from the first tick of the new count
            self.next = Fraction(math.ceil(c0 * TICKS_PER_CYCLE), TICKS_PER_CYCLE)
        while self.next < c1:
            self.send(clock.sample_at(self.next), TICK)
            self.next += STEP

    def stop(self) -> None:
        """Stop at the next block (the follower gets Stop)."""
        self.on = False
