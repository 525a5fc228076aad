"""Signals: continuous patterns of time (sine, saw, tri, square, rand, perlin and their bipolar
forms), sampled wherever they are used.

>>> from latentcode.patterns.signals import saw
>>> saw.sample(0.25)
0.25
"""

from __future__ import annotations

import math
from collections.abc import Callable

from latentcode.patterns.core import signal
from latentcode.patterns.registry import register_value
from latentcode.patterns.time import time_to_rand

# ---------------------------------------------------------------------------------------------
# signals


def _frac(t: float) -> float:
    return t - math.floor(t)


def _perlin(t: float) -> float:
    floor = math.floor(t)
    x = t - floor
    smooth = 6.0 * x**5 - 15.0 * x**4 + 10.0 * x**3
    a, b = time_to_rand(float(floor)), time_to_rand(float(floor + 1))
    return a + smooth * (b - a)


_SIGNALS: dict[str, tuple[Callable[[float], float], str, str]] = {
    "sine": (lambda t: (math.sin(2 * math.pi * t) + 1) / 2, "a sine wave from 0 to 1",
             '"0.5 1 0.5 0"'),
    "cosine": (lambda t: (math.sin(2 * math.pi * (t + 0.25)) + 1) / 2,
               "a cosine wave from 0 to 1 (sine a quarter cycle earlier)", '"1 0.5 0 0.5"'),
    "saw": (_frac, "a ramp from 0 up to 1 each cycle", '"0 0.25 0.5 0.75"'),
    "isaw": (lambda t: 1 - _frac(t), "a ramp from 1 down to 0 each cycle", '"1 0.75 0.5 0.25"'),
    "tri": (lambda t: 2 * _frac(t) if _frac(t) < 0.5 else 2 - 2 * _frac(t),
            "a triangle wave from 0 up to 1 and back", '"0 0.5 1 0.5"'),
    "square": (lambda t: float(math.floor(t * 2) % 2), "a square wave: 0, then 1 each cycle",
               '"0 0 1 1"'),
    "rand": (time_to_rand, "a continuous random number from 0 to 1 (repeatable)", None),
    "perlin": (_perlin, "Perlin noise from 0 to 1: smooth randomness, a new value each cycle",
               None),
}


def _define_signals() -> None:
    for sname, (f, what, quarters) in _SIGNALS.items():
        example = (f"lc> segment 4 $ {sname}  ==  {quarters}" if quarters else
                   f"lc> segment 1 $ {sname}  ==  segment 1 $ {sname}")
        random = sname in ("rand", "perlin")
        # the waves repeat every cycle (a line they move keeps its period); randomness never
        globals()[sname] = register_value(sname, signal(f, None if random else 1),
                                          f"{what.capitalize()}.\n\n{example}")
        if random:
            continue

        def bipolar(t: float, f: Callable[[float], float] = f) -> float:
            return f(t) * 2 - 1

        q2 = quarters and '"' + " ".join(
            str(float(x) * 2 - 1) for x in quarters.strip('"').split()) + '"'
        globals()[sname + "2"] = register_value(
            sname + "2", signal(bipolar, 1),
            f"{what.capitalize().replace('from 0 to 1', 'from -1 to 1')}, bipolar (-1..1).\n\n"
            f"lc> segment 4 $ {sname}2  ==  {q2}")


_define_signals()
