"""Measuring audio: levels, onsets, spectra and clicks at frame boundaries.

Used by the tests (is a render silent? do its onsets line up with the pattern?) and by the
benchmarks (which framing clicks less?). Plain numpy.
"""

from __future__ import annotations

import numpy as np


def rms(x: np.ndarray) -> float:
    """Root mean square of all samples.

    >>> rms(np.ones(4))
    1.0
    """
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def mono(x: np.ndarray) -> np.ndarray:
    """Mix (channels, n), (n, channels) or (n,) audio down to (n,); channels: the short axis."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return x
    return x.mean(axis=0) if x.shape[0] < x.shape[1] else x.mean(axis=1)


def onsets(x: np.ndarray, *, threshold: float = 0.01, gap: int = 2048) -> np.ndarray:
    """Sample indices where the signal rises above ``threshold`` after ``gap`` samples below it.

    >>> x = np.zeros(10000); x[3000:3100] = 0.5; x[8000:8100] = 0.5
    >>> onsets(x).tolist()
    [3000, 8000]
    """
    loud = np.abs(mono(x)) > threshold
    idx = np.flatnonzero(loud)
    if not idx.size:
        return idx
    starts = [idx[0]]
    starts += [b for a, b in zip(idx[:-1], idx[1:], strict=True) if b - a > gap]
    return np.asarray(starts)


def spectrum(x: np.ndarray, *, size: int = 4096) -> np.ndarray:
    """Average magnitude spectrum (Hann windows of ``size``, half overlapped), normalised."""
    x = mono(x)
    if len(x) < size:
        x = np.pad(x, (0, size - len(x)))
    hop = size // 2
    frames = np.lib.stride_tricks.sliding_window_view(x, size)[::hop]
    mag = np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)).mean(axis=0)
    total = mag.sum()
    return mag / total if total > 0 else mag


def centroid(x: np.ndarray, sample_rate: int = 44100) -> float:
    """Spectral centroid in Hz: where the energy of the spectrum balances."""
    s = spectrum(x)
    freqs = np.linspace(0, sample_rate / 2, len(s))
    return float(np.sum(freqs * s))


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two sounds' log spectra (0 = same colour); scale-free."""
    sa, sb = spectrum(a), spectrum(b)
    return float(np.mean(np.abs(np.log(sa + 1e-9) - np.log(sb + 1e-9))))


def boundary_discontinuity(x: np.ndarray, start: int, hop: int) -> float:
    """How much larger the sample-to-sample jump is at frame boundaries than elsewhere.

    Frames start at ``start + k*hop``. 1 means boundaries are like any other point; a plain
    concatenation of independently decoded frames clicks and gives much more.

    >>> x = np.sin(np.arange(8192) / 20); x[4096:] += 0.5
    >>> boundary_discontinuity(x, 0, 4096) > 100
    True
    """
    d = np.diff(mono(x)) ** 2
    joins = np.arange(start + hop, len(d) + 1, hop) - 1
    joins = joins[(joins >= 0) & (joins < len(d))]
    if not joins.size or d.mean() == 0:
        return 0.0
    return float(d[joins].mean() / d.mean())
