"""Patterned arguments: a function of constants applied per event of patterns of its arguments.

``fast "<1 2>" $ "a b"`` plays ``fast 1`` in the first cycle and ``fast 2`` in the second: the
function is built for each value of the patterned argument and the results are joined, the
structure coming from them (Tidal's ``tParam`` and ``innerJoin``). The registry does this for
every library function, mini-notation for ``*``, ``/`` and ``(k,n,r)``.

>>> from latentcode.patterns.core import Pattern, pure
>>> from latentcode.patterns.sequences import slowcat
>>> def times(n, pat):
...     return pat.fmap(lambda v: v * n)
>>> n = slowcat([pure(1), pure(2)])
>>> p = join_arguments(times, [n, pure(10)], [0], lambda i, v: argument(v, "int", "times", "n"))
>>> [e.value for e in p.query(0, 2)]
[10, 20]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from latentcode.patterns.core import Pattern, joint_period
from latentcode.patterns.time import PatternError, to_number, to_time


def argument(value: Any, kind: str, function: str, name: str) -> Any:
    """A value taken from a pattern's event as a parameter of ``kind`` needs it: ``"time"`` (an
    exact Fraction), ``"int"`` (rounded down) or ``"number"``.

    >>> argument(0.5, "time", "fast", "factor"), argument(2.7, "int", "euclid", "k")
    (Fraction(1, 2), 2)
    """
    try:
        if kind == "time":
            return to_time(value)
        if kind == "int":
            return math.floor(to_number(value))
        return to_number(value)
    except (PatternError, TypeError, ValueError, OverflowError):
        raise PatternError(
            f"{function}: argument '{name}' needs a number, got {value!r}",
            culprit=value if isinstance(value, str) else None, after=function) from None


def join_arguments(impl: Callable[..., Pattern], args: Sequence[Any], joined: Sequence[int],
                   convert: Callable[[int, Any], Any]) -> Pattern:
    """``impl(*args)`` with the arguments at the positions ``joined`` (patterns) replaced, per
    event, by their values: ``convert(position, value)`` makes each value what ``impl`` needs.
    """
    tuples = args[joined[0]].fmap(lambda v: (v,))
    for i in joined[1:]:
        tuples = tuples.app_both(args[i], lambda t, v: (*t, v))

    built: dict[tuple, Pattern] = {}  # the same argument values come back cycle after cycle

    def build(vs: tuple) -> Pattern:
        key = tuple(convert(i, v) for i, v in zip(joined, vs, strict=True))
        pat = built.get(key)
        if pat is None:
            if len(built) >= 64:
                built.clear()
            call = list(args)
            for i, v in zip(joined, key, strict=True):
                call[i] = v
            pat = built[key] = impl(*call)
        return pat

    out = tuples.fmap(build).inner_join()
    out.period = _joined_period(tuples, build)
    return out


LONGEST_KNOWN = 16  # an argument repeating less often: the result's period is left unknown


def _joined_period(tuples: Pattern, build: Callable[[tuple], Pattern]) -> int | None:
    """The period of the arguments' patterns joined: theirs with that of every pattern built
    from a value they take in it (each is heard where its value's event is). None when one is
    not known, the arguments repeat less often than :data:`LONGEST_KNOWN` cycles, or are
    continuous (a signal's value depends on where a query begins).

    >>> from latentcode import mini
    >>> mini("a*<2 3>").period, mini("a(<3 5>,8,<0 2 4>)").period, mini("a*<2 [3 4]>").period
    (2, 6, 2)
    """
    period = tuples.period
    if period is None or period > LONGEST_KNOWN:
        return None
    periods = [period]
    for e in tuples.query(0, period):  # every value the arguments take
        if e.whole is None:
            return None
        periods.append(build(e.value).period)
    return joint_period(*periods)
