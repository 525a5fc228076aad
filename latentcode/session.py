"""A Session: tracks, tempo, bank and model, driven by statements of the language.

>>> s = Session()                                        # doctest: +SKIP
>>> s.eval('t1 $ "bell*2" # stretch 4')                 # doctest: +SKIP
>>> s.render(cycles=8, path="out.wav", seed=1)          # doctest: +SKIP

``eval`` is atomic: a block of statements is parsed and every new pattern is test-queried
(and the sounds it names looked up) before anything changes; on any error nothing changes and
one :class:`~latentcode.errors.LatentcodeError` says what went wrong. A new pattern starts at
the next cycle boundary of what is playing, or at once with ``now``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from latentcode import language
from latentcode.errors import USER_CAUSED, InternalError, LanguageError, LatentcodeError, explain
from latentcode.language.statements import MAX_CPS, MIN_CPS
from latentcode.model.bank import Bank, NotReady
from latentcode.patterns.budget import MAX_EVENTS_PER_CYCLE, BudgetError
from latentcode.patterns.controllers import CONTROLLERS
from latentcode.playback.clock import DEFAULT_CPS, as_fraction
from latentcode.playback.framing import make_framing
from latentcode.playback.scheduler import LiveTime, Scheduler, Track
from latentcode.playback.stealing import DEFAULT_VOICE_CAP
from latentcode.playback.trace import Trace
from latentcode.playback.voices import MAX_VOICES, make_voice
from latentcode.ports.events_out import EventsOut
from latentcode.resources import data_path

DEFAULT_TRACKS = 8
DEFAULT_FRAMING = "ola"
CHECKED_CYCLES = 16  # how far ahead a new pattern is queried before it is accepted


class Session:
    """The state a performance plays from, and the way to play or render it."""

    def __init__(
        self,
        model: Any = None,
        bank: Bank | None = None,
        *,
        tracks: int = DEFAULT_TRACKS,
        framing: str = DEFAULT_FRAMING,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.messages: deque[str] = deque(maxlen=200)
        self._report = report
        if model is None or isinstance(model, str | Path):
            from latentcode.model.vae import load_model

            model = load_model(model)
        self.model = model
        self.bank = bank if bank is not None else Bank(model, report=self.report)
        self.slots = tracks
        self.framing = make_framing(framing, model.segment)
        self.tracks: dict[str, Track] = {}
        self.env: dict[str, Any] = {}
        self.cps: Fraction = DEFAULT_CPS
        self.muted: set[str] = set()
        self.soloed: set[str] = set()
        # the Scheduler the live engine plays from, while it plays (see start)
        self.live_scheduler: Scheduler | None = None
        # live, the most voices that sound at once (the oldest of the busiest track fade out
        # to make room); read when play starts
        self.voice_cap = DEFAULT_VOICE_CAP
        self.engine: Any = None
        self.midi: Any = None  # the MIDI input while one runs (latentcode.ports.midi_in)
        self.midi_why = "MIDI input is off (--midi-in none)"  # why there is none
        self.events_out = EventsOut(report=self.report)  # live: events sent as OSC and MIDI
        # entered around each commit (latentcode.shell.deadline.Guard, while a front end
        # evaluates under a deadline)
        self.commit_guard: AbstractContextManager[Any] = nullcontext()

    # -- messages ---------------------------------------------------------------------------
    def report(self, message: str) -> None:
        """Pass a one-line message to whoever listens (the REPL prints them above the prompt)."""
        self.messages.append(message)
        if self._report is not None:
            self._report(message)

    # -- evaluating statements --------------------------------------------------------------
    def eval(self, text: str, *, base: str | Path | None = None) -> None:
        """Run a block of statements, all or nothing.

        Raises :class:`LanguageError` (with line and column) when a statement cannot be
        parsed or evaluated; then nothing has changed. Relative paths (``bank "sounds"``)
        are taken from ``base``, the folder of the file the text comes from (default: the
        current folder).
        """
        try:
            statements = language.parse(text)
        except LatentcodeError:
            raise
        except USER_CAUSED as e:
            raise LanguageError(explain(e)) from e
        except Exception as e:  # noqa: BLE001 - a bug of the parser, told as one
            raise InternalError.of(e) from e
        plan = _Plan(env=dict(self.env), base=Path(base) if base is not None else Path.cwd())
        for st in statements:
            self._stage(st, plan, text)
        with self.commit_guard:  # a front end's deadline may not interrupt a commit
            self._commit(plan)

    def _stage(self, st: language.Statement, plan: _Plan, text: str) -> None:
        """Check one statement and add what it does to ``plan`` (nothing changes yet)."""
        try:
            match st:
                case language.Let(name=name, expr=expr):
                    plan.env[name] = language.evaluate(expr, plan.env, value=True)
                case language.Play(track=track, expr=expr, now=now, xfade=xfade):
                    pattern = language.evaluate(expr, plan.env)
                    self._check(pattern)
                    if xfade is not None and not (0 < xfade < 1e6):
                        raise LatentcodeError(
                            "xfade needs a positive number of cycles, e.g. xfade 4")
                    plan.plays.append((track, pattern, now, xfade))
                case language.Tempo(cps=cps):
                    plan.ops.append(partial(self.tempo, _checked_tempo(cps)))
                case language.Bank(path=path):
                    folder = Path(path).expanduser()
                    # adding sounds never disturbs what plays, so it need not wait for the commit
                    self.bank.add_folder(folder if folder.is_absolute() else plan.base / folder)
                case language.Use(name=name):
                    self._stage_use(name, plan)
                case language.Hush():
                    plan.ops.append(self.hush)
                case language.Panic():
                    plan.ops.append(self.panic)
                case language.Unsolo():
                    plan.ops.append(self.unsolo)
                case language.Solo(track=track):
                    self._need_planned(track, plan)
                    plan.ops.append(partial(self.solo, track))
                case language.Mute(track=track):
                    self._need_planned(track, plan)
                    plan.ops.append(partial(self.mute, track))
                case language.Unmute(track=track):
                    self._need_planned(track, plan)
                    plan.ops.append(partial(self.unmute, track))
                case _:
                    raise TypeError(f"Session cannot run a {type(st).__name__} statement")
        except InternalError:
            raise
        except (LatentcodeError, *USER_CAUSED) as e:
            # the statement's position for errors found below the language (voices, numbers)
            lines = text.splitlines() or [""]
            line = lines[st.line - 1] if 0 < st.line <= len(lines) else None
            if isinstance(e, LanguageError):
                if e.line is None:
                    e.line, e.column, e.source_line = st.line, st.column, line
                raise
            raise LanguageError(explain(e), line=st.line, column=st.column,
                                source_line=line) from e
        except Exception as e:  # noqa: BLE001 - anything else is a bug, reported as one
            raise InternalError.of(e) from e

    def _need_planned(self, track: str, plan: _Plan) -> None:
        """A track named by solo/mute/unmute must play already or be given a pattern in the
        same block."""
        if track not in self.tracks and not any(track == play[0] for play in plan.plays):
            raise LatentcodeError(f"no track {track!r}: {self._track_list()}")

    def _stage_use(self, name: str, plan: _Plan) -> None:
        path = data_path("library") / f"{name}.lc"
        if not path.is_file():
            have = sorted(p.stem for p in data_path("library").glob("*.lc"))
            raise LatentcodeError(f"no pattern library {name!r}: there are {', '.join(have)}")
        text = path.read_text()
        for st in language.parse(text):
            self._stage(st, plan, text)

    def _check(self, pattern: Any) -> None:
        """Query the cycles to come and look up their sounds: errors surface now, not on stage.

        :data:`CHECKED_CYCLES` cycles are queried, each within the events' cap
        (:mod:`~latentcode.patterns.budget`): ``"<bell nosuch>"`` or ``"<bell bell*1e12>"``
        fails here, not a cycle after it was accepted.
        """
        live = self.live_scheduler
        start = live.next_cycle() if live is not None else Fraction(0)
        # live, a sound that needs slow work (a new file, the clusters) is started in the
        # background here and the track waits for it; unknown names still fail now
        bank = self.bank.live() if live is not None else self.bank
        seen: set[Any] = set()  # the same values come back every cycle: make each voice once
        for cycle in range(CHECKED_CYCLES):
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
                               framing=self.framing)
                except NotReady:
                    pass

    def _commit(self, plan: _Plan) -> None:
        self.env = plan.env
        for name, pattern, now, xfade in plan.plays:
            self.play(name, pattern, now=now, xfade=xfade)
        for op in plan.ops:
            op()

    # -- the actions behind statements (also the Python API) ----------------------------------
    def play(
        self, name: str, pattern: Any, *, now: bool = False, xfade: float | None = None
    ) -> None:
        """Give track ``name`` a new pattern, from the next cycle (or at once with ``now``).

        With ``xfade``, the new pattern's sounds start from the old pattern's and morph into
        their own in latent space over that many cycles.
        """
        track = self.tracks.get(name)
        if track is None:
            if len(self.tracks) >= self.slots:
                raise LatentcodeError(
                    f"all {self.slots} tracks are in use: reuse a track name or start with more"
                )
            track = self.tracks[name] = Track(name, len(self.tracks))
        at = None if now or self.live_scheduler is None else self.live_scheduler.next_cycle()
        track.pending = (pattern, at, as_fraction(xfade) if xfade else None)

    def tempo(self, cps: float | Fraction) -> None:
        """Set the tempo in cycles per second (bpm 120 at 4 beats a cycle = tempo 0.5), from
        0.001 to 100; anything else is refused in one line and changes nothing.

        >>> Session.tempo(None, 1e-7)
        Traceback (most recent call last):
        ...
        latentcode.errors.LatentcodeError: tempo needs a number from 0.001 to 100 cycles per \
