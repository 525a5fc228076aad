"""Shared helpers for the pattern tests: compare patterns by their events."""

from __future__ import annotations

from typing import Any

from latentcode import mini
from latentcode.language import evaluate, parse_expression
from latentcode.patterns.core import Pattern


def norm(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(float(value), 9) + 0.0
    if isinstance(value, dict):
        return tuple(sorted((k, norm(v)) for k, v in value.items()))
    return value


def events(p: Pattern, begin: Any = 0, end: Any = 4) -> list[tuple]:
    """Events as sortable tuples (whole, part, value), in a canonical order."""
    out = []
    for e in p.query(begin, end):
        whole = None if e.whole is None else (e.whole.begin, e.whole.end)
        out.append((whole or (-1, -1), (e.part.begin, e.part.end), repr(norm(e.value))))
    return sorted(out)


def lc(text: str) -> Pattern:
    """A pattern from a language expression."""
    return evaluate(parse_expression(text))


def same(a: Any, b: Any, cycles: int = 4) -> bool:
    a = lc(a) if isinstance(a, str) and not a.startswith('"') else a
    a = mini(a[1:-1]) if isinstance(a, str) else a
    b = mini(b) if isinstance(b, str) else b
    return events(a, 0, cycles) == events(b, 0, cycles)


def values(p: Pattern | str, begin: Any = 0, end: Any = 1) -> list:
    """The values of the onsets in [begin, end), in time order."""
    p = mini(p) if isinstance(p, str) else p
    es = sorted((e for e in p.query(begin, end) if e.has_onset()),
                key=lambda e: (e.whole.begin, repr(e.value)))
    return [e.value for e in es]


def onsets(p: Pattern | str, begin: Any = 0, end: Any = 1) -> list:
    """(onset time, value) of the onsets in [begin, end), in time order."""
    p = mini(p) if isinstance(p, str) else p
    es = sorted((e for e in p.query(begin, end) if e.has_onset()),
                key=lambda e: (e.whole.begin, repr(e.value)))
    return [(e.whole.begin, e.value) for e in es]
