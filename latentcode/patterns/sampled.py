"""Sampled values: a number read from a continuous signal that remembers where it came from.

A control whose value comes from a signal (``# alpha sine``) is read at the event's onset, but a
long voice wants it all along its length: a :class:`Sampled` is that onset value (a ``float``)
that can be read again at any other cycle.

>>> from latentcode.patterns.signals import saw
>>> s = Sampled(0.0, saw, None)
>>> s, s.at(2.25)
(0.0, 0.25)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from latentcode.patterns.time import to_number


class Signal(Protocol):
    """What a Sampled reads from: anything with ``sample(cycle)`` (a Pattern)."""

    def sample(self, t: Any) -> Any: ...


class Sampled(float):
    """A number taken from a continuous signal: the value at the event's onset, re-samplable.

    It is a ``float`` (compares and prints as one); ``at(cycle)`` reads the signal at any other
    cycle, which the engine uses for controls that vary along a long voice.

    >>> from latentcode.patterns.signals import saw
    >>> Sampled(0.5, saw, None).at(1.75)
    0.75
    """

    __slots__ = ("source", "key", "_fn")

    def __new__(cls, value: float, source: Signal | None, key: str | None = None) -> Sampled:
        obj = super().__new__(cls, value)
        obj.source = source
        obj.key = key
        obj._fn = None
        return obj

    @classmethod
    def derived(cls, value: float, fn: Callable[[Any], float]) -> Sampled:
        """A sampled value computed from others (e.g. ``|+ alpha sine``)."""
        obj = cls(value, None, None)
        obj._fn = fn
        return obj

    def at(self, cycle: Any) -> float:
        """The signal's value at ``cycle`` (a number or Fraction)."""
        if self._fn is not None:
            return float(self._fn(cycle))
        value = self.source.sample(cycle)
        if self.key is not None and isinstance(value, dict):
            value = value.get(self.key, float(self))
        return float(to_number(value))

    def __repr__(self) -> str:
        return float.__repr__(self)

    __str__ = __repr__


def sample_at(value: Any, cycle: Any) -> Any:
    """``value.at(cycle)`` for a :class:`Sampled`, the value itself otherwise.

    >>> sample_at(3, 0.5)
    3
    """
    return value.at(cycle) if isinstance(value, Sampled) else value


def is_plain_number(x: Any) -> bool:
    """A number that is neither a bool nor already :class:`Sampled`."""
    return isinstance(x, int | float) and not isinstance(x, bool | Sampled)


def sampled_from(value: Any, source: Signal) -> Any:
    """The value of a continuous event of ``source`` with its numbers made :class:`Sampled`.

    >>> from latentcode.patterns.signals import saw
    >>> type(sampled_from({"alpha": 0.5, "sound": "x"}, saw)["alpha"]).__name__
    'Sampled'
    """
    if isinstance(value, dict):
        return {k: (Sampled(x, source, k) if is_plain_number(x) else x) for k, x in value.items()}
    return Sampled(value, source, None) if is_plain_number(value) else value
