"""Drum hits rendered with pyo: one drum per file, of many kinds.

A hit is a few *layers* started together: ``tone`` layers (sines, possibly a few partials, with a
pitch sweep and a decay) and ``noise`` layers (filtered noise under a breakpoint envelope). Each
kind's planner draws its layers; one builder renders them all.

>>> import numpy as np
>>> dur, p = plan_hit(np.random.default_rng(0), None)
>>> p["kind"] in KINDS and all(layer["type"] in ("tone", "noise") for layer in p["layers"])
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latentcode.model.synth_tools import SAMPLE_RATE, Graph, loguniform, noise, seed_of

U = Callable[[float, float], float]


def _tone(f0: float, f1: float, sweep: float, decay: float, amp: float,
          partials: tuple = ((1.0, 1.0),), attack: float = 0.001) -> dict[str, Any]:
    return {"type": "tone", "f0": f0, "f1": f1, "sweep": sweep, "decay": decay, "amp": amp,
            "partials": [list(x) for x in partials], "attack": attack}


def _noise(filt: str, freq: float, q: float, decay: float, amp: float,
           attack: float = 0.0007, env: list | None = None) -> dict[str, Any]:
    env = env or [[0.0, 0.0], [attack, amp], [attack + decay, 0.0]]
    return {"type": "noise", "filter": filt, "freq": min(freq, 16000.0), "q": q, "env": env}


def _kick(u: U, lu: U) -> list:
    top, bottom = lu(90, 240), lu(36, 75)
    return [_tone(top, bottom, lu(0.015, 0.12), lu(0.2, 0.9), 1.0),
            _noise("hp", lu(2000, 8000), 0.7, lu(0.002, 0.01), u(0.0, 0.3))]


def _snare(u: U, lu: U) -> list:
    f, body, rattle = lu(150, 270), lu(0.04, 0.15), lu(0.1, 0.4)
    return [_tone(f * 1.3, f, 0.02, body, u(0.3, 0.8), ((1, 1), (1.6, 0.5))),
            _noise("bp", lu(1500, 5000), u(0.5, 1.2), rattle, 1.0),
            _noise("hp", lu(5000, 9000), 0.7, rattle * u(0.3, 0.8), u(0.0, 0.6))]


def _hat(u: U, lu: U, open_: bool) -> list:
    decay = lu(0.25, 0.9) if open_ else lu(0.02, 0.1)
    return [_noise("hp", lu(6000, 11000), 0.7, decay, 1.0),
            _noise("bp", lu(7000, 12000), u(1, 4), decay * 0.7, u(0.2, 0.8))]


def _tom(u: U, lu: U) -> list:
    f = lu(70, 320)
    return [_tone(f * u(1.3, 1.8), f, lu(0.03, 0.1), lu(0.2, 0.8), 1.0),
            _noise("bp", f * 4, 1.0, lu(0.01, 0.05), u(0.05, 0.3))]


def _conga(u: U, lu: U) -> list:
    f = lu(180, 480)
    return [_tone(f * u(1.0, 1.15), f, 0.02, lu(0.08, 0.35), 1.0, ((1, 1), (1.52, u(0.1, 0.4)))),
            _noise("bp", lu(1500, 4000), 1.5, lu(0.003, 0.015), u(0.1, 0.6))]


def _clap(u: U, lu: U) -> list:
    env, t = [[0.0, 0.0]], 0.0
    for _ in range(int(u(3, 5))):  # the hands that do not quite clap together
        gap = u(0.006, 0.014)
        env += [[t + 0.0005, 1.0], [t + gap - 0.0005, 0.15], [t + gap, 0.15]]
        t += gap
    tail = lu(0.08, 0.35)
    env += [[t + 0.0005, u(0.6, 1.0)], [t + tail, 0.0]]
    return [_noise("bp", lu(900, 2200), u(1, 3), 0, 1.0, env=env)]


def _rim(u: U, lu: U) -> list:
    f = lu(400, 1300)
    return [_tone(f, f, 0.01, lu(0.015, 0.06), 1.0, ((1, 1), (1.71, 0.6), (2.83, 0.3))),
            _noise("hp", lu(2000, 7000), 0.7, lu(0.002, 0.008), u(0.3, 1.0))]


def _cowbell(u: U, lu: U) -> list:
    f, d = lu(380, 800), lu(0.15, 0.7)
    square = ((1, 1), (3, 1 / 3), (5, 1 / 5))  # band-limited square: few odd harmonics
    return [_tone(f, f, 0.01, d, 1.0, square), _tone(f * 1.48, f * 1.48, 0.01, d, 0.8, square),
            _noise("bp", f * 3, 2.0, lu(0.003, 0.01), u(0.0, 0.3))]


def _shaker(u: U, lu: U) -> list:
    return [_noise("bp", lu(4000, 9000), u(1, 3), lu(0.05, 0.2), 1.0, attack=lu(0.001, 0.003))]


def _crash(u: U, lu: U) -> list:
    f, d = lu(250, 500), lu(0.8, 2.5)
    metal = tuple((q, 0.5) for q in (1.0, 1.48, 1.8, 2.55, 2.63, 3.9))  # 808-like cymbal set
    return [_noise("hp", lu(3000, 7000), 0.7, d, 1.0),
            _tone(f, f, 0.01, d * 0.6, u(0.1, 0.4), metal)]


def _zap(u: U, lu: U) -> list:
    return [_tone(lu(1500, 6000), lu(50, 300), lu(0.04, 0.3), lu(0.1, 0.5), 1.0)]


KINDS: dict[str, Callable[[U, U], list]] = {
    "kick": _kick,
    "snare": _snare,
    "hat": lambda u, lu: _hat(u, lu, False),
    "openhat": lambda u, lu: _hat(u, lu, True),
    "tom": _tom,
    "conga": _conga,
    "clap": _clap,
    "rim": _rim,
    "cowbell": _cowbell,
    "shaker": _shaker,
    "crash": _crash,
    "zap": _zap,
}


def plan_hit(r: np.random.Generator, seconds: float | None) -> tuple[float, dict[str, Any]]:
    """One drum: its kind (kick, snare, hat, open hat, tom, conga, clap, rim, cowbell, shaker,
    crash, zap), tuning, decay and tone.

    >>> dur, p = plan_hit(np.random.default_rng(1), 0.5)
    >>> dur
    0.5
    """
    kind = str(r.choice(list(KINDS)))

    def u(a: float, b: float) -> float:
        return float(r.uniform(a, b))

    def lu(a: float, b: float) -> float:
        return loguniform(r, a, b)

    layers = KINDS[kind](u, lu)
    # the file lasts as long as the drum rings, and a little more
    ring = max(x["attack"] + x["decay"] if x["type"] == "tone" else x["env"][-1][0]
               for x in layers)
    natural = float(np.clip(ring * r.uniform(1.1, 1.4) + 0.03, 0.25, 3.0))
    dur = float(seconds) if seconds is not None else natural
    drive = u(0.0, 0.8) if kind in ("kick", "tom", "zap") and r.random() < 0.4 else 0.0
    return dur, {"kind": kind, "layers": layers, "drive": drive, "noise_seed": seed_of(r)}


def _layer(g: Graph, layer: dict[str, Any], src: Any) -> Any:
    pyo = g.pyo
    if layer["type"] == "tone":
        f0, f1 = layer["f0"], layer["f1"]
        freq = g.k(pyo.Expseg([(0, f0), (layer["sweep"], f1)], exp=3, inverse=True).play())
        env = g.decay(0.0, layer["decay"], layer["amp"], attack=layer["attack"])
        ratios, amps = zip(*layer["partials"], strict=True)
        total = sum(amps)
        oscs = g.k(pyo.Sine(freq=[g.k(freq * q) for q in ratios], mul=[a / total for a in amps]))
        return g.k(pyo.Mix(oscs, voices=1, mul=env))
    env = g.k(pyo.Expseg([tuple(x) for x in layer["env"]], exp=4, inverse=True).play())
    f, q = layer["freq"], layer["q"]
    if layer["filter"] == "hp":
        return g.k(pyo.ButHP(src, freq=f, mul=env))
    if layer["filter"] == "lp":
        return g.k(pyo.ButLP(src, freq=f, mul=env))
    return g.k(pyo.ButBP(src, freq=f, q=q, mul=env))


def build_hit(g: Graph, p: dict[str, Any], dur: float) -> Any:
    """The pyo graph of :func:`plan_hit`'s layers, summed (and driven, for some drums)."""
    pyo = g.pyo
    src = g.table(noise(p["noise_seed"], int((dur + 0.2) * SAMPLE_RATE)))
    mix = g.k(pyo.Mix([_layer(g, layer, src) for layer in p["layers"]], voices=1))
    if p["drive"] > 0:
        mix = g.k(pyo.Disto(mix, drive=p["drive"], slope=0.5))
    return g.k(pyo.DCBlock(mix))
