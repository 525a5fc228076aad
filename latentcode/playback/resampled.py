"""``speed``: a voice's pitch and direction, by resampling its audio after decoding (as a sampler
does: Tidal's ``speed``). 2 plays an octave up in half the time, 0.5 an octave down in twice the
time, -1 backwards. ``stretch`` is another thing: it changes time in latent space and keeps the
pitch.

A voice whose speed is not 1 holds an *inner* voice, the same voice at speed 1 in its own time,
rendered by a private :class:`~latentcode.playback.voices.Voices` (the same frames, decode,
grains, noise and gains as if it played itself) just ahead of what each block needs; the block's
part is read from it by linear interpolation, low-passed first when it goes up (so nothing folds
back below the Nyquist frequency). Going forwards, a block decodes ``speed`` blocks' worth of the
inner voice, so the cost follows the speed. Backwards needs the end before the start: the block
a reversed voice starts in decodes all of it (``benchmarks/speed.py`` measures both). Voices at
speed 1 never come here: they render exactly as before.

The speed is read at the voice's onset (a continuous signal's value there): a sampler's rate does
not glide within a voice here. Moving controls of the inner voice are read at the time each of
its frames is heard, ``start + t / |speed|`` for the frame at ``t`` samples into it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from latentcode.patterns.time import Fraction
from latentcode.playback.stealing import Fade

MIN_SPEED = 1 / 32  # slower than this, a voice would last minutes: refused
CHUNK = 16384  # samples of the inner voice rendered at a time
TAPS = 63  # of the anti-aliasing low-pass; odd, so that it has a centre and delays nothing


def lowpass(x: np.ndarray, cutoff: float) -> np.ndarray:
    """``x`` (channels, n) through a windowed-sinc low-pass at ``cutoff`` (a fraction of the
    sample rate, below 0.5), in place of what a resampler's own filter would do.

    >>> t = np.arange(4096)
    >>> high = np.sin(2 * np.pi * 0.4 * t)[None, :]
    >>> float(np.abs(lowpass(high, 0.2)[0, 100:-100]).max()) < 0.01
    True
    """
    k = np.arange(TAPS) - TAPS // 2
    taps = 2 * cutoff * np.sinc(2 * cutoff * k) * np.blackman(TAPS)
    taps /= taps.sum()
    n, half = x.shape[1], TAPS // 2  # "full", then centred: right for inputs under TAPS long
    return np.stack([np.convolve(channel, taps)[half : half + n] for channel in x])


def resample(x: np.ndarray, speed: float) -> np.ndarray:
    """``x`` (channels, n) played whole at ``speed``: ``|speed|`` times as fast (linear
    interpolation between samples, low-passed first above 1), reversed when negative; what
    :func:`mix` does block by block.

    >>> resample(np.ones((2, 1000)), 2.0).shape
    (2, 500)
    >>> resample(np.arange(4.0)[None, :], -0.5)
    array([[3. , 2.5, 2. , 1.5, 1. , 0.5, 0. ]], dtype=float32)
    """
    rate = abs(speed)
    n = x.shape[1]
    if rate > 1:
        x = lowpass(x, 0.5 / rate)
    at = np.arange(out_length(n, rate)) * rate
    if speed < 0:
        at = (n - 1) - at  # from the last sample back
    grid = np.arange(n)
    return np.stack([np.interp(at, grid, channel) for channel in x]).astype(np.float32)


def out_length(length: int, rate: float) -> int:
    """The samples a voice ``length`` samples long lasts when played ``rate`` times as fast.

    >>> out_length(1000, 2.0), out_length(1000, 0.5), out_length(0, 2.0)
    (500, 1999, 0)
    """
    return int((length - 1) // rate) + 1 if length > 0 else 0


def wrap(voice: Any, hop: int) -> Any:
    """``voice`` (made at speed 1, in its own time) as the voice heard at ``voice.speed``: its
    length and frames count heard samples; the inner voice is rendered on demand."""
    inner = dataclasses.replace(voice, start=0, track=0, speed=1.0)
    length = out_length(voice.length, abs(voice.speed))
    return dataclasses.replace(voice, length=length, frames=-(-length // hop) + 1, walk=None,
                               inner=inner)


class _Inner:
    """The inner voice's audio, rendered as far as asked: samples [offset, done) in ``audio``."""

    def __init__(self, voice: Any, voices: Any) -> None:
        self.voice, self.voices = voice, voices
        self.own = type(voices)(voices.decode, tracks=1, segment=voices.segment,
                                framing=voices.framing, seed=voices.seed,
                                channels=voices.channels)
        self.own.add(voice.inner)
        # the noise it would draw playing itself: seeded by where it is heard
        voice.inner.seed(voices.seed, voice.start)
        self.audio = np.zeros((voices.channels, 0), dtype=np.float32)
        self.offset = self.done = 0

    def render(self, need: float, cycle_at: Callable[[int], Fraction]) -> None:
        """Render the inner voice up to sample ``need`` (or its end)."""
        inner, rate, start = self.voice.inner, abs(self.voice.speed), self.voice.start

        def at(t: int) -> Fraction:
            return cycle_at(start + round(t / rate))

        parts = [self.audio]
        decoded = self.own.frames_decoded
        while self.done < min(need, inner.length):  # a moving stretch may end it sooner
            size = int(min(need, inner.length, self.done + CHUNK)) - self.done
            out = np.zeros((1, self.own.channels, size), dtype=np.float32)
            self.own.render(out, self.done, at)
            parts.append(out[0])
            self.done += size
        self.voices.frames_decoded += self.own.frames_decoded - decoded
        if len(parts) > 1:
            self.audio = np.concatenate(parts, axis=1)

    def forget(self, before: int) -> None:
        """Drop the audio before sample ``before``: no later block reads it."""
        if before > self.offset:
            self.audio = self.audio[:, before - self.offset :]
            self.offset = before


