"""Granular textures in numpy: clouds of short windowed grains read from another of our own
synthesized sounds.

The source is a job of another family (a bell, a voice, a drone...), planned here and rendered
first by the renderer; pyo's bundled recordings are never used, since they are kept aside to
measure how the model meets sounds it never saw. Grain times, positions and pitches come from a
numpy generator seeded by the plan, so the texture is the same on every build.

>>> import numpy as np
>>> dur, p = plan_grain(np.random.default_rng(0), 1.0)
>>> src = np.sin(np.arange(44100) / 10).astype(np.float32)
>>> build_grain(p, 44100, src).shape
(44100,)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latentcode.model.synth_hit import plan_hit
from latentcode.model.synth_modal import plan_glass, plan_metal, plan_wood
from latentcode.model.synth_struck import plan_bell, plan_pluck
from latentcode.model.synth_sustained import (
    plan_breath,
    plan_drone,
    plan_noise,
    plan_sine2,
    plan_voice,
)
from latentcode.model.synth_tools import (
    NYQUIST_SAFE,
    SAMPLE_RATE,
    gesture,
    length,
    loguniform,
    moving_mean,
    seed_of,
)

# family -> (planner, one-shot?)
SOURCES: dict[str, tuple[Callable, bool]] = {
    "bell": (plan_bell, True), "pluck": (plan_pluck, True), "metal": (plan_metal, True),
    "glass": (plan_glass, True), "wood": (plan_wood, True), "hit": (plan_hit, True),
    "voice": (plan_voice, False), "drone": (plan_drone, False), "sine2": (plan_sine2, False),
    "noise": (plan_noise, False), "breath": (plan_breath, False),
}
WINDOWS = ("hann", "tukey", "expodec", "rexpodec")


def plan_grain(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """A grain cloud: its source sound, grain length and density, where it reads and how fast
    it moves through the source, transposition and pitch scatter, window shape.

    >>> dur, p = plan_grain(np.random.default_rng(1), None)
    >>> p["source"]["family"] in SOURCES and p["window"] in WINDOWS
    True
    """
    dur = length(r, seconds, 3.0, 6.0)
    fam = str(r.choice(list(SOURCES)))
    planner, oneshot = SOURCES[fam]
    src_dur, src_params = planner(r, None)
    if src_params.get("color") == "crackle":  # grains of sparse clicks are mostly silence
        src_params["color"] = "pink"
    grain = loguniform(r, 0.008, 0.25)
    overlap = loguniform(r, 1.2, 20.0)
    return dur, {
        "source": {"name": "source", "family": fam, "dur": src_dur, "peak": 1.0,
                   "oneshot": oneshot, "params": src_params},
        "grain": grain,
        "density": min(overlap / grain, 400.0),  # grains per second
        "sync": bool(r.random() < 0.3),  # evenly spaced grains: a pitched buzz at high density
        "position": float(r.uniform(0.0, 0.6)),  # where in the source the cloud starts
        "scan": float(r.uniform(-0.3, 1.0)),  # source seconds read per second
        "jitter": loguniform(r, 0.001, 0.5),  # scatter of read positions (s)
        "transpose": float(r.uniform(-12, 12)),  # semitones
        "scatter": float(r.choice([0.0, r.uniform(0, 0.5), r.uniform(0, 4)])),  # semitones
        "window": str(r.choice(WINDOWS)),
        "swell": [[0.0, float(r.uniform(0.6, 1.0))]] + gesture(r, dur, 0.3, 1.0, False)[1:],
        "fade_in": loguniform(r, 0.003, 0.02),
        "fade_out": float(r.uniform(0.1, 0.5)),
        "seed": seed_of(r),
    }


def _window(kind: str, m: int) -> np.ndarray:
    i = np.arange(m) / m
    ramp = max(2, min(m // 2, int(0.001 * SAMPLE_RATE)))  # 1 ms: no click at a sharp edge
    if kind == "hann":
        return 0.5 - 0.5 * np.cos(2 * np.pi * i)
    if kind == "tukey":
        w = np.ones(m)
        edge = max(2, m // 5)
        w[:edge] = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
        w[-edge:] = w[:edge][::-1]
        return w
    w = np.exp(-5 * i)
    w[:ramp] *= np.arange(ramp) / ramp
    w[-ramp:] *= np.arange(ramp)[::-1] / ramp
    return w if kind == "expodec" else w[::-1]


def _active(src: np.ndarray) -> tuple[int, int]:
    """The span of the source louder than -40 dB re its peak (a one-shot's tail is silence)."""
    loud = np.flatnonzero(np.abs(src) > np.abs(src).max() * 0.01)
    return (int(loud[0]), int(loud[-1]) + 1) if len(loud) else (0, len(src))


def _flatten(src: np.ndarray) -> np.ndarray:
    """The source with its loudness evened out over 50 ms (by up to 30 dB): a one-shot's decay
    is held up, so every grain reads sound and the cloud keeps a steady level."""
    w = int(0.05 * SAMPLE_RATE)
    c = np.concatenate([[0.0], np.cumsum(np.asarray(src, np.float64) ** 2)])
    lo = np.clip(np.arange(len(src)) - w // 2, 0, len(src))
    hi = np.clip(np.arange(len(src)) + w // 2, 0, len(src))
    env = np.sqrt(np.maximum(c[hi] - c[lo], 0) / np.maximum(hi - lo, 1))
    top = env.max()
    return src / np.maximum(env, top * 0.03) * top if top > 0 else src


def _lowpass(src: np.ndarray, cutoff: float) -> np.ndarray:
    """``src`` with nothing left above ``cutoff`` Hz (a steep mask on a zero-padded spectrum),
    so grains read faster than they were written do not fold past the Nyquist frequency."""
    size = 1 << (2 * len(src) - 1).bit_length()
    spec = np.fft.rfft(src, size)
    f = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    return np.fft.irfft(spec / (1 + (f / cutoff) ** 16), size)[:len(src)]


def build_grain(p: dict[str, Any], n: int, src: np.ndarray) -> np.ndarray:
    """``n`` samples of the cloud :func:`plan_grain` describes, read from ``src``."""
    rng = np.random.default_rng(p["seed"])
    a, b = _active(src)
    span = b - a
    top = 2 ** ((p["transpose"] + p["scatter"]) / 12)  # the fastest a grain reads
    if top > 1:
        src = _lowpass(src, NYQUIST_SAFE / top)
    src = _flatten(src)
    # a grain reads at most the source's sounding span: none runs into its silent tail
    m = max(8, int(min(p["grain"] * SAMPLE_RATE, max(span / top, 0.005 * SAMPLE_RATE))))
    win = _window(p["window"], m)
    gap = SAMPLE_RATE / p["density"]
    # the cloud starts a grain's length before the file, so the file opens on its steady
    # state; and grains at their loudest every half grain through the first 15 ms, so even a
    # sparse cloud of percussive grains is heard at once
    count = int(1.5 * (n + m) / gap) + 50  # enough random gaps to reach the end
    if p["sync"]:
        times = -m + np.arange(count) * gap + rng.normal(0, gap * 0.05, count)
    else:
        times = -m + np.cumsum(rng.exponential(gap, count))
    loudest = min(int(np.argmax(win)), int(0.8 * m))
    lead = np.arange(-loudest, int(0.015 * SAMPLE_RATE) - loudest, max(1, m // 2))
    times = np.concatenate([lead, times[(times > -m) & (times < n)]]).astype(np.int64)
    xs = np.arange(len(src), dtype=np.float64)
    out = np.zeros(n + 2 * m, np.float64)
    k = len(times)
    pitch = 2 ** ((p["transpose"] + rng.uniform(-1, 1, k) * p["scatter"]) / 12)
    where = (p["position"] * span + p["scan"] * times + rng.normal(0, p["jitter"], k)
             * SAMPLE_RATE)
    for t, ratio, pos in zip(times, pitch, where, strict=True):
        reach = ratio * m
        room = max(span - reach, 1.0)
        read = a + pos % room + ratio * np.arange(m)
        seg = np.interp(read, xs, src, left=0.0, right=0.0)
        out[t + m:t + 2 * m] += seg * win
    x = out[m:m + n]
    x -= moving_mean(x, int(0.025 * SAMPLE_RATE))  # grains transposed far down carry drift
    x *= np.interp(np.arange(n) / SAMPLE_RATE, *zip(*p["swell"], strict=True))
    fi, fo = max(1, int(p["fade_in"] * SAMPLE_RATE)), max(1, int(p["fade_out"] * SAMPLE_RATE))
    x[:fi] *= np.linspace(0, 1, fi, endpoint=False)
    x[-fo:] *= np.linspace(1, 0, fo)
    return x.astype(np.float32)
