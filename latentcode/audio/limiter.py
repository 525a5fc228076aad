"""A true-peak look-ahead limiter for the master bus.

pyo has no true-peak limiter (its ``Compress`` with a look-ahead let peaks through, and the
``Clip`` after it did the limiting: hundreds of samples at full scale in a plain piece). This one:

1. **True peak**, not sample peak: every sample and three points between it and the next are
   estimated with a 4x polyphase interpolating FIR (windowed sinc, :func:`interpolator`), so a
   peak between samples, which a D/A converter or a later resampling or lossy encode will
   reconstruct, is seen too. Stereo-linked: one gain for both channels, from the louder.
2. **Look-ahead**: the audio is delayed by :attr:`Limiter.delay` samples. The gain each estimate
   needs (ceiling / its true peak, at most 1) is held for the look-ahead window (a running
   minimum), released exponentially (``release`` seconds) and smoothed by a moving average as
   long as the window, so the gain ramps down over the look-ahead and is already low enough when
   the peak comes out; no step, so no click.
3. A final clip at the ceiling, which the gain leaves nothing to do but catch rounding.

In the engine the work is split (see :mod:`latentcode.audio.graph`): pyo's C objects compute the
interpolated peaks (``Convolve`` with :meth:`Limiter.phase_taps`, a plain delay for the first),
delay the audio and apply the gain; the server callback runs only :meth:`Limiter.gains`. That
split is for the GIL: numpy lets it go in every BLAS call and in any operation over more than
500 elements, and each time the decoder thread can take it and keep the audio thread waiting up
to a switch interval (measured: a callback doing the whole limiter in numpy took 0.4 ms
typically and 5 ms at the 99th percentile while a session played, against 0.1 and 0.2 ms
without it). :meth:`gains` works in chunks small enough to keep the GIL and allocates nothing.
:meth:`Limiter.process` is the same limiter all in numpy, for offline use and tests.

>>> sr = 44100
>>> lim = Limiter(sr, ceiling_db=-1.0)
>>> t = np.arange(sr) / sr
>>> loud = np.vstack([np.sin(2 * np.pi * 997 * t)] * 2).astype(np.float32) * 4.0  # +12 dBFS
>>> out = np.empty_like(loud)
>>> for i in range(0, sr, 256):
...     lim.process(loud[:, i : i + 256], out[:, i : i + 256])
>>> bool(np.abs(out).max() <= 10 ** (-1 / 20))
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

OVERSAMPLE = 4
TAPS_PER_PHASE = 24  # 4 x 24 = 96 taps: within 0.06 dB of the true peak up to 0.43 x sr
KAISER_BETA = 4.0
CEILING_DB = -1.0  # dBTP: nothing clips, also after a conversion to 16 bits or a lossy encode
# The gain aims this far under the ceiling: a gain that moves within a wave raises the true peak
# of the product by up to ~0.03 dB over what the gain was computed for (measured).
MARGIN_DB = 0.05
LOOKAHEAD = 0.003  # s: the attack ramp; shorter distorts more (the gain moves faster)
RELEASE = 0.1  # s: time constant of the recovery; shorter pumps and distorts, longer ducks
# numpy releases the GIL in an operation over more than this many elements (its
# NPY_BEGIN_THREADS_THRESHOLDED): gains() keeps every array it touches at most this long.
GIL_SAFE = 500
_EXACT_ONE = 2.0**-54  # the largest u for which 1.0 - u is 1.0 in float64 (a tie, to even)


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

    :meth:`gains` turns true-peak estimates into gains (the part that runs in the audio
    callback); :meth:`process` is the whole limiter in numpy. :attr:`delay` is the delay of
    :meth:`process` in samples (the look-ahead plus the interpolator's centre);
    :attr:`reduction` the smallest gain of the last block (1 when the limiter did nothing).
    """

    def __init__(self, sr: float, *, channels: int = 2, ceiling_db: float = CEILING_DB,
                 lookahead: float = LOOKAHEAD, release: float = RELEASE) -> None:
        self.channels = channels
        self.ceiling = float(10 ** (ceiling_db / 20))
        # a numpy float64, not a Python float: the estimates (float32) are compared with it in
        # float64, so an estimate under it needs a gain of exactly 1.0 (see _chunk_gains)
        self._target = np.float64(10 ** ((ceiling_db - MARGIN_DB) / 20))
        d = self.window = max(1, min(round(lookahead * sr), GIL_SAFE // 2))  # hold, average
        self.centre = TAPS_PER_PHASE // 2  # where the interpolator's estimate sits
        self.delay = self.centre + d - 1
        self.decay = math.exp(-1.0 / (release * sr))
        self.reduction = 1.0
        # the gain computer: every array at most GIL_SAFE long
        m = self.chunk = min(256, GIL_SAFE - d - 1)
        self._need = np.ones(d + m, np.float64)  # needed gain: d of history, then the chunk
        self._env = np.ones(d - 1 + m, np.float64)  # released gain: d-1 of history, the chunk
        self._runmin = np.empty((2, d + m), np.float64)
        self._sum = np.empty(d + m, np.float64)
        self._held = np.empty(m, np.float64)
        self._u = np.empty(m, np.float64)
        k = np.arange(m, dtype=np.float64)
        self._down = self.decay**k  # a^k
        self._up = self.decay**-k  # a^-k (small: the chunk is short and a is near 1)
        self._u_prev = 0.0  # 1 - the released gain of the last estimate
        # while nothing is or was lately above the target, every gain is this (d·(1/d) may
        # round below 1): a chunk of such estimates is not computed (see _chunk_gains)
        self._unity = np.float32(float(d) * (1.0 / d))
        self._settled = True  # the histories hold nothing but unity gains
        # process(): made for the first block's size
        self._fir = np.ascontiguousarray(interpolator().T, np.float32)  # (4, taps)
        self._n = 0

    def phase_taps(self) -> list[list[float]]:
        """The interpolator as four FIR impulse responses, newest sample first (the order of a
        convolution: pyo's ``Convolve``); the first is a plain delay by :attr:`centre`."""
        return [[float(v) for v in column[::-1]] for column in interpolator().T]

    def reset(self) -> None:
        """Forget the past: no gain reduction, silence in :meth:`process`'s delay line.
        Allocates nothing, so the audio thread may call it (after panic)."""
        self.reduction = 1.0
        self._need.fill(1.0)
        self._env.fill(1.0)
        self._u_prev = 0.0
        self._settled = True
        if self._n:
            self._sig.fill(0.0)

    # -- the gain computer (the audio thread) --------------------------------------------------

    def gains(self, peak: np.ndarray, out: np.ndarray) -> None:
        """The gains for a block of true-peak estimates ``peak`` (one per sample, both channels
        already taken together), into ``out`` (float32, same length). The gain ``out[k]`` is
        for the sample that ``peak[k - window + 1]`` estimates: the audio must be
        ``window - 1`` samples later than the estimates. Keeps the GIL; allocates nothing."""
        n, chunk = len(peak), self.chunk
        lowest = 1.0
        for i in range(0, n, chunk):
            lowest = min(lowest, self._chunk_gains(peak[i : i + chunk], out[i : i + chunk]))
        self.reduction = lowest

    def _chunk_gains(self, peak: np.ndarray, out: np.ndarray) -> float:
        d, m = self.window, len(peak)
        # Most chunks of most pieces need nothing: every estimate under the target, none in the
        # histories, and the release's remainder too small to move 1 - u off 1.0 (2^-54). The
        # arithmetic below then gives unity gains to the bit; skipping it saved most of the
        # limiter's time, a sixth of a split render's main process.
        released = self.decay * self._u_prev
        if self._settled and released <= _EXACT_ONE and float(peak.max()) <= self._target:
            out.fill(self._unity)
            self._u_prev = released * float(self._down[m - 1])
            return float(self._unity)
        need, env, total = self._need[: d + m], self._env[: d - 1 + m], self._sum[: d + m]
        held, u = self._held[:m], self._u[:m]
        # 1. the gain each estimate needs, held over the window (running minimum)
        np.maximum(peak, self._target, out=need[d:])
        np.divide(self._target, need[d:], out=need[d:])
        _running_min(need, d + 1, self._runmin[:, : d + m], held)
        # 2. release: u = 1 - gain jumps up at once and decays by a per sample,
        #    u[k] = max(1 - held[k], a * u[k-1]) = a^k * cummax((1 - held) * a^-k, a * u_prev)
        np.subtract(1.0, held, out=u)
        u *= self._up[:m]
        u[0] = max(u[0], self.decay * self._u_prev)
        np.maximum.accumulate(u, out=u)
        u *= self._down[:m]
        self._u_prev = float(u[-1])
        np.subtract(1.0, u, out=env[d - 1 :])
        # 3. moving average over the window: the gain ramps down across the look-ahead
        total[0] = 0.0
        np.cumsum(env, out=total[1:])
        np.subtract(total[d:], total[:m], out=held)
        np.multiply(held, 1.0 / d, out=out, casting="same_kind")
        # the histories for the next chunk (1-D: numpy copies overlapping slices in place)
        need[:d] = need[m:]
        env[: d - 1] = env[m:]
        self._settled = bool((need[:d] == 1.0).all() and (env[: d - 1] == 1.0).all())
        return float(out.min())

    # -- the whole limiter in numpy (offline, tests) --------------------------------------------

    def process(self, x: Sequence[np.ndarray], out: Sequence[np.ndarray]) -> None:
        """Limit the block ``x`` into ``out``, :attr:`delay` samples later: each a (channels, n)
        array or a sequence of ``channels`` arrays of n samples; ``out`` may be ``x``. Not for
        the audio thread (its interpolator is one BLAS call, which lets the GIL go)."""
        n = len(x[0])
        if n != self._n:
            self._allocate(n)
        for channel, samples in zip(self._input, x, strict=True):
            channel[...] = samples
        np.copyto(self._frames, self._windows)  # contiguous: the product is one BLAS call
        est = np.matmul(self._fir, self._columns, out=self._est)  # (phase, channel * n)
        np.abs(est, out=est)
        np.max(self._phases, axis=0, out=self._peak)
        self.gains(self._peak, self._gain)
        result = self._result
        np.multiply(self._delayed, self._gain, out=result)
        np.clip(result, -self.ceiling, self.ceiling, out=result)
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
        self._peak = np.empty(n, np.float32)
        self._gain = np.empty(n, np.float32)
        self._result = np.empty((self.channels, n), np.float32)
        # views made once: making them costs more than the arithmetic on a block
        self._windows = np.lib.stride_tricks.sliding_window_view(
            self._sig[:, h - taps + 1 :], taps, axis=1)  # (ch, n, taps), newest sample last
        self._columns = self._frames.reshape(-1, taps).T
        self._phases = self._est.reshape(-1, n)
        lag = h - self.delay
        self._input, self._delayed = self._sig[:, h:], self._sig[:, lag : lag + n]
        self._n = n


def _running_min(a: np.ndarray, width: int, scratch: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = a[i : i + width].min()`` by doubling spans: log2(width) vector operations,
    between the two rows of ``scratch`` (2, len(a)) so that no operation overlaps itself (numpy
    would copy).

    >>> a = np.array([5., 3, 4, 1, 2, 6]); out = np.empty(3)
    >>> _running_min(a, 4, np.empty((2, 6)), out); out.tolist()
    [1.0, 1.0, 1.0]
    """
    size = len(a)
    src, span, row = a, 1, 0
    while 2 * span <= width:  # the result holds the min of a[i : i + 2 * span]
        top = size - 2 * span + 1
        dst = scratch[row, :top]
        np.minimum(src[:top], src[span : span + top], out=dst)
        src, span, row = dst, 2 * span, 1 - row
    n = len(out)
    np.minimum(src[:n], src[width - span : width - span + n], out=out)