def mix(voice: Any, voices: Any, acc: np.ndarray, start: int, n: int,
        cycle_at: Callable[[int], Fraction]) -> None:
    """Add the part of a resampled ``voice`` heard in samples [start, start + n) into ``acc``
    (tracks, 2, >= n); ``voices`` is where it plays. A voice being faded out (stolen, hushed)
    follows its fade."""
    lo, hi = max(start, voice.start), min(start + n, voice.start + voice.length)
    if hi <= lo:
        return
    if voice.resampler is None:
        voice.resampler = _Inner(voice, voices)
    inner, speed = voice.resampler, voice.speed
    rate = abs(speed)
    k = np.arange(lo - voice.start, hi - voice.start)
    need = math.ceil(k[-1] * rate) + TAPS + 2 if speed > 0 else math.inf
    inner.render(need, cycle_at)
    voice.length = min(voice.length, out_length(voice.inner.length, rate))  # a walk's end
    k = k[k < voice.length]
    if not len(k):
        return
    at = k * rate if speed > 0 else (voice.inner.length - 1) - k * rate
    a = max(inner.offset, math.floor(at.min()) - TAPS)
    b = min(inner.done, math.ceil(at.max()) + TAPS + 2)
    x = inner.audio[:, a - inner.offset : b - inner.offset]
    if rate > 1:
        x = lowpass(x, 0.5 / rate)  # exact where it is read: TAPS of margin on both sides
    grid = np.arange(a, b)
    part = np.stack([np.interp(at, grid, channel) for channel in x]).astype(np.float32)
    if isinstance(voice.gain, Fade):
        part *= _fade_left(voice.gain, cycle_at, lo, lo + len(k))
    acc[voice.track, :, lo - start : lo - start + len(k)] += part
    if speed > 0:
        inner.forget(math.floor(at.min()) - TAPS)


def _fade_left(fade: Fade, cycle_at: Callable[[int], Any], lo: int, hi: int) -> np.ndarray:
    """What is left of a fade over samples [lo, hi): 1 before it, 0 after, linear between
    (the prerendered audio already holds the voice's own gain)."""
    span = float(fade.end - fade.begin) or math.inf
    ends = [min(1.0, max(0.0, float(fade.end - cycle_at(s)) / span)) for s in (lo, hi)]
    return np.linspace(ends[0], ends[1], hi - lo, endpoint=False, dtype=np.float32)
