"""The producer's side of the clock: patterns in, blocks of per-track audio out.

A :class:`Scheduler` is what the engine pulls from (its ``fill``). For the samples it is about
to write it asks each track's pattern for the matching span of cycles, turns every onset into
a voice on the exact sample, and lets :class:`~latentcode.trajectory.Voices` decode all due
frames in one batch. Live playing and offline rendering run this same code; live is only paced
by the engine's ring buffer.

A track whose pattern raises while being queried (or names a sound that does not exist)
reverts to its previous pattern, once, with a message; the other tracks never notice.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from latentcode.clock import Clock
from latentcode.errors import LatentcodeError
from latentcode.trajectory import Voices, make_voice

# Controls the engine applies per track (pyo filters and sends), from the latest onset.
AUDIO_CONTROLS = ("lpf", "hpf", "room", "delay")


class Track:
    """A named slot that plays one pattern at a time.

    ``pending`` is a new pattern and the cycle it starts at (None: the first block that sees
    it). Writing ``pending`` is the only thing another thread does, and it is one assignment.
    """

    def __init__(self, name: str, slot: int, pattern: Any = None) -> None:
        self.name = name
        self.slot = slot
        self.pattern = pattern
        self.previous: Any = None
        self.pending: tuple[Any, Fraction | None] | None = None

    def latest(self) -> Any:
        """The pattern that plays once every pending change has happened."""
        pending = self.pending
        return pending[0] if pending is not None else self.pattern

    def onsets(self, c0: Fraction, c1: Fraction) -> list[Any]:
        """Events of the span [c0, c1) that start a sound, switching pattern if one is due."""
        pending = self.pending
        if pending is not None:
            pattern, at = pending
            at = c0 if at is None or at < c0 else at
            if at < c1:
                before = _onsets(self.pattern, c0, at)
                self.previous, self.pattern, self.pending = self.pattern, pattern, None
                return before + _onsets(pattern, at, c1)
        return _onsets(self.pattern, c0, c1)

    def revert(self) -> None:
        """Go back to the previous pattern (once: a second failure leaves it silent)."""
        self.pattern, self.previous, self.pending = self.previous, None, None


def _onsets(pattern: Any, c0: Fraction, c1: Fraction) -> list[Any]:
    if pattern is None or c1 <= c0:
        return []
    return [
        e
        for e in pattern.query(c0, c1)
        if e.whole is not None and e.has_onset() and c0 <= e.whole.begin < c1
    ]


class Scheduler:
    """Turns the tracks of a session into audio, block by block (the engine's Source).

    ``table`` is the session's dict of :class:`Track` (read, never resized here);
    ``audible(track)`` says whether a track may start new voices (mute and solo); ``report``
    receives one-line messages. ``tracks`` is the number of track slots, as the engine's
    Source protocol asks.
    """

    def __init__(
        self,
        table: dict[str, Track],
        *,
        bank: Any,
        decode: Callable[[np.ndarray], np.ndarray],
        slots: int,
        sample_rate: int,
        segment: int,
        framing: Any,
        cps: Fraction,
        seed: int = 0,
        audible: Callable[[Track], bool] = lambda t: True,
        report: Callable[[str], None] = print,
    ) -> None:
        self.table = table
        self.tracks = slots
        self.bank = bank
        self.framing = framing
        self.clock = Clock(sample_rate, cps)
        self.voices = Voices(decode, tracks=slots, segment=segment, framing=framing, seed=seed)
        self.audible = audible
        self.report = report
        self.position = 0  # the next sample this scheduler will produce
        self.commands: deque[tuple] = deque()  # from other threads; run by fill

    def next_cycle(self) -> Fraction:
        """The first cycle boundary this scheduler has not produced yet."""
        return Fraction(math.ceil(self.clock.cycle_at(self.position)))

    def fill(self, out: np.ndarray, start: int) -> list[dict]:
        """Write samples [start, start+n) of every track into ``out`` (tracks, 2, n)."""
        self._run_commands(start)
        n = out.shape[2]
        c0, c1 = self.clock.cycle_at(start), self.clock.cycle_at(start + n)
        controls: list[dict] = [{} for _ in range(out.shape[0])]
        for track in list(self.table.values()):
            self._start_voices(track, c0, c1, controls[track.slot])
        self.voices.render(out, start, self.clock.cycle_at)
        self.position = start + n
        return controls

    def _start_voices(self, track: Track, c0: Fraction, c1: Fraction, controls: dict) -> None:
        try:
            events = track.onsets(c0, c1)
            if not self.audible(track):
                return
            for e in events:
                onset = self.clock.sample_at(e.whole.begin)
                duration = self.clock.sample_at(e.whole.end) - onset
                voice = make_voice(
                    e.value,
                    bank=self.bank,
                    track=track.slot,
                    start=onset,
                    duration=duration,
                    framing=self.framing,
                )
                self.voices.add(voice)
                controls.update({k: float(voice.controls[k]) for k in AUDIO_CONTROLS
                                 if k in voice.controls})
        except Exception as e:  # noqa: BLE001 - any failure of a user's pattern reverts it
            detail = str(e) if isinstance(e, LatentcodeError) else f"{type(e).__name__}: {e}"
            had_previous = track.previous is not None
            track.revert()
            then = "reverted to its previous pattern" if had_previous else "silenced"
            self.report(f"{track.name}: {detail} (at cycle {float(c0):.2f}); {then}")

    # -- commands from other threads, run at the start of the next block -----------------------
    def _run_commands(self, start: int) -> None:
        while self.commands:
            name, *args = self.commands.popleft()
            if name == "tempo":
                self.clock.set_tempo(args[0], at_sample=start)
            elif name == "panic":
                self.voices.clear()
            elif name == "clear":
                self.voices.clear(args[0])

    def set_tempo(self, cps: Fraction) -> None:
        """Change tempo from the next block on (anchored there: no jump, no drift)."""
        self.commands.append(("tempo", cps))

    def panic(self) -> None:
        """Drop every playing voice at the next block."""
        self.commands.append(("panic",))
