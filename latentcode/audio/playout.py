"""The audio side of a stream: what pyo's server callback does with each buffer.

The callback copies one buffer from the :class:`~latentcode.audio.ring.AudioRing` into the
graph's table, applies controls when their first sample is heard, counts gaps, runs panic, and
hands the input to the capture. Live it runs in the audio process
(:mod:`latentcode.audio.player`), offline in the render loop's own process; the producer side
(:class:`~latentcode.audio.stream.Stream`) reaches it only through the ring and the
:class:`Board`, so the two may be two processes.

>>> board = Board()
>>> board.lookahead = 4096; board.lookahead, board.underruns
(4096, 0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from latentcode.audio.capture import Capture
from latentcode.audio.graph import Graph, Mixer
from latentcode.audio.ring import AudioRing
from latentcode.audio.shared import Stamp

PANIC_SECONDS = 0.03  # long enough for the fade and for the effects to be cleared
# the latest underruns whose place is kept (Board gaps): enough to line a long take up with its
# render (a 10-minute soak on a slow host had 444), few enough to be a few MB at most
GAPS_KEPT = 16384
AUDIO_ERRORS_KEPT = 8  # the audio side's errors kept for the producer to report

# (instant, [(track, control, value)]): the controls queued with a block; instant ones jump
Changes = tuple[bool, list[tuple[int, str, float]]]

# The integers both sides share. The producer writes the first four, the audio side the rest.
FIELDS = ("playing", "lookahead", "producing_end", "panics",
          "underruns", "underrun_samples", "frames", "dropped", "gaps", "errors")
_INDEX = {name: i for i, name in enumerate(FIELDS)}


class Board:
    """The integers the two sides of a stream share, by name, over one int64 array (shared
    memory when the audio side is another process). Each has one writer; an aligned 8-byte
    store is read whole."""

    def __init__(self, values: np.ndarray | None = None) -> None:
        object.__setattr__(self, "_values",
                           np.zeros(len(FIELDS), np.int64) if values is None else values)

    def __getattr__(self, name: str) -> int:
        try:
            return int(self._values[_INDEX[name]])
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: int) -> None:
        self._values[_INDEX[name]] = value


class Playout:
    """Plays ``ring`` into a graph's table a buffer at a time (pyo's callback), and keeps the
    audio side's counters on ``board``: underruns, their places (``gaps``, the latest
    :data:`GAPS_KEPT`), the frames output, what panic dropped, and where the sample clock
    stands in real time (``stamp``). ``wake`` asks the producer for more."""

    def __init__(self, ring: AudioRing, board: Board, block: int, wake: Callable[[], None],
                 gaps: np.ndarray | None = None, stamp: Stamp | None = None) -> None:
        self.ring = ring
        self.board = board
        self.block = block
        self.wake = wake
        self.gaps = np.zeros((GAPS_KEPT, 2), np.int64) if gaps is None else gaps
        # (first sample of the latest buffer, time.monotonic_ns() when the callback took it)
        self.stamp = Stamp() if stamp is None else stamp
        self.preroll = False  # offline: the silent buffers before the source's first sample
        self.capture: Capture | None = None  # the audio input's ring, when there is an input
        self.errors: list[str] = []  # what went wrong here, for the producer to report
        self._mixer: Mixer | None = None
        self._bs = self._sr = 0
        self._fade_out = np.zeros(0, np.float32)
        self.reset()

    def connect(self, graph: Graph) -> None:
        """Play into ``graph``: install the callback that copies each buffer into its table."""
        self._mixer = graph.mixer
        self._bs, self._sr = graph.buffersize, graph.sr
        self._fade_out = np.linspace(1.0, 0.0, self._bs, dtype=np.float32)
        graph.server.setCallback(self.on_buffer)

    def disconnect(self) -> None:
        """Forget the graph (after it was closed)."""
        self._mixer = None

    def reset(self) -> None:
        """Forget a panic under way (a new start: neither side runs)."""
        self._panics_seen = self.board.panics
        self._panic_left = 0  # buffers of silence still to play
        self._priming = False  # after panic: silent until the ring is full again
        self._drop_target = 0  # queued audio before this position is dropped, unheard

    def take_errors(self) -> list[str]:
        """The errors kept since the last call (the producer reports them once each)."""
        errors, self.errors = self.errors, []
        return errors

    def on_buffer(self) -> None:
        """pyo's server callback: copy one buffer from the ring into the table (the limiter is
        the graph's own: nothing of it here). Never raises: pyo would print a traceback every
        buffer. A failing part plays silence; the capture goes on."""
        self.stamp.write(self.ring.read_pos, time.monotonic_ns())
        try:
            self._play_buffer()
        except BaseException as exc:  # noqa: B036 - nothing may escape into pyo's C loop
            self._audio_error(exc)
            mixer = self._mixer
            if mixer is not None:
                for view in mixer.views:
                    view.fill(0.0)
        capture = self.capture
        if capture is not None and self._mixer.input_views:
            try:  # the input of the buffer before: a copy, nothing more (see .capture)
                capture.take(self._mixer.input_views, self.ring.read_pos)
            except BaseException as exc:  # noqa: B036
                self._audio_error(exc)

    def _audio_error(self, exc: BaseException) -> None:
        """Keep a few errors for the producer to report (once each)."""
        if len(self.errors) < AUDIO_ERRORS_KEPT:
            self.errors.append(f"audio callback error: {type(exc).__name__}: {exc}")
            self.board.errors += 1

    def _play_buffer(self) -> None:
        mixer, ring, n, board = self._mixer, self.ring, self._bs, self.board
        views = mixer.views
        board.frames += n
        if mixer.jumped:
            mixer.settle()
        if self.preroll:
            for view in views:
                view.fill(0.0)
            return
        if board.panics != self._panics_seen or self._panic_left:
            self._panic_buffer(mixer, ring, n)
            return
        if ring.read_pos < self._drop_target:  # the block that was being made during panic
            dropped, due = ring.skip(self._drop_target)
            board.dropped += dropped
            self._apply(due)
        lookahead = board.lookahead
        if self._priming:  # after panic: wait for a full ring, then play
            if ring.available() < min(lookahead, ring.capacity - self.block):
                for view in views:
                    view.fill(0.0)
                self.wake()
                return
            self._priming = False
        got, due = ring.pull(views, n)
        mixer.wake_sounding()
        if due:
            self._apply(due)
        if got < n and board.playing:
            board.underruns += 1
            board.underrun_samples += n - got
            count = board.gaps
            self.gaps[count % GAPS_KEPT] = (ring.read_pos, n - got)
            board.gaps = count + 1
        if ring.available() < lookahead:
            self.wake()

    def _panic_buffer(self, mixer: Mixer, ring: AudioRing, n: int) -> None:
        """One buffer of panic: fade what plays now, then drop, then clear tails and reopen."""
        views, board = mixer.views, self.board
        panics = board.panics
        if panics != self._panics_seen:
            self._panics_seen = panics
            _got, due = ring.pull(views, n)
            mixer.wake_sounding()
            self._apply(due)
            for view in views:
                view *= self._fade_out
            mixer.fade(0.0, n / self._sr)
            self._drop_target = max(ring.write_pos, board.producing_end)
            self._panic_left = max(2, math.ceil(PANIC_SECONDS * self._sr / n))
            return
        dropped, due = ring.skip(self._drop_target)
        board.dropped += dropped
        self._apply(due)
        for view in views:
            view.fill(0.0)
        self._panic_left -= 1
        if self._panic_left == 0:
            mixer.clear_tails()
            mixer.fade(1.0, 0.005)
            self._priming = True
        self.wake()

    def _apply(self, due: list[Changes]) -> None:
        mixer = self._mixer
        for instant, changes in due:
            for track, key, value in changes:
                mixer.set(track, key, value, glide=not instant)


def latest_gaps(gaps: np.ndarray, count: int) -> tuple[tuple[int, int], ...]:
    """The latest gaps kept in ``gaps`` (a ring of ``GAPS_KEPT`` rows) after ``count``, oldest
    first.

    >>> g = np.zeros((GAPS_KEPT, 2), np.int64); g[:2] = [(100, 256), (900, 64)]
    >>> latest_gaps(g, 2)
    ((100, 256), (900, 64))
    """
    kept = min(count, len(gaps))
    rows = [gaps[i % len(gaps)] for i in range(count - kept, count)]
    return tuple((int(at), int(n)) for at, n in rows)

