"""Sustained and textural sounds rendered with pyo: drones, noise beds, voices, the paper's two
sines, and breath.

They fade in quickly enough to be heard within 15 ms of the file's start (drones reach a low
level at once, then swell) and fade out at their end.

>>> import numpy as np
>>> dur, p = plan_voice(np.random.default_rng(0), None)
>>> 3.0 <= dur <= 6.0 and set(p["vowels"]) <= set(VOWELS)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentcode.model.synth_tools import (
    NYQUIST_SAFE,
    SAMPLE_RATE,
    Graph,
    gesture,
    length,
    loguniform,
    noise,
    seed_of,
)

# (F1, F2, F3) in Hz and relative gains: a small vowel chart (Peterson & Barney averages).
VOWELS = {
    "a": ((730, 1090, 2440), (1.0, 0.5, 0.25)),
    "e": ((530, 1840, 2480), (1.0, 0.4, 0.25)),
    "i": ((270, 2290, 3010), (1.0, 0.25, 0.2)),
    "o": ((570, 840, 2410), (1.0, 0.45, 0.15)),
    "u": ((300, 870, 2240), (1.0, 0.3, 0.1)),
}
SUSTAINED_SECONDS = (3.0, 6.0)


def _fades(r: np.random.Generator, dur: float, fade_in: tuple[float, float]) -> dict[str, float]:
    """Fade times: in quickly (the file is heard within 15 ms), out over 0.1-0.6 s."""
    return {"fade_in": loguniform(r, *fade_in),
            "fade_out": float(r.uniform(0.1, max(0.11, min(0.6, dur / 4))))}


def _fader(g: Graph, p: dict[str, Any], dur: float) -> Any:
    return g.k(g.pyo.Fader(fadein=p["fade_in"], fadeout=p["fade_out"], dur=dur).play())


def plan_drone(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """A drone: stacked detuned oscillators (supersaw, band-limited pulses, sines or FM) under a
    slowly moving resonant low-pass; a quick start at a low level, then a swell.

    >>> dur, p = plan_drone(np.random.default_rng(1), 4.0)
    >>> dur, p["source"] in ("supersaw", "blit", "sines", "fm")
    (4.0, True)
    """
    dur = length(r, seconds, *SUSTAINED_SECONDS)
    source = str(r.choice(["supersaw", "blit", "sines", "fm"]))
    # a pulse train below 70 Hz leaves gaps longer than 15 ms between its pulses
    f0 = loguniform(r, 70 if source == "blit" else 30, 260)
    ratios = [1.0, float(r.choice([1.5, 2.0, 1.25, 3.0, 0.5, 1.335])),
              float(r.choice([0.5, 1.0, 2.0]))]
    cutoff = loguniform(r, 150, 5000 if source == "supersaw" else 9000)
    lfo_depth = float(r.uniform(0.1, 0.8))
    fm_ratio = float(r.choice([1.0, 2.0, 0.5, 1.5, 3.0]))
    p = {
        "f0": f0,
        "source": source,
        "ratios": ratios,
        "detune": float(r.uniform(0.05, 0.8)),
        "harms": int(min(r.integers(4, 80), NYQUIST_SAFE / (f0 * max(ratios) * 1.02))),
        "fm_ratio": fm_ratio,
        # index * ratio < 1 keeps the frequency positive: pyo's oscillators misread their
        # table when a deep modulation drives it below zero
        "fm_index": float(r.uniform(0.2, 0.95)) / fm_ratio,
        "cutoff": cutoff,
        "res": float(r.uniform(0.0, 0.7)),
        "lfo": loguniform(r, 0.05, 1.0),
        # the filter's sweep stays under 10 kHz, where MoogLP is stable
        "lfo_depth": min(lfo_depth, 10000 / cutoff - 1),
        "attack": loguniform(r, 0.002, 0.006),
        "start": float(r.uniform(0.2, 0.5)),  # level reached at once, before the swell
        "swell": loguniform(r, 0.2, 2.0),
        "fade_out": _fades(r, dur, (0.003, 0.012))["fade_out"],
    }
    return dur, p


def build_drone(g: Graph, p: dict[str, Any], dur: float) -> Any:
    """The pyo graph of :func:`plan_drone`'s parameters."""
    pyo, att, out = g.pyo, p["attack"], max(dur - p["fade_out"], p["attack"] + 0.01)
    swell_end = min(att + p["swell"], out)
    env = g.line([(0, 0), (att, p["start"]), (swell_end, 1.0), (out, 1.0), (dur, 0.0)])
    srcs = []
    for j, ratio in enumerate(p["ratios"]):
        f, amp, det = p["f0"] * ratio, (0.5 if j else 1.0), p["detune"]
        if p["source"] == "supersaw":
            srcs.append(g.k(pyo.SuperSaw(freq=f, detune=det, bal=0.7, mul=amp)))
        elif p["source"] == "blit":
            srcs.append(g.k(pyo.Blit(freq=[f, f * (1 + det / 100)], harms=p["harms"],
                                     mul=amp * 0.5)))
        elif p["source"] == "fm":
            idx = g.k(pyo.Sine(freq=p["lfo"] * 0.7, mul=p["fm_index"] * 0.45,
                               add=p["fm_index"] * 0.55))
            srcs.append(g.k(pyo.FM(carrier=[f, f * (1 + det / 200)], ratio=p["fm_ratio"],
                                   index=idx, mul=amp * 0.5)))
        else:
            srcs.append(g.k(pyo.Sine(freq=[f * (1 + d * det / 50) for d in (-1, 0, 1)],
                                     mul=amp / 3)))
    mix = g.k(pyo.Mix(srcs, voices=1, mul=0.4))  # MoogLP can diverge on a loud input
    c = p["cutoff"]
    lfo = g.k(pyo.Sine(freq=p["lfo"], mul=c * p["lfo_depth"], add=c))
    return g.k(pyo.DCBlock(g.k(pyo.MoogLP(mix, freq=lfo, res=p["res"], mul=env))))


