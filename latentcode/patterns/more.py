"""More of Tidal's common words: the rest of the set a Tidal user reaches for first.

Registered as :mod:`~latentcode.patterns.functions` does (each a small function with an
``lc>`` equation that the tests check), kept apart so the catalogue stays readable. Sections:
time, conditionals, randomness, switching, chords. Elsewhere: ``ur``
(:mod:`~latentcode.patterns.ur`) and ``nTake`` (:mod:`~latentcode.patterns.taking`, which
counts events as a function of time where Tidal keeps state). Not here: ``whenT``, whose
condition is a function of time (Tidal's ``whenT (< 0.5)``): the language has sections of its
operators, but no comparison operator to make one of, and no function from a time to a truth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import groupby
from typing import Any

from latentcode.errors import LanguageError
from latentcode.patterns.budget import check_count, spent
from latentcode.patterns.core import (
    Event,
    Pattern,
    Pure,
    joint_period,
    merge_op,
    per_cycle,
    pure,
    reify,
    signal,
)
from latentcode.patterns.core import silence as _silence
from latentcode.patterns.functions import every, inv, mask, struct
from latentcode.patterns.operators import as_controls
from latentcode.patterns.registry import Fn, register
from latentcode.patterns.sequences import stack as _stack
from latentcode.patterns.time import Fraction, Span, Time, _floor, time_to_rand, to_number
from latentcode.patterns.timing import shift

# ---------------------------------------------------------------------------------------------
# time


@register
def trunc(fraction: Time, pat: Pattern) -> Pattern:
    """Play only the first ``fraction`` of each cycle and leave the rest silent.

    An event that runs past the cut is cut short (it keeps its start).

    lc> trunc 0.75 $ "a b c d"  ==  "a b c ~"
    lc> trunc "<1 0.5>" $ "a b c d"  ==  "<[a b c d] [a b ~ ~]>"
    """
    if fraction <= 0:
        return _silence
    if fraction >= 1:
        return pat
    q = pat._q

    def query(span: Span) -> list[Event]:
        out = []
        for cs in span.cycles():
            cut = _floor(cs.begin) + fraction
            if cs.begin < cut:
                out.extend(q(Span(cs.begin, min(cs.end, cut))))
        return out

    return Pattern(query, period=pat.period)  # cycle c is made of pat's cycle c alone


@register
def fastGap(factor: Time, pat: Pattern) -> Pattern:
    """Squash each cycle into its first 1/factor and leave a gap after it.

    lc> fastGap 2 $ "a b"  ==  "[a b] ~"
    lc> fastGap 3 $ "<a b>"  ==  "<[a ~ ~] [b ~ ~]>"
    """
    if factor <= 0:
        return _silence
    q = pat._q

    def query(span: Span) -> list[Event]:
        out = []
        for cs in span.cycles():
            c = Fraction(_floor(cs.begin))
            b = c + (cs.begin - c) * factor  # the inner time heard at cs.begin
            if b >= c + 1:
                continue  # in the gap
            e = min(c + (cs.end - c) * factor, c + 1)

            def out_span(s: Span, c: Fraction = c) -> Span:
                return Span(c + (s.begin - c) / factor, c + (s.end - c) / factor)

            for ev in q(Span(b, e)):
                part = out_span(ev.part).sect(cs)
                if part is not None:
                    whole = None if ev.whole is None else out_span(ev.whole)
                    out.append(Event(whole, part, ev.value, ev.sources))
        return out

    return Pattern(query, period=pat.period)


@register(name="iter'")
def iter_back(n: int, pat: Pattern) -> Pattern:
    """``iter`` backwards: shift the pattern later by a further 1/n of a cycle each cycle.

    lc> iter' 4 $ "a b c d"  ==  "<[a b c d] [d a b c] [c d a b] [b c d a]>"
    """
    if n == 0:
        return pat
    shifted = [shift(pat, Fraction(i, n)) for i in range(abs(check_count(n, "iter'")))]
    return per_cycle(lambda c: shifted[c % abs(n)], joint_period(abs(n), pat.period))


# ---------------------------------------------------------------------------------------------
# conditionals


def _on_cycles(pat: Pattern, f: Fn, test: Callable[[int], bool], n: int) -> Pattern:
    """``f(pat)`` in the cycles ``test`` picks, ``pat`` in the others; ``test`` repeats every
    ``n`` cycles."""
    changed = f(pat)
    return per_cycle(lambda c: changed if test(c) else pat,
                     joint_period(n, pat.period, changed.period))


@register(name="every'")
def every_offset(n: int, offset: int, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function every ``n``-th cycle, starting with cycle ``offset`` (below ``n``).

    lc> every' 3 1 (fast 2) $ "a"  ==  "<a [a a] a>"
    """
    if n <= 0:
        return pat
    return _on_cycles(pat, f, lambda c: c % n == offset, n)


