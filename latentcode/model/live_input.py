"""The audio input as a sound: encoded frame by frame as it arrives, so a pattern plays ``in``.

:class:`LiveInput` runs in the producer thread, once per block (a scheduler's ``on_block``
listener), before the block's voices are made. It reads what the input has brought since the
last block (a :class:`~latentcode.audio.capture.Capture` live, a
:class:`~latentcode.audio.capture.FileInput` in a render: anything with ``available``,
``read``, ``oldest`` and ``input_at``), limits it, and encodes every whole frame of it with
the model's encoder into a ring of latent frames, :class:`LiveSound`. Encoding is cheap (the
encoder is one layer: 4 frames a block took 0.6 ms here) and starts the first time ``in`` is
named, so a session that never plays it pays nothing. The same pass fills the recordings that
``:sample`` asked for.

A voice of ``in`` reads the ring through the map from the engine's clock to latent frames that
each block sets (:meth:`LiveSound.frame_at`): the newest frame is the one the block's end
plays, so the input is heard as soon as the block that can play it is made.

>>> class Model:
...     segment, latent_dim = 8, 2
...     def encode(self, x): return x[:, :2].copy(), np.zeros((len(x), 2), np.float32)
>>> from latentcode.audio.capture import FileInput
>>> live = LiveInput(Model(), FileInput(np.ones(64, np.float32) * 0.5), hop=4)
>>> _ = live.sound.use(); live.block(0, 32); live.sound.newest, live.sound.frame_at(32)
(6, 6.0)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.match import RunningMatch

LIVE_SECONDS = 16.0  # of latent frames kept: how far ``in`` reaches back (begin/end)
CEILING = 0.9  # the input is limited to this peak (-0.9 dBFS) before it is encoded
RELEASE = 0.25  # s: how fast the limiter lets go
CHUNK = 64  # samples the limiter holds one gain for (ramped between chunks)
MAX_HOURS = 1.0  # how long a voice of ``in`` may last without an end of its own
STALE = 2  # blocks: a map that lags more than this behind the newest frame is renewed
# the spectral match of the input, as the bank measures a file's (model/match.py): one tile
# of input every segment, louder than LEVEL (silence says nothing of the model's hiss), is
# decoded TILES at a time and added to running spectra
LEVEL = 10 ** (-50 / 20)
TILES = 8


class LiveSound:
    """The input's latent frames, as voices read a :class:`~latentcode.model.sound.Sound`.

    Positions are absolute frame numbers since the input opened (frame ``k`` covers input
    samples ``k·hop`` to ``k·hop + segment``); the ring keeps the last ``capacity``. Reading
    past the newest frame holds it (the input has not come yet), before the oldest holds that.
    """

    name = "in"
    members: tuple[str, ...] = ()
    onset = 0.0
    live = True
    quiet = steps = None  # one match throughout (see Sound.steps)

    def __init__(self, latent_dim: int, hop: int, capacity: int) -> None:
        self.hop = hop
        self.capacity = capacity
        self.mu = np.zeros((capacity, latent_dim), np.float32)
        self.logvar = np.full((capacity, latent_dim), -20.0, np.float32)
        self.newest = -1  # the newest frame encoded (-1: none yet)
        self.first = 0  # the first frame encoded since the input (re)started
        self.offset = 0.0  # frame_at(s) = s / hop + offset
        self.used = False  # encoding starts once a pattern names ``in``
        # the gains that bring the model's decode of the input to the input's spectrum,
        # measured as it comes (LiveInput); None until enough has come
        self.match: np.ndarray | None = None

    def step_at(self, pos: np.ndarray) -> np.ndarray:
        return np.zeros(len(pos), np.intp)

    def gains(self, step: int) -> np.ndarray | None:
        return self.match

    @property
    def frames(self) -> int:
        """How many frames the ring holds now."""
        return max(1, min(self.newest + 1, self.capacity))

    def use(self) -> LiveSound:
        """Mark the input as played (encoding starts with the next block); returns itself."""
        self.used = True
        return self

    def frame_at(self, sample: float) -> float:
        """The input frame that source sample ``sample`` plays, live."""
        return sample / self.hop + self.offset

    def span(self, begin: float, end: float, sample: int) -> tuple[float, float]:
        """Where a voice starting at ``sample`` reads, in frames: from the live edge on with
        no end (``begin`` 0, ``end`` 1, the defaults), or a part of the ring as it was then
        (``# begin 0.5``: from half the ring back), played as any sound. On whole frames:
        the voice's frames are then the input's own, not blends of two (up to a hop later)."""
        now = math.floor(self.frame_at(sample))
        if begin == 0.0 and end == 1.0:
            return now, now + MAX_HOURS * 3600 * 44100 / self.hop
        reach = min(self.capacity - 1, max(now - self.first, 0))
        return now - reach * (1 - begin), now - reach * (1 - end)

    def lerp(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """mu and logvar at fractional frame positions, from the ring (see the class)."""
        lo = max(self.first, self.newest - self.capacity + 1)  # (rows never written: no)
        pos = np.clip(pos, lo, max(self.newest, lo))
        i0 = np.floor(pos).astype(np.intp)
        i1 = np.minimum(i0 + 1, max(self.newest, lo))
        w = (pos - i0).astype(np.float32)[:, None]
        i0 %= self.capacity
        i1 %= self.capacity
        return (self.mu[i0] * (1 - w) + self.mu[i1] * w,
                self.logvar[i0] * (1 - w) + self.logvar[i1] * w)


class InputLimiter:
    """A peak limiter for the input: at most ``ceiling``, the gain taken down at once and let
    up over ``release`` seconds, ramped within chunks of :data:`CHUNK` samples.

    >>> lim, x = InputLimiter(44100), np.full(256, 4.0, np.float32)
    >>> lim(x); round(float(x.max()), 6)
    0.9
    """

    def __init__(self, sr: int, ceiling: float = CEILING, release: float = RELEASE) -> None:
        self.ceiling = ceiling
        self.gain = 1.0
        self.up = math.exp(-CHUNK / (release * sr))  # per chunk, towards 1

    def __call__(self, x: np.ndarray) -> None:
        """Limit ``x`` in place."""
        g = self.gain
        for i in range(0, len(x), CHUNK):
            part = x[i : i + CHUNK]
            peak = float(np.abs(part).max()) if len(part) else 0.0
            want = min(1.0, self.ceiling / peak) if peak > 0 else 1.0
            new = want if want < g else 1.0 - (1.0 - g) * self.up
            new = min(new, want)
            if new != 1.0 or g != 1.0:
                part *= np.linspace(g, new, len(part), dtype=np.float32)
            g = new
        self.gain = g
        np.clip(x, -self.ceiling, self.ceiling, out=x)


class Recording:
    """Input samples [start, start + n) as they arrive; ``done`` gets them when complete."""

    def __init__(self, name: str, start: int, n: int, done: Callable[[str, np.ndarray], None]):
        self.name, self.start, self.n, self.done = name, start, n, done
        self.audio = np.zeros(n, np.float32)
        self.got = 0  # samples filled so far, from the start


class LiveInput:
    """The input encoded into a :class:`LiveSound` block by block (see the module)."""

    def __init__(self, model: Any, source: Any, hop: int, sr: int = 44100,
                 seconds: float = LIVE_SECONDS) -> None:
        self.model = model
        self.source = source
        self.segment = int(model.segment)
        self.hop = int(hop)
        capacity = math.ceil(seconds * sr / hop)
        self.sound = LiveSound(int(model.latent_dim), self.hop, capacity)
        self.limiter = InputLimiter(sr)
        # the limited input: enough for a frame and the longest gap between two blocks
        self._size = 1 << math.ceil(math.log2(max(sr, 4 * self.segment)))
        self._limited = np.zeros(self._size, np.float32)
        self.read_to = 0  # input positions before this are limited and kept in _limited
        self._from = 0  # where this run of the input began (frames start there)
        self.recordings: list[Recording] = []
        self.latency = 0  # source samples from an input sample's arrival to its playing
        self.encoded = 0  # frames encoded so far
        self.encode_seconds = 0.0  # spent encoding (and decoding tiles for the match)
        self.running = RunningMatch(self.segment, sr)
        self._tiles: list[tuple[np.ndarray, np.ndarray]] = []  # (input, mu) to decode
        self._sr = sr

    def restart(self, source: Any = None) -> None:
        """Begin again (a new render, a new engine), from what ``source`` (or the same one)
        has now: the ring is emptied, recordings dropped."""
        if source is not None:
            self.source = source
        self.read_to = self._from = self.source.available(0, 0)
        self.sound.newest, self.sound.first, self.sound.offset = -1, 0, 0.0
        self.sound.match = None
        self.limiter.gain = 1.0
        self.recordings.clear()
        self.running = RunningMatch(self.segment, self._sr)
        self._tiles.clear()

    def record(self, name: str, start: int, n: int, done: Callable[[str, np.ndarray], None]
               ) -> None:
        """Keep input [start, start + n) (input positions) and give it to ``done(name, audio)``
        once it has all come (called in the producer thread: hand slow work on)."""
        if n <= 0:
            raise LatentcodeError("a recording needs a positive length")
        self.recordings.append(Recording(name, start, n, done))

    def block(self, start: int, n: int, clock: Any = None) -> None:
        """The producer, before making source samples [start, start + n): take the input that
        has come, fill recordings, encode new frames, and map the block to the newest frame.
        (A scheduler's ``on_block`` listener: its ``clock`` is not needed here.)"""
        arrived = self.source.available(start, n)
        self._take(arrived)
        sound = self.sound
        if not sound.used:
            return
        seg, hop = self.segment, self.hop
        newest = (self.read_to - seg) // hop
        first = max(sound.newest + 1, newest - sound.capacity + 1, -(-self._from // hop),
                    -(-max(self.read_to - self._size, 0) // hop))
        if newest >= first:
            self._encode(first, newest)
        if sound.newest < 0:
            return
        # the block's end plays the newest frame; a map that still fits is kept (the same lag
        # for every voice), one that fell behind is renewed
        tight = sound.newest - (start + n) / hop
        if sound.offset > tight or sound.offset < tight - STALE * n / hop:
            sound.offset = tight
        written, played = self.source.stamp
        heard = start + n  # plays input at frame_at(heard) * hop, which arrived at...
        arrival = played + (sound.frame_at(heard) * hop - written)
        self.latency = int(heard - arrival)

    def _take(self, arrived: int) -> None:
        """Limit the input [read_to, arrived) into the kept ring and the recordings."""
        if arrived <= self.read_to:
            return
        lo = max(self.read_to, arrived - self._size)
        x = self.source.read(lo, arrived)
        self.limiter(x)
        a = lo % self._size  # x is at most the kept ring long: one wrap at most
        first = min(len(x), self._size - a)
        self._limited[a : a + first] = x[:first]
        self._limited[: len(x) - first] = x[first:]
        for r in list(self.recordings):
            a, b = max(lo, r.start + r.got), min(arrived, r.start + r.n)
            if b > a:
                r.audio[a - r.start : b - r.start] = x[a - lo : b - lo]
                r.got = b - r.start
            if arrived >= r.start + r.n:
                self.recordings.remove(r)
                r.done(r.name, r.audio)
        self.read_to = arrived

    def _encode(self, first: int, last: int) -> None:
        """Encode frames first..last (inclusive) from the kept input into the ring."""
        hop, seg, size = self.hop, self.segment, self._size
        starts = np.arange(first, last + 1) * hop
        idx = (starts[:, None] + np.arange(seg)[None, :]) % size
        t0 = time.perf_counter()
        frames = self._limited[idx]
        mu, logvar = self.model.encode(frames)
        self.encoded += len(starts)
        rows = np.arange(first, last + 1) % self.sound.capacity
        self.sound.mu[rows] = mu
        self.sound.logvar[rows] = logvar
        if self.sound.newest < 0:
            self.sound.first = first
        self.sound.newest = last
        # tiles for the match: every segment // hop frames, where the input is not silent
        loud = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) >= LEVEL
        tile = (np.arange(first, last + 1) % max(1, seg // hop)) == 0
        self._tiles += [(frames[j], mu[j]) for j in np.flatnonzero(tile & loud)]
        if len(self._tiles) >= TILES:
            x = np.stack([t[0] for t in self._tiles])
            y = self.model.decode(np.stack([t[1] for t in self._tiles]))
            self._tiles.clear()
            self.running.add(x, y)
            self.sound.match = self.running.gains()
        self.encode_seconds += time.perf_counter() - t0