def plan_noise(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """A noise bed: white, pink, brown or crackling noise under a swept filter and gusts.

    >>> dur, p = plan_noise(np.random.default_rng(2), None)
    >>> p["fade_in"] <= 0.05
    True
    """
    dur = length(r, seconds, *SUSTAINED_SECONDS)
    filt = str(r.choice(["bandpass", "lowpass", "highpass", "resonant"]))
    lo, hi = {"highpass": (400, 10000), "lowpass": (150, 12000)}.get(filt, (80, 9000))
    centre = loguniform(r, lo, hi)
    p = {
        "color": str(r.choice(["white", "pink", "brown", "crackle"])),
        "filter": filt,
        "center": centre,
        # a narrow filter takes q / (pi * f) s to ring up: at most about 15 ms here
        "q": min(loguniform(r, 0.5, 15), 0.05 * centre / (3 if filt == "resonant" else 1)),
        "sweep": loguniform(r, 0.03, 1.0),
        "sweep_depth": float(min(r.uniform(0.0, 0.85), 19000 / centre - 1)),
        "gust": loguniform(r, 0.08, 4.0),
        "gust_depth": float(r.uniform(0.0, 0.9)),
        "density": loguniform(r, 30, 3000),  # crackle: clicks per second
        "noise_seed": seed_of(r),
    }
    p.update(_fades(r, dur, (0.003, 0.02)))
    if p["color"] == "crackle":
        p["fade_in"] = 0.001  # clicks need no fade, and one falls in its first milliseconds
    return dur, p


def _crackle(seed: int, n: int, density: float) -> np.ndarray:
    """Sparse clicks of random sizes and signs (vinyl, rain, fire)."""
    r = np.random.default_rng(seed)
    x = np.zeros(n, np.float32)
    k = max(1, int(density * n / SAMPLE_RATE))
    x[r.integers(0, n, k)] = r.standard_normal(k) * np.minimum(1 + r.pareto(3.0, k), 8.0)
    x[int(0.002 * SAMPLE_RATE)] = np.abs(x).max()  # a loud click at once: heard from the start
    return x / (np.abs(x).max() + 1e-12)


def build_noise(g: Graph, p: dict[str, Any], dur: float) -> Any:
    """The pyo graph of :func:`plan_noise`'s parameters."""
    pyo, n = g.pyo, int((dur + 0.2) * SAMPLE_RATE)
    if p["color"] == "crackle":
        src = g.table(_crackle(p["noise_seed"], n, p["density"]))
    else:
        src = g.table(noise(p["noise_seed"], n, p["color"]))
    c = p["center"]
    sweep = g.k(pyo.Sine(freq=p["sweep"], mul=c * p["sweep_depth"], add=c))
    gust = g.k(pyo.Sine(freq=p["gust"], mul=p["gust_depth"] / 2, add=1 - p["gust_depth"] / 2))
    amp = g.k(pyo.Sig(gust, mul=_fader(g, p, dur)))
    kind = {"bandpass": 2, "lowpass": 0, "highpass": 1}.get(p["filter"])
    if kind is None:
        out = g.k(pyo.Resonx(src, freq=sweep, q=p["q"] * 3, stages=2, mul=amp))
    else:
        out = g.k(pyo.Biquadx(src, freq=sweep, q=p["q"], type=kind, stages=2, mul=amp))
    return g.k(pyo.DCBlock(out))  # low-passed clicks and brown noise drift


def plan_voice(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """A sung vowel line: bass to soprano, vowels gliding into each other, vibrato, breath.

    >>> dur, p = plan_voice(np.random.default_rng(3), 3.0)
    >>> 70 <= p["f0"] <= 520
    True
    """
    dur = length(r, seconds, *SUSTAINED_SECONDS)
    f0 = loguniform(r, 70, 520)
    glide = float(r.uniform(0.8, 1.25))
    p = {
        "f0": f0,
        "glide": glide,
        "vowels": [str(v) for v in r.choice(list(VOWELS), int(r.integers(1, 6)))],
        "shift": float(r.uniform(0.85, 1.3)),  # formant scale: bigger or smaller "singer"
        "q": float(r.uniform(0.6, 1.6)),
        "vib_rate": float(r.uniform(3.5, 7.0)),
        "vib_depth": float(r.uniform(0.0, 0.03)),
        "harms": int(min(r.integers(10, 100), NYQUIST_SAFE / (f0 * max(glide, 1) * 1.05))),
        "tilt": loguniform(r, 1500, 14000),
        "breath": float(r.uniform(0.0, 0.35)),
        "noise_seed": seed_of(r),
    }
    p.update(_fades(r, dur, (0.01, 0.03)))
    return dur, p


def build_voice(g: Graph, p: dict[str, Any], dur: float) -> Any:
    """The pyo graph of :func:`plan_voice`'s parameters."""
    pyo = g.pyo
    vib = g.k(pyo.Sine(freq=p["vib_rate"], mul=p["vib_depth"], add=1))
    pitch = g.line([(0, p["f0"]), (dur, p["f0"] * p["glide"])])
    src = g.k(pyo.Blit(freq=g.k(pyo.Sig(pitch, mul=vib)), harms=p["harms"], mul=0.6))
    breath = g.table(noise(p["noise_seed"], int((dur + 0.2) * SAMPLE_RATE)) * p["breath"])
    exc = g.k(pyo.Tone(g.k(pyo.Mix([src, breath], voices=1)), freq=p["tilt"]))
    steps = np.linspace(0, dur, len(p["vowels"]) + 1)
    outs = []
    for fi in range(3):
        fpts, gpts = [], []
        for t0, t1, v in zip(steps[:-1], steps[1:], p["vowels"], strict=True):
            f, gain = VOWELS[v][0][fi] * p["shift"], VOWELS[v][1][fi]
            # hold each vowel for most of its slot, then glide to the next one
            fpts += [(float(t0), f), (float(t0 + 0.7 * (t1 - t0)), f)]
            gpts += [(float(t0), gain), (float(t0 + 0.7 * (t1 - t0)), gain)]
        outs.append(g.k(pyo.Biquadx(exc, freq=g.line(fpts), q=(8 + 4 * fi) * p["q"], type=2,
                                    stages=2, mul=g.line(gpts))))
    return g.k(pyo.Mix(outs, voices=1, mul=_fader(g, p, dur)))


def plan_sine2(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """The paper's sonification sound: two sines, each gliding along its own slow gesture.

    >>> dur, p = plan_sine2(np.random.default_rng(4), 3.0)
    >>> len(p["freqs"]), len(p["amps"])
    (2, 2)
    """
    dur = length(r, seconds, *SUSTAINED_SECONDS)
    amps = [gesture(r, dur, 0.05, 1.0, False) for _ in range(2)]
    for a in amps:
        a[0][1] = float(r.uniform(0.3, 1.0))  # both sines sound from the start
    p = {"freqs": [gesture(r, dur, 60, 4000, True) for _ in range(2)], "amps": amps,
         "glide": loguniform(r, 0.05, 0.8)}
    p.update(_fades(r, dur, (0.003, 0.015)))
    return dur, p


def build_sine2(g: Graph, p: dict[str, Any], dur: float) -> Any:
    """The pyo graph of :func:`plan_sine2`'s parameters."""
    pyo, t = g.pyo, p["glide"]
    outs = []
    for fpts, apts in zip(p["freqs"], p["amps"], strict=True):
        # lines smoothed by a portamento: the gesture has no corners to click on
        f = g.k(pyo.Port(g.line(fpts), risetime=t, falltime=t, init=fpts[0][1]))
        a = g.k(pyo.Port(g.line(apts), risetime=t, falltime=t, init=apts[0][1]))
        outs.append(g.k(pyo.Sine(freq=f, mul=a)))
    return g.k(pyo.Mix(outs, voices=1, mul=_fader(g, p, dur)))


def plan_breath(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """Breath: noise through a few broad, drifting resonances, under slow in-and-out cycles,
    sometimes with a faint whistled pitch (a flute's air).

    >>> dur, p = plan_breath(np.random.default_rng(5), None)
    >>> 1 <= len(p["bands"]) <= 3
    True
    """
    dur = length(r, seconds, *SUSTAINED_SECONDS)
    bands = [[loguniform(r, 250, 7000), loguniform(r, 1.0, 8.0), float(r.uniform(0.3, 1.0))]
             for _ in range(int(r.integers(1, 4)))]
    p = {
        "color": str(r.choice(["white", "pink", "pink"])),
        "air": loguniform(r, 2500, 14000),  # the top of the breath: darker or airier
        "bands": bands,
        "drift": loguniform(r, 0.05, 0.4),
        "drift_depth": float(r.uniform(0.0, 0.4)),
        "cycle": loguniform(r, 0.12, 0.7),  # breaths per second
        "cycle_depth": float(r.uniform(0.3, 0.85)),
        "start": float(r.uniform(0.3, 0.7)),
        "swell": loguniform(r, 0.5, 2.5),
        "whistle": loguniform(r, 180, 1500),
        "whistle_level": float(r.uniform(0.05, 0.4)) if r.random() < 0.5 else 0.0,
        "noise_seed": seed_of(r),
    }
    p.update(_fades(r, dur, (0.005, 0.02)))
    return dur, p


def build_breath(g: Graph, p: dict[str, Any], dur: float) -> Any:
    """The pyo graph of :func:`plan_breath`'s parameters."""
    pyo = g.pyo
    src = g.table(noise(p["noise_seed"], int((dur + 0.2) * SAMPLE_RATE), p["color"]))
    drift = g.k(pyo.Sine(freq=p["drift"], mul=p["drift_depth"], add=1))
    air = g.k(pyo.ButLP(src, freq=p["air"]))
    outs = [g.k(pyo.Biquadx(air, freq=g.k(pyo.Sig(drift, mul=f)), q=q, type=2, stages=2,
                            mul=gain)) for f, q, gain in p["bands"]]
    if p["whistle_level"] > 0:
        outs.append(g.k(pyo.Sine(freq=g.k(pyo.Sig(drift, mul=p["whistle"])),
                                 mul=p["whistle_level"] * 0.2)))
    d = p["cycle_depth"]
    # phase 0.25: each breath cycle starts at its loudest, so the file is heard at once
    cycle = g.k(pyo.Sine(freq=p["cycle"], phase=0.25, mul=d / 2, add=1 - d / 2))
    swell = g.line([(0, p["start"]), (min(p["swell"], dur), 1.0)])
    amp = g.k(pyo.Sig(cycle, mul=g.k(pyo.Sig(swell, mul=_fader(g, p, dur)))))
    return g.k(pyo.Mix(outs, voices=1, mul=amp))
