"""One source's audio on its way to the graph: the producer side.

The producer asks the :class:`~latentcode.audio.source.Source` for a block, checks it and its
controls, and queues both in an :class:`~latentcode.audio.ring.AudioRing`. The audio side
(:class:`~latentcode.audio.playout.Playout`, pyo's server callback) plays the ring; the two
share only the ring and a :class:`~latentcode.audio.playout.Board` of counters, so live the
audio side runs in a process of its own (:mod:`latentcode.audio.player`) and offline in the
render's. The live engine and the offline render drive the same :class:`Stream`; only who
calls :meth:`Stream.produce` differs (a producer thread running :meth:`Stream.keep_filled`, or
the render loop just in time).

>>> stream = Stream(tracks=1, block=1024, sr=44100, capacity=1 << 16, lookahead=4096,
...                 reporter=Reporter())
>>> stream.stats().position, stream.controls.names[0]
(0, 'gain')
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentcode.audio import call_size
from latentcode.audio.controls import TrackControls
from latentcode.audio.graph import Graph
from latentcode.audio.messages import Reporter
from latentcode.audio.playout import GAPS_KEPT, Board, Playout, latest_gaps
from latentcode.audio.rewind_margin import RewindMargin, Schedule
from latentcode.audio.ring import AudioRing
from latentcode.audio.shared import Stamp
from latentcode.audio.source import Source, sanitize
from latentcode.errors import LatentcodeError

UNDERRUN_REPORT_EVERY = 5.0  # s: a slow source is news once, not a message per buffer


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of the engine's counters (see :attr:`Engine.stats`)."""

    underruns: int  # audio buffers in which the ring ran dry while playing
    underrun_samples: int  # samples of silence those gaps added
    blocks: int  # blocks produced by the source
    fill_errors: int  # blocks whose fill raised (played as silence)
    producer_load: float  # time spent in fill / duration of the audio it produced (all blocks)
    producer_load_recent: float  # the same over about the last second
    producer_load_peak: float  # the worst single block
    ring_fill: int  # samples queued now
    position: int  # the clock: source samples that have been played
    output_frames: int  # frames the engine has output, gaps and panic silence included
    dropped: int  # queued samples thrown away by panic()
    # the latest underruns (GAPS_KEPT): the source sample after which each gap's silence
    # came, and its samples; in a live take, every gap delays the samples after it
    gaps: tuple[tuple[int, int], ...] = ()


WORST_WINDOW = 5.0  # s: how long the slowest block is remembered (between one and two of these)


