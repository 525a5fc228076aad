"""The one clock: the engine's sample counter, mapped to cycles by the tempo.

Cycles are exact ``Fraction`` s. The mapping is anchored at the last tempo change, so a tempo
change never makes the cycle position jump and there is no drift: cycle(n) is computed from the
anchor, never accumulated block by block.
"""

from __future__ import annotations

import math

from latentcode.patterns.time import Fraction

DEFAULT_CPS = Fraction(1, 2)


def as_fraction(x: float | int | Fraction) -> Fraction:
    """An exact Fraction for a tempo or a time typed as a float.

    >>> as_fraction(0.5625)
    Fraction(9, 16)
    """
    if isinstance(x, Fraction):
        return x
    return Fraction(x).limit_denominator(1_000_000)


class Clock:
    """Maps the sample counter to cycles and back.

    >>> c = Clock(sample_rate=44100, cps=0.5)
    >>> c.cycle_at(88200)
    Fraction(1, 1)
    >>> c.sample_at(Fraction(3, 2))
    132300
    >>> c.set_tempo(1.0, at_sample=88200); c.cycle_at(132300)
    Fraction(2, 1)
    """

    def __init__(self, sample_rate: int = 44100, cps: float | Fraction = DEFAULT_CPS) -> None:
        self.sample_rate = int(sample_rate)
        self.cps = as_fraction(cps)
        self.anchor_sample = 0
        self.anchor_cycle = Fraction(0)

    def cycle_at(self, sample: int) -> Fraction:
        """The cycle position of an absolute sample index."""
        elapsed = Fraction(sample - self.anchor_sample, self.sample_rate)
        return self.anchor_cycle + elapsed * self.cps

    def sample_at(self, cycle: Fraction) -> int:
        """The first sample at or after ``cycle`` (onsets land on the exact sample)."""
        exact = self.anchor_sample + (cycle - self.anchor_cycle) * self.sample_rate / self.cps
        return math.ceil(exact)

    def samples_per_cycle(self) -> float:
        """How many samples one cycle lasts at the current tempo."""
        return float(self.sample_rate / self.cps)

    def restart(self, at_sample: int) -> None:
        """Make ``at_sample`` cycle 0 (``resetCycles``), at the same tempo.

        >>> c = Clock(sample_rate=4, cps=1); c.restart(10); c.cycle_at(12), c.sample_at(1)
        (Fraction(1, 2), 14)
        """
        self.anchor_sample, self.anchor_cycle = at_sample, Fraction(0)

    def align(self, cycle: Fraction, at_sample: int) -> None:
        """Make ``at_sample`` cycle ``cycle``, at the same tempo (Ableton Link's phase).

        >>> c = Clock(sample_rate=4, cps=1); c.align(Fraction(5, 2), 8); c.cycle_at(10)
        Fraction(3, 1)
        """
        self.anchor_sample, self.anchor_cycle = at_sample, Fraction(cycle)

    def set_tempo(self, cps: float | Fraction, at_sample: int) -> None:
        """Change the tempo from ``at_sample`` on, keeping the cycle position continuous."""
        cps = as_fraction(cps)
        if cps <= 0:
            raise ValueError("tempo must be positive")
        self.anchor_cycle = self.cycle_at(at_sample)
        self.anchor_sample = at_sample
        self.cps = cps
