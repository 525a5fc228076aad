"""Struck objects as sums of decaying partials, in numpy: metal, glass and wood one-shots.

A struck bar, plate or glass rings at its modes: a few sine partials, each with its own level
and decay time, plus a short noise burst for the strike itself. The families differ in where
the modes sit and how long they ring:

- ``metal``: inharmonic modes (free bar, circular plate, random or dense cymbal-like sets), high
  modes dying faster;
- ``glass``: few, high, long-ringing modes (a wine glass's), or a bright FM tone with a high
  modulator ratio;
- ``wood``: nearly harmonic modes (marimba 1:4:10, xylophone 1:3:6, wood block, log drum) with
  short decays and a clicky strike.

Partials closer than :data:`MIN_GAP_HZ` to a louder neighbour are dropped, so no slow beating
makes one strike sound like several.

>>> import numpy as np
>>> dur, p = plan_metal(np.random.default_rng(0), None)
>>> x = build_modal(p, int(dur * 44100))
>>> bool(abs(x).max() > 0)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentcode.model.synth_tools import (
    NYQUIST_SAFE,
    SAMPLE_RATE,
    band,
    length,
    loguniform,
    noise,
    seed_of,
)

MIN_GAP_HZ = 30.0
METAL_MODES = {
    "bar": (1.0, 2.756, 5.404, 8.933, 13.344, 18.64),
    "plate": (1.0, 1.594, 2.136, 2.296, 2.653, 2.918, 3.156, 3.501, 4.06, 4.601, 5.13),
    "bowl": (1.0, 2.71, 5.15, 8.21, 11.9),
}
GLASS_MODES = (1.0, 2.32, 4.25, 6.63, 9.38)
WOOD_MODES = {  # ratios, lowest pitch, highest pitch, shortest and longest ring (s)
    "marimba": ((1.0, 3.93, 9.6), 80.0, 1200.0, 0.4, 1.8),
    "xylophone": ((1.0, 3.0, 6.1), 350.0, 2200.0, 0.2, 0.9),
    "block": ((1.0, 1.52, 2.21, 3.1), 300.0, 1500.0, 0.04, 0.25),
    "log": ((1.0, 2.03, 3.07), 100.0, 500.0, 0.2, 0.7),
}


def _spread(freqs: np.ndarray, amps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the partials below the safe limit that are at least ``MIN_GAP_HZ`` (and 3%) from
    every louder partial kept before them."""
    keep: list[int] = []
    for i in np.argsort(-amps):
        f = freqs[i]
        if f > NYQUIST_SAFE or f < 20:
            continue
        if all(abs(f - freqs[j]) >= max(MIN_GAP_HZ, 0.03 * min(f, freqs[j])) for j in keep):
            keep.append(int(i))
    keep.sort()
    return freqs[keep], amps[keep]


def _strike(r: np.random.Generator, lo: float, hi: float, level: tuple[float, float],
            tau: tuple[float, float]) -> dict[str, Any]:
    centre = loguniform(r, lo, hi)
    width = float(r.uniform(1.3, 3.0))
    return {"lo": centre / width, "hi": min(centre * width, NYQUIST_SAFE),
            "level": float(r.uniform(*level)), "tau": loguniform(r, *tau), "seed": seed_of(r)}


def _modes(r: np.random.Generator, base: float, ratios: np.ndarray, tilt: float, t60: float,
           damping: float) -> dict[str, Any]:
    freqs = base * ratios * (1 + r.normal(0, 0.004, len(ratios)))
    amps = r.uniform(0.3, 1.0, len(ratios)) * (freqs / base) ** -tilt
    freqs, amps = _spread(freqs, amps)
    t60s = np.maximum(t60 * (freqs / freqs[0]) ** -damping, 0.03)
    return {"freqs": freqs.tolist(), "amps": amps.tolist(), "t60s": t60s.tolist()}


