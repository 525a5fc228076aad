"""The budget of a query: a cap on events per cycle, so no pattern can stall the clock.

A pattern is code, and code can ask for ``fast 1e12``. Rather than find out by generating
10^12 events, every place where a query's work multiplies spends from a budget before doing
the work, and a query over budget stops at once with a :class:`BudgetError` naming the cap:

- :meth:`~latentcode.patterns.time.Span.cycles` spends the cycles a query spans (``fast``,
  ``ply``, ``segment``, mini-notation's ``*``);
- sequences and the combinators spend the events they make or look at;
- sizes known when a pattern is built (``run n``, ``iter n``, ``"a!n"``, ``"0 .. n"``,
  ``"a(k,n)"``) are checked by :func:`check_count` before anything is allocated.

A top-level query (:meth:`Pattern.query <latentcode.patterns.core.Pattern.query>`) opens a
budget of :data:`WORK_PER_EVENT` × :data:`MAX_EVENTS_PER_CYCLE` per cycle it spans: patterns
stack and merge, so one event heard may cost a few made on the way.

>>> from latentcode.patterns.time import Fraction, Span
>>> one = Span(Fraction(0), Fraction(1))
>>> len(run(lambda span: spent(["a"] * 10), one))
10
>>> run(lambda span: spend(WORK_PER_EVENT * MAX_EVENTS_PER_CYCLE + 1), one)
Traceback (most recent call last):
...
latentcode.patterns.budget.BudgetError: over the cap of 4096 events a cycle: play fewer, \
e.g. "bell*16" rather than "bell*1e12"
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from latentcode.errors import LanguageError

T = TypeVar("T")

MAX_EVENTS_PER_CYCLE = 4096
"""The most events one cycle of a pattern may hold (and the most steps, parts or copies a
function or mini-notation may make of a cycle)."""

WORK_PER_EVENT = 16
"""Events a query may make or look at on the way, per event it may return."""

MAX_BUDGET_CYCLES = 1024
"""A query longer than this many cycles gets the budget of this many (a Python caller asking
for 10^12 cycles at once gets an error, not a hang)."""


class BudgetError(LanguageError):
    """A pattern asked for more than :data:`MAX_EVENTS_PER_CYCLE` events in a cycle."""


def _over(what: str) -> BudgetError:
    return BudgetError(f"{what}over the cap of {MAX_EVENTS_PER_CYCLE} events a cycle: play "
                       'fewer, e.g. "bell*16" rather than "bell*1e12"')


def check_count(n: int | float, what: str) -> int:
    """``n`` as an int, when a function or mini-notation may make ``n`` steps, parts or copies
    of a cycle; refused before anything is allocated when it is over the cap.

    >>> check_count(8, "run")
    8
    >>> check_count(1e9, "run")
    Traceback (most recent call last):
    ...
    latentcode.patterns.budget.BudgetError: run 1000000000: over the cap of 4096 events a \
cycle: play fewer, e.g. "bell*16" rather than "bell*1e12"
    """
    if not abs(n) <= MAX_EVENTS_PER_CYCLE:  # also refuses nan
        shown = int(n) if isinstance(n, float) and math.isfinite(n) else n
        raise _over(f"{what.format(shown) if '{}' in what else f'{what} {shown}'}: ")
    return int(n)


_local = threading.local()  # .left: what the current top-level query may still spend


def spend(n: int) -> None:
    """Spend ``n`` from the current query's budget (outside a query: ``n`` alone is checked
    against one cycle's budget); raises :class:`BudgetError` when it runs out."""
    left = getattr(_local, "left", None)
    if left is None:
        if n > WORK_PER_EVENT * MAX_EVENTS_PER_CYCLE:
            raise _over("")
        return
    left -= n
    _local.left = left
    if left < 0:
        raise _over("")


def spent(events: list[T]) -> list[T]:
    """``events``, their number spent from the budget (a combinator looks at each)."""
    spend(len(events))
    return events


def run(query: Callable[[Any], list[T]], span: Any) -> list[T]:
    """``query(span)`` (a :class:`~latentcode.patterns.time.Span`) as a top-level query, with
    its own budget unless one is open already.

    Not a context manager: a moving control is sampled this way at every decoded frame, and
    a context manager's generator was a third of each sample's cost.
    """
    if getattr(_local, "left", None) is not None:
        return query(span)
    _local.left = _allowance(span.end - span.begin)
    try:
        return query(span)
    finally:
        _local.left = None


def _allowance(cycles: Any) -> int:
    """What a top-level query ``cycles`` long may spend (at least one cycle's worth)."""
    return WORK_PER_EVENT * MAX_EVENTS_PER_CYCLE * min(max(1, math.ceil(cycles)),
                                                       MAX_BUDGET_CYCLES)


@contextmanager
def aside(cycles: float) -> Iterator[None]:
    """A budget of its own, ``cycles`` long, for work a pattern does aside from the query that
    asks (``nTake`` counting the onsets of past cycles); the query's own is left as it was.

    >>> from latentcode.patterns.time import Fraction, Span
    >>> def query(span):
    ...     spend(WORK_PER_EVENT * MAX_EVENTS_PER_CYCLE - 1)
    ...     with aside(1):
    ...         spend(10)
    ...     return spent(["a"])
    >>> run(query, Span(Fraction(0), Fraction(1)))
    ['a']
    """
    saved = getattr(_local, "left", None)
    _local.left = _allowance(cycles)
    try:
        yield
    finally:
        _local.left = saved
