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

import operator
from collections.abc import Callable
from typing import Any, Protocol

from latentcode.patterns.time import PatternError, to_number


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


# The last instant of a voice's own time that ``along`` reads: a periodic signal read at 1
# would be back at its start (``saw`` at 1 is 0), so a voice ends on the signal's last value.
_LAST = 1.0 - 1e-9


def _both_sides(op: Callable[[Any, Any], Any]) -> tuple[Callable, Callable]:
    """``op`` as an :class:`Along`'s method and as its reflected one (``a - 1``, ``1 - a``)."""
    return (lambda self, o: Along.combined(op, self, o),
            lambda self, o: Along.combined(op, o, self))


class Along(Sampled):
    """A number from a signal read in a voice's own time, 0 at its onset and 1 at its end (what
    ``along`` gives): ``fn`` maps that time to the value.

    The voice binds it to its own start and length (:meth:`over`); until then, and wherever a
    value is read at a cycle with no voice to ask (a track's effects), it is its onset value.
    Arithmetic with numbers, or with another ``Along``, stays in the voice's time, so
    ``range 0.2 0.8 $ along saw`` still rises along each voice.

    >>> a = 0.5 + Along(lambda r: r) * 2  # a ramp over the voice, scaled
    >>> float(a), a.at(7), a.over(lambda cycle: cycle / 4).at(2)
    (0.5, 0.5, 1.5)
    """

    __slots__ = ("fn",)

    def __new__(cls, fn: Callable[[float], float]) -> Along:
        obj = super().__new__(cls, float(fn(0.0)), None, None)
        obj.fn = fn
        return obj

    def at(self, cycle: Any) -> float:
        return float(self)

    def over(self, to_time: Callable[[Any], float]) -> Sampled:
        """This value bound to a voice: ``to_time`` maps a cycle to the voice's own time."""
        fn = self.fn
        return Sampled.derived(float(self), lambda c: float(fn(min(max(to_time(c), 0.0), _LAST))))

    @staticmethod
    def combined(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Along:
        """``op`` of two values, one of them or both an ``Along``, in the voice's time."""
        for x in (a, b):
            if isinstance(x, Sampled) and not isinstance(x, Along):
                raise PatternError("along cannot be combined with a signal read at the cycle: "
                                   "put the whole signal inside it, e.g. along (saw * sine)")
        fa = a.fn if isinstance(a, Along) else (lambda r: a)
        fb = b.fn if isinstance(b, Along) else (lambda r: b)
        return Along(lambda r: op(fa(r), fb(r)))

    # plain Python arithmetic (``low + span * v`` in ``range``) keeps the voice's time too
    __add__, __radd__ = _both_sides(operator.add)
    __sub__, __rsub__ = _both_sides(operator.sub)
    __mul__, __rmul__ = _both_sides(operator.mul)
    __truediv__, __rtruediv__ = _both_sides(operator.truediv)

    def __neg__(self) -> Along:
        return Along(lambda r, f=self.fn: -f(r))


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
