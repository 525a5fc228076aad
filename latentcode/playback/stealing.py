"""The voice cap: how many voices may sound at once, and which one gives way to a new one.

A plain voice costs the decoder one frame per hop; a stretched one also searches and overlap-adds
its grains, about half as much again (``benchmarks/stretch.py``), so it counts as
:data:`STRETCHED_COST` voices. The cap is sized to what the decoder carries in real time with
room for the rest of the block: on the 2-core machine the project is measured on, a block of 32
long voices takes about 16 ms of a 23 ms block at best, 64 voices more than the block lasts
(``benchmarks/voices.py``). Past the cap a new voice *steals* one:

- from the track that holds the most voices (a track that piles up voices, e.g. ``"bell*8" #
  stretch 64``, gives way to itself and never silences the others), its **oldest** voice: the
  oldest has sounded longest, its attack (what the ear follows) is long past, and under a pile-up
  it is the quietest tail of the heap. Loudness itself is unknown before decoding, so "oldest"
  is the honest, free proxy;
- with a short gain fade (:data:`STEAL_SECONDS`), never a cut: a stolen voice fades to silence
  and then ends.

Live, the cap also follows the machine: when the producer is late (its blocks take, over about
a second, more than :data:`HIGH_LOAD` of their duration, e.g. while another process takes a
core), the cap is lowered by a quarter every half second (and the starts with it), and it rises
back, a voice at a time, once the load falls under :data:`LOW_LOAD` (:meth:`VoiceCap.adapt`).
Offline renders keep the fixed cap: the same file every time.

Starts are capped as well (:data:`MAX_ONSETS_PER_SECOND` per track): ``"bell*20000"`` asks for
~230 onsets per block of 1024 samples; beyond the cap the block's onsets are thinned evenly (at
such rates they are a buzz, not a rhythm), so one track can never flood the decoder.

:func:`fade` is also what ``hush`` uses, with a longer time (see :meth:`Scheduler.hush`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from latentcode.patterns.time import Fraction
from latentcode.playback.grains import needs_alignment

DEFAULT_VOICE_CAP = 32
STRETCHED_COST = 1.5  # plain voices a stretched one counts as (its grains cost 1.3-1.7 times)
STEAL_SECONDS = 0.02  # long enough to be no click, short enough that the cap holds
HIGH_LOAD, LOW_LOAD = 1.0, 0.6  # of a block's duration spent producing it: over 1, the ring drains
MIN_VOICES = 4  # the adaptive cap never goes below this
ADAPT_EVERY = 22  # blocks (about half a second) between two changes of the adaptive cap
LOAD_MEMORY = 1.0  # s: the load is averaged this long (a burst of slow blocks is not lateness)
MAX_ONSETS_PER_SECOND = 200  # per track: a 200 Hz buzz of onsets is past any rhythm


class Fade(float):
    """A voice's gain that falls linearly to 0 between cycles ``begin`` and ``end``.

    Its float value is the gain at the onset (what the voice reads for a constant); ``at`` is
    read at every frame, like any moving control (see :mod:`latentcode.playback.moving`).

    >>> f = Fade(0.8, Fraction(2), Fraction(3)); float(f), f.at(1), f.at(2.5), f.at(4)
    (0.8, 0.8, 0.4, 0.0)
    """

    def __new__(cls, gain: Any, begin: Fraction, end: Fraction) -> Fade:
        self = super().__new__(cls, float(gain))
        self.gain, self.begin, self.end = gain, begin, end
        return self

    def at(self, cycle: Any) -> float:
        level = self.gain.at(cycle) if hasattr(self.gain, "at") else float(self.gain)
        span = self.end - self.begin
        left = 1.0 if cycle <= self.begin else max(0.0, float((self.end - cycle) / span))
        return level * left


def fading(voice: Any) -> bool:
    """Whether ``voice`` is already fading out (stolen or hushed): it no longer counts."""
    return isinstance(voice.gain, Fade)


def fade(voice: Any, at: int, samples: int, hop: int, cycle_at: Callable[[int], Any]) -> bool:
    """Fade ``voice`` out over ``samples`` from sample ``at``, then end it. False (nothing
    done) when it ends before the fade would: it rings out as it is.

    >>> class V: start, length, frames, gain, moving, walk = 0, 10_000, 40, 1.0, (), None
    >>> v = V(); fade(v, 1000, 500, 256, lambda s: Fraction(s, 1000)), v.length, v.frames
    (True, 1500, 6)
    >>> v.gain.at(Fraction(5, 4)), v.moving
    (0.5, ('gain',))
    """
    at = max(at, voice.start)
    end = at + samples - voice.start  # the voice's new length
    if end >= voice.length:
        return False
    current = voice.gain
    if isinstance(current, Fade):  # fading already: keep whichever ends first
        if current.end <= cycle_at(at + samples):
            return False
        current = current.gain
    voice.gain = Fade(current, cycle_at(at), cycle_at(at + samples))
    if "gain" not in voice.moving:
        voice.moving = (*voice.moving, "gain")
    voice.length = end
    voice.frames = min(voice.frames, -(-end // hop))
    if voice.walk is not None:
        voice.walk.limit = min(voice.walk.limit, voice.frames)
    return True


def cost(voice: Any, hop: int) -> float:
    """What ``voice`` counts for against the cap: 1, or :data:`STRETCHED_COST` when its grains
    are searched and overlap-added (its stretch is not 1, or it moves)."""
    if needs_alignment(voice.step, voice.a.hop, hop, voice.walk is not None):
        return STRETCHED_COST
    return 1.0


def thin(events: list[Any], keep: int) -> list[Any]:
    """At most ``keep`` of ``events``, spread evenly over them (first one kept).

    >>> thin(list(range(10)), 4), thin([1, 2], 4)
    ([0, 2, 5, 7], [1, 2])
    """
    if len(events) <= keep:
        return events
    return [events[i * len(events) // keep] for i in range(keep)]


class VoiceCap:
    """Keeps the playing voices at or under ``limit`` by stealing (see the module's docstring)
    and caps each track's starts per block; each is said once per track and pattern.

    >>> cap = VoiceCap(2, report=print)
    >>> cap.starts_per_block(1024, 44100)
    5
    """

    def __init__(self, limit: int = DEFAULT_VOICE_CAP, *,
                 report: Callable[[str], None] = print) -> None:
        if int(limit) < 1:
            raise ValueError(f"the voice cap must be at least 1, not {limit}")
        self.limit = int(limit)
        self.current = self.limit  # the cap in force (lowered live while the producer is late)
        self.load = 0.0  # the producer's recent time per block / the block's duration (live)
        self._since = 0  # blocks since the cap last changed
        self.report = report
        self.told: set[tuple[str, str, int]] = set()
        self.stolen = 0  # voices stolen so far (for benchmarks and tests)

    def starts_per_block(self, samples: int, sample_rate: int) -> int:
        """How many voices one track may start in a block of ``samples`` (fewer while the
        adaptive cap is lowered: starts cost more than voices that go on)."""
        rate = MAX_ONSETS_PER_SECOND * self.current / self.limit
        return max(1, math.ceil(rate * samples / sample_rate))

    def limit_starts(self, name: str, pattern: Any, events: list[Any], keep: int) -> list[Any]:
        """The onsets of one track's block that may start (thinned past ``keep``)."""
        if len(events) <= keep:
            return events
        self._once(name, "starts", pattern,
                   f"{name}: more than {MAX_ONSETS_PER_SECOND} onsets a second; playing an even "
                   f"share of them (lighten the pattern)")
        return thin(events, keep)

    def enforce(self, voices: list[Any], names: dict[int, str], now: int, hop: int,
                cycle_at: Callable[[int], Any], sample_rate: int) -> None:
        """After voices started at block ``now``: steal until at most ``limit`` sound.
        ``names`` gives the tracks' names by slot (for the message, once per track)."""
        live = [v for v in voices if not fading(v)]
        excess = sum(cost(v, hop) for v in live) - self.current
        if excess <= 0:
            return
        by_track: dict[int, list[Any]] = {}
        for v in live:
            by_track.setdefault(v.track, []).append(v)
        for group in by_track.values():
            group.sort(key=lambda v: v.start)
        weight = {slot: sum(cost(v, hop) for v in group) for slot, group in by_track.items()}
        samples = max(1, round(STEAL_SECONDS * sample_rate))
        left = len(live)
        while excess > 0 and left > 1:  # however costly, one voice may always sound
            left -= 1
            slot = max(weight, key=weight.__getitem__)
            victim = by_track[slot].pop(0)
            excess -= cost(victim, hop)
            weight[slot] -= cost(victim, hop)
            name = names.get(victim.track, f"track {victim.track}")
            self._once(name, "cap", None, f"{name}: voice cap ({self.current}) reached; its "
                       f"oldest voices fade out to make room")
            if not fade(victim, now, samples, hop, cycle_at):
                # it ends within the fade anyway; its gain is marked so it counts no more
                victim.gain = Fade(victim.gain, cycle_at(victim.start + victim.length),
                                   cycle_at(victim.start + victim.length + 1))
                if "gain" not in victim.moving:
                    victim.moving = (*victim.moving, "gain")
            self.stolen += 1

    def adapt(self, seconds: float, block_seconds: float) -> None:
        """Live: the producer took ``seconds`` for a block of ``block_seconds``; lower the cap
        while it is late, raise it back when it is not (see the module's docstring).

        >>> cap = VoiceCap(32, report=print)
        >>> for _ in range(44): cap.adapt(0.069, 0.023)
        voice cap lowered to 24: the producer is late (120% of each block); it rises again \
when the load falls
        """
        self.load += min(1.0, block_seconds / LOAD_MEMORY) * (seconds / block_seconds - self.load)
        self._since += 1
        if self._since < ADAPT_EVERY:
            return
        if self.load > HIGH_LOAD and self.current > MIN_VOICES:
            self.current = max(MIN_VOICES, self.current * 3 // 4)
            self._since = 0
            self._once("*", "lowered", None, f"voice cap lowered to {self.current}: the "
                       f"producer is late ({self.load:.0%} of each block); it rises again when "
                       f"the load falls")
        elif self.load < LOW_LOAD and self.current < self.limit:
            self.current += 1
            self._since = 0

    def _once(self, name: str, what: str, pattern: Any, message: str) -> None:
        key = (name, what, id(pattern))
        if key not in self.told:
            self.told.add(key)
            self.report(message)


def cut_oldest(voices: list[Any], at: int, hop: int, samples: int = 256) -> None:
    """The hard ceiling of :class:`~latentcode.playback.voices.Voices` (far above the cap):
    end the oldest voice still sounding past ``at + samples`` with its own short end fade
    (the voice's last ``samples``), never an abrupt drop.

    >>> class V: start, length, frames = 0, 10_000, 40
    >>> vs = [V()]; cut_oldest(vs, 1000, 256); vs[0].length, vs[0].frames
    (1256, 5)
    """
    for v in voices:
        if v.start + v.length > at + samples:
            v.length = max(at, v.start) + samples - v.start
            v.frames = min(v.frames, -(-v.length // hop))
            if getattr(v, "walk", None) is not None:
                v.walk.limit = min(v.walk.limit, v.frames)
            return
