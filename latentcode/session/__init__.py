"""A Session: tracks, tempo, bank and model, driven by statements of the language.

>>> s = Session()                                        # doctest: +SKIP
>>> s.eval('t1 $ "bell*2" # stretch 4')                 # doctest: +SKIP
>>> s.render(cycles=8, path="out.wav", seed=1)          # doctest: +SKIP

``eval`` is atomic: a block of statements is parsed and every new pattern is test-queried
(and the sounds it names looked up) before anything changes; on any error nothing changes and
one :class:`~latentcode.errors.LatentcodeError` says what went wrong. A new pattern starts at
the next cycle boundary of what is playing (the next multiple of ``quant`` cycles), or at once
with ``now``; Tidal's transitions (``xfadeIn t1 4 $ ...``) start there too.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from latentcode import language
from latentcode.audio import offline
from latentcode.errors import USER_CAUSED, InternalError, LanguageError, LatentcodeError, explain
from latentcode.language.statements import checked_tempo
from latentcode.model.bank import Bank
from latentcode.model.frame_cache import FrameCache
from latentcode.model.threads import one_thread
from latentcode.patterns.time import Fraction
from latentcode.patterns.transitions import TRANSITIONS
from latentcode.playback.clock import DEFAULT_CPS, as_fraction
from latentcode.playback.framing import make_framing
from latentcode.playback.parallel import ForkFailed, SplitRender, default_jobs
from latentcode.playback.rehearsal import CHECKED_CYCLES, rehearse
from latentcode.playback.scheduler import Scheduler
from latentcode.playback.stealing import DEFAULT_VOICE_CAP
from latentcode.playback.trace import Trace
from latentcode.playback.tracks import Track
from latentcode.playback.voices import LANES, MAX_VOICES
from latentcode.ports.events_out import EventsOut
from latentcode.resources import data_path
from latentcode.session.inputs import Inputs
from latentcode.session.live import LivePlay

DEFAULT_TRACKS = 8
DEFAULT_FRAMING = "ola"
__all__ = ["CHECKED_CYCLES", "DEFAULT_FRAMING", "DEFAULT_TRACKS", "Session"]


class Session(LivePlay, Inputs):
    """The state a performance plays from, and the way to play or render it."""

    def __init__(
        self,
        model: Any = None,
        bank: Bank | None = None,
        *,
        tracks: int = DEFAULT_TRACKS,
        framing: str = DEFAULT_FRAMING,
        report: Callable[[str], None] | None = None,
        channels: int = 2,
    ) -> None:
        self.messages: deque[str] = deque(maxlen=200)
        self._report = report
        if model is None or isinstance(model, str | Path):
            from latentcode.model.vae import load_model

            model = load_model(model)
        self.model = model
        # every decode of this session's voices goes through it: a repeated path is decoded once
        self.frames = FrameCache(model.decode)
        self.bank = bank if bank is not None else Bank(model, report=self.report)
        self.slots = tracks
        # outputs: stereo, or a ring of speakers that ``pan`` goes round (``channel`` picks a
        # pair); offline renders write that many channels, live the engine plays them
        self.channels = channels
        self.framing = make_framing(framing, model.segment)
        self.tracks: dict[str, Track] = {}
        self.env: dict[str, Any] = {}
        self.cps: Fraction = DEFAULT_CPS
        self.muted: set[str] = set()
        self.soloed: set[str] = set()
        self.quant = Fraction(1)  # new patterns start on multiples of this many cycles
        self.onces: list[Any] = []  # offline, the ``once`` patterns: a render plays them first
        self.live_scheduler: Scheduler | None = None  # the one the live engine plays (start)
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
        plan = _Plan(env=dict(self.env), base=Path(base) if base is not None else Path.cwd(),
                     quant=self.quant)
        # live, the producer keeps less queued meanwhile: the line has the core, and its
        # immediate change finds the producer between two calls (Engine.holding)
        with self.engine.holding() if self.engine is not None else nullcontext():
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
                    plan.plays.append((track, pattern, now, xfade, None))
                case language.Transition(kind=kind, track=track, expr=expr, cycles=cycles):
                    pattern = language.evaluate(expr, plan.env)
                    self._check(pattern)
                    plan.plays.append((track, pattern, False, None, (kind, cycles)))
                case language.Once(expr=expr):
                    pattern = language.evaluate(expr, plan.env)
                    self._check(pattern, once=True)
                    plan.ops.append(partial(self.once, pattern))
                case language.Quant(cycles=cycles):
                    plan.quant = cycles
                case language.ResetCycles():
                    plan.ops.append(self.reset_cycles)
                case language.Tempo(cps=cps):
                    plan.ops.append(partial(self.tempo, checked_tempo(cps)))
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
            # errors found below the language point at their culprit, else the statement's start
            from latentcode.language.positions import blame

            line, column, source = blame(text, st, getattr(e, "culprit", None),
                                         getattr(e, "after", None))
            if isinstance(e, LanguageError):
                if e.line is None:
                    e.line, e.column, e.source_line = line, column, source
                raise
            raise LanguageError(explain(e), line=line, column=column,
                                source_line=source) from e
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

    def _check(self, pattern: Any, *, once: bool = False) -> None:
        """Query the cycles to come (``once``: its cycle 0 alone, all it plays) and look up
        their sounds: errors surface now, not on stage (:mod:`~latentcode.playback.rehearsal`)."""
        live = self.live_scheduler
        start = live.next_cycle() if live is not None and not once else Fraction(0)
        # live, a sound that needs slow work (a new file, the clusters) is started in the
        # background here and the track waits for it; unknown names still fail now
        bank = self.bank.live() if live is not None else self.bank
        rehearse(pattern, start=start, bank=bank, framing=self.framing,
                 cycles=1 if once else CHECKED_CYCLES)

    def _commit(self, plan: _Plan) -> None:
        self.env = plan.env
        self.quant = plan.quant  # the block's quant applies to its own patterns
        for name, pattern, now, xfade, transition in plan.plays:
            self.play(name, pattern, now=now, xfade=xfade, transition=transition)
        for op in plan.ops:
            op()

    # -- the actions behind statements (also the Python API) ----------------------------------
    def play(
        self, name: str, pattern: Any, *, now: bool = False, xfade: float | None = None,
        transition: tuple[str, Fraction] | None = None,
    ) -> None:
        """Give track ``name`` a new pattern from the next multiple of :attr:`quant` cycles
        that can still change, or at once with ``now`` (live: queued audio is made again).

        With ``xfade``, the new pattern's sounds morph from the old pattern's into their own
        over that many cycles; a ``transition`` (a word of TRANSITIONS in
        :mod:`~latentcode.patterns.transitions`, cycles) starts there too (offline: cycle 0)."""
        track = self.tracks.get(name)
        if track is None:
            if len(self.tracks) >= self.slots:
                raise LatentcodeError(f"all {self.slots} tracks are in use: reuse a track name "
                                      "or start with more")
            track = self.tracks[name] = Track(name, len(self.tracks))
            self.name_outputs()
        live = self.live_scheduler
        at = None if now or live is None or not self.quant else self.next_change(self.quant)
        if transition is not None:
            build, _ = TRANSITIONS[transition[0]]
            start = at if at is not None else (live.now() if live is not None else Fraction(0))
            pattern = build(track.latest(), pattern, start, transition[1])
        track.pending = (pattern, at, as_fraction(xfade) if xfade else None)
        if live is not None and (at is not None or transition is None):  # playback/rewind.py
            live.rewind(name, at)  # (at a cycle not in the queue, nothing to make again)

    def once(self, pattern: Any) -> None:
        """Play cycle 0 of ``pattern`` once, on no track, from the first sample not yet made
        (Tidal's ``once``); offline, every render plays it from its start, until ``hush``.

        >>> s.eval('once $ "hit ~ hit"')                     # doctest: +SKIP
        """
        if self.live_scheduler is not None:
            self.live_scheduler.play_once(pattern)
        else:
            self.onces.append(pattern)

    def reset_cycles(self) -> None:
        """Make the next block cycle 0 (Tidal's ``resetCycles``): patterns start again from
        their first cycle; pending patterns start there. Offline a render starts at 0 anyway."""
        if self.live_scheduler is not None:
            self.live_scheduler.reset_cycles()

    def tempo(self, cps: float | Fraction) -> None:
        """Set the tempo in cycles per second (bpm 120 at 4 beats a cycle = tempo 0.5), from
        0.001 to 100; anything else is refused in one line (:func:`checked_tempo`)."""
        self.cps = as_fraction(checked_tempo(cps))
        if self.live_scheduler is not None:
            self.live_scheduler.set_tempo(self.cps)
        if self.link is not None:  # every peer follows (and so does this clock, through Link)
            self.link.set_tempo(self.cps)

    def hush(self) -> None:
        """Stop every track's pattern at once; voices still sounding fade out within a second
        (unlike Tidal, whose hush lets sounds ring: here a ``stretch 64`` voice rings for
        minutes). Works while a track is slow: the circuit breaker never lets one query hold
        the producer for more than about a block (see :mod:`latentcode.playback.breaker`).

        >>> s.eval('t1 $ "drone" # stretch 64'); s.hush()    # doctest: +SKIP
        """
        for track in self.tracks.values():
            track.pending = (None, None, None)
        self.onces.clear()
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
        slots: int | None = None,
    ) -> Scheduler:
        """A scheduler over this session's tracks; ``snapshot`` freezes the latest patterns.

        ``decode`` replaces the model's decode (e.g. to watch the latent frames go by). With
        ``wait_for_sounds`` (offline: the same file every time) a sound that needs encoding or
        clustering is prepared before the block goes on; without it (live: the audio must
        never stop) the track waits in silence while the bank's worker prepares it. Live, at
        most :data:`~latentcode.playback.stealing.DEFAULT_VOICE_CAP` voices sound at once (more
        would gap the audio; ``voice_cap`` sets it); offline, where time is no object, up to
        ``MAX_VOICES``. ``slots``: fewer slots (a render's: up to the last that plays).
        """
        tracks = self.tracks
        if snapshot:
            tracks = {n: Track(n, t.slot, t.latest()) for n, t in self.tracks.items()
                      if t.slot < (slots or self.slots)}  # (past ``slots``, none plays)
        scheduler = Scheduler(
            tracks, bank=self.bank if wait_for_sounds else self.bank.live(),
            decode=decode or self.frames, slots=slots or self.slots,
            sample_rate=self.model.sample_rate, segment=self.model.segment,
            framing=self.framing, cps=self.cps, seed=seed, audible=self.audible, report=self.report,
            max_voices=MAX_VOICES if wait_for_sounds else self.voice_cap, channels=self.channels)
        # offline, voices are mixed in lanes, so that a split render is the same file
        scheduler.voices.lanes = LANES if wait_for_sounds else 1
        live = self.live_input  # ``in``: the engine's input live, a file offline
        if live is not None and getattr(live.source, "realtime", False) != wait_for_sounds:
            live.restart()
            scheduler.on_block.insert(0, live.block)
            scheduler.plays_input = True  # (one block a call: Scheduler.live_steps)
        for pattern in self.onces:
            scheduler.play_once(pattern)
        return scheduler

    def samples_for(self, cycles: float) -> int:
        """How many samples ``cycles`` cycles last at the current tempo."""
        return math.ceil(as_fraction(cycles) * self.model.sample_rate / self.cps)

    def render_dry(
        self, cycles: float, *, seed: int = 0, block: int = 1024, trace: Trace | None = None
    ) -> np.ndarray:
        """The tracks mixed without the engine's effects: (channels, n) float32, stereo unless
        the session has more channels.

        Quick to compute and free of pyo; used by tests and by the benchmarks of the decoder.
        ``trace`` (see :meth:`trace`) records the controls that moved.
        """
        sched = self.scheduler(seed=seed, snapshot=True)
        sched.trace = trace
        total = self.samples_for(cycles)
        out = np.zeros((self.channels, total), dtype=np.float32)
        wide = block * offline.OFFLINE_STEPS  # filled at once, in steps of ``block`` (as a render)
        buf = np.zeros((self.slots, self.channels, wide), dtype=np.float32)
        with one_thread():  # the same bits as a render (see model.threads.one_thread)
            for start in range(0, total, wide):
                buf[:] = 0
                sched.fill_steps(buf, start, block)
                n = min(wide, total - start)
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
        stems: str | Path | None = None,
        jobs: int | None = None,
    ) -> Path:
        """Render ``cycles`` cycles (plus ``tail`` seconds) offline to a WAV file.

        The same session and seed give a bit-identical file, on one process or with ``jobs``
        forks decoding the voices (default: one per core; see
        :mod:`latentcode.playback.parallel`). ``trace`` (see :meth:`trace`)
        records the controls of the voices as they play, for ``render --plot``'s panel.
        ``stems`` names a folder for one file per track (``t1.wav`` ...) and one for the shared
        reverb (``reverb.wav``): sample-aligned with the mix, and summing to it before the
        master limiter (the mix itself is unchanged).
        """
        from latentcode.audio.engine import Engine

        path = Path(path)
        frames = self.samples_for(cycles) + int(tail * self.model.sample_rate)
        # the graph's slots up to the last that plays: a silent track adds exact zeros to the
        # mix and the reverb, and pyo's work is per slot (8 cost 72 us a buffer, 4 cost 47)
        slots = self.slots if stems is not None else 1 + max(
            (t.slot for t in self.tracks.values() if t.latest() is not None), default=0)
        engine = Engine("offline", tracks=slots, sr=self.model.sample_rate,
                        on_message=self.report, channels=self.channels)
        source: Any = None
        try:
            scheduler = self.scheduler(seed=seed, snapshot=True, slots=slots)
            scheduler.trace = trace
            jobs = default_jobs() if jobs is None else jobs
            source = scheduler
            if jobs > 1 and trace is None:  # (the trace watches every voice: one process)
                source = SplitRender(scheduler, jobs)
            with one_thread():
                engine.render(source, frames, path, progress=progress,
                              stems=self.stem_paths(stems) if stems is not None else None)
        except ForkFailed as e:
            raise LatentcodeError(f"the render stopped: one of its processes failed ({e}); "
                                  "--jobs 1 renders in this process alone") from None
        finally:
            if isinstance(source, SplitRender):
                source.close()
            engine.close()
        return path

    def stem_paths(self, folder: str | Path) -> list[Path | None]:
        """The stems' files in ``folder``, one per track slot (None: unused) and the reverb's
        last; the folder is made if need be."""
        folder = Path(folder).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LatentcodeError(f"cannot make the stems' folder {str(folder)!r}: "
                                  f"{e.strerror}") from None
        by_slot = {t.slot: name for name, t in self.tracks.items()}
        names = [by_slot.get(slot) for slot in range(self.slots)]
        # a track called reverb keeps its name; the reverb's file then gets another
        reverb = "reverb-return" if "reverb" in names else "reverb"
        return [folder / f"{n}.wav" if n else None for n in names] + [folder / f"{reverb}.wav"]

    def trace(self, interval: float = 0.02) -> Trace:
        """A recorder of the controls that move, to hand to :meth:`render` or :meth:`render_dry`
        (readings every ``interval`` seconds; tracks shown by name)."""
        names = {t.slot: name for name, t in self.tracks.items()}
        return Trace(sample_rate=self.model.sample_rate, interval=interval, names=names)


class _Plan:
    """What a block of statements will do, gathered before anything changes."""

    def __init__(self, env: dict[str, Any], base: Path, quant: Fraction) -> None:
        self.env = env
        self.base = base
        self.plays: list[tuple[str, Any, bool, float | None, tuple[str, Fraction] | None]] = []
        self.quant: Fraction = quant
        self.ops: list[Callable[[], None]] = []  # the actions, run in order after the plays
