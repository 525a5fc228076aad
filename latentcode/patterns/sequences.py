"""Sequences: patterns one after another (in a cycle or a cycle each), or at the same time.

>>> from latentcode.patterns.core import pure
>>> [e.value for e in fastcat([pure("a"), pure("b")]).query(0, 1)]
['a', 'b']
>>> [e.value for e in slowcat([pure("a"), pure("b")]).query(1, 2)]
['b']
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from latentcode.patterns.budget import spend, spent
from latentcode.patterns.core import Event, Pattern, joint_period, per_cycle, silence
from latentcode.patterns.time import Fraction, Span, _floor, time_to_rand, to_time
from latentcode.patterns.timing import shift

_ZERO = Fraction(0)


def weighted_cat(steps: Sequence[tuple[Any, Pattern]],
            filters: Sequence[tuple[tuple[int, float], ...]] | None = None) -> Pattern:
    """Patterns side by side in one cycle, each taking a share proportional to its weight.

    ``filters`` optionally gives each step ``(seed, amount)`` degradations applied in this
    pattern's time (mini-notation's ``?``), so ``a!8?`` and ``[a!8]?`` agree.

    >>> from latentcode.patterns.core import pure
    >>> [str(e.whole) for e in weighted_cat([(1, pure("a")), (3, pure("b"))]).query(0, 1)]
    ['0→1/4', '1/4→1']
    """
    weights = [to_time(w) for w, _ in steps]
    total = sum(weights, _ZERO)
    if total <= 0:
        return silence
    table = []
    pos = _ZERO
    period: int | None = 1  # each step plays its pattern's cycle c in cycle c
    for i, ((_, pat), w) in enumerate(zip(steps, weights, strict=True)):
        if w > 0 and pat is not silence:  # a rest takes its time but makes nothing
            begin, end = pos / total, (pos + w) / total
            table.append((begin, end, float(begin), float(end), end - begin, 1 / (end - begin),
                          pat._q, filters[i] if filters else ()))
            # a "?" keeps events at random: it never repeats for sure
            period = None if filters and filters[i] else joint_period(period, pat.period)
        pos += w
    if len(table) == 1 and table[0][4] == 1 and not table[0][7]:
        return Pattern(table[0][6], period=period)
    starts = [row[2] for row in table]  # float begins, ascending: where a query's steps start

    def query(span: Span) -> list[Event]:
        out = []
        zero_width = span.begin == span.end
        for cs in span.cycles():
            qb, qe = cs.begin, cs.end
            c = _floor(qb)
            rbf, ref = float(qb) - c, float(qe) - c
            cycle = cycle_end = None
            first = max(0, bisect_right(starts, rbf - 1e-9) - 1)  # "a(1,4000)" skips 3999 rests
            for begin, end, fb, fe, width, inv, q, filt in islice(table, first, None):
                spend(1)
                if fb > ref + 1e-9:
                    break  # the steps after this start later still
                if fe < rbf - 1e-9:
                    continue  # clearly outside the query: skip the exact arithmetic
                sb = c + begin
                se = c + end
                lo = qb if qb > sb else sb
                hi = qe if qe < se else se
                if lo > hi or (lo == hi and not (zero_width and lo < se)):
                    continue
                # child time ct = (t - k) / width, with child cycle c filling this step
                k = sb - c * width
                if cycle is None:
                    cycle, cycle_end = Fraction(c), Fraction(c + 1)
                step_whole = None
                events = spent(q(Span(cycle if lo is sb else (lo - k) * inv,
                                      cycle_end if hi is se else (hi - k) * inv)))
                for e in events:
                    w, p = e.whole, e.part
                    if w is None:
                        whole = None
                    elif (w.begin.denominator == 1 and w.begin.numerator == c
                          and w.end.denominator == 1 and w.end.numerator == c + 1):
                        # the child's whole cycle is this whole step (an atom, usually)
                        whole = step_whole = step_whole or Span(sb, se)
                    else:
                        whole = Span(w.begin * width + k, w.end * width + k)
                    part = whole if p is w else Span(p.begin * width + k, p.end * width + k)
                    ev = Event(whole, part, e.value, e.sources)
                    if filt and not _keep(ev, filt):
                        continue
                    out.append(ev)
        return out

    return Pattern(query, period=period)


def _keep(e: Event, filt: tuple[tuple[int, float], ...]) -> bool:
    t = float(e.whole_or_part().begin)
    return all(time_to_rand(t, seed) >= amount for seed, amount in filt)


def fastcat(pats: Sequence[Pattern]) -> Pattern:
    """Patterns one after another within a cycle."""
    return weighted_cat([(1, p) for p in pats])


def slowcat(pats: Sequence[Pattern]) -> Pattern:
    """One pattern a cycle, in turn; each sees only the cycles it plays (Tidal's ``cat``).

    Of ``n`` patterns, pattern ``i`` plays in cycle ``c`` its own cycle ``(c - i) // n``: it is
    shifted by the difference.
    """
    pats = list(pats)
    n = len(pats)
    if n == 0:
        return silence
    if n == 1:
        return pats[0]

    def turn(c: int) -> Pattern:
        i = c % n
        return shift(pats[i], Fraction(c - (c - i) // n))

    inner = joint_period(*(p.period for p in pats))  # each plays one of its cycles in n
    return per_cycle(turn, None if inner is None else n * inner)


def choose_cycle(pats: Sequence[Pattern], seed: int) -> Pattern:
    """One of ``pats`` each cycle, chosen at random (mini-notation's ``|``, ``randcat``)."""
    pats = list(pats)
    n = len(pats)
    return per_cycle(lambda c: pats[int(time_to_rand(float(c), seed) * n)])


def stack(pats: Iterable[Pattern]) -> Pattern:
    """Patterns played at the same time."""
    pats = list(pats)
    if not pats:
        return silence
    if len(pats) == 1:
        return pats[0]
    qs = [p._q for p in pats]
    return Pattern(lambda span: spent([e for q in qs for e in q(span)]),
                   period=joint_period(*(p.period for p in pats)))
