"""Struck and plucked one-shots: FM bells (numpy) and plucked strings (a pyo waveguide).

Each file is one event: the attack at the file's first sample (the renderer trims what comes
before it), decaying to silence by the end of the file.

>>> import numpy as np
>>> dur, p = plan_bell(np.random.default_rng(0), None)
>>> 1.2 <= dur <= 5.0 and p["decay"] <= dur
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentcode.model.synth_tools import (
    NYQUIST_SAFE,
    SAMPLE_RATE,
    Graph,
    band,
    length,
    loguniform,
    noise,
    seed_of,
)

# Carrier:modulator ratios of classic FM bells, gongs and chimes (inharmonic spectra).
BELL_RATIOS = (1.4, 2.0, 2.76, 3.5, 1.21, 4.1, 3.14, 1.73)


def plan_bell(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """An FM bell: one strike whose brightness (the FM index) falls faster than its loudness.

    >>> dur, p = plan_bell(np.random.default_rng(1), 2.0)
    >>> dur, round(p["carrier"] * (1 + (p["index"] + 1) * p["ratio"])) <= 18000
    (2.0, True)
    """
    dur = length(r, seconds, 1.2, 5.0)
    carrier = loguniform(r, 110, 2400)
    # ratios from 1.2 up keep the lowest sideband (carrier * (ratio - 1)) clear of 0 Hz
    ratio = float(r.choice(BELL_RATIOS)) if r.random() < 0.6 else float(r.uniform(1.2, 4.0))
    # sidebands reach about carrier + (index + 1) * modulator: keep them under the safe limit
    top = (NYQUIST_SAFE - carrier) / (carrier * ratio) - 1
    index = float(min(r.uniform(0.8, 8.0), max(top, 0.2)))
    return dur, {
        "carrier": carrier,
        "ratio": ratio,
        "index": index,
        "decay": dur * float(r.uniform(0.75, 1.0)),
        "attack": float(r.uniform(0.0005, 0.004)),
        "curve": float(r.uniform(2.5, 6.0)),  # how fast the ring falls at first
        "bright_time": float(r.uniform(0.1, 0.8)),  # share of the decay the index takes to fall
        "bright_end": float(r.uniform(0.05, 0.5)),  # index left at the end, relative
    }


def _fall(t: np.ndarray, length: float, curve: float) -> np.ndarray:
    """1 at ``t`` = 0 falling to 0 at ``length`` as ``(1 - t / length) ** curve``, 0 after."""
    return np.clip(1 - t / length, 0, 1) ** curve


def build_bell(p: dict[str, Any], n: int) -> np.ndarray:
    """The samples of :func:`plan_bell`'s parameters (FM computed in numpy: pyo's oscillators
    misread their table when a deep modulation drives their frequency below zero)."""
    t = np.arange(n) / SAMPLE_RATE
    att = p["attack"]
    rise = np.clip(t / att, 0, 1)
    env = rise * _fall(t - att, p["decay"], p["curve"])
    fall = _fall(t - att, p["decay"] * p["bright_time"], 3.0)
    index = rise * p["index"] * (p["bright_end"] + (1 - p["bright_end"]) * fall)
    mod = p["carrier"] * p["ratio"]
    x = env * np.sin(2 * np.pi * p["carrier"] * t + index * np.sin(2 * np.pi * mod * t))
    return x.astype(np.float32)


def plan_pluck(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """A plucked string (a waveguide excited by a short noise burst): pitch, pick brightness,
    pick position and body tone all vary.

    >>> dur, p = plan_pluck(np.random.default_rng(2), None)
    >>> 55 <= p["freq"] <= 1400 and 0.6 <= dur <= 3.2
    True
    """
    dur = length(r, seconds, 0.6, 3.2)
    freq = loguniform(r, 55, 1400)
    return dur, {
        "freq": freq,
        # high strings ring shorter, as on a real instrument
        "decay": dur * float(r.uniform(0.5, 1.2)) * min(1.0, (300 / freq) ** 0.3),
        "bright": loguniform(r, 400, 14000),
        "burst": loguniform(r, 0.001, 0.02),
        "pick": float(r.uniform(0.04, 0.5)),
        "body": loguniform(r, 1200, 16000),
        "noise_seed": seed_of(r),
    }


def _pluck_excitation(p: dict[str, Any]) -> np.ndarray:
    """The burst that plucks the string: band-limited noise with a fast decay, comb-filtered as a
    pick at ``pick`` of the string's length would (it cancels that harmonic family)."""
    m = max(16, int(p["burst"] * SAMPLE_RATE))
    lag = max(1, int(p["pick"] * SAMPLE_RATE / p["freq"]))
    e = np.zeros(m + lag + 512, np.float32)
    e[:m] = noise(p["noise_seed"], m) * np.exp(-np.linspace(0, 5, m))
    e = band(e, 40, p["bright"])
    e[lag:] -= e[:-lag].copy()
    return e / (np.abs(e).max() + 1e-12)


def build_pluck(g: Graph, p: dict[str, Any], dur: float) -> Any:
    """The pyo graph of :func:`plan_pluck`'s parameters."""
    pyo = g.pyo
    exc = g.table(_pluck_excitation(p), loop=False)
    string = g.k(pyo.Waveguide(exc, freq=p["freq"], dur=p["decay"], minfreq=20))
    body = g.k(pyo.Tone(string, freq=p["body"]))
    return g.k(pyo.DCBlock(body))
