"""Synthetic sources for the engine tests and benchmark: known sounds at known samples.

Each is a tiny :class:`latentcode.audio.source.Source`: it computes its block from ``start`` alone,
so the same source object renders the same audio however the blocks fall.
"""

from __future__ import annotations

import numpy as np

BURST = 64  # samples in one click


def burst(sr: int = 44100) -> np.ndarray:
    """A click with a sharp first sample (onsets detect on it): a decaying 1 kHz cosine.

    >>> round(float(burst()[0]), 3)
    0.8
    """
    k = np.arange(BURST)
    return (0.8 * np.exp(-k / 12.0) * np.cos(2 * np.pi * 1000 * k / sr)).astype(np.float32)


class Clicks:
    """A click every ``period`` samples, at sample 0, period, 2·period…, rotating over tracks.

    >>> c = Clicks(tracks=2, period=100); out = np.zeros((2, 2, 250), np.float32)
    >>> _ = c.fill(out, 0); np.flatnonzero(np.abs(out).sum(axis=(0, 1)) > 1.5).tolist()
    [0, 100, 200]
    """

    def __init__(self, tracks: int = 4, period: int = 11025, until: int | None = None,
                 controls: list[dict] | None = None) -> None:
        self.tracks, self.period, self.until = tracks, period, until
        self.controls = controls
        self._burst = burst()
        self._sent = False

    def onsets(self, start: int, n: int) -> range:
        """Onset positions that fall in [start, start + n)."""
        first = -(-start // self.period) * self.period
        end = start + n if self.until is None else min(start + n, self.until)
        return range(first, end, self.period)

    def fill(self, out: np.ndarray, start: int) -> list[dict] | None:
        n = out.shape[2]
        for pos in self.onsets(start - BURST + 1, n + BURST - 1):
            track = (pos // self.period) % self.tracks
            lo, hi = max(pos, start), min(pos + BURST, start + n)
            out[track, :, lo - start : hi - start] += self._burst[lo - pos : hi - pos]
        if self.controls is not None and not self._sent:
            self._sent = True
            return self.controls
        return None


class Noise:
    """White noise on track 0 (deterministic per sample index), with fixed controls."""

    def __init__(self, controls: dict | None = None, until: int | None = None) -> None:
        self.tracks = 1
        self.controls = controls or {}
        self.until = until

    def fill(self, out: np.ndarray, start: int) -> list[dict]:
        n = out.shape[2]
        rng = np.random.default_rng(start)
        out[0] = 0.3 * rng.standard_normal((2, n)).astype(np.float32)
        if self.until is not None and start + n > self.until:
            out[0, :, max(0, self.until - start):] = 0.0
        return [self.controls]


class NonFinite(Clicks):
    """Clicks, but every third block is full of NaN and ±inf."""

    def fill(self, out: np.ndarray, start: int) -> list[dict] | None:
        result = super().fill(out, start)
        if (start // out.shape[2]) % 3 == 1:
            out[:, :, ::3] = np.nan
            out[:, :, 1::3] = np.inf
            out[:, :, 2::3] = -np.inf
        return result


class Failing(Clicks):
    """Clicks, but fill raises for the blocks that start in [fail_from, fail_to)."""

    def __init__(self, fail_from: int, fail_to: int, **kw) -> None:
        super().__init__(**kw)
        self.fail_from, self.fail_to = fail_from, fail_to

    def fill(self, out: np.ndarray, start: int) -> list[dict] | None:
        if self.fail_from <= start < self.fail_to:
            out[:] = 0.5  # a half-written block must not play
            raise RuntimeError(f"decoder exploded at sample {start}")
        return super().fill(out, start)


class Sweep:
    """Noise on two tracks whose track controls move every block (a low-pass sweeping, gains
    that step up to far past full scale, so that the limiter works, reverb and delay sends),
    and a click every ``period``: what would tell a render computed in whole blocks from one
    computed buffer by buffer.

    >>> s = Sweep(); out = np.zeros((2, 2, 1024), np.float32)
    >>> [s.fill(out, start)[0]["lpf"] for start in (0, 1024, 2048)]
    [300.0, 397.0, 494.0]
    """

    def __init__(self, period: int = 5000) -> None:
        self.tracks, self.period = 2, period

    def fill(self, out: np.ndarray, start: int) -> list[dict]:
        n = out.shape[2]
        rng = np.random.default_rng(start)
        out[:] = 0.2 * rng.standard_normal(out.shape).astype(np.float32)
        for pos in range(-(-start // self.period) * self.period, start + n, self.period):
            out[:, :, pos - start : min(pos - start + BURST, n)] += burst()[: start + n - pos]
        k = start // n
        return [{"lpf": 300.0 + 97.0 * (k % 60), "gain": 0.5 + 0.1 * (k % 40),
                 "delay": 0.3 * (k % 3)},
                {"hpf": 40.0 + 11.0 * (k % 50), "gain": 2.0 - 0.03 * (k % 50),
                 "room": 0.1 * (k % 7)}]
