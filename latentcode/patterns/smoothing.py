"""``smooth``: a pattern of numbers as keyframes, glided between in straight lines.

``"drone" # alpha (smooth "0 1 0.3")`` moves the voice through latent space from the drone
towards the second sound and back a little, arriving at each value on its onset, while the
drone plays: the values are keyframes and the result a continuous signal, so a held voice
reads it at every decoded frame like ``sine`` (see :mod:`latentcode.playback.moving`).

As in Tidal, the glide runs from each event's value to the next event's, reached where that
event starts, and the last event of a cycle glides to the first of the next. Where Tidal's
``smooth`` has nothing in a rest, this one glides across it to the next onset: a control that
moves inside a voice needs a value at every instant, and a rest in a list of keyframes reads
as "take your time". Events that start together (a chord) count as their first.

Read along a voice (``along``), a cycle's keyframes are an envelope over the voice, as a
breakpoint envelope is drawn: the last lands on the voice's end, the others keep their places
in proportion, and before the first its value holds. So ``gain (along $ smooth "0 1 0.6 0")``
rises to 1 a third of the way in, falls to 0.6 two thirds in and to 0 at the end, and
``along $ smooth "1 0"`` is a decay over the whole voice. (Read as a cycle, the last keyframe
would glide back to the next cycle's first, and the voice's end would come back to where it
began.)

The onsets of each cycle are found once and kept (a voice reads its moving controls 172 times
a second), so a read is two searches in short lists, not a query.
"""

from __future__ import annotations

import bisect
import threading
from contextvars import ContextVar

from latentcode.patterns.budget import aside
from latentcode.patterns.core import Pattern, signal
from latentcode.patterns.registry import register
from latentcode.patterns.time import Fraction, PatternError, Span, to_number

SEARCH = 16  # cycles looked through either way for the keyframes around an instant
KEPT = 256  # cycles of keyframes kept; past that, the oldest are forgotten
# Set while ``along`` reads a voice's own time: the keyframes are an envelope over the cycle
# read (a context variable, so that a read on another thread, or after ``along``'s, is as ever)
WITHIN_CYCLE: ContextVar[bool] = ContextVar("within_cycle", default=False)


class _Keyframes:
    """The onsets of a pattern, cycle by cycle, as (times, values), and the glide between."""

    def __init__(self, pat: Pattern) -> None:
        self.q = pat._q
        self.cycles: dict[int, tuple[list[float], list[float]]] = {}
        self.lock = threading.Lock()  # the REPL's check and the player may ask at once

    def onsets(self, c: int) -> tuple[list[float], list[float]]:
        """The onset times and values of cycle ``c``, in order, one per time."""
        found = self.cycles.get(c)
        if found is not None:
            return found
        with aside(1):  # finding keyframes is this pattern's own work, not the query's
            events = [e for e in self.q(Span(Fraction(c), Fraction(c + 1)))
                      if e.whole is not None and e.has_onset()]
        times: list[float] = []
        values: list[float] = []
        for e in sorted(events, key=lambda e: e.whole.begin):
            t = float(e.whole.begin)
            if not times or t != times[-1]:
                times.append(t)
                values.append(float(to_number(e.value)))
        with self.lock:
            if len(self.cycles) >= KEPT:  # a long performance: forget the oldest
                for old in sorted(self.cycles)[: KEPT // 4]:
                    del self.cycles[old]
            self.cycles[c] = (times, values)
        return times, values

    def before(self, t: float) -> tuple[float, float] | None:
        """The latest keyframe at or before ``t``."""
        c = int(t // 1)
        for k in range(c, c - SEARCH, -1):
            times, values = self.onsets(k)
            i = bisect.bisect_right(times, t) if k == c else len(times)
            if i:
                return times[i - 1], values[i - 1]
        return None

    def after(self, t: float) -> tuple[float, float] | None:
        """The first keyframe after ``t``."""
        c = int(t // 1)
        for k in range(c, c + SEARCH):
            times, values = self.onsets(k)
            i = bisect.bisect_right(times, t) if k == c else 0
            if i < len(times):
                return times[i], values[i]
        return None

    def at(self, t: float) -> float:
        """The glide's value at ``t`` (an envelope over its cycle while :data:`WITHIN_CYCLE`)."""
        if WITHIN_CYCLE.get():
            c = t // 1
            times, values = self.onsets(int(c))
            if times:  # an envelope over the cycle: its last keyframe lands on the cycle's end
                t = c + (t - c) * (times[-1] - c)
                i = bisect.bisect_right(times, t)
                if i == 0 or i == len(times):  # before the first keyframe: hold it
                    return values[max(i - 1, 0)]
                t0, t1, v0, v1 = times[i - 1], times[i], values[i - 1], values[i]
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
        a, b = self.before(t), self.after(t)
        if a is None and b is None:
            raise PatternError(f"smooth found no numbers within {SEARCH} cycles of cycle "
                               f"{int(t // 1)}: give it a pattern of numbers, e.g. "
                               'smooth "0 1 0.5"')
        if a is None or b is None:  # before the first keyframe or after the last: hold
            return (a or b)[1]
        (t0, v0), (t1, v1) = a, b
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


@register
def smooth(pat: Pattern) -> Pattern:
    """Glide in straight lines from each value to the next, reaching it on its onset: a
    continuous signal from keyframes (a held voice follows it frame by frame). Rests are
    glided across.

    lc> segment 4 $ smooth "0 1"  ==  "0 0.5 1 0.5"
    lc> segment 4 $ smooth "0 ~ 1 ~"  ==  "0 0.5 1 0.5"
    lc> segment 4 $ smooth "<0 2>"  ==  "<[0 0.5 1 1.5] [2 1.5 1 0.5]>"
    """
    return signal(_Keyframes(pat).at, pat.period)
