"""The producer's side of the clock: patterns in, blocks of per-track audio out.

A :class:`Scheduler` is what the engine pulls from (its ``fill``). For the samples it is about
to write it asks each track's pattern for the matching span of cycles, turns every onset into
a voice on the exact sample, and lets :class:`~latentcode.playback.voices.Voices` decode all due
frames in one batch. Live playing and offline rendering run this same code; live is only paced
by the engine's ring buffer.

A track whose pattern raises while being queried (or names a sound that does not exist)
reverts to its previous pattern, once, with a message; the other tracks never notice. Live, a
track whose queries take too long is muted by the circuit breaker
(:mod:`latentcode.playback.breaker`); and at most a cap of voices sound at once
(:mod:`latentcode.playback.stealing`).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from latentcode.controls import acting
from latentcode.errors import LatentcodeError
from latentcode.model.bank import NotReady
from latentcode.playback.breaker import Breaker, OverBudget
from latentcode.playback.clock import Clock
from latentcode.playback.stealing import DEFAULT_VOICE_CAP, VoiceCap, fade
from latentcode.playback.voices import Voices, make_voice

HUSH_SECONDS = 1.0  # hush: voices still sounding fade out over this (a stretch 64 rings minutes)

# Controls the engine applies per track (filters, sends, the track's delay line): read from the
# voices sounding on the track, once per block (see TrackEffects).
TRACK_CONTROLS = tuple(c.name for c in acting("track"))


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


class LiveTime:
    """When a controller move or a MIDI note arriving now takes effect, in this scheduler's
    cycles: the controllers' clock (:mod:`latentcode.patterns.controllers`), live only.

    A move glides from :attr:`Scheduler.horizon`, the first sample not written yet (as soon as
    can be heard; no sample already made changes). A note starts ``latency()`` samples after
    the sample being heard (``heard()``): the same delay for every note, so a pad played in
    time stays in time, never earlier than the horizon.
    """

    def __init__(self, scheduler: Scheduler, heard: Callable[[], int],
                 latency: Callable[[], int]) -> None:
        self.scheduler, self.heard, self.latency = scheduler, heard, latency

    def ramp_time(self) -> tuple[float, float]:
        clock = self.scheduler.clock
        return float(clock.cycle_at(self.scheduler.horizon)), float(clock.cps)

    def note_time(self) -> Fraction:
        s = self.scheduler
        return s.clock.cycle_at(max(self.heard() + self.latency(), s.horizon))


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
        morphed = {**value, "sound": old, "mix": value.get("sound"),
                   "alpha": Ramp(self.start, self.end, at=t)}
        return event.with_value(morphed)

    def sound_at(self, t: Fraction) -> str | None:
        """The sound the old pattern has at cycle ``t`` (the latest onset at or before it)."""
        found = None
        for e in self.old.query(t - 1, t + Fraction(1, 1_000_000)):
            value = e.value.get("sound") if isinstance(e.value, dict) else e.value
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

    def latest(self) -> Any:
        """The pattern that plays once every pending change has happened."""
        pending = self.pending
        return pending[0] if pending is not None else self.pattern

    def onsets(self, c0: Fraction, c1: Fraction) -> list[Any]:
        """Events of the span [c0, c1) that start a sound, switching pattern if one is due."""
        pending = self.pending
        if pending is not None:
            pattern, at, xfade = pending
            at = c0 if at is None or at < c0 else at
            if at < c1:
                before = _onsets(self.pattern, c0, at)
                old = self.pattern
                self.previous, self.pattern, self.pending = old, pattern, None
                self.morph = Morph(old, at, at + xfade) if xfade and old is not None else None
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


def _onsets(pattern: Any, c0: Fraction, c1: Fraction) -> list[Any]:
    if pattern is None or c1 <= c0:
        return []
    return [
        e
        for e in pattern.query(c0, c1)
        if e.whole is not None and e.has_onset() and c0 <= e.whole.begin < c1
    ]


class TrackEffects:
    """Where each track's effects (the ``"track"`` controls) stand, block by block.

    A track effect follows the latest-started voice of its track that is still sounding and
    has that control: a constant is sent once, when its voice starts; a continuous value (one
    with ``.at(cycle)``, e.g. ``# lpf (slow 4 $ range 200 5000 sine)``) is read again in every
    block while its voice sounds, and the graph glides between the readings. When no voice with
    the control sounds, the track keeps the last value (a reverb tail is not cut).

    >>> fx = TrackEffects()
    >>> class V: track, start, length, controls = 0, 0, 1000, {"lpf": 500.0}
    >>> out = {}; fx.start(V(), out); out
    {'lpf': 500.0}
    >>> out = {}; fx.sample(0, out, 512, 1024, cycle_at=lambda s: s); out   # constant: nothing
    {}
    """

    def __init__(self) -> None:
        # per track: (start, end, {control: value}) of the voices that carry a track control
        self.sounding: dict[int, list[tuple[int, int, dict[str, Any]]]] = {}
        self.sent: dict[tuple[int, str], float] = {}  # the last value sent per (track, control)

    def start(self, voice: Any, controls: dict) -> None:
        """A voice started: its track controls take effect (at their onset values)."""
        mine = {k: voice.controls[k] for k in TRACK_CONTROLS if k in voice.controls}
        if not mine:
            return
        onset = {k: float(v) for k, v in mine.items()}  # a value that is no number raises here
        controls.update(onset)
        self.sent.update(((voice.track, k), v) for k, v in onset.items())
        self.sounding.setdefault(voice.track, []).append(
            (voice.start, voice.start + voice.length, mine))

    def sample(self, track: int, controls: dict, begin: int, end: int,
               cycle_at: Callable[[int], Any]) -> None:
        """Add to ``controls`` the continuous values of ``track`` for samples [begin, end)
        (read at the middle, or from where the voice starts) and any value that changed
        because a voice ended."""
        voices = self.sounding.get(track)
        if not voices:
            return
        voices[:] = [v for v in voices if v[1] > begin]  # forget the voices that ended
        middle = (begin + end) // 2
        latest: dict[str, tuple[int, Any]] = {}
        for v_start, _v_end, values in voices:
            if v_start < end:
                for k, v in values.items():
                    if k not in latest or v_start >= latest[k][0]:
                        latest[k] = (v_start, v)
        for k, (v_start, v) in latest.items():
            value = float(v)
            if hasattr(v, "at"):
                try:
                    value = float(v.at(cycle_at(max(middle, v_start))))
                except Exception:  # noqa: BLE001 - a signal failing later: keep its onset value
                    value = float(v)
            if self.sent.get((track, k)) != value:
                controls[k] = self.sent[track, k] = value


class Scheduler:
    """Turns the tracks of a session into audio, block by block (the engine's Source).

    ``table`` is the session's dict of :class:`Track` (read, never resized here);
    ``audible(track)`` says whether a track may start new voices (mute and solo); ``report``
    receives one-line messages. ``tracks`` is the number of track slots, as the engine's
    Source protocol asks. ``max_voices`` is the voice cap (see
    :mod:`latentcode.playback.stealing`). The engine calls :meth:`start_live` and
    :meth:`stop_live` around live play: only then does the circuit breaker run.
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
        max_voices: int = DEFAULT_VOICE_CAP,
    ) -> None:
        self.table = table
        self.tracks = slots
        self.bank = bank
        self.framing = framing
        self.clock = Clock(sample_rate, cps)
        self.voices = Voices(decode, tracks=slots, segment=segment, framing=framing, seed=seed)
        self.effects = TrackEffects()
        self.audible = audible
        self.report = report
        self.position = 0  # the next sample this scheduler will produce
        self.horizon = 0  # the end of the block being produced: nothing before it can change
        self.commands: deque[tuple] = deque()  # from other threads; run by fill
        self.told: set[tuple[str, str]] = set()  # (track, NotReady key) already said
        self.trace: Any = None  # a playback.trace.Trace while an offline render records one
        self.cap = VoiceCap(max_voices, report=report)
        self.breaker: Breaker | None = None  # live only (start_live): renders stay synchronous
        # called for every voice started, in the producer: (track, event, onset sample, event
        # length in samples); a listener must be quick (ports.events_out only queues)
        self.on_start: list[Callable[[Track, Any, int, int], None]] = []

    def start_live(self) -> None:
        """Live play begins: give every track a time budget (see :mod:`.breaker`)."""
        if self.breaker is None:
            self.breaker = Breaker(report=self.report)

    def stop_live(self) -> None:
        """Live play ended: stop the breaker's watchdog."""
        breaker, self.breaker = self.breaker, None
        if breaker is not None:
            breaker.close()

    def next_cycle(self) -> Fraction:
        """The first cycle boundary this scheduler has not produced yet."""
        return Fraction(math.ceil(self.clock.cycle_at(self.position)))

    def fill(self, out: np.ndarray, start: int) -> list[dict]:
        """Write samples [start, start+n) of every track into ``out`` (tracks, 2, n)."""
        began = time.perf_counter()
        self._run_commands(start)
        n = out.shape[2]
        self.horizon = start + n
        c0, c1 = self.clock.cycle_at(start), self.clock.cycle_at(start + n)
        controls: list[dict] = [{} for _ in range(out.shape[0])]
        for track in list(self.table.values()):
            self._start_voices(track, start, n, c0, c1, controls[track.slot])
        for slot, slot_controls in enumerate(controls):
            self.effects.sample(slot, slot_controls, start, start + n, self.clock.cycle_at)
        if self.trace is not None:
            self.trace.record(start, n, self.voices.voices, self.clock)
        self.voices.render(out, start, self.clock.cycle_at)
        self.position = start + n
        if self.breaker is not None:  # live: the voice cap follows the machine's speed
            self.cap.adapt(time.perf_counter() - began, n / self.clock.sample_rate)
        return controls

    def _start_voices(self, track: Track, start: int, n: int, c0: Fraction, c1: Fraction,
                      controls: dict) -> None:
        breaker = self.breaker
        bad = breaker.tripped.get(track.name) if breaker is not None else None
        if bad is not None:  # (.get: another thread may reset it meanwhile)
            if track.pattern is bad and track.pending is None:
                return  # muted by the breaker until re-evaluated
            if track.pattern is bad:  # re-evaluated: the slow pattern is not queried again
                track.pattern = None
            breaker.reset(track.name)
        block_seconds = n / self.clock.sample_rate
        cpu = time.thread_time()
        try:
            if breaker is None:
                events = track.onsets(c0, c1)
            else:
                with breaker.watch(track.name, block_seconds):
                    events = track.onsets(c0, c1)
            if not self.audible(track):
                return
            events = self.cap.limit_starts(track.name, track.pattern, events,
                                           self.cap.starts_per_block(n, self.clock.sample_rate))
            voices, started = [], []
            for e in events:
                onset = self.clock.sample_at(e.whole.begin)
                duration = self.clock.sample_at(e.whole.end) - onset
                try:
                    voices.append(make_voice(
                        e.value,
                        bank=self.bank,
                        track=track.slot,
                        start=onset,
                        duration=duration,
                        framing=self.framing,
                    ))
                except NotReady as wait:  # prepared in the background: skip, never revert
                    self._waits(track, wait)
                    continue
                started.append((e, onset, duration))
            for voice in voices:
                self.voices.add(voice)
                self.effects.start(voice, controls)
            for listener in self.on_start:
                for e, onset, duration in started:
                    listener(track, e, onset, duration)
            if voices:
                names = {t.slot: t.name for t in self.table.values()}
                self.cap.enforce(self.voices.voices, names, start, self.framing.hop,
                                 self.clock.cycle_at, self.clock.sample_rate)
        except OverBudget:
            breaker.spent(track.name, time.thread_time() - cpu, block_seconds,
                          pattern=track.pattern, interrupted=True)
            return
        except Exception as e:  # noqa: BLE001 - any failure of a user's pattern reverts it
            detail = str(e) if isinstance(e, LatentcodeError) else f"{type(e).__name__}: {e}"
            had_previous = track.previous is not None
            track.revert()
            then = "reverted to its previous pattern" if had_previous else "silenced"
            self.report(f"{track.name}: {detail} (at cycle {float(c0):.2f}); {then}")
        if breaker is not None:
            breaker.spent(track.name, time.thread_time() - cpu, block_seconds,
                          pattern=track.pattern)

    def _waits(self, track: Track, wait: NotReady) -> None:
        """A track whose sound is not ready stays silent for those events; it says so once."""
        if (track.name, wait.key) not in self.told:
            self.told.add((track.name, wait.key))
            wait.told()
            self.report(f"{track.name}: {wait}; {track.name} waits")

    # -- commands from other threads, run at the start of the next block -----------------------
    def _run_commands(self, start: int) -> None:
        while self.commands:
            name, *args = self.commands.popleft()
            if name == "tempo":
                self.clock.set_tempo(args[0], at_sample=start)
                if self.breaker is not None:  # every pattern's cost changed: all try again
                    self.breaker.reset()
            elif name == "panic":
                self.voices.clear()
            elif name == "hush":
                samples = round(HUSH_SECONDS * self.clock.sample_rate)
                for voice in self.voices.voices:
                    fade(voice, start, samples, self.framing.hop, self.clock.cycle_at)

    def set_tempo(self, cps: Fraction) -> None:
        """Change tempo from the next block on (anchored there: no jump, no drift)."""
        self.commands.append(("tempo", cps))

    def panic(self) -> None:
        """Drop every playing voice at the next block."""
        self.commands.append(("panic",))

    def retry(self, name: str) -> None:
        """Let track ``name``, muted by the circuit breaker, try again (e.g. on ``unmute``)."""
        if self.breaker is not None:
            self.breaker.reset(name)

    def hush(self) -> None:
        """From the next block, every voice still sounding fades out over HUSH_SECONDS (those
        that end sooner ring out as they are)."""
        self.commands.append(("hush",))
