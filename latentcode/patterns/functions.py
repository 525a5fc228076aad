"""The catalogue of pattern functions: every word of the language that transforms a pattern.

Each is a small Python function, named as in the language and decorated with
:func:`~latentcode.patterns.registry.register`, which makes its arguments patternable, curries
it, installs it as a method of :class:`~latentcode.patterns.core.Pattern` and lists it in
``FUNCTIONS`` for ``:help``, completion and ``docs/reference.md``. Every docstring has an
``lc>`` equation that the tests check. Sections: time, conditionals, randomness, restructuring,
layering, numbers.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from latentcode.patterns import primitives, timing
from latentcode.patterns.budget import check_count
from latentcode.patterns.core import (
    Event,
    Pattern,
    joint_period,
    merge_op,
    per_cycle,
    pure,
    signal,
)
from latentcode.patterns.core import silence as _silence
from latentcode.patterns.operators import as_controls
from latentcode.patterns.registry import Fn, register, register_value
from latentcode.patterns.sequences import choose_cycle, fastcat, slowcat, weighted_cat
from latentcode.patterns.sequences import stack as _stack
from latentcode.patterns.time import Fraction, Span, Time, _floor, time_to_rand, to_number
from latentcode.patterns.timing import shift

# ---------------------------------------------------------------------------------------------
# time


@register
def fast(factor: Time, pat: Pattern) -> Pattern:
    """Speed a pattern up by a factor (0 is silence; a negative factor also reverses it).

    lc> fast 2 $ "a b"  ==  "a b a b"
    lc> fast "1 2" $ "a b"  ==  "a [a b]"
    """
    return primitives.fast(factor, pat)


@register
def slow(factor: Time, pat: Pattern) -> Pattern:
    """Slow a pattern down by a factor (0 is silence).

    lc> slow 2 $ "a b c d"  ==  "<[a b] [c d]>"
    """
    return primitives.slow(factor, pat)


@register
def hurry(factor: Time, pat: Pattern) -> Pattern:
    """Speed up a pattern and its sounds, as Tidal does: ``fast``, and multiply ``speed`` (the
    sounds' playback rate, so their pitch too) by the factor.

    lc> hurry 2 $ "a"  ==  "a*2" # speed 2
    lc> hurry 2 $ "a" # speed 1.5  ==  "a*2" # speed 3
    """

    def faster(v: Any) -> dict:
        d = dict(as_controls(v))
        d["speed"] = d.get("speed", 1) * factor
        if isinstance(d["speed"], Fraction):
            d["speed"] = float(d["speed"])
        return d

    return fast(factor, pat).fmap(faster) if factor != 0 else _silence


@register
def early(offset: Time, pat: Pattern) -> Pattern:
    """Shift a pattern earlier in time by ``offset`` cycles (the operator ``<~``).

    lc> early 0.25 $ "a b c d"  ==  "b c d a"
    lc> "<0 0.25>" <~ "a b c d"  ==  "<[a b c d] [b c d a]>"
    """
    return shift(pat, -offset)


@register
def late(offset: Time, pat: Pattern) -> Pattern:
    """Shift a pattern later in time by ``offset`` cycles (the operator ``~>``).

    lc> late 0.25 $ "a b c d"  ==  "d a b c"
    lc> 0.25 ~> "a b c d"  ==  "d a b c"
    """
    return shift(pat, offset)


@register
def rev(pat: Pattern) -> Pattern:
    """Reverse each cycle.

    lc> rev "a b c"  ==  "c b a"
    lc> rev "a [b c]"  ==  "[c b] a"
    """
    return timing.rev(pat)


# ---------------------------------------------------------------------------------------------
# conditionals


@register
def every(n: int, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function every ``n``-th cycle, starting with cycle 0.

    lc> every 2 (fast 2) $ "a"  ==  "<[a a] a>"
    """
    if n <= 0:
        return pat
    changed = f(pat)
    return per_cycle(lambda c: changed if c % n == 0 else pat,
                     joint_period(n, pat.period, changed.period))


@register
def whenmod(a: int, b: int, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function in the cycles whose number modulo ``a`` is at least ``b``.

    lc> whenmod 4 2 rev $ "a b"  ==  "<[a b] [a b] [b a] [b a]>"
    """
    if a <= 0:
        return pat
    changed = f(pat)
    return per_cycle(lambda c: changed if c % a >= b else pat,
                     joint_period(a, pat.period, changed.period))


def _rand_filter(pat: Pattern, amount: float, keep_above: bool, seed: int = 0) -> Pattern:
    def keep(e: Event) -> bool:
        r = time_to_rand(float(e.whole_or_part().begin), seed)
        return (r >= amount) == keep_above

    return pat.filter_events(keep)


@register
def degradeBy(amount: float, pat: Pattern) -> Pattern:
    """Drop events at random with probability ``amount`` (seeded by time: repeatable).

    lc> degradeBy 0 $ "a b"  ==  "a b"
    lc> degradeBy 1 $ "a b"  ==  "~"
    """
    return _rand_filter(pat, amount, True)


@register
def unDegradeBy(amount: float, pat: Pattern) -> Pattern:
    """Keep exactly the events ``degradeBy`` would drop.

    lc> unDegradeBy 1 $ "a b"  ==  "a b"
    """
    return _rand_filter(pat, amount, False)


@register
def degrade(pat: Pattern) -> Pattern:
    """Drop half the events at random: ``degradeBy 0.5``.

    lc> stack [degrade "a*8", unDegradeBy 0.5 "a*8"]  ==  "a*8"
    """
    return _rand_filter(pat, 0.5, True)


@register
def sometimesBy(amount: float, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function to each event with probability ``amount``.

    lc> sometimesBy 1 (# gain 0) $ "a b"  ==  "a b" # gain 0
    lc> sometimesBy 0 (# gain 0) $ "a b"  ==  "a b"
    """
    return _stack([_rand_filter(pat, amount, True), f(_rand_filter(pat, amount, False))])


def _sometimes(name: str, amount: float, word: str) -> None:
    def impl(f: Fn, pat: Pattern) -> Pattern:
        return sometimesBy(amount, f, pat)

    impl.__doc__ = (f"Apply a function to {word} of the events: ``sometimesBy {amount}``.\n\n"
                    f"lc> {name} (fast 1) $ \"a b\"  ==  \"a b\"")
    impl.__signature__ = inspect.Signature([
        inspect.Parameter("f", inspect.Parameter.POSITIONAL_ONLY, annotation="Fn"),
        inspect.Parameter("pat", inspect.Parameter.POSITIONAL_ONLY, annotation="Pattern")])
    globals()[name] = register(impl, name=name)


for _name, _amount, _word in (
        ("sometimes", 0.5, "half"), ("often", 0.75, "three quarters"),
        ("rarely", 0.25, "a quarter"), ("almostNever", 0.1, "a tenth"),
        ("almostAlways", 0.9, "nine tenths"), ("always", 1.0, "all"), ("never", 0.0, "none")):
    _sometimes(_name, _amount, _word)


@register
def someCyclesBy(amount: float, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function to whole cycles, each with probability ``amount``.

    lc> someCyclesBy 1 rev $ "a b"  ==  "b a"
    """
    changed = f(pat)
    return per_cycle(lambda c: changed if time_to_rand(float(c)) < amount else pat)


@register
def someCycles(f: Fn, pat: Pattern) -> Pattern:
    """Apply a function to half the cycles, chosen at random: ``someCyclesBy 0.5``.

    lc> someCycles (fast 1) $ "a"  ==  "a"
    """
    return someCyclesBy(0.5, f, pat)


@register
def within(span: tuple[Time, Time], f: Fn, pat: Pattern) -> Pattern:
    """Apply a function only to the events that start within part of each cycle.

    lc> within (0, 0.5) (# gain 0) $ "a b"  ==  stack ["a ~" # gain 0, "~ b"]
    """
    begin, end = span
    changed = f(pat)

    def inside(e: Event) -> bool:
        t = e.whole_or_part().begin
        pos = t - _floor(t)
        return begin <= pos < end

    out = _stack([changed.filter_events(inside),
                  pat.filter_events(lambda e: not inside(e))])
    out.period = joint_period(pat.period, changed.period)  # inside() is the same every cycle
    return out


# ---------------------------------------------------------------------------------------------
# restructuring


@register
def iter_(n: int, pat: Pattern) -> Pattern:
    """Shift the pattern earlier by a further 1/n of a cycle each cycle.

    lc> iter 4 $ "a b c d"  ==  "<[a b c d] [b c d a] [c d a b] [d a b c]>"
    """
    if n == 0:
        return pat
    shifted = [shift(pat, Fraction(-i, n)) for i in range(abs(check_count(n, "iter")))]
    return per_cycle(lambda c: shifted[c % abs(n)], joint_period(abs(n), pat.period))


@register
def palindrome(pat: Pattern) -> Pattern:
    """Play the pattern forwards, then backwards, in alternate cycles.

    lc> palindrome "a b c"  ==  "<[a b c] [c b a]>"
    """
    return slowcat([pat, rev(pat)])


@register
def chunk(n: int, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function to one n-th of each cycle, a different part each cycle.

    lc> chunk 2 (# gain 0) $ "a b"  ==  stack ["<[a ~] [~ b]>" # gain 0, "<[~ b] [a ~]>"]
    """
    if n <= 0:
        return pat
    parts = [within((Fraction(i, n), Fraction(i + 1, n)), f, pat)
             for i in range(check_count(n, "chunk"))]
    return per_cycle(lambda c: parts[c % n], joint_period(n, *(p.period for p in parts)))


@register
def ply(n: Time, pat: Pattern) -> Pattern:
    """Repeat each event ``n`` times within its own time span.

    lc> ply 2 $ "a b"  ==  "[a a] [b b]"
    """
    # the inner patterns differ only in their value: one made with any value has their period
    return pat.fmap(lambda v: fast(n, pure(v))).squeeze_join(fast(n, pure(None)).period)


@register
def linger(fraction: Time, pat: Pattern) -> Pattern:
    """Repeat the first ``fraction`` of a cycle to fill it (negative: the last part).

    As in Tidal, the repeats are the starts of the cycles that follow: ``<a b>`` alternates.

    lc> linger 0.25 $ "a b c d"  ==  "a a a a"
    lc> linger -0.25 $ "a b c d"  ==  "d d d d"
    lc> linger 0.25 $ "<a b> c d e"  ==  "a b a b"
    lc> linger 0.5 $ "<[a b] [c d]>"  ==  "a c"
    """
    if fraction == 0:
        return _silence
    width = abs(fraction)
    start = 0 if fraction > 0 else 1 - width
    # zoom to the part, then fast: cycle c plays the parts of cycles c/width .. (c+1)/width - 1
    return primitives.fast(1 / width, zoom((start, start + width), pat))


@register
def segment(n: Time, pat: Pattern) -> Pattern:
    """Sample a pattern ``n`` times a cycle: discrete events from a continuous signal.

    lc> segment 4 $ saw  ==  "0 0.25 0.5 0.75"
    """
    return fast(n, pure(True)).app_left(pat, lambda _, v: v)


@register
def range_(low: float, high: float, pat: Pattern) -> Pattern:
    """Scale a pattern of numbers in 0..1 to ``low``..``high``.

    lc> segment 2 $ range 1 5 saw  ==  "1 3"
    lc> segment 2 $ range -1 1 $ saw  ==  "-1 0"
    """
    span = high - low
    return pat.fmap(lambda v: low + span * to_number(v))


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v not in ("f", "false", "0", "F")
    return bool(v)


@register
def struct(bools: Pattern, pat: Pattern) -> Pattern:
    """Impose a rhythm of true values (``t``, ``1``) on a pattern.

    lc> struct "t ~ t t" $ "a"  ==  "a ~ a a"
    lc> struct "t(3,8)" $ "a"  ==  "a(3,8)"
    """
    return bools.app_left(pat, lambda b, v: (b, v)).filter_values(
        lambda bv: _truthy(bv[0])).fmap(lambda bv: bv[1])


@register
def mask(bools: Pattern, pat: Pattern) -> Pattern:
    """Keep only the parts of a pattern where the mask is true (``1``/``t``).

    lc> mask "1 0 1 1" $ "a*8"  ==  "[a a] ~ [a a] [a a]"
    """
    return pat.app_left(bools.filter_values(_truthy), lambda v, _: v)


@register
def euclid(k: int, n: int, pat: Pattern) -> Pattern:
    """Play a pattern in a euclidean rhythm: ``k`` onsets spread over ``n`` steps.

    lc> euclid 3 8 $ "a"  ==  "a ~ ~ a ~ ~ a ~"
    """
    return primitives.euclid(k, n, 0, pat)


@register
def euclidOff(k: int, n: int, rotation: int, pat: Pattern) -> Pattern:
    """A euclidean rhythm rotated left by ``rotation`` steps.

    lc> euclidOff 3 8 1 $ "a"  ==  "~ ~ a ~ ~ a ~ a"
    """
    return primitives.euclid(k, n, rotation, pat)


@register
def euclidInv(k: int, n: int, pat: Pattern) -> Pattern:
    """The steps a euclidean rhythm leaves empty.

    lc> euclidInv 3 8 $ "a"  ==  "~ a a ~ a a ~ a"
    """
    return primitives.euclid(k, n, 0, pat, invert=True)


@register
def zoom(span: tuple[Time, Time], pat: Pattern) -> Pattern:
    """Play only part of each cycle (from ``begin`` to ``end``), stretched to fill the cycle.

    lc> zoom (0.25, 0.75) $ "a b c d"  ==  "b c"
    """
    begin, end = span
    width = end - begin
    if width <= 0:
        return _silence

    def cycle(c: int) -> Pattern:
        k = c - (c + begin) / width  # inner time t plays at outer time t / width + k
        return (pat.with_query_span(lambda s: Span((s.begin - k) * width, (s.end - k) * width))
                .with_event_span(lambda s: Span(s.begin / width + k, s.end / width + k)))

    return per_cycle(cycle, pat.period)  # cycle c plays from pat's c + begin


@register
def compress(span: tuple[Time, Time], pat: Pattern) -> Pattern:
    """Squeeze each cycle into part of the cycle (from ``begin`` to ``end``), silence around it.

    lc> compress (0.25, 0.75) $ "a b"  ==  "~ a b ~"
    """
    begin, end = span
    if not 0 <= begin <= end <= 1:
        return _silence
    return weighted_cat([(begin, _silence), (end - begin, pat), (1 - end, _silence)])


@register
def inside(n: Time, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function inside cycles ``n`` times shorter: ``fast n . f . slow n``.

    lc> inside 2 rev $ "a b c d"  ==  "b a d c"
    """
    return _silence if n == 0 else fast(n, f(slow(n, pat)))


@register
def outside(n: Time, f: Fn, pat: Pattern) -> Pattern:
    """Apply a function outside cycles: to cycles ``n`` times longer, ``inside (1/n)``.

    lc> outside 2 rev $ "<[a b] [c d]>"  ==  "<[d c] [b a]>"
    """
    return _silence if n == 0 else inside(1 / n, f, pat)


@register
def brak(pat: Pattern) -> Pattern:
    """Every other cycle, squash the cycle into half and shift it by a quarter: a breakbeat.

    lc> brak "a b"  ==  "<[a b] [~ a b ~]>"
    """
    broken = shift(fastcat([pat, _silence]), Fraction(1, 4))
    return per_cycle(lambda c: broken if c % 2 else pat, joint_period(2, pat.period))


@register
def pressBy(amount: Time, pat: Pattern) -> Pattern:
    """Squeeze each event into the last part of its time span, starting ``amount`` into it.

    lc> pressBy 0.25 $ "a b"  ==  "[~ a@3] [~ b@3]"
    """
    if not 0 <= amount < 1:
        return _silence
    def squeezed(v: Any) -> Pattern:
        return weighted_cat([(amount, _silence), (1 - amount, pure(v))])

    return pat.fmap(squeezed).squeeze_join(squeezed(None).period)


@register
def press(pat: Pattern) -> Pattern:
    """Squeeze each event into the second half of its time span: ``pressBy 0.5``.

    lc> press "a b"  ==  "[~ a] [~ b]"
    """
    return pressBy(Fraction(1, 2), pat)


@register
def swingBy(amount: Time, n: Time, pat: Pattern) -> Pattern:
    """Delay the events in the second half of each 1/n of a cycle by ``amount`` (of that 1/n).

    lc> swingBy 0.25 2 $ "a*4"  ==  stack ["a ~ a ~", 0.125 ~> "~ a ~ a"]
    """
    return inside(n, within((Fraction(1, 2), Fraction(1)), late(amount)), pat)


@register
def swing(n: Time, pat: Pattern) -> Pattern:
    """Swing by a third: ``swingBy (1/3)``.

    lc> swing 2 $ "a*4"  ==  stack ["a ~ a ~", (1/6) ~> "~ a ~ a"]
    """
    return swingBy(Fraction(1, 3), n, pat)


@register
def rot(n: int, pat: Pattern) -> Pattern:
    """Shift each value to the ``n``-th next event of the cycle; the rhythm stays.

    lc> rot 1 $ "a b c"  ==  "b c a"
    lc> rot "<0 1>" $ "a ~ b"  ==  "<[a ~ b] [b ~ a]>"
    """
    q = pat._q

    def query(span: Span) -> list[Event]:
        out = []
        for cs in span.cycles():
            c = _floor(cs.begin)
            events = sorted((e for e in q(Span(Fraction(c), Fraction(c + 1)))
                             if e.whole is not None), key=lambda e: e.whole.begin)
            if not events:
                continue
            k = n % len(events)
            shifted = [e.value for e in events[k:] + events[:k]]
            for e, value in zip(events, shifted, strict=True):
                part = e.part.sect(cs)
                if part is not None:
                    out.append(Event(e.whole, part, value, e.sources))
        return out

    return Pattern(query, period=pat.period)  # cycle c is made of pat's cycle c alone


def _parts(n: int, pat: Pattern) -> list[Pattern]:
    check_count(n, "shuffle or scramble")
    return [zoom((Fraction(i, n), Fraction(i + 1, n)), pat) for i in range(n)]


@register
def shuffle(n: int, pat: Pattern) -> Pattern:
    """Cut each cycle into ``n`` parts and play them in a random order, each once a cycle.

    lc> shuffle 1 $ "a b"  ==  "a b"
    """
    if n <= 0:
        return _silence
    parts = _parts(n, pat)

    def order(c: int) -> Pattern:
        keys = [time_to_rand(c + i / n, 7) for i in range(n)]
        return fastcat([parts[i] for i in sorted(range(n), key=keys.__getitem__)])

    return per_cycle(order)


@register
def scramble(n: int, pat: Pattern) -> Pattern:
    """Cut each cycle into ``n`` parts and play ``n`` of them chosen at random (repeats allowed).

    lc> scramble 2 $ "a a"  ==  "a a"
    """
    if n <= 0:
        return _silence
    parts = _parts(n, pat)
    return per_cycle(lambda c: fastcat([
        parts[math.floor(time_to_rand(c + i / n, 11) * n)] for i in range(n)]))


@register
def randcat(pats: list[Pattern]) -> Pattern:
    """One of the patterns each cycle, chosen at random.

    lc> randcat ["a", "a"]  ==  "a"
    """
    return choose_cycle(pats, seed=-1) if pats else _silence


@register
def inv(pat: Pattern) -> Pattern:
    """Invert a pattern of true/false values (``t``/``f``, ``1``/``0``).

    lc> struct (inv "t f t f") "a"  ==  "~ a ~ a"
    """
    return pat.fmap(lambda v: not _truthy(v))


# ---------------------------------------------------------------------------------------------
# layering


@register
def off(time: Time, f: Fn, pat: Pattern) -> Pattern:
    """Stack a pattern with a copy shifted later by ``time`` and transformed by a function.

    lc> off 0.25 (# gain 0) $ "a ~"  ==  stack ["a ~", "~ a@2 ~" # gain 0]
    """
    return _stack([pat, f(shift(pat, time))])


@register
def superimpose(f: Fn, pat: Pattern) -> Pattern:
    """Stack a pattern with a transformed copy of itself.

    lc> superimpose (fast 2) $ "a"  ==  stack ["a", "a*2"]
    """
    return _stack([pat, f(pat)])


@register
def layer(fs: list[Fn], pat: Pattern) -> Pattern:
    """Stack the results of several functions applied to one pattern.

    lc> layer [rev, fast 2] $ "a b"  ==  stack ["b a", "a b a b"]
    """
    return _stack([f(pat) for f in fs])


@register
def jux(f: Fn, pat: Pattern) -> Pattern:
    """Stereo: the pattern on the left (``pan 0``), the function applied to it on the right.

    lc> jux rev $ "a b"  ==  stack ["a b" # pan 0, "b a" # pan 1]
    """
    return _stack([merge_op("#", pat, pure({"pan": 0})),
                   merge_op("#", f(pat), pure({"pan": 1}))])


@register
def id_(pat: Pattern) -> Pattern:
    """The pattern unchanged (useful in ``layer`` and ``every``).

    lc> layer [id, rev] $ "a b"  ==  stack ["a b", "b a"]
    """
    return pat


@register
def stack(pats: list[Pattern]) -> Pattern:
    """Play patterns at the same time.

    lc> stack ["a", "b c"]  ==  "[a, b c]"
    """
    return _stack(pats)


@register
def overlay(a: Pattern, b: Pattern) -> Pattern:
    """Play two patterns at the same time.

    lc> overlay "a" "b c"  ==  "[a, b c]"
    """
    return _stack([a, b])


@register
def cat(pats: list[Pattern]) -> Pattern:
    """One pattern per cycle, in turn.

    lc> cat ["a", "b c"]  ==  "<a [b c]>"
    """
    return slowcat(pats)


@register
def slowcat_(pats: list[Pattern]) -> Pattern:
    """Same as ``cat``.

    lc> slowcat ["a", "b"]  ==  "<a b>"
    """
    return slowcat(pats)


@register
def fastcat_(pats: list[Pattern]) -> Pattern:
    """Patterns one after another, all in one cycle.

    lc> fastcat ["a", "b c"]  ==  "a [b c]"
    """
    return fastcat(pats)


@register
def timeCat(pairs: list[tuple[Time, Pattern]]) -> Pattern:
    """Patterns one after another in one cycle, each taking a share given by its weight.

    lc> timeCat [(1, "a"), (3, "b")]  ==  "a b@3"
    """
    return weighted_cat(pairs)


# ---------------------------------------------------------------------------------------------
# numbers and randomness


@register
def run(n: int) -> Pattern:
    """The numbers 0 to n-1 in one cycle.

    lc> run 4  ==  "0 1 2 3"
    lc> run "<2 3>"  ==  "<[0 1] [0 1 2]>"
    """
    return fastcat([pure(i) for i in range(check_count(n, "run"))]) if n > 0 else _silence


@register
def irand(n: int) -> Pattern:
    """A continuous random integer from 0 to n-1.

    lc> segment 4 $ irand 1  ==  "0*4"
    """
    return signal(lambda t: math.floor(time_to_rand(t) * n))


@register
def choose(values: list) -> Pattern:
    """A continuous random choice from a list of values.

    lc> segment 2 $ choose ["a"]  ==  "a a"
    """
    if not values:
        return _silence
    n = len(values)
    return signal(lambda t: values[math.floor(time_to_rand(t) * n)])


register_value("silence", _silence, """Nothing at all.

lc> silence  ==  "~"
""")
