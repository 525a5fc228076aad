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
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from latentcode.controls import CONTROLS
from latentcode.errors import LatentcodeError
from latentcode.model.bank import NotReady
from latentcode.patterns.controllers import CONTROLLERS
from latentcode.patterns.time import Fraction
from latentcode.patterns.transitions import once_from
from latentcode.playback import grain_search, loudness, overlap_add, posterior
from latentcode.playback.breaker import Breaker, OverBudget
from latentcode.playback.clock import Clock, as_fraction
from latentcode.playback.effects import TrackEffects
from latentcode.playback.rewind import Amendment, retouch, rewind
from latentcode.playback.stealing import DEFAULT_VOICE_CAP, VoiceCap, fade
from latentcode.playback.tracks import Track
from latentcode.playback.voice import make_voice
from latentcode.playback.voices import Voices

# seconds after a pad's pattern was last queried that the live engine keeps to a block a call
# (Scheduler.live_steps): every block queries a playing pad, so this only bridges a gap
PAD_HOLD = 2
HUSH_SECONDS = 1.0  # hush: voices still sounding fade out over this (a stretch 64 rings minutes)


class LiveTime:
    """When a controller move or a MIDI note arriving now takes effect, in this scheduler's
    cycles: the controllers' clock (:mod:`latentcode.patterns.controllers`), live only.

    A move glides from :attr:`Scheduler.horizon`, the first sample not written yet (as soon as
    can be heard; no sample already made changes), except for track effects (filters, sends),
    which the audio side applies: they take it from the note time, and the tracks whose
    effects read it work out their queued settings again (:meth:`moved`, nothing is decoded
    again). A note starts ``latency()`` samples after
    the sample being heard (``heard()``): the same delay for every note, so a pad played in
    time stays in time. That is sooner than what is queued: the tracks that play the note
    make their queued audio again from there (:meth:`struck`, see :mod:`.rewind`).
    """

    def __init__(self, scheduler: Scheduler, heard: Callable[[], int],
                 latency: Callable[[], int]) -> None:
        self.scheduler, self.heard, self.latency = scheduler, heard, latency

    def ramp_time(self) -> tuple[float, float]:
        clock = self.scheduler.clock
        return float(clock.cycle_at(self.scheduler.horizon)), float(clock.cps)

    def note_time(self) -> Fraction:
        return self.scheduler.clock.cycle_at(self.heard() + self.latency())

    def struck(self, tracks: Iterable[str], at: Fraction) -> None:
        """A note at cycle ``at`` that ``tracks`` play: each makes its queued audio again."""
        for name in tracks:
            self.scheduler.rewind(name, at)

    def moved(self, slots: Iterable[int], at: float) -> None:
        """A knob that the effects of track ``slots`` read moves from cycle ``at``: their
        queued settings are worked out again (:meth:`Scheduler.retouch`)."""
        for slot in slots:
            self.scheduler.retouch(slot, at)


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
        channels: int = 2,
    ) -> None:
        self.table = table
        self.tracks = slots
        self.channels = channels  # per track: stereo, or a ring of speakers (Source protocol)
        self.bank = bank
        self.framing = framing
        self.clock = Clock(sample_rate, cps)
        self.voices = Voices(decode, tracks=slots, segment=segment, framing=framing, seed=seed,
                             channels=channels)
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
        self.onces: list[Track] = []  # ``once``'s one-shots: tracks of no name, while they play
        # called for every block made, in the producer: (start sample, length, the clock that
        # placed it); quick (ports.midi_clock works out a few ticks)
        self.on_block: list[Callable[[int, int, Clock], None]] = []
        # the live input plays through this scheduler, and the sample to which a pad is
        # played lately (see live_steps)
        self.plays_input = False
        self._pads_until = -1
        # the end of the cycles scheduled so far, and after Link stepped the clock back, the
        # cycle from which to schedule again: no onset is played twice
        self.scheduled_until = Fraction(0)
        self.resume_at: Fraction | None = None
        # tracks changed ``now``, to be made again in the audio already queued (see amend), and
        # how to wake the producer for them (the engine's stream sets it)
        self.rewinds: deque[tuple[str, Fraction | None]] = deque()
        self.retouches: deque[tuple[int, float]] = deque()  # (slot, cycle): see retouch
        self.wake: Callable[[], None] = lambda: None

    @property
    def live_steps(self) -> int | None:
        """The most blocks the live engine may fill in one call: 1 while the live input plays
        (a block filled ahead is a block later that the performer hears their own sound) or a
        pad was played in the last ``PAD_HOLD`` seconds (``on``: a note waits for the call
        under way, so calls stay one block long and each note waits the same); None leaves it
        to the engine (:meth:`latentcode.audio.stream.Stream.usual_steps`)."""
        return 1 if self.plays_input or self.position < self._pads_until else None

    def rewind(self, name: str, at: Fraction | None = None) -> None:
        """Have track ``name`` heard as it plays now from cycle ``at`` (default: as soon as
        can be), not after the audio already queued: the producer makes that track's queued
        audio again (:meth:`amend`). A new pattern ``now``, a pad struck (:class:`LiveTime`)."""
        self.rewinds.append((name, at))
        self.wake()

    def retouch(self, slot: int, at: float) -> None:
        """Have the effects (filters, sends) of track ``slot`` follow a knob from cycle ``at``
        in the audio already queued: the producer works out their settings again from there
        (:meth:`amend`, :func:`~.rewind.retouch`); nothing is decoded again."""
        self.retouches.append((slot, at))
        self.wake()

    def amend(self, soonest: int, earliest: int, end: int, block: int) -> list[Amendment]:
        """The producer, between blocks: carry out the rewinds asked for, to ``end`` (the first
        sample not queued), in the blocks of ``block`` samples that end there. A rewind at
        once starts at ``earliest``, the first sample it will be in time for; one at a cycle
        (a note) starts there even if that is before ``soonest``, the first the engine may
        still change (its sound is then heard from there on, not lost), but no earlier than a
        block before (see :mod:`.rewind`)."""
        done = []
        while self.rewinds:
            name, cycle = self.rewinds.popleft()
            track = self.table.get(name)
            at = (earliest if cycle is None
                  else max(soonest - block, self.clock.sample_at(cycle)))
            if track is not None and at < end:
                amendment = rewind(self, track, at, end, block)
                if amendment is not None:
                    done.append(amendment)
        moved: dict[int, int] = {}  # a knob turning sends many moves: one retouch a slot
        while self.retouches:
            slot, cycle = self.retouches.popleft()
            at = max(soonest, self.clock.sample_at(Fraction(cycle).limit_denominator(1 << 20)))
            moved[slot] = min(at, moved.get(slot, at))
        done += [retouch(self, slot, at, end, block) for slot, at in moved.items() if at < end]
        return done

    def start_live(self) -> None:
        """Live play begins: give every track a time budget (see :mod:`.breaker`), and have
        the grains' search, the overlap-add and the latents' passes compiled before a voice
        needs them."""
        grain_search.ready()
        overlap_add.ready()
        posterior.ready()
        if self.breaker is None:
            self.breaker = Breaker(report=self.report)

    def stop_live(self) -> None:
        """Live play ended: stop the breaker's watchdog, and keep what was measured."""
        breaker, self.breaker = self.breaker, None
        if breaker is not None:
            breaker.close()
        self.finished()

    def finished(self) -> None:
        """A render or live play ended: the clean levels measured for loudness compensation
        go to their files (:func:`.loudness.flush`), now that no audio waits on this thread."""
        loudness.flush()

    def next_cycle(self) -> Fraction:
        """The first cycle boundary this scheduler has not produced yet."""
        return Fraction(math.ceil(self.clock.cycle_at(self.position)))

    def now(self) -> Fraction:
        """The cycle of the first sample this scheduler has not produced yet."""
        return self.clock.cycle_at(self.position)

    def next_boundary(self, quant: Fraction, sample: int | None = None) -> Fraction:
        """The first multiple of ``quant`` cycles not produced yet, or from ``sample`` on
        (``quant 0.25``: the next beat at 4 beats a cycle).

        >>> s = Scheduler({}, bank=None, decode=None, slots=1, sample_rate=8, segment=4,
        ...               framing=None, cps=1); s.position = 3   # cycle 3/8
        >>> s.next_boundary(Fraction(1, 4)), s.next_boundary(Fraction(1)), s.next_boundary(2)
        (Fraction(1, 2), Fraction(1, 1), Fraction(2, 1))
        >>> s.next_boundary(Fraction(1, 4), sample=1)
        Fraction(1, 4)
        """
        cycle = self.now() if sample is None else self.clock.cycle_at(sample)
        return Fraction(math.ceil(cycle / quant)) * quant

    def fill(self, out: np.ndarray, start: int) -> list[dict]:
        """Write samples [start, start+n) of every track into ``out`` (tracks, channels, n)."""
        return self.fill_steps(out, start, out.shape[2])[0]

    def fill_steps(self, out: np.ndarray, start: int, step: int) -> list[list[dict]]:
        """What :meth:`fill` would write in calls of ``step`` samples each, with one decode
        for all of them; returns the controls of each step.

        The patterns are queried, voices started and controls read a step at a time, as live,
        and the frames are added a step at a time, so the audio is the same bits as that of
        calls of ``step`` samples; only the decode of the whole span is one larger batch (an
        offline render fills 32 blocks at once). A step that changes the clock splits the
        span there. One kind of voice differs: a mix whose alpha and stretch both move
        (docs/audio-engine.md, "Many blocks decoded at once").
        """
        began = time.perf_counter()
        n = out.shape[2]
        controls, done = [], start
        for at in range(start, start + n, step):
            if self.commands and at > done:
                # this step changes the clock (tempo, phase): the steps before it are decoded
                # now, by the clock they had, as they would be a block at a time
                self.voices.render(out[:, :, done - start : at - start], done,
                                   self.clock.cycle_at, step)
                done = at
            controls.append(self._schedule(at, min(step, start + n - at), out.shape[0]))
        self.voices.render(out[:, :, done - start :], done, self.clock.cycle_at, step)
        self.position = start + n
        if self.breaker is not None:  # live: the voice cap follows the machine's speed
            self.cap.adapt(time.perf_counter() - began, n / self.clock.sample_rate)
        return controls

    def _schedule(self, start: int, n: int, slots: int) -> list[dict]:
        """Everything of the block [start, start+n) but its decode: commands, onsets, voices
        started, the tracks' controls (returned, one dict per slot)."""
        self._run_commands(start)
        self.horizon = start + n
        c0, c1 = self.clock.cycle_at(start), self.clock.cycle_at(start + n)
        for listener in self.on_block:
            listener(start, n, self.clock)
        if self.resume_at is not None:  # (see steer)
            c0 = min(max(c0, self.resume_at), c1)
            self.resume_at = None if c1 >= self.resume_at else self.resume_at
        self.scheduled_until = c1
        controls: list[dict] = [{} for _ in range(slots)]
        pads = CONTROLLERS.pad_reads
        for track in list(self.table.values()) + self.onces:
            self._start_voices(track, start, n, c0, c1, controls[track.slot])
        if CONTROLLERS.pad_reads != pads:  # a pattern read its notes (on 36): a pad plays
            self._pads_until = start + n + PAD_HOLD * self.clock.sample_rate
        self.onces = [t for t in self.onces if t.pattern is not None and t.until > c1]
        # (only the tracks that carry an effect: entering each of 8 slots' context cost 12 us
        # a step, about a fifth of the schedule of a render of coding_the_latent.lc)
        for slot in self.effects.carrying():
            with CONTROLLERS.effects(slot):  # (knobs they read: LiveTime.moved)
                self.effects.sample(slot, controls[slot], start, start + n, self.clock.cycle_at)
        if self.trace is not None:
            # the walks of moving stretches known over the span, as the render will know them:
            # a voice's own time (along) is how far it has walked
            self.voices.walk_to(start + n, self.clock.cycle_at)
            self.trace.record(start, n, self.voices.sounding(start), self.clock)
        return controls

    def _start_voices(self, track: Track, start: int, n: int, c0: Fraction, c1: Fraction,
                      controls: dict, into: Voices | None = None) -> None:
        """Start the voices of ``track``'s onsets in [c0, c1) (samples [start, start+n)), into
        the playing voices or ``into`` (a rewind's: :mod:`.rewind`)."""
        breaker = self.breaker
        bad = breaker.tripped.get(track.name) if breaker is not None else None
        if bad is not None:  # (.get: another thread may reset it meanwhile)
            if track.pattern is bad and track.pending is None:
                return  # muted by the breaker until re-evaluated
            if track.pattern is bad:  # re-evaluated: the slow pattern is not queried again
                track.pattern = None
            breaker.reset(track.name)
        block_seconds = n / self.clock.sample_rate
        # (a system call, dear in a render's main process: 6% of its time; only live needs it)
        cpu = time.thread_time() if breaker is not None else 0.0
        try:
            CONTROLLERS.asking = track.name  # (which tracks play a pad: LiveTime.struck)
            try:
                if breaker is None:  # (offline: a query serves the blocks to its cycle's end)
                    events = track.onsets(c0, c1, ahead=True)
                else:
                    with breaker.watch(track.name, block_seconds):
                        events = track.onsets(c0, c1)
            finally:
                CONTROLLERS.asking = None
            self._follow_tempo(events)
            if not self.audible(track):
                return
            events = self.cap.limit_starts(track.name, track.pattern, events,
                                           self.cap.starts_per_block(n, self.clock.sample_rate))
            voices, started = [], []
            for e in events:
                onset = self.clock.sample_at(e.whole.begin)
                duration = self.clock.sample_at(e.whole.end) - onset
                try:
                    voice = make_voice(e.value, bank=self.bank, track=track.slot,
                                       start=onset, duration=duration, framing=self.framing,
                                       clock=self.clock)
                except NotReady as wait:  # prepared in the background: skip, never revert
                    self._waits(track, wait)
                    continue
                voice.origin = (e.value, duration)
                voices.append(voice)
                started.append((e, onset, duration))
            for voice in voices:
                (self.voices if into is None else into).add(voice)
                self.effects.start(voice, controls)
            for listener in self.on_start:
                for e, onset, duration in started:
                    listener(track, e, onset, duration)
            if voices:
                names = {t.slot: t.name for t in self.table.values()}
                self.cap.enforce(self.voices.sounding(start), names, start, self.framing.hop,
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

    def _follow_tempo(self, events: list[Any]) -> None:
        """An event with ``cps`` sets the tempo from the next block on (muted or not: the
        clock is everyone's)."""
        for e in events:
            value = e.value
            if isinstance(value, dict) and value.get("cps") is not None:
                cps = as_fraction(CONTROLS["cps"].read(value))
                if cps != self.clock.cps:
                    self.commands.append(("tempo", cps))

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
            elif name == "steer":  # Link: its tempo, and its phase at a sample
                cps, cycle, sample = args
                if cycle is not None:
                    self.clock.align(cycle, sample)
                    if self.clock.cycle_at(start) < self.scheduled_until:
                        self.resume_at = self.scheduled_until
                self.clock.set_tempo(cps, at_sample=start)
            elif name == "reset":  # this block is cycle 0
                now = self.clock.cycle_at(start)
                self.clock.restart(start)
                self.resume_at = None
                for track in self.table.values():
                    track.renumber(now)
                self.onces.clear()
            elif name == "once":
                free = sorted({*range(self.tracks)} - {t.slot for t in self.table.values()})
                once = Track("once", free[0] if free else self.tracks - 1)
                now = self.clock.cycle_at(start)
                once.pattern, once.until = once_from(args[0], now), now + 1
                self.onces.append(once)
            elif name == "panic":
                self.voices.clear()
            elif name == "hush":
                self.onces.clear()
                samples = round(HUSH_SECONDS * self.clock.sample_rate)
                for voice in self.voices.voices:
                    fade(voice, start, samples, self.framing.hop, self.clock.cycle_at)

    def set_tempo(self, cps: Fraction) -> None:
        """Change tempo from the next block on (anchored there: no jump, no drift)."""
        self.commands.append(("tempo", cps))

    def panic(self) -> None:
        """Drop every playing voice at the next block."""
        self.commands.append(("panic",))

    def steer(self, cps: Fraction, cycle: Fraction | None = None,
              sample: int | None = None) -> None:
        """From the next block, run at ``cps``, with sample ``sample`` at cycle ``cycle`` if
        given (Ableton Link, :mod:`latentcode.ports.link`). Unlike a tempo change it leaves
        the circuit breaker alone: Link nudges the tempo every few milliseconds. Cycles already
        scheduled are not scheduled again, so a step back never plays an onset twice."""
        self.commands.append(("steer", cps, cycle, sample))

    def reset_cycles(self) -> None:
        """Make the next block cycle 0 (``resetCycles``; see :meth:`Track.renumber`)."""
        self.commands.append(("reset",))

    def play_once(self, pattern: Any) -> None:
        """Play cycle 0 of ``pattern`` from the next block, on no named track (``once``): on
        the first slot no track uses, else on the last slot (and through its effects)."""
        self.commands.append(("once", pattern))

    def retry(self, name: str) -> None:
        """Let track ``name``, muted by the circuit breaker, try again (e.g. on ``unmute``)."""
        if self.breaker is not None:
            self.breaker.reset(name)

    def hush(self) -> None:
        """From the next block, every voice still sounding fades out over HUSH_SECONDS (those
        that end sooner ring out as they are)."""
        self.commands.append(("hush",))