class Stream:
    """A ring of ``capacity`` samples for ``tracks`` tracks of ``channels`` channels each
    (stereo, or a ring of speakers), fed ``block`` samples at a time, and the counters of what
    happened to it.

    The audio side is a :class:`~latentcode.audio.playout.Playout`: this stream's own
    (:attr:`playout`, offline), or another process's, given as the shared ``ring``, ``board``,
    ``gaps`` and ``stamp`` and a ``wake`` it can set (live, :mod:`latentcode.audio.player`).
    Only those are shared: the producer writes ``lookahead``, ``playing``, ``producing_end``
    and ``panics`` on the board, the audio side everything about underruns.
    """

    def __init__(self, tracks: int, block: int, sr: int, capacity: int, lookahead: int,
                 reporter: Reporter, channels: int = 2, *, ring: AudioRing | None = None,
                 board: Board | None = None, gaps: np.ndarray | None = None,
                 stamp: Stamp | None = None, wake: Any = None) -> None:
        self.tracks = tracks
        self.channels = channels
        self.block = block
        self.sr = sr
        self.ring = AudioRing(channels * tracks, capacity) if ring is None else ring
        self.board = Board() if board is None else board
        self.lookahead = lookahead  # samples the producer keeps queued
        self.steps = 1  # blocks filled a call offline (docs/audio-engine.md; live: catch_up)
        self.reporter = reporter
        self.controls = TrackControls(sr)
        # set by the engine or the render loop
        # the audio side wants more: the producer wakes (an Event, or a PipeWake across)
        self.wake = threading.Event() if wake is None else wake
        self.generation = 0  # one per live start: a producer from an older one may not push
        # the audio side in this process (offline), or None when another process plays
        self.playout: Playout | None = None
        if board is None:
            self.playout = Playout(self.ring, self.board, block, self.wake.set)
        self._gaps = self.playout.gaps if self.playout is not None else gaps
        self._stamp = self.playout.stamp if self.playout is not None else stamp
        # the audio side's errors since the last call (another process's: the engine's)
        self.audio_errors: Callable[[], list[str]] = (
            self.playout.take_errors if self.playout is not None else list)
        # the source
        self._source: Source | None = None
        self._source_tracks = tracks
        self._fresh = True  # its first controls jump instead of gliding
        self._scratch: dict[int, np.ndarray] = {}  # samples -> the block to fill
        self._bs = 0  # the graph's buffer, once connected
        # counters
        self._blocks = self._fill_errors = 0
        self._fill_time = self._load_recent = self._load_peak = 0.0
        self._batching = call_size.Batching()  # blocks a call by the load (usual_steps)
        self._costs = call_size.CallCosts()  # the load of each size of call lately (catch_up)
        self._worst = [0.0, 0.0]  # s: the slowest fill of the last window, of this one
        self._underruns_told = (0, -math.inf)  # (count already reported, when)
        # immediate changes (amend): how many, samples of them heard too late, the first
        # sample the latest one changed, and how far ahead of the buffer being played the next
        # one starts
        self.rewinds = self.rewind_late = self.rewound_at = 0
        # the latest rewinds that came too late: (their first sample, samples they missed)
        self.late_rewinds: deque[tuple[int, int]] = deque(maxlen=GAPS_KEPT)
        self._rewind_times, self._schedule = RewindMargin(sr), Schedule(sr)
        # lines being evaluated (held): the producer keeps only ``_hold_floor`` queued
        self._holds, self._hold_floor, self._hold_lock = 0, 0, threading.Lock()

    # the flags the audio side reads, on the board
    @property
    def lookahead(self) -> int:
        """Samples the producer keeps queued."""
        return self.board.lookahead

    @lookahead.setter
    def lookahead(self, samples: int) -> None:
        self.board.lookahead = samples

    @property
    def playing(self) -> bool:
        """Gaps count as underruns only while playing."""
        return bool(self.board.playing)

    @playing.setter
    def playing(self, value: bool) -> None:
        self.board.playing = int(value)

    @property
    def preroll(self) -> bool:
        """Offline: the silent buffers before the source's first sample."""
        return self.playout is not None and self.playout.preroll

    @preroll.setter
    def preroll(self, value: bool) -> None:
        if self.playout is not None:
            self.playout.preroll = value

    @property
    def stamp(self) -> tuple[int, float] | None:
        """(first sample of the latest buffer, ``time.monotonic()`` when the audio side took
        it): where the sample clock stands in real time (Engine.heard_stamp); None before."""
        position, ns = self._stamp.read()
        return (position, ns / 1e9) if ns else None

    @property
    def gaps(self) -> tuple[tuple[int, int], ...]:
        """The latest underruns: the source sample after which each gap's silence came, and
        its samples."""
        return latest_gaps(self._gaps, self.board.gaps)

    def connect(self, graph: Graph) -> None:
        """Play into ``graph`` (this stream's own audio side: offline)."""
        self._bs = graph.buffersize
        self._at_rate(graph.sr)
        self.playout.connect(graph)

    def heard_in(self, sr: int, buffersize: int) -> None:
        """The audio side (another process) plays at ``sr``, ``buffersize`` a buffer."""
        self._bs = buffersize
        self._at_rate(sr)

    def _at_rate(self, sr: int) -> None:
        if sr != self.sr:  # what reckons in samples reckons in these from now on
            self.sr, self.controls = sr, TrackControls(sr)
            self._rewind_times, self._schedule = RewindMargin(sr), Schedule(sr)

    @property
    def source(self) -> Source | None:
        """The source being played (None before :meth:`attach`)."""
        return self._source

    def disconnect(self) -> None:
        """Forget the graph (after it was closed)."""
        if self.playout is not None:
            self.playout.disconnect()

    def attach(self, source: Source) -> None:
        """Make ``source`` the one to play from the next block on; forget what is queued."""
        n = int(getattr(source, "tracks", self.tracks))
        if not 0 < n <= self.tracks:
            raise LatentcodeError(f"the source has {n} tracks; this engine has {self.tracks}")
        channels = int(getattr(source, "channels", 2))
        if channels != self.channels:
            raise LatentcodeError(f"the source makes {channels} channels a track; this engine "
                                  f"plays {self.channels}")
        self._source = source
        self._source_tracks = n
        if hasattr(source, "rewinds"):  # a rewind asked for wakes the producer at once
            source.wake = self.wake.set
        self._fresh = True
        self.ring.reset()
        if self.playout is not None:  # (another process's resets when it starts)
            self.playout.reset()

    def panic(self) -> None:
        """Ask the audio side to fade out, drop what is queued and clear the effects' tails."""
        self.board.panics += 1

    def stats(self) -> EngineStats:
        """A snapshot of the counters."""
        audio_time = self._blocks * self.block / self.sr
        board = self.board
        return EngineStats(
            underruns=board.underruns,
            underrun_samples=board.underrun_samples,
            blocks=self._blocks,
            fill_errors=self._fill_errors,
            producer_load=self._fill_time / audio_time if audio_time else 0.0,
            producer_load_recent=self._load_recent,
            producer_load_peak=self._load_peak,
            ring_fill=self.ring.available(),
            position=self.ring.read_pos,
            output_frames=board.frames,
            dropped=board.dropped,
            gaps=self.gaps,
        )

    @property
    def rewind_margin(self) -> int:
        """A rewind's margin whatever the audio side's phase, in samples (a pad's fixed wait,
        Engine.soonest_change, and a rewind with no stamp to go by: :mod:`.rewind_margin`)."""
        return self._rewind_times.fixed(self.lookahead)

    @property
    def call_margin(self) -> int:
        """Samples a change waits for the producer's call under way: for a usual call
        (:meth:`usual_steps`) by its length (:class:`.call_size.Batching`). It moves only with
        the producer's load, and never while a pad is played (the scheduler keeps to one block
        then), so every note waits the same."""
        return self._batching.margin(self.usual_steps())

    @property
    def worst_fill(self) -> float:
        """Seconds the slowest block took lately (within the last one or two windows of
        ``WORST_WINDOW`` seconds), waiting for a core or the GIL included."""
        return max(self._worst)

    # -- the producer (not the audio thread) --------------------------------------------------

    def prefill(self) -> None:
        """Queue ``lookahead`` samples before the audio starts."""
        while self.ring.available() < self.lookahead:
            self.produce()

    @contextmanager
    def held(self, floor: int) -> Iterator[None]:
        """While the performer's process evaluates a line: the producer keeps ``floor``
        samples queued (the fewest it may: :attr:`Engine.lookahead_floor`, which covers its
        slowest call lately), not the whole lookahead. The line has the core to itself, and
        an immediate change finds the producer between two calls: its rewind starts at once,
        where it waited for the call under way. The queue is filled again from the line's
        end.

        >>> s = Stream(1, 1024, 44100, 8192, 4096, Reporter())
        >>> with s.held(1500): print(s.queue_target())
        1500
        >>> s.queue_target()
        4096
        """
        with self._hold_lock:
            self._holds += 1
            self._hold_floor = floor
        try:
            yield
        finally:
            with self._hold_lock:
                self._holds -= 1
            self.wake.set()

    def queue_target(self) -> int:
        """Samples the producer keeps queued now: the lookahead, less while a line is being
        evaluated (:meth:`held`)."""
        if self._holds:
            return min(self.lookahead, self._hold_floor)
        return self.lookahead

    def keep_filled(self, halt: threading.Event, generation: int,
                    watch: Callable[[], None] | None = None) -> None:
        """The producer thread: keep ``lookahead`` samples queued; sleep until the audio side
        wants more. Runs until ``halt`` is set or a newer start retires ``generation``.
        ``watch`` is called at every wake (the engine looks after the audio process)."""
        ring = self.ring
        while not halt.is_set() and generation == self.generation:
            self.wake.wait(0.05)
            self.wake.clear()
            self._schedule.note(self.stamp, time.monotonic())
            try:
                if watch is not None:
                    watch()
                self.amend()
                while (not halt.is_set() and ring.available() < self.queue_target()
                       and ring.free() >= self.block):
                    self.produce(generation, self.catch_up())
                    self.amend()
                    self._report_underruns()
                self.forward_audio_errors()
            except Exception as exc:  # an engine bug: say so, keep the thread alive
                self.reporter.exception("the audio producer failed", exc)
                time.sleep(0.01)

    def catch_up(self) -> int:
        """Blocks the live producer fills in its next call: :meth:`usual_steps`, or as many as
        it is behind, up to ``LIVE_STEPS[1]``; no more than it makes while the ring plays what
        it holds (:mod:`.call_size`); one for a source whose ``live_steps`` is 1."""
        source = self._source
        if not hasattr(source, "fill_steps") or getattr(source, "live_steps", None) == 1:
            return 1
        queued = self.ring.available()
        behind = (self.queue_target() - queued) // self.block  # (held: to the floor only)
        most = min(max(self.usual_steps(), behind), call_size.LIVE_STEPS[1],
                   self.ring.free() // self.block)
        return call_size.choose(most, queued, self.block, self._costs, self._load_recent)

    def usual_steps(self) -> int:
        """Blocks the live producer fills in a call while it keeps up: two with ``fill_steps``
        while it is busy or a call of two is short (:class:`.call_size.Batching`: a quarter to
        a third of its time back, at a block more of queue), else one; or the source's
        ``live_steps`` (the scheduler says 1 while the live input or a pad plays)."""
        if not (self._batching.batching and hasattr(self._source, "fill_steps")):
            return 1
        return getattr(self._source, "live_steps", None) or call_size.LIVE_STEPS[0]

    def produce(self, generation: int | None = None, steps: int | None = None) -> None:
        """Ask the source for one block (or ``steps`` blocks, :attr:`steps` by default) and
        queue each with its controls.

        ``generation`` retires a thread that outlived stop() inside a slow fill: once a newer
        start() happened, it may not push into the ring (it would be a second producer)."""
        steps = (steps or self.steps) if hasattr(self._source, "fill_steps") else 1
        n = steps * self.block
        out = self._scratch.get(n)
        if out is None:  # one per size (live: a few), so that a block allocates nothing
            out = self._scratch[n] = np.zeros((self.tracks, self.channels, n), np.float32)
        out.fill(0.0)
        start = self.ring.write_pos
        self.board.producing_end = start + n
        t0 = time.perf_counter()
        try:
            controls = (self._source.fill_steps(out[: self._source_tracks], start, self.block)
                        if steps > 1 else [self._source.fill(out[: self._source_tracks], start)])
        except Exception as exc:
            self._fill_errors += 1
            out.fill(0.0)
            controls = [None] * steps
            self.reporter.exception("the audio source failed (playing silence)", exc)
        spent = time.perf_counter() - t0
        load = spent * self.sr / n
        self._fill_time += spent
        self._load_peak = max(self._load_peak, load)
        # the slowest block of this window and of the one before: what the lookahead must
        # cover now (Engine.lookahead_floor), forgetting a slow start within two windows
        worst, window = self._worst, max(1, round(WORST_WINDOW * self.sr / self.block))
        worst[1] = max(worst[1], spent)
        if (self._blocks + steps) // window != self._blocks // window:
            worst[0], worst[1] = worst[1], 0.0
        self._blocks += steps
        weight = min(1.0, n / self.sr)  # ~1 s memory
        self._load_recent += weight * (load - self._load_recent)
        self._costs.note(steps, load)
        self._batching.note(self._load_recent)
        sanitize(out)
        for i, step_controls in enumerate(controls):
            changes = self._parse_controls(step_controls) if step_controls else None
            # A source's first controls are its initial state: they jump, so sound at sample
            # 0 is already filtered/sent; later changes glide.
            payload = (self._fresh, changes) if changes else None
            self._fresh = False
            if generation is not None and generation != self.generation:
                return
            block = out[:, :, i * self.block : (i + 1) * self.block]
            self.ring.push(block.reshape(self.channels * self.tracks, self.block), payload)

    def amend(self) -> None:
        """Carry out the source's rewinds (an immediate change, see
        :mod:`latentcode.playback.rewind`): from the first sample that can still change in
        time, add each changed track's difference into the ring, and replace its controls.

        That sample is one hardware buffer past the one being played (never written while
        read), plus as many buffers as the audio side may take while it is made, from where
        it stands in its period (:mod:`.rewind_margin`); samples it is late for: rewind_late."""
        source = self._source
        if not (getattr(source, "rewinds", None) or getattr(source, "retouches", None)):
            return
        ring, t0, now, decoded = self.ring, time.perf_counter(), time.monotonic(), False
        self._schedule.note(self.stamp, now)
        soonest = ring.read_pos + self._bs
        ahead = self._schedule.ahead(ring.read_pos, now)
        margin = (self.rewind_margin if ahead is None
                  else self._rewind_times.samples(self._bs, self.lookahead, ahead))
        for a in source.amend(soonest, soonest + margin, ring.write_pos, self.block):
            only = getattr(a, "only", None)  # (a knob's retouch replaces a few controls)
            ring.edit(a.at, Strip(a.track, only))  # the blocks from ``at`` on
            if a.audio is not None:
                decoded = True
                changed = ring.amend(a.start, a.audio, ring.read_pos + self._bs,
                                     first_row=a.track * self.channels)
                self.rewind_late += max(0, changed - a.at)
                if changed > a.at:
                    self.late_rewinds.append((a.at, changed - a.at))
            for at, controls in a.controls:
                entry = [{}] * a.track + [controls]
                changes = self._parse_controls(entry) if controls else None
                if changes:
                    ring.post(at, (False, changes))
            self.rewinds += 1
            self.rewound_at = a.at
        if decoded:  # (a pad's fixed wait, rewind_margin, follows rewinds' median)
            self._rewind_times.note(time.perf_counter() - t0)

    def _parse_controls(self, controls: Any) -> list[tuple[int, str, float]] | None:
        """Turn the source's per-track dicts into checked (track, key, value) changes."""
        changes = []
        try:
            items = list(enumerate(controls))[: self._source_tracks]
        except TypeError:
            self.reporter.once("controls-type", "the audio source returned controls that are "
                               "not a list of dicts; ignored")
            return None
        for track, entry in items:
            if not entry:
                continue
            for key, raw in entry.items():
                value = self._control_value(key, raw)
                if value is not None:
                    changes.append((track, key, value))
        return changes or None

    def _control_value(self, key: str, raw: Any) -> float | None:
        """A control's value as the graph applies it, or None (ignored, reported once)."""
        names = self.controls.names
        if key not in names:
            self.reporter.once(f"key-{key}", f"unknown audio control {key!r} ignored "
                               f"(known: {', '.join(names)})")
            return None
        value = self.controls.value(key, raw)
        if value is None:
            self.reporter.once(f"value-{key}", f"audio control {key} got {raw!r}; ignored")
        return value

    def _report_underruns(self) -> None:
        """Tell the performer about gaps, at most every UNDERRUN_REPORT_EVERY seconds."""
        now = time.monotonic()
        seen, since = self._underruns_told
        underruns = self.board.underruns
        if underruns > seen and now - since >= UNDERRUN_REPORT_EVERY:
            self._underruns_told = (underruns, now)
            gaps = underruns - seen
            self.reporter.say(
                f"audio gaps: {gaps} buffer{'s' * (gaps != 1)} ran dry (the source is too slow: "
                f"{self._load_recent:.0%} of real time lately, worst block "
                f"{self._load_peak:.0%}); raise the lookahead or lighten the piece")

    def forward_audio_errors(self) -> None:
        """Report what went wrong in the audio thread (which may not report itself)."""
        for message in self.audio_errors():
            self.reporter.once(message, message)


class Strip:
    """Takes track ``track``'s controls (or only those named in ``only``) out of a queued
    block's payload: an immediate change replaces them. An object, not a closure, so that it
    can travel to the audio process.

    >>> payload = (False, [(0, "lpf", 500.0), (1, "lpf", 900.0), (1, "gain", 0.5)])
    >>> Strip(1, only={"lpf"})(payload); payload[1]
    [(0, 'lpf', 500.0), (1, 'gain', 0.5)]
    """

    def __init__(self, track: int, only: Any = None) -> None:
        self.track = track
        self.only = None if only is None else frozenset(only)

    def __call__(self, payload: Any) -> None:
        track, only = self.track, self.only
        changes = payload[1]
        changes[:] = [c for c in changes
                      if c[0] != track or (only is not None and c[1] not in only)]
