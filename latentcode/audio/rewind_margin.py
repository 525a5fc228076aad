"""How far past the first sample it may write a rewind starts: whole buffers, as many as the
audio side may take while the rewind is made.

A rewind (``now``: ``Stream.amend``) writes into the ring from one hardware buffer past
``read_pos`` as it stands when it writes: the buffer the audio side takes next may be being
copied (:meth:`~latentcode.audio.ring.AudioRing.amend`). So each buffer the audio side takes
while the rewind is made moves its first writable sample a buffer on, and a rewind that starts
``k`` buffers past the first it may write has until the audio side's ``k + 1``-th callback from
now. The margin is the fewest buffers whose time covers what rewinds take lately, and half
again (the median of the last eight, so that one slow rewind moves nothing); a part of a
buffer would delay the change and give the rewind no more time.

The time until the next callback depends on where the audio side stands in its period.
Callbacks on time are a period apart, but one that comes late is followed by the next sooner
(1.5 ms after it at worst, with a core busy), so :class:`Schedule` reckons with the earliest
the audio side has taken its buffers in the last second: each stamp (first sample, when it was
taken) gives ``t - sample / sr``, and no callback came more than 0.04 ms before the least of
them in 2,500, idle or with a core busy. Underruns and a panic move that phase in the same
direction: the estimate errs early, on the safe side. With the margin reckoned without the
phase (:meth:`RewindMargin.fixed`), 13 of 320 rewinds with 64 voices playing came a buffer
too late for their first samples (``Stream.rewind_late``), which then kept the old audio;
reckoned with it, 2, both before five rewinds had been timed (``benchmarks/rewinds.py``).

>>> margin, schedule = RewindMargin(44100), Schedule(44100)
>>> margin.samples(256, 4096, 0.004)                      # nothing timed yet
256
>>> for took in (0.005, 0.004, 0.006, 0.005, 0.005):      # seconds: 64 voices' rewinds
...     margin.note(took)
>>> schedule.note((44032, 10.0), now=10.001)  # the buffer at 44032 was taken at t = 10 s
>>> round(schedule.ahead(44288, now=10.002), 4)  # the next, a period after it: 3.8 ms from now
0.0038
>>> margin.samples(256, 4096, 0.0038)          # 7.5 ms: that callback and the one after
256
>>> margin.samples(256, 4096, 0.0005)          # the next callback is due: one more
512
>>> margin.fixed(4096)                         # a pad's, whatever the phase (see fixed)
331
"""

from __future__ import annotations

from collections import deque

# samples: the margin until FIRST rewinds have been timed (the first take longest: cold caches)
REWIND_MARGIN = 256
FIRST = 5
KEPT = 8  # rewinds whose times are kept; the margin follows their median
SAFETY = 1.5  # a rewind is given this many times what rewinds take lately
WINDOW = 1.0  # s: the stamps the schedule keeps (the audio clock and this one drift apart)


class RewindMargin:
    """The latest rewinds' times, and half again; :meth:`samples` is the next one's margin."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self._took: deque[float] = deque(maxlen=KEPT)

    def note(self, seconds: float) -> None:
        """One rewind took ``seconds`` (one that decoded audio: a knob's retouch says nothing
        of the next rewind's time)."""
        self._took.append(SAFETY * seconds)

    def _need(self) -> float | None:
        took = self._took
        return sorted(took)[len(took) // 2] if len(took) >= FIRST else None

    def samples(self, buffer: int, most: int, ahead: float) -> int:
        """The margin for a rewind, in samples (whole buffers of ``buffer``, at most ``most``:
        the lookahead), when the audio side's next callback is ``ahead`` seconds away."""
        need = self._need()
        if need is None:
            return min(REWIND_MARGIN, most)
        return min(buffer * max(0, -int((ahead - need) * self.sr // buffer)), most)

    def fixed(self, most: int) -> int:
        """The margin whatever the phase, in samples: what rewinds take lately, and half
        again, at least :data:`REWIND_MARGIN`, at most ``most``. A pad's note waits this long
        (``Engine.soonest_change``), so that every note waits the same."""
        need = self._need()
        return min(max(REWIND_MARGIN, round((need or 0) * self.sr)), most)


class Schedule:
    """When the audio side will take a sample, at the earliest, from the stamps of the buffers
    it took in the last :data:`WINDOW` seconds."""

    def __init__(self, sr: int) -> None:
        self.sr = sr
        self._phases: deque[tuple[float, float]] = deque()  # (when noted, t - sample / sr)

    def note(self, stamp: tuple[int, float] | None, now: float) -> None:
        """The audio side's latest stamp (``Stream.stamp``: first sample, ``time.monotonic()``
        when it was taken), noted at ``now``."""
        phases = self._phases
        while phases and phases[0][0] < now - WINDOW:
            phases.popleft()
        if stamp is not None:
            phases.append((now, stamp[1] - stamp[0] / self.sr))

    def ahead(self, sample: int, now: float) -> float | None:
        """Seconds from ``now`` until the buffer that starts at ``sample`` is taken, at the
        earliest; None with no stamp in the window."""
        if not self._phases:
            return None
        return min(p for _, p in self._phases) + sample / self.sr - now
