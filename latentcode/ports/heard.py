"""When a sample is heard: the engine's sample counter mapped to ``time.monotonic()``.

Events out (:mod:`latentcode.ports.events_out`), MIDI clock and Ableton Link
(:mod:`latentcode.ports.link`) all need to know when a sample the producer made leaves the
engine. The audio thread stamps each buffer (``Engine.heard_stamp``); :class:`HeardClock`
smooths those stamps into an offset.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Stamp = Callable[[], "tuple[int, float] | None"]


class HeardClock:
    """Maps the engine's sample counter to ``time.monotonic()``: when a sample is heard.

    ``stamp()`` gives (sample, seconds) for the latest audio buffer (the engine's
    ``heard_stamp``). A stamp is taken when the audio thread runs, which is late by a jitter
    but never early, so the clock keeps the earliest offset seen (slowly let go, for a sound
    card's clock that drifts from the machine's) and follows a later one only when three
    readings in a row agree that the audio fell behind (a gap, a panic).

    >>> stamps = iter([(0, 10.0), (256, 10.0058), (512, 10.0117)])
    >>> c = HeardClock(lambda: next(stamps), 44100)
    >>> c.observe(); c.observe(); c.observe(); round(c.heard(44100), 4)
    11.0
    """

    def __init__(self, stamp: Stamp, sample_rate: int, *, jump: float = 0.005,
                 drift: float = 1e-4) -> None:
        self.stamp = stamp
        self.sample_rate = sample_rate
        self.jump = jump  # s: a later reading by more than this may mean the audio fell behind
        self.drift = drift  # s per s: how fast the kept offset is let go
        self.offset: float | None = None  # heard time of sample 0
        self._last: tuple[int, float] | None = None
        self._later = 0

    @property
    def ready(self) -> bool:
        return self.offset is not None

    def observe(self) -> None:
        """Take the latest stamp into account (the sender calls it every few ms)."""
        stamp = self.stamp()
        if stamp is None or stamp == self._last:
            return
        last, self._last = self._last, stamp
        sample, t = stamp
        reading = t - sample / self.sample_rate
        if self.offset is None or last is None:
            self.offset = reading
            return
        self.offset += self.drift * max(0.0, t - last[1])
        if reading <= self.offset:
            self.offset, self._later = reading, 0
        elif reading > self.offset + self.jump:
            self._later += 1
            if self._later >= 3:
                self.offset, self._later = reading, 0
        else:
            self._later = 0

    def heard(self, sample: int) -> float:
        """The ``time.monotonic()`` at which ``sample`` is heard (now, before any stamp)."""
        if self.offset is None:
            return time.monotonic()
        return self.offset + sample / self.sample_rate