second, got 1e-07
        """
        self.cps = as_fraction(_checked_tempo(cps))
        if self.live_scheduler is not None:
            self.live_scheduler.set_tempo(self.cps)

    def hush(self) -> None:
        """Stop every track's pattern at once; voices still sounding fade out within a second
        (unlike Tidal, whose hush lets sounds ring: here a ``stretch 64`` voice rings for
        minutes). Works while a track is slow: the circuit breaker never lets one query hold
        the producer for more than about a block (see :mod:`latentcode.playback.breaker`).

        >>> s.eval('t1 $ "drone" # stretch 64'); s.hush()    # doctest: +SKIP
        """
        for track in self.tracks.values():
            track.pending = (None, None, None)
        if self.live_scheduler is not None:
            self.live_scheduler.hush()

    def panic(self) -> None:
        """Silence now: hush, drop every sounding voice, and have the engine's audio thread
        fade out within a buffer and drop everything queued; it acts below the producer, so it
        works even while the producer is stuck. Music evaluated afterwards plays again.

        >>> s.panic()                                          # doctest: +SKIP
        """
        self.hush()
        if self.live_scheduler is not None:
            self.live_scheduler.panic()
        if self.engine is not None:
            self.engine.panic()

    def solo(self, name: str) -> None:
        self._need(name)
        self.soloed.add(name)

    def unsolo(self, name: str | None = None) -> None:
        self.soloed.clear() if name is None else self.soloed.discard(name)

    def mute(self, name: str) -> None:
        self._need(name)
        self.muted.add(name)

    def unmute(self, name: str) -> None:
        """Let track ``name`` play again, also when the circuit breaker muted it (it tries
        again; see :mod:`latentcode.playback.breaker`)."""
        self.muted.discard(name)
        if self.live_scheduler is not None:
            self.live_scheduler.retry(name)

    def _need(self, name: str) -> None:
        if name not in self.tracks:
            raise LatentcodeError(f"no track {name!r}: {self._track_list()}")

    def _track_list(self) -> str:
        if not self.tracks:
            return "no track plays yet"
        return f"the tracks are {', '.join(self.tracks)}"

    def audible(self, track: Track) -> bool:
        """Whether a track may start voices now (mute and solo)."""
        if track.name in self.muted:
            return False
        return not self.soloed or track.name in self.soloed

    # -- playing ------------------------------------------------------------------------------
    def scheduler(
        self,
        *,
        seed: int = 0,
        snapshot: bool = False,
        decode: Callable[[np.ndarray], np.ndarray] | None = None,
        wait_for_sounds: bool = True,
    ) -> Scheduler:
        """A scheduler over this session's tracks; ``snapshot`` freezes the latest patterns.

        ``decode`` replaces the model's decode (e.g. to watch the latent frames go by). With
        ``wait_for_sounds`` (offline: the same file every time) a sound that needs encoding or
        clustering is prepared before the block goes on; without it (live: the audio must
        never stop) the track waits in silence while the bank's worker prepares it. Live, at
        most :data:`~latentcode.playback.stealing.DEFAULT_VOICE_CAP` voices sound at once (more
        would gap the audio; ``voice_cap`` sets it); offline, where time is no object, up to
        ``MAX_VOICES``.
        """
        tracks = self.tracks
        if snapshot:
            tracks = {n: Track(n, t.slot, t.latest()) for n, t in self.tracks.items()}
        return Scheduler(
            tracks,
            bank=self.bank if wait_for_sounds else self.bank.live(),
            decode=decode or self.model.decode,
            slots=self.slots,
            sample_rate=self.model.sample_rate,
            segment=self.model.segment,
            framing=self.framing,
            cps=self.cps,
            seed=seed,
            audible=self.audible,
            report=self.report,
            max_voices=MAX_VOICES if wait_for_sounds else self.voice_cap,
        )

    def samples_for(self, cycles: float) -> int:
        """How many samples ``cycles`` cycles last at the current tempo."""
        return math.ceil(as_fraction(cycles) * self.model.sample_rate / self.cps)

    def render_dry(
        self, cycles: float, *, seed: int = 0, block: int = 1024, trace: Trace | None = None
    ) -> np.ndarray:
        """The tracks mixed to stereo without the engine's effects: (2, n) float32.

        Quick to compute and free of pyo; used by tests and by the benchmarks of the decoder.
        ``trace`` (see :meth:`trace`) records the controls that moved.
        """
        sched = self.scheduler(seed=seed, snapshot=True)
        sched.trace = trace
        total = self.samples_for(cycles)
        out = np.zeros((2, total), dtype=np.float32)
        buf = np.zeros((self.slots, 2, block), dtype=np.float32)
        for start in range(0, total, block):
            buf[:] = 0
            sched.fill(buf, start)
            n = min(block, total - start)
            out[:, start : start + n] = buf.sum(axis=0)[:, :n]
        return out

    def render(
        self,
        cycles: float,
        path: str | Path,
        seed: int = 0,
        *,
        progress: bool = False,
        tail: float = 0.0,
        trace: Trace | None = None,
    ) -> Path:
        """Render ``cycles`` cycles (plus ``tail`` seconds) offline to a WAV file.

        The same session and seed give a bit-identical file. ``trace`` (see :meth:`trace`)
        records the controls of the voices as they play, for ``render --plot``'s panel.
        """
        from latentcode.audio.engine import Engine

        path = Path(path)
        frames = self.samples_for(cycles) + int(tail * self.model.sample_rate)
        engine = Engine("offline", tracks=self.slots, sr=self.model.sample_rate,
                        on_message=self.report)
        try:
            scheduler = self.scheduler(seed=seed, snapshot=True)
            scheduler.trace = trace
            engine.render(scheduler, frames, path, progress=progress)
        finally:
            engine.close()
        return path

    def trace(self, interval: float = 0.02) -> Trace:
        """A recorder of the controls that move, to hand to :meth:`render` or :meth:`render_dry`
        (readings every ``interval`` seconds; tracks shown by name)."""
        names = {t.slot: name for name, t in self.tracks.items()}
        return Trace(sample_rate=self.model.sample_rate, interval=interval, names=names)

    def start(self, backend: str = "jack", **engine_options: Any) -> None:
        """Start playing live through ``backend`` (jack, portaudio)."""
        from latentcode.audio.engine import Engine

        if self.engine is not None:
            return
        engine = Engine(backend, tracks=self.slots, sr=self.model.sample_rate,
                        on_message=self.report, **engine_options)
        self.live_scheduler = self.scheduler(wait_for_sounds=False)
        self.live_scheduler.on_start.append(self.events_out.event)
        self.events_out.attach(engine.heard_stamp, engine.sample_rate)
        try:
            engine.start(self.live_scheduler)
        except BaseException:
            self.events_out.detach()
            engine.close()
            self.live_scheduler = None
            raise
        self.engine = engine
        # controllers glide from the first sample not yet made; notes sound a fixed latency
        # after the sample being heard
        CONTROLLERS.attach(LiveTime(self.live_scheduler, heard=lambda: engine.position,
                                    latency=lambda: engine.lookahead + engine.block))

    def start_midi(self, kind: str = "auto", *, connect: str | None = None) -> None:
        """Take MIDI in (``kind``: auto, jack, alsa or none; see
        :mod:`latentcode.ports.midi_in`); a LatentcodeError says why it cannot."""
        from latentcode.ports.midi_in import open_midi_in

        self.stop_midi()
        audio = self.engine.backend if self.engine is not None else "none"
        try:
            self.midi = open_midi_in(kind, CONTROLLERS, audio=audio, connect=connect)
        except LatentcodeError as e:
            self.midi_why = str(e)
            raise

    def stop_midi(self) -> None:
        midi, self.midi = self.midi, None
        if midi is not None:
            midi.close()

    def stop(self) -> None:
        """Stop live audio and MIDI, and release the engine."""
        self.stop_midi()
        CONTROLLERS.attach(None)
        engine, self.engine = self.engine, None
        self.events_out.detach()
        if engine is not None:
            engine.close()
        self.live_scheduler = None


def _checked_tempo(cps: Any) -> float | Fraction:
    """``cps`` when it is a tempo the clock can keep (see language.statements.MIN_CPS)."""
    try:
        ok = MIN_CPS <= cps <= MAX_CPS
    except TypeError:
        ok = False
    if not ok:
        raise LatentcodeError(f"tempo needs a number from {MIN_CPS:g} to {MAX_CPS:g} cycles "
                              f"per second, got {cps!r}"[:160])
    return cps


def _seen(value: Any, seen: set[Any]) -> bool:
    """Whether ``value`` was met before (and remember it); unhashable values count as new."""
    key = tuple(sorted(value.items(), key=lambda kv: kv[0])) if isinstance(value, dict) \
        else value
    try:
        if key in seen:
            return True
        seen.add(key)
    except TypeError:
        pass
    return False


class _Plan:
    """What a block of statements will do, gathered before anything changes."""

    def __init__(self, env: dict[str, Any], base: Path) -> None:
        self.env = env
        self.base = base
        self.plays: list[tuple[str, Any, bool, float | None]] = []
        self.ops: list[Callable[[], None]] = []  # the actions, run in order after the plays