@register
def firstOf(n: int, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function to the first of every ``n`` cycles (as ``every``).

    lc> firstOf 3 (fast 2) $ "a"  ==  "<[a a] a a>"
    """
    return every(n, f, pat)


@register
def lastOf(n: int, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function to the last of every ``n`` cycles.

    lc> lastOf 3 (fast 2) $ "a"  ==  "<a a [a a]>"
    """
    if n <= 0:
        return pat
    return _on_cycles(pat, f, lambda c: c % n == n - 1, n)


def _matches(wanted: Any, value: Any) -> bool:
    have = as_controls(value)
    return all(k in have and have[k] == v for k, v in as_controls(wanted).items())


def _split(controls: Pattern, pat: Pattern) -> tuple[Pattern, Pattern]:
    """The events of ``pat`` whose controls include those of ``controls`` at their start, and
    the others."""
    cq = controls._q

    def test(e: Event) -> bool:
        t = e.whole_or_part().begin
        return any(_matches(o.value, e.value) for o in spent(cq(Span(t, t))))

    return pat.filter_events(test), pat.filter_events(lambda e: not test(e))


@register
def fix(f: Fn, controls: Pattern, pat: Pattern) -> Pattern:
    """Apply a function only to the events that have the given controls.

    A sound name alone is the control ``sound``: ``fix f "bell"`` is ``fix f (sound "bell")``.

    lc> fix (fast 2) (sound "a") $ "a b"  ==  "[a ~ a ~, ~ b]"
    lc> fix (# gain 0) "b" $ "a b"  ==  stack ["a ~", "~ b" # gain 0]
    """
    matched, other = _split(controls, pat)
    return _stack([f(matched), other])


@register
def unfix(f: Fn, controls: Pattern, pat: Pattern) -> Pattern:
    """Apply a function only to the events that do not have the given controls.

    lc> unfix (# gain 0) "b" $ "a b"  ==  stack ["a ~" # gain 0, "~ b"]
    """
    matched, other = _split(controls, pat)
    return _stack([matched, f(other)])


# ---------------------------------------------------------------------------------------------
# randomness


def _weighted(pairs: list, what: str, example: str) -> tuple[list, list[float]]:
    """The items and the running totals of the weights of (item, weight) pairs."""
    items, totals, total = [], [], 0.0
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise LanguageError(f"{what}: give (value, weight) pairs, e.g. {example}")
        item, weight = pair
        weight = to_number(weight.sample(0) if isinstance(weight, Pattern) else weight)
        if not weight >= 0:
            raise LanguageError(f"{what}: a weight must be 0 or more, not {weight}")
        total += weight
        items.append(item)
        totals.append(total)
    return items, totals


def _pick(items: list, totals: list[float], r: float) -> Any:
    target = r * totals[-1]
    return next((x for x, t in zip(items, totals, strict=True) if t > target), items[-1])


@register
def wchoose(pairs: list) -> Pattern:
    """A continuous random choice from (value, weight) pairs, by weight.

    A value twice as heavy comes twice as often.

    lc> segment 4 $ wchoose [("a", 1), ("b", 0)]  ==  "a*4"
    """
    items, totals = _weighted(pairs, "wchoose", '[("bell", 3), ("pad", 1)]')
    if not items or totals[-1] <= 0:
        return _silence
    values = [x.sample(0) if isinstance(x, Pattern) else x for x in items]
    return signal(lambda t: _pick(values, totals, time_to_rand(t)))


@register
def wrandcat(pairs: list) -> Pattern:
    """One of the patterns each cycle, chosen at random by weight from (pattern, weight) pairs.

    lc> wrandcat [("a", 1), ("b c", 0)]  ==  "a"
    """
    items, totals = _weighted(pairs, "wrandcat", '[("bell*2", 3), ("pad", 1)]')
    if not items or totals[-1] <= 0:
        return _silence
    pats = [reify(x) for x in items]
    return per_cycle(lambda c: _pick(pats, totals, time_to_rand(float(c))))


@register
def rangex(low: float, high: float, pat: Pattern) -> Pattern:
    """Scale a pattern of numbers in 0..1 to ``low``..``high`` along an exponential curve.

    Equal steps are equal ratios (right for frequencies); both bounds must be above 0.

    lc> segment 2 $ rangex 1 100 saw  ==  "1 10"
    """
    if not (low > 0 and high > 0):
        raise LanguageError(f"rangex: low and high must be above 0, not {low} and {high} "
                            "(e.g. rangex 20 2000); use range for a straight scale")
    a, b = math.log(low), math.log(high)
    return pat.fmap(lambda v: math.exp(a + (b - a) * to_number(v)))


# ---------------------------------------------------------------------------------------------
# switching between patterns


@register
def sew(bools: Pattern, a: Pattern, b: Pattern) -> Pattern:
    """Switch between two patterns: ``a`` where ``bools`` is true, ``b`` where it is false.

    Their own events are kept, cut where the switch falls inside them.

    lc> sew "t f" "a*4" "b*4"  ==  "a a b b"
    lc> sew "t <f t>" "a*2" "b*2"  ==  "<[a b] [a a]>"
    """
    return _stack([mask(bools, a), mask(inv(bools), b)])


@register
def stitch(bools: Pattern, a: Pattern, b: Pattern) -> Pattern:
    """The rhythm of ``bools``, with values from ``a`` where it is true and ``b`` where false.

    lc> stitch "t f t t" "a" "b"  ==  "a b a a"
    """
    return _stack([struct(bools, a), struct(inv(bools), b)])


@register(name="while")
def while_(bools: Pattern, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function where ``bools`` is true: ``sew bools (f pat) pat``.

    lc> while "1 0" (fast 2) $ "a b c d"  ==  "[a b c d] [c d]"
    """
    return sew(bools, f(pat), pat)


@register
def squeeze(index: Pattern, pats: list[Pattern]) -> Pattern:
    """Pick patterns from a list by a pattern of numbers, each squeezed into its event.

    lc> squeeze "0 1 0" ["a b", "c"]  ==  "[a b] c [a b]"
    """
    if not pats:
        return _silence
    n = len(pats)
    return index.fmap(lambda i: pats[math.floor(to_number(i)) % n]).squeeze_join(
        joint_period(*(p.period for p in pats)))


@register
def fit(step: int, values: list, pat: Pattern) -> Pattern:
    """Values from a list, indexed by a pattern of numbers moving ``step`` further each cycle.

    The index wraps around the list.

    lc> fit 1 ["a", "b", "c"] "0 1"  ==  "<[a b] [b c] [c a]>"
    """
    if not values:
        return _silence
    n, q = len(values), pat._q

    def value(e: Event) -> Any:
        i = math.floor(to_number(e.value)) + step * _floor(e.whole_or_part().begin)
        return values[i % n]

    # the index moves by ``step`` a cycle: after ``n`` cycles it has moved by a multiple of n
    return Pattern(lambda span: [e.with_value(value(e)) for e in q(span)],
                   period=joint_period(pat.period, n))


# ---------------------------------------------------------------------------------------------
# chords: the events of a cycle that share a whole, spread out in time


def _regroup(pat: Pattern, arrange: Callable[[list[Event]], list[tuple[Event, Span]]]) -> Pattern:
    """Each group of events sharing a whole (a chord), in stack order, re-timed by ``arrange``
    (pairs of an event and its new whole). Whole cycles are queried, so a chord is always seen
    whole; continuous events are dropped.
    """
    q = pat._q

    def key(e: Event) -> tuple[Fraction, Fraction]:
        return e.whole.begin, e.whole.end

    def query(span: Span) -> list[Event]:
        out = []
        for cs in span.cycles():
            c = Fraction(_floor(cs.begin))
            timed = sorted((e for e in spent(q(Span(c, c + 1))) if e.whole is not None),
                           key=key)
            for _, group in groupby(timed, key=key):
                for e, whole in arrange(list(group)):
                    part = whole.sect(e.part)
                    part = part.sect(cs) if part is not None else None
                    if part is not None:
                        out.append(Event(whole, part, e.value, e.sources))
        return out

    return Pattern(query, period=pat.period)


def _spread(events: list[Event]) -> list[tuple[Event, Span]]:
    """One after another, each in an equal share of the whole (Tidal's arpeggiate)."""
    if not events:
        return []
    w = events[0].whole
    step = (w.end - w.begin) / len(events)
    return [(e, Span(w.begin + i * step, w.begin + (i + 1) * step))
            for i, e in enumerate(events)]


@register
def plyWith(n: int, f: Fn, pat: Pattern) -> Pattern:
    """Repeat each event ``n`` times within its span, the function applied once more each time.

    lc> plyWith 3 (|* gain 0.5) $ "a b" # gain 1  ==  "[a a a] [b b b]" # gain "[1 0.5 0.25]*2"
    """
    if n <= 1:
        return pat
    layers = [pat]
    for _ in range(check_count(n, "plyWith") - 1):
        layers.append(f(layers[-1]))
    return _regroup(_stack(layers), _spread)


def _converge(x: list) -> list:
    """First, last, second, second last, ... ."""
    out, lo, hi = [], 0, len(x) - 1
    while lo <= hi:
        if len(out) % 2 == 0:
            out.append(x[lo])
            lo += 1
        else:
            out.append(x[hi])
            hi -= 1
    return out


def _pinkyup(x: list) -> list:
    return [y for a in x[:-1] for y in (a, x[-1])]


def _thumbup(x: list) -> list:
    return [y for a in x[1:] for y in (x[0], a)]


ARP_MODES: dict[str, Callable[[list], list]] = {
    "up": lambda x: x,
    "down": lambda x: x[::-1],
    "updown": lambda x: x[:-1] + x[::-1][:-1],
    "downup": lambda x: x[::-1][:-1] + x[:-1],
    "up&down": lambda x: x + x[::-1],
    "down&up": lambda x: x[::-1] + x,
    "converge": _converge,
    "diverge": lambda x: _converge(x)[::-1],
    "disconverge": lambda x: _converge(x) + _converge(x)[::-1][1:],
    "pinkyup": _pinkyup,
    "pinkyupdown": lambda x: _pinkyup(x)[:-1] + _pinkyup(x)[::-1][:-1],
    "thumbup": _thumbup,
    "thumbupdown": lambda x: _thumbup(x)[:-1] + _thumbup(x)[::-1][:-1],
}


def _arp_mode(name: Any) -> Callable[[list[Event]], list[tuple[Event, Span]]]:
    # mini-notation has no '&' in a word: up_down is up&down
    order = ARP_MODES.get(str(name).replace("_", "&"))
    if order is None:
        raise LanguageError(f"arp: unknown mode {name!r}: use one of {', '.join(ARP_MODES)} "
                            "(up_down for up&down)")
    # one note is its own arpeggio (Tidal's updown would drop it)
    return lambda events: _spread(order(events) if len(events) > 1 else events)


@register
def arp(mode: Pattern, pat: Pattern) -> Pattern:
    """Play the notes of each chord (a stack) one after another, in the order ``mode`` names.

    The modes: up, down, updown, downup, up_down (Tidal's up&down), down_up, converge,
    diverge, disconverge, pinkyup, pinkyupdown, thumbup, thumbupdown. The order is the
    stack's, as in Tidal: ``arp "up" "[0,4,7]"`` plays 0 4 7.

    lc> arp "up" "[a,b,c]"  ==  "a b c"
    lc> arp "<down updown>" "[a,b,c]"  ==  "<[c b a] [a b c b]>"
    lc> arp "converge" "[0,1,2,3,4]"  ==  "0 4 1 3 2"
    """
    if isinstance(mode, Pure):
        return _regroup(pat, _arp_mode(mode.value))
    return mode.fmap(lambda m: _regroup(pat, _arp_mode(m))).inner_join()


@register
def rolledBy(amount: Time, pat: Pattern) -> Pattern:
    """Roll each chord: its notes start one after another over the first ``amount`` of it.

    As a strummed guitar; negative: from the last note down. Each note ends with the chord.

    lc> rolledBy 0.5 $ "[a,b]"  ==  "[a, ~ b@3]"
    lc> rolledBy -0.5 $ "[a,b]"  ==  "[b, ~ a@3]"
    """
    if amount == 0:
        return pat

    def roll(events: list[Event]) -> list[tuple[Event, Span]]:
        ordered = events if amount > 0 else events[::-1]
        w = events[0].whole
        step = (w.end - w.begin) * abs(amount) / len(events)
        return [(e, Span(w.begin + i * step, w.end)) for i, e in enumerate(ordered)
                if w.begin + i * step < w.end]

    return _regroup(pat, roll)


@register
def rolled(pat: Pattern) -> Pattern:
    """Roll each chord over its first quarter: ``rolledBy (1/4)``.

    lc> rolled "[a,b]"  ==  "[a, ~ b@7]"
    """
    return rolledBy(Fraction(1, 4), pat)


@register
def juxBy(amount: float, f: Fn, pat: Pattern) -> Pattern:
    """``jux`` with the two sides ``amount`` apart around the centre (``juxBy 1`` is ``jux``).

    The pattern plays at ``pan`` 0.5 - amount/2, the function applied to it at 0.5 + amount/2.

    lc> juxBy 0.5 rev $ "a b"  ==  stack ["a b" # pan 0.25, "b a" # pan 0.75]
    lc> juxBy 1 rev $ "a b"  ==  jux rev $ "a b"
    """
    half = amount / 2
    return _stack([merge_op("#", pat, pure({"pan": 0.5 - half})),
                   merge_op("#", f(pat), pure({"pan": 0.5 + half}))])
