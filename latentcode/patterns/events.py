"""Events: a value active over a span of time, the unit every pattern query returns.

An :class:`Event` has a ``whole`` (the span of the complete event; None for a continuous
signal), a ``part`` (the fragment inside the query) and a ``value``; only a fragment whose part
begins where its whole begins starts a sound.

>>> from latentcode.patterns.time import Fraction, Span
>>> e = Event(Span(Fraction(0), Fraction(1)), Span(Fraction(0), Fraction(1, 2)), "a")
>>> e.has_onset(), str(e.whole_or_part())
(True, '0→1')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentcode.patterns.time import Span

Source = tuple[int, int, int]  # (line, column, end column), 1-based, end exclusive


class Event:
    """A value active over ``part``, a fragment of its ``whole`` (None for signals).

    ``sources`` are the (line, column, end column) positions of the mini-notation atoms that made
    it, for highlighting. Equality ignores sources.
    """

    __slots__ = ("whole", "part", "value", "sources")

    def __init__(self, whole: Span | None, part: Span, value: Any,
                 sources: tuple[Source, ...] = ()) -> None:
        self.whole = whole
        self.part = part
        self.value = value
        self.sources = sources

    def has_onset(self) -> bool:
        """True when this fragment starts the event (a sound should begin here)."""
        return self.whole is not None and self.whole.begin == self.part.begin

    def with_value(self, value: Any) -> Event:
        return Event(self.whole, self.part, value, self.sources)

    def whole_or_part(self) -> Span:
        return self.whole if self.whole is not None else self.part

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Event) and self.whole == other.whole
                and self.part == other.part and self.value == other.value)

    def __hash__(self) -> int:
        return hash((self.whole, self.part))

    def __repr__(self) -> str:
        whole = "~" if self.whole is None else str(self.whole)
        return f"Event({whole}, {self.part}, {self.value!r})"


def map_event_spans(events: list[Event], f: Callable[[Span], Span]) -> list[Event]:
    """``events`` with ``f`` applied to each whole and part (the loop of
    :meth:`Pattern.with_event_span`).

    A part that *is* its whole (the usual case for a whole-cycle query) is mapped once.
    """
    out = []
    for e in events:
        w, p = e.whole, e.part
        whole = None if w is None else f(w)
        out.append(Event(whole, whole if p is w else f(p), e.value, e.sources))
    return out
