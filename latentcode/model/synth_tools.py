"""Shared pieces of the corpus synthesizers: random draws, numpy noise and filters, pyo graphs.

The family modules (``synth_struck``, ``synth_hit``, ``synth_modal``, ``synth_sustained``,
``synth_grain``) each pair a *planner*, which draws every random choice with numpy, with a
*builder*, which turns the drawn parameters into sound. Nothing here imports pyo: the renderer
(:mod:`latentcode.model.synth`) passes the pyo module into :class:`Graph`.

>>> r = np.random.default_rng(0)
>>> 100 <= loguniform(r, 100, 1000) <= 1000
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

SAMPLE_RATE = 44100
NYQUIST_SAFE = 18000.0  # Hz: partials and sidebands stay below this, so nothing aliases


def loguniform(r: np.random.Generator, lo: float, hi: float) -> float:
    """A draw spread evenly over octaves (pitches, cutoffs, times).

    >>> 1 <= loguniform(np.random.default_rng(1), 1, 8) <= 8
    True
    """
    return float(np.exp(r.uniform(np.log(lo), np.log(hi))))


def length(r: np.random.Generator, seconds: float | None, lo: float, hi: float) -> float:
    """A file's length: drawn in [lo, hi], or ``seconds`` when the caller fixes it. The draw
    happens either way, so a fixed length leaves every other parameter as the default build has
    it.

    >>> length(np.random.default_rng(0), 2.0, 0.5, 1.0)
    2.0
    """
    d = float(r.uniform(lo, hi))
    return float(seconds) if seconds is not None else d


def seed_of(r: np.random.Generator) -> int:
    """A seed for numpy noise drawn inside the renderer."""
    return int(r.integers(2**31))


def gesture(r: np.random.Generator, dur: float, lo: float, hi: float, log: bool) -> list:
    """A slow breakpoint line: 3-7 ``[time, value]`` points spread over ``dur``.

    >>> g = gesture(np.random.default_rng(0), 4.0, 1.0, 2.0, False)
    >>> g[0][0], g[-1][0]
    (0.0, 4.0)
    """
    n = int(r.integers(3, 8))
    inner = np.sort(r.uniform(min(0.1, dur / 4), max(dur - 0.1, dur * 3 / 4), n - 2))
    ts = np.concatenate([[0.0], inner, [dur]])
    vs = np.exp(r.uniform(np.log(lo), np.log(hi), n)) if log else r.uniform(lo, hi, n)
    return [[float(t), float(v)] for t, v in zip(ts, vs, strict=True)]


def noise(seed: int, n: int, color: str = "white") -> np.ndarray:
    """Coloured noise in [-1, 1] from numpy (pink by spectral 1/sqrt(f), brown by a leaky sum).

    >>> x = noise(0, 1000, "pink")
    >>> x.shape, float(abs(x).max())
    ((1000,), 1.0)
    """
    size = 1 << max(0, (n - 1).bit_length())  # a power of two: the FFT of any length is fast
    w = np.random.default_rng(seed).standard_normal(size)
    if color == "pink":
        spec = np.fft.rfft(w)
        spec[1:] /= np.sqrt(np.arange(1, len(spec)))
        spec[0] = 0
        w = np.fft.irfft(spec, size)
    w = w[:n]
    if color == "brown":
        w = np.cumsum(w)
        w -= moving_mean(w, 1000)  # remove the drift
    return (w / (np.abs(w).max() + 1e-12)).astype(np.float32)


def moving_mean(x: np.ndarray, half: int) -> np.ndarray:
    """The mean of ``x`` over ``2 * half + 1`` samples around each one (zeros beyond the ends),
    by cumulative sums: linear time whatever the width. ``x - moving_mean(x, half)`` is a
    gentle high-pass that takes out drift and DC.

    >>> moving_mean(np.ones(5), 1).tolist()
    [0.6666666666666666, 1.0, 1.0, 1.0, 0.6666666666666666]
    """
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(len(x))
    return (c[np.minimum(i + half + 1, len(x))] - c[np.maximum(i - half, 0)]) / (2 * half + 1)


def band(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``x`` band-passed between ``lo`` and ``hi`` Hz by a smooth mask on its spectrum (for short
    bursts, where a ringing filter would smear the attack).

    >>> y = band(noise(0, 4096), 1000, 3000)
    >>> y.shape
    (4096,)
    """
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    lf = np.log2(np.maximum(f, 1.0))
    c, w = (np.log2(lo) + np.log2(hi)) / 2, max((np.log2(hi) - np.log2(lo)) / 2, 0.1)
    mask = np.exp(-0.5 * ((lf - c) / w) ** 4)  # flat on the band, falling off steeply outside
    return np.fft.irfft(spec * mask, len(x)).astype(np.float32)


class Graph:
    """One job's pyo objects. pyo drops objects nobody references, so every object made here is
    kept until :meth:`stop`.

    >>> import pyo  # doctest: +SKIP
    >>> g = Graph(pyo)  # doctest: +SKIP
    >>> out = g.k(pyo.Sine(440, mul=g.decay(0.0, 1.0, 0.5)))  # doctest: +SKIP
    """

    def __init__(self, pyo: Any) -> None:
        self.pyo = pyo
        self.keep: list = []

    def k(self, obj: Any) -> Any:
        """Keep ``obj`` alive for the job; returns it."""
        self.keep.append(obj)
        return obj

    def table(self, data: np.ndarray, loop: bool = True) -> Any:
        """A numpy signal played from a table, from its first sample."""
        t = self.k(self.pyo.DataTable(size=len(data), init=np.asarray(data).tolist()))
        return self.k(self.pyo.TableRead(t, freq=t.getRate(), loop=loop).play())

    def line(self, points: list) -> Any:
        """A linear breakpoint line ``[(time, value), ...]``."""
        return self.k(self.pyo.Linseg([tuple(x) for x in points]).play())

    def decay(self, t0: float, decay: float, amp: float, attack: float = 0.003,
              curve: float = 4.0) -> Any:
        """A percussive envelope: silence until ``t0``, a short linear rise to ``amp``, then a
        curved fall to zero over ``decay`` seconds."""
        pts = [(0, 0), (t0, 0), (t0 + attack, amp), (t0 + attack + decay, 0)]
        if t0 == 0:
            pts = pts[1:]
        return self.k(self.pyo.Expseg(pts, exp=curve, inverse=True).play())

    def stop(self) -> None:
        """Stop every object of the job (tables have no ``stop``)."""
        for obj in self.keep:
            if hasattr(obj, "stop"):
                obj.stop()