def plan_metal(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """Struck metal: bars, plates, bowls, random inharmonic sets and dense cymbal-like clusters.

    >>> dur, p = plan_metal(np.random.default_rng(3), 1.0)
    >>> dur, len(p["freqs"]) >= 2
    (1.0, True)
    """
    dur = length(r, seconds, 0.8, 4.0)
    model = str(r.choice(["bar", "plate", "bowl", "random", "cymbal"]))
    if model == "random":
        ratios = np.sort(np.exp(r.uniform(0, np.log(12), int(r.integers(4, 12)))))
        ratios[0] = 1.0
    elif model == "cymbal":
        ratios = np.sort(np.exp(r.uniform(0, np.log(25), int(r.integers(14, 28)))))
        ratios[0] = 1.0
    else:
        ratios = np.array(METAL_MODES[model])
    base = loguniform(r, 200, 900) if model == "cymbal" else loguniform(r, 60, 1500)
    p = _modes(r, base, ratios, tilt=float(r.uniform(0.0, 1.2)),
               t60=dur * float(r.uniform(0.6, 1.1)), damping=float(r.uniform(0.2, 1.0)))
    p.update(attack=loguniform(r, 0.0002, 0.002),
             strike=_strike(r, 1500, 9000, (0.0, 0.6), (0.001, 0.008)))
    return dur, p


def plan_glass(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """Glass: sparse high modes ringing long, or a bright FM tone with a high modulator ratio.

    >>> dur, p = plan_glass(np.random.default_rng(4), None)
    >>> 1.0 <= dur <= 5.0
    True
    """
    dur = length(r, seconds, 1.0, 5.0)
    t60 = dur * float(r.uniform(0.7, 1.1))
    if r.random() < 0.5:
        n = int(r.integers(2, 6))
        ratios = np.array(GLASS_MODES[:n]) if r.random() < 0.6 else \
            np.sort(np.concatenate([[1.0], np.exp(r.uniform(np.log(1.5), np.log(8), n - 1))]))
        p = _modes(r, loguniform(r, 500, 3200), ratios, tilt=float(r.uniform(0.0, 1.0)),
                   t60=t60, damping=float(r.uniform(0.0, 0.6)))
    else:
        ratio = float(r.choice([3.5, 5.04, 7.1, 11.3, 5.52, float(r.uniform(3, 12))]))
        index = float(r.uniform(0.2, 2.5))
        top = NYQUIST_SAFE / (1 + ratio * (index + 1))  # the highest carrier that cannot alias
        carrier = loguniform(r, min(700.0, top * 0.9), min(4000.0, top))
        p = {"fm": {"carrier": carrier, "ratio": ratio, "index": index,
                    "index_tau": t60 * float(r.uniform(0.05, 0.4)), "t60": t60}}
    p.update(attack=loguniform(r, 0.0002, 0.003),
             strike=_strike(r, 3000, 12000, (0.0, 0.3), (0.0005, 0.003)))
    return dur, p


def plan_wood(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """Wood: marimba, xylophone, wood block and log drum strikes (short, nearly harmonic).

    >>> dur, p = plan_wood(np.random.default_rng(5), None)
    >>> p["model"] in WOOD_MODES and max(p["t60s"]) <= dur
    True
    """
    model = str(r.choice(list(WOOD_MODES)))
    ratios, lo, hi, short, long = WOOD_MODES[model]
    t60 = loguniform(r, short, long)
    # the file lasts as long as the strike rings, and a little more
    stretch = float(r.uniform(1.0, 1.3))
    dur = float(seconds) if seconds is not None else max(0.25, t60 * stretch + 0.05)
    t60 = min(t60, dur * 0.9)
    p = _modes(r, loguniform(r, lo, hi), np.array(ratios), tilt=float(r.uniform(0.3, 1.6)),
               t60=t60, damping=float(r.uniform(0.6, 1.6)))
    click = (0.3, 1.0) if model == "block" else (0.05, 0.5)
    p.update(model=model, attack=loguniform(r, 0.0002, 0.0015),
             strike=_strike(r, 800, 5000, click, (0.0005, 0.003)))
    return dur, p


def _partials(freqs: list, amps: list, t60s: list, n: int) -> np.ndarray:
    x = np.zeros(n)
    for f, a, t60 in zip(freqs, amps, t60s, strict=True):
        m = min(n, int(t60 * 80 / 60 * SAMPLE_RATE) + 1)  # computed down to -80 dB only
        t = np.arange(m) / SAMPLE_RATE
        x[:m] += a * np.exp(-6.91 * t / t60) * np.sin(2 * np.pi * f * t)
    return x


def _fm(p: dict[str, Any], n: int) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    index = p["index"] * np.exp(-t / p["index_tau"])
    mod = index * np.sin(2 * np.pi * p["carrier"] * p["ratio"] * t)
    return np.exp(-6.91 * t / p["t60"]) * np.sin(2 * np.pi * p["carrier"] * t + mod)


def build_modal(p: dict[str, Any], n: int) -> np.ndarray:
    """The samples of a metal, glass or wood plan: partials (or FM), the strike, the attack."""
    x = _fm(p["fm"], n) if "fm" in p else _partials(p["freqs"], p["amps"], p["t60s"], n)
    s = p["strike"]
    m = min(n, int(s["tau"] * 8 * SAMPLE_RATE) + 64)
    burst = band(noise(s["seed"], m), s["lo"], s["hi"]) * np.exp(
        -np.arange(m) / (s["tau"] * SAMPLE_RATE))
    x[:m] += s["level"] * np.abs(x).max() * burst / (np.abs(burst).max() + 1e-12)
    a = max(2, int(p["attack"] * SAMPLE_RATE))
    x[:a] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    return x.astype(np.float32)
