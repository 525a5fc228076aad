"""A true-peak look-ahead limiter for the master bus, built of pyo's own objects.

pyo has no true-peak limiter (its ``Compress`` with a look-ahead let peaks through, and the
``Clip`` after it did the limiting: hundreds of samples at full scale in a plain piece). This one:

1. **True peak**, not sample peak: every sample and three points between it and the next are
   estimated with a 4x polyphase interpolating FIR (windowed sinc, :func:`interpolator`), so a
   peak between samples, which a D/A converter or a later resampling or lossy encode will
   reconstruct, is seen too. Stereo-linked: one gain for every channel, from the loudest.
2. **Look-ahead**: the audio is delayed by the look-ahead window. The reduction each estimate
   needs (``1 - ceiling / its true peak``, at least 0) is held over the window (a running
   maximum), released towards what the signal needs now at an exponential rate (``release``
   seconds) and at once if it needs more, and smoothed by a moving average as long as the
   window, so the gain ramps down over the look-ahead and is already low enough when the peak
   comes out; no step, so no click.
3. A final clip at the ceiling, which the gain leaves nothing to do but catch rounding.

:meth:`Limiter.build` makes it of pyo's C objects, each working a whole buffer: the running
maximum and the moving average as trees of delays (``SDelay``) and ``Max``es or sums, the
release a ``Follower2`` (instant attack, exponential fall). So the gain of a sample is made in
the very buffer that sample is computed in, and the output is the look-ahead late and no more
(:attr:`Limiter.latency`: 144 samples at 44.1 kHz, 3.3 ms). An earlier limiter turned peaks into
gains in numpy in the server callback, which pyo calls *before* it computes a buffer, so it read
the peaks a buffer late and the audio had to wait a buffer more (400 samples, 9.1 ms). Nothing
of this one runs in Python, so it cannot hold up the audio thread or let the GIL go in it.

:meth:`Limiter.process` is the same limiter in numpy: the reference the engine's graph is held to
(the tests compare them sample for sample), and a limiter for audio outside the engine.

>>> sr = 44100
>>> lim = Limiter(sr, ceiling_db=-1.0)
>>> t = np.arange(sr) / sr
>>> loud = np.vstack([np.sin(2 * np.pi * 997 * t)] * 2).astype(np.float32) * 4.0  # +12 dBFS
>>> out = np.empty_like(loud)
>>> for i in range(0, sr, 256):
...     lim.process(loud[:, i : i + 256], out[:, i : i + 256])
>>> bool(np.abs(out).max() <= 10 ** (-1 / 20)), lim.delay, lim.latency
(True, 143, 144)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

OVERSAMPLE = 4
TAPS_PER_PHASE = 24  # 4 x 24 = 96 taps: within 0.06 dB of the true peak up to 0.43 x sr
KAISER_BETA = 4.0
CEILING_DB = -1.0  # dBTP: nothing clips, also after a conversion to 16 bits or a lossy encode
# The gain aims this far under the ceiling: a gain that moves within a wave raises the true peak
# of the product by up to ~0.03 dB over what the gain was computed for (measured).
MARGIN_DB = 0.05
LOOKAHEAD = 0.003  # s: the attack ramp; shorter distorts more (the gain moves faster)
# s: time constant of the recovery towards what the signal needs; shorter pumps and distorts,
# longer ducks. 70 ms ducks the 4-track benchmark piece as much on average (-1.31 dB) as the
# limiter before this one did with 100 ms towards no reduction, with as much gain modulation
# at 20-200 Hz (where it is heard as roughness)
RELEASE = 0.07
CONVOLVE_LAG = 1  # pyo's Convolve answers a sample late (measured with an impulse)


def interpolator(taps: int = TAPS_PER_PHASE, factor: int = OVERSAMPLE,
                 beta: float = KAISER_BETA) -> np.ndarray:
    """The (taps, factor) matrix of a polyphase interpolator (Kaiser-windowed sinc).

    Column ``p`` applied to ``x[n - taps + 1 .. n]`` (oldest first) estimates the signal at
    ``n - taps // 2 + p / factor``; column 0 is that sample itself. Every column sums to 1.

    >>> w = interpolator(8, 4); w.shape, np.flatnonzero(np.abs(w[:, 0]) > 1e-9).tolist()
    ((8, 4), [3])
    >>> x = np.cos(0.3 * np.arange(8)); bool(abs(x @ w[:, 2] - np.cos(0.3 * 3.5)) < 1e-2)
    True
    """
    centre = taps // 2
    i = np.arange(taps)[:, None]
    d = i - (taps - 1) + centre - np.arange(factor)[None, :] / factor
    radius = taps / 2
    window = np.i0(beta * np.sqrt(np.clip(1 - (d / radius) ** 2, 0, None))) / np.i0(beta)
    h = np.sinc(d) * window
    return h / h.sum(axis=0, keepdims=True)


class Limiter:
    """A stereo-linked true-peak limiter: ``lookahead`` seconds of attack, ``release`` seconds
    of recovery, output at most ``ceiling_db`` dBTP.

    :meth:`build` makes it in a pyo graph; :meth:`process` is the same limiter in numpy.
    :attr:`delay` is :meth:`process`'s delay in samples (the look-ahead plus the interpolator's
    centre), :attr:`latency` the graph's (a sample more: pyo's ``Convolve`` answers late).
    """

    def __init__(self, sr: float, *, channels: int = 2, ceiling_db: float = CEILING_DB,
                 lookahead: float = LOOKAHEAD, release: float = RELEASE) -> None:
        self.sr = float(sr)
        self.channels = channels
        self.ceiling = float(10 ** (ceiling_db / 20))
        self.target = float(10 ** ((ceiling_db - MARGIN_DB) / 20))
        d = self.window = max(1, round(lookahead * sr))  # the hold and the average
        self.centre = TAPS_PER_PHASE // 2  # where the interpolator's estimate sits
        self.delay = self.centre + d - 1
        self.latency = self.delay + CONVOLVE_LAG
        # Follower2 falls by exp(-2 pi / (sr * falltime)) a sample: this falltime is a decay
        # of exp(-1 / (release * sr)), a time constant of ``release``
        self.falltime = 2 * math.pi * release
        self.decay = math.exp(-1.0 / (release * sr))
        self._fast: list[Any] = []  # build(): the delay lines clear() empties
        self._follower: Any = None  # build(): the release
        # process(): its history, made at the first block
        self._fir = np.ascontiguousarray(interpolator().T, np.float32)  # (4, taps)
        self._n = 0
        self.reset()

    def phase_taps(self) -> list[list[float]]:
        """The interpolator as four FIR impulse responses, newest sample first (the order of a
        convolution: pyo's ``Convolve``); the first is a plain delay by :attr:`centre`."""
        return [[float(v) for v in column[::-1]] for column in interpolator().T]

    # -- in a pyo graph ------------------------------------------------------------------------

    def build(self, pyo: Any, bus: Any, keep: Callable[[Any], Any]) -> Any:
        """Limit ``bus`` (a pyo object of :attr:`channels` streams) with pyo's objects, each
        passed to ``keep`` (the graph holds them, newest last); returns the limited output,
        :attr:`latency` samples later than the bus. Per 256-sample buffer the objects cost
        about what the callback's numpy gains did (docs/audio-engine.md)."""
        sr = self.sr

        def later(signal: Any, samples: int, **kw: Any) -> Any:
            # SDelay counts whole samples (it truncates): half a sample more cannot fall short
            line = keep(pyo.SDelay(signal, delay=(samples + 0.5) / sr,
                                   maxdelay=(samples + 8) / sr, **kw))
            self._fast.append(line)
            return line

        # the four phases' magnitudes; the first is the sample itself, a plain delay, not a
        # Convolve of 24 taps (a Convolve costs about a tenth of the whole graph; its other
        # taps are 1e-17)
        phases = [keep(pyo.Abs(later(bus, self.centre + CONVOLVE_LAG)))]
        for taps in self.phase_taps()[1:]:
            table = keep(pyo.DataTable(size=len(taps), init=taps))
            phases.append(keep(pyo.Abs(keep(pyo.Convolve(bus, table, size=len(taps))))))
        each = keep(pyo.Max(keep(pyo.Max(phases[0], comp=phases[1])),
                            comp=keep(pyo.Max(phases[2], comp=phases[3]))))
        peak = keep(pyo.Max(each[0], comp=self.target))  # under the target: no reduction
        for channel in range(1, self.channels):
            peak = keep(pyo.Max(peak, comp=each[channel]))
        # held: the largest over the window and the sample (d + 1), by doubling spans
        width, span, held = self.window + 1, 1, peak
        while 2 * span <= width:
            held = keep(pyo.Max(held, comp=later(held, span)))
            span *= 2
        if width > span:
            held = keep(pyo.Max(held, comp=later(held, width - span)))
        need = keep(pyo.Sig(keep(pyo.Pow(held, -1.0)), mul=-self.target, add=1.0))
        self._follower = keep(pyo.Follower2(need, risetime=0, falltime=self.falltime))
        # the average over the window: sums over 1, 2, 4... samples, then those the window's
        # binary digits name, end to end
        sums, span = {1: self._follower}, 1
        while 2 * span <= self.window:
            sums[2 * span] = later(sums[span], span, add=sums[span])
            span *= 2
        total, covered = sums[span], span
        for size in sorted(sums, reverse=True):
            if covered + size <= self.window:
                total = later(sums[size], covered, add=total)
                covered += size
        gain = keep(pyo.Sig(total, mul=-1.0 / self.window, add=1.0))
        delayed = keep(pyo.SDelay(bus, delay=(self.latency + 0.5) / sr,
                                  maxdelay=(self.latency + 8) / sr, mul=gain))
        return keep(pyo.Clip(delayed, min=-self.ceiling, max=self.ceiling))

    def clear(self) -> Callable[[], None]:
        """Forget the built graph's past (after panic, the bus silent): its delay lines empty,
        its release at once for the next buffer. Returns what gives the release its time back,
        to be called before the buffer after (pyo takes a setting at the buffer it computes
        next). Cheap: the audio thread calls it."""
        for line in self._fast:
            line.reset()
        self._follower.falltime = 0.0
        return self._release_as_built

    def _release_as_built(self) -> None:
        self._follower.falltime = self.falltime

    def forget(self) -> None:
        """Drop the built graph's objects (the graph closes them: none may outlive it)."""
        self._fast.clear()
        self._follower = None

    # -- the same limiter in numpy -------------------------------------------------------------

    def reset(self) -> None:
        """Forget :meth:`process`'s past: no reduction, silence in its delay line."""
        self._held = np.full(self.window, self.target)  # the last d estimates (at least target)
        self._sums = np.zeros(self.window - 1)  # the last d - 1 released reductions
        self._u = 0.0  # the follower
        if self._n:
            self._sig.fill(0.0)

    def process(self, x: Sequence[np.ndarray], out: Sequence[np.ndarray]) -> None:
        """Limit the block ``x`` into ``out``, :attr:`delay` samples later: each a (channels, n)
        array or a sequence of ``channels`` arrays of n samples; ``out`` may be ``x``. The release
        is a loop in Python (25 ms a second of stereo audio on the AVX2-only EPYC): not for the
        audio thread."""
        n = len(x[0])
        if n != self._n:
            self._allocate(n)
        for channel, samples in zip(self._input, x, strict=True):
            channel[...] = samples
        np.copyto(self._frames, self._windows)  # contiguous: the product is one BLAS call
        est = np.matmul(self._fir, self._columns, out=self._est)  # (phase, channel * n)
        np.abs(est, out=est)
        peak = np.maximum(self._phases.max(axis=0), self.target)  # (n,): every channel's
        d = self.window
        history = np.concatenate([self._held, peak])
        held = np.lib.stride_tricks.sliding_window_view(history, d + 1).max(axis=1)
        self._held = history[-d:]
        need = 1.0 - self.target / held
        released, u, decay = np.empty(n), self._u, self.decay
        for k, v in enumerate(need.tolist()):  # Follower2: up at once, down towards the need
            u = v if v > u else v + decay * (u - v)
            released[k] = u
        self._u = u
        sums = np.concatenate([[0.0], self._sums, released]).cumsum()
        self._sums = np.concatenate([self._sums, released])[-(d - 1):] if d > 1 else self._sums
        gain = 1.0 - (sums[d:] - sums[:-d]) / d
        result = np.clip(self._delayed * gain.astype(np.float32), -self.ceiling, self.ceiling)
        for channel, samples in zip(out, result, strict=True):
            channel[...] = samples
        keep = self._hist
        self._sig[:, :keep] = self._sig[:, n:].copy()

    def _allocate(self, n: int) -> None:
        """The signal path's buffers for blocks of ``n`` samples, keeping the history."""
        taps = TAPS_PER_PHASE
        old = self._sig if self._n else None
        h = self._hist = max(self.delay, taps - 1)  # history kept before each block
        self._sig = np.zeros((self.channels, h + n), np.float32)
        if old is not None:
            self._sig[:, :h] = old[:, :h]
        self._frames = np.empty((self.channels, n, taps), np.float32)
        self._est = np.empty((OVERSAMPLE, self.channels * n), np.float32)
        # views made once: making them costs more than the arithmetic on a block
        self._windows = np.lib.stride_tricks.sliding_window_view(
            self._sig[:, h - taps + 1 :], taps, axis=1)  # (ch, n, taps), newest sample last
        self._columns = self._frames.reshape(-1, taps).T
        self._phases = self._est.reshape(-1, n)
        lag = h - self.delay
        self._input, self._delayed = self._sig[:, h:], self._sig[:, lag : lag + n]
        self._n = n
