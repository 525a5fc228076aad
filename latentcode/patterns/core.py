"""The pattern core: events and patterns as functions of time.

A :class:`Pattern` is a function from a query span (in cycles, ``fractions.Fraction``) to the
events active in it. An :class:`Event` has a ``whole`` (the span of the complete event; None for
a continuous signal), a ``part`` (the fragment inside the query) and a ``value``. Only a fragment
whose part begins where its whole begins starts a sound (:meth:`Event.has_onset`).

>>> from latentcode import mini
>>> [(str(e.whole), e.value) for e in mini("a b").query(0, 1)]
[('0→1/2', 'a'), ('1/2→1', 'b')]

Continuous signals are sampled at the *start* of the query span, so a one-cycle query of ``saw``
gives 0 and ``Pattern.sample(t)`` reads a signal at one instant. Randomness is a pure function
of time and seed (:func:`time_to_rand`), so querying a pattern twice gives the same events.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any

from latentcode.errors import LanguageError
from latentcode.patterns.time import (
    PatternError,
    Span,
    _floor,
    sam,
    time_to_rand,
    to_number,
    to_time,
)

Source = tuple[int, int, int]  # (line, column, end column), 1-based, end exclusive

_ZERO = Fraction(0)




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


# ---------------------------------------------------------------------------------------------
# sampled values


class Sampled(float):
    """A number taken from a continuous signal: the value at the event's onset, re-samplable.

    It is a ``float`` (compares and prints as one); ``at(cycle)`` reads the signal at any other
    cycle, which the engine uses for controls that vary along a long voice.

    >>> from latentcode.patterns.signals import saw
    >>> s = Sampled(0.0, saw, None)
    >>> s, s.at(2.25)
    (0.0, 0.25)
    """

    __slots__ = ("source", "key", "_fn")

    def __new__(cls, value: float, source: Pattern | None, key: str | None = None) -> Sampled:
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
    """``value.at(cycle)`` for a :class:`Sampled`, the value itself otherwise."""
    return value.at(cycle) if isinstance(value, Sampled) else value


# ---------------------------------------------------------------------------------------------
# patterns


class Pattern:
    """A function from a time span to the events active in it.

    Library functions are also methods: ``p.fast(2)``, ``p.every(4, lambda x: x.rev())``.
    ``p.merge(q)`` is the language's ``#`` (structure from ``p``, values from ``q``),
    ``p.combine("|+", q)`` any of the merge operators, and ``+ - * /`` combine numbers with
    structure from both sides.
    """

    __slots__ = ("_q",)

    def __init__(self, query: Callable[[Span], list[Event]]) -> None:
        self._q = query

    # -- querying ---------------------------------------------------------------------------

    def query(self, begin: Any, end: Any) -> list[Event]:
        """Events in [begin, end) (numbers or Fractions)."""
        return self._q(Span(to_time(begin), to_time(end)))

    def query_span(self, span: Span) -> list[Event]:
        return self._q(span)

    def onsets(self, begin: Any, end: Any) -> list[Event]:
        """The events that start in [begin, end)."""
        return [e for e in self.query(begin, end) if e.has_onset()]

    def sample(self, t: Any) -> Any:
        """The value at time ``t`` (a zero-width query), or None when nothing is there."""
        t = t if type(t) is Fraction else Fraction(t)
        events = self._q(Span(t, t))
        return events[0].value if events else None

    def __getattr__(self, name: str) -> Any:
        # Library functions become methods without pattern.py importing the library.
        from latentcode.patterns.registry import FUNCTIONS

        spec = FUNCTIONS.get(name)
        if spec is None or not spec.params or spec.params[-1].kind != "pattern":
            raise AttributeError(f"'Pattern' object has no attribute {name!r}")
        fn = spec.function
        return lambda *args: fn(*args, self)

    # -- transformations ---------------------------------------------------------------------

    def fmap(self, f: Callable[[Any], Any]) -> Pattern:
        """Apply ``f`` to every value."""
        q = self._q
        return Pattern(lambda span: [Event(e.whole, e.part, f(e.value), e.sources)
                                     for e in q(span)])

    def filter_values(self, keep: Callable[[Any], bool]) -> Pattern:
        q = self._q
        return Pattern(lambda span: [e for e in q(span) if keep(e.value)])

    def filter_events(self, keep: Callable[[Event], bool]) -> Pattern:
        q = self._q
        return Pattern(lambda span: [e for e in q(span) if keep(e)])

    # -- applicative and monadic combination --------------------------------------------------

    def app_left(self, other: Pattern, f: Callable[[Any, Any], Any]) -> Pattern:
        """Structure from ``self``; ``other`` is queried over each event's whole."""
        q, oq = self._q, other._q

        def query(span: Span) -> list[Event]:
            out = []
            for e in q(span):
                whole, part = e.whole, e.part
                for o in oq(whole if whole is not None else part):
                    p = part.sect(o.part)
                    if p is not None:
                        out.append(Event(whole, p, f(e.value, o.value), e.sources + o.sources))
            return out

        return Pattern(query)

    def app_both(self, other: Pattern, f: Callable[[Any, Any], Any]) -> Pattern:
        """Structure from both: events where both are active, wholes intersected."""
        q, oq = self._q, other._q

        def query(span: Span) -> list[Event]:
            out = []
            right = oq(span)
            for e in q(span):
                for o in right:
                    p = e.part.sect(o.part)
                    if p is None:
                        continue
                    if e.whole is None or o.whole is None:
                        w = e.whole if o.whole is None else o.whole
                    else:
                        w = e.whole.sect(o.whole)
                        if w is None:
                            continue
                    out.append(Event(w, p, f(e.value, o.value), e.sources + o.sources))
            return out

        return Pattern(query)

    def inner_join(self) -> Pattern:
        """A pattern of patterns flattened, structure from the inner patterns."""
        q = self._q

        def query(span: Span) -> list[Event]:
            out = []
            for outer in q(span):
                for e in outer.value._q(outer.part):
                    p = span.sect(e.part)
                    if p is not None:
                        out.append(Event(e.whole, p, e.value, e.sources))
            return out

        return Pattern(query)

    def squeeze_join(self) -> Pattern:
        """A pattern of patterns flattened, each inner cycle squeezed into its outer event."""
        q = self._q

        def query(span: Span) -> list[Event]:
            out = []
            for outer in q(span):
                w = outer.whole_or_part()
                for e in _compress_cycle(w, outer.value)._q(outer.part):
                    out.append(Event(e.whole, e.part, e.value, e.sources + outer.sources))
            return out

        return Pattern(query)

    # -- merging controls ---------------------------------------------------------------------

    def combine(self, op: str, other: Any) -> Pattern:
        """A merge operator of the language: ``#``, ``|+``, ``+|``, ``|+|``, ``|<`` ...

        >>> from latentcode import mini
        >>> mini("a").combine("#", {"gain": 1}).query(0, 1)[0].value
        {'sound': 'a', 'gain': 1}
        """
        return merge_op(op, self, reify(other))

    def merge(self, other: Any) -> Pattern:
        """The language's ``#``: structure from self, control values from ``other``."""
        return merge_op("#", self, reify(other))

    hash = merge

    def set(self, **controls: Any) -> Pattern:
        """``p.set(gain=0.8, alpha=sine)`` = ``p # gain 0.8 # alpha sine``."""
        from latentcode.patterns.registry import FUNCTIONS

        out = self
        for name, value in controls.items():
            out = out.merge(FUNCTIONS[name].function(value))
        return out

    def _arith(self, other: Any, op: Callable[[Any, Any], Any], flip: bool = False) -> Pattern:
        f = (lambda a, b: _apply_op(op, b, a)) if flip else (lambda a, b: _apply_op(op, a, b))
        if isinstance(other, int | float | Fraction):
            return self.fmap(lambda v: f(v, other))
        return self.app_both(reify(other), f)

    def __add__(self, other: Any) -> Pattern:
        return self._arith(other, operator.add)

    def __radd__(self, other: Any) -> Pattern:
        return self._arith(other, operator.add, True)

    def __sub__(self, other: Any) -> Pattern:
        return self._arith(other, operator.sub)

    def __rsub__(self, other: Any) -> Pattern:
        return self._arith(other, operator.sub, True)

    def __mul__(self, other: Any) -> Pattern:
        return self._arith(other, operator.mul)

    def __rmul__(self, other: Any) -> Pattern:
        return self._arith(other, operator.mul, True)

    def __truediv__(self, other: Any) -> Pattern:
        return self._arith(other, _div)

    def __rtruediv__(self, other: Any) -> Pattern:
        return self._arith(other, _div, True)

    def __repr__(self) -> str:
        return "Pattern(" + ", ".join(repr(e) for e in self.query(0, 1)[:8]) + ")"


# ---------------------------------------------------------------------------------------------
# constructors


class Pure(Pattern):
    """A constant: ``value`` once a cycle. Knowing it is constant lets ``#`` skip queries."""

    __slots__ = ("value", "sources")

    def __init__(self, value: Any, sources: tuple[Source, ...] = ()) -> None:
        self.value = value
        self.sources = sources

        def query(span: Span) -> list[Event]:
            out = []
            for s in span.cycles():
                b, e = s.begin, s.end
                if (b.denominator == 1 and e.denominator == 1
                        and e.numerator == b.numerator + 1):
                    out.append(Event(s, s, value, sources))  # the query is this cycle
                else:
                    c = b.numerator // b.denominator
                    out.append(Event(Span(Fraction(c), Fraction(c + 1)), s, value, sources))
            return out

        super().__init__(query)

    def fmap(self, f: Callable[[Any], Any]) -> Pattern:
        return Pure(f(self.value), self.sources)


def pure(value: Any, sources: tuple[Source, ...] = ()) -> Pattern:
    """``value`` once a cycle."""
    return Pure(value, sources)


def _silent(span: Span) -> list[Event]:
    return []


silence = Pattern(_silent)


def signal(f: Callable[[float], Any]) -> Pattern:
    """A continuous pattern: ``f`` of the (float) time at the start of each query."""
    return Pattern(lambda span: [Event(None, span, f(float(span.begin)))])


def reify(x: Any) -> Pattern:
    """A Pattern from a pattern, a mini-notation string, a number or a dict."""
    if isinstance(x, Pattern):
        return x
    if isinstance(x, str):
        from latentcode.language.mininotation import mini

        return mini(x)
    if isinstance(x, int | float | Fraction | dict | bool):
        return pure(x)
    raise PatternError(f"expected a pattern, a string or a number, got {_describe(x)}")


def _describe(x: Any) -> str:
    if callable(x) and not isinstance(x, Pattern):
        return "a function"
    return type(x).__name__


def _compress_cycle(span: Span, pat: Pattern) -> Pattern:
    """Cycle c of ``pat`` squeezed into ``span`` (for squeeze_join): c = cycle of span.begin."""
    c = sam(span.begin)
    width = span.end - span.begin
    if width <= 0:
        return silence
    offset = span.begin - c
    q = pat._q

    def query(qspan: Span) -> list[Event]:
        b = max(qspan.begin, span.begin)
        e = min(qspan.end, span.end)
        if b > e or (b == e and qspan.begin != qspan.end):
            return []
        out = []
        for ev in q(Span(c + (b - span.begin) / width, c + (e - span.begin) / width)):
            w = ev.whole
            out.append(Event(
                None if w is None else Span(c + offset + (w.begin - c) * width,
                                            c + offset + (w.end - c) * width),
                Span(c + offset + (ev.part.begin - c) * width,
                     c + offset + (ev.part.end - c) * width),
                ev.value, ev.sources))
        return out

    return Pattern(query)


def timecat(steps: Sequence[tuple[Any, Pattern]],
            filters: Sequence[tuple[tuple[int, float], ...]] | None = None) -> Pattern:
    """Patterns side by side in one cycle, each taking a share proportional to its weight.

    ``filters`` optionally gives each step ``(seed, amount)`` degradations applied in this
    pattern's time (mini-notation's ``?``), so ``a!8?`` and ``[a!8]?`` agree.

    >>> [str(e.whole) for e in timecat([(1, pure("a")), (3, pure("b"))]).query(0, 1)]
    ['0→1/4', '1/4→1']
    """
    weights = [to_time(w) for w, _ in steps]
    total = sum(weights, _ZERO)
    if total <= 0:
        return silence
    table = []
    pos = _ZERO
    for i, ((_, pat), w) in enumerate(zip(steps, weights, strict=True)):
        if w > 0 and pat is not silence:  # a rest takes its time but makes nothing
            begin, end = pos / total, (pos + w) / total
            table.append((begin, end, float(begin), float(end), end - begin, 1 / (end - begin),
                          pat._q, filters[i] if filters else ()))
        pos += w
    if len(table) == 1 and table[0][4] == 1 and not table[0][7]:
        return Pattern(table[0][6])

    def query(span: Span) -> list[Event]:
        out = []
        zero_width = span.begin == span.end
        for cs in span.cycles():
            qb, qe = cs.begin, cs.end
            c = _floor(qb)
            rbf, ref = float(qb) - c, float(qe) - c
            cycle = cycle_end = None
            for begin, end, fb, fe, width, inv, q, filt in table:
                if fe < rbf - 1e-9 or fb > ref + 1e-9:
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
                events = q(Span(cycle if lo is sb else (lo - k) * inv,
                                cycle_end if hi is se else (hi - k) * inv))
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

    return Pattern(query)


def per_cycle(choose: Callable[[int], Pattern]) -> Pattern:
    """A pattern that plays ``choose(cycle)`` in each cycle."""

    def query(span: Span) -> list[Event]:
        return [e for cs in span.cycles() for e in choose(_floor(cs.begin))._q(cs)]

    return Pattern(query)


def choose_cycle(pats: Sequence[Pattern], seed: int) -> Pattern:
    """One of ``pats`` each cycle, chosen at random (mini-notation's ``|``, ``randcat``)."""
    pats = list(pats)
    n = len(pats)
    return per_cycle(lambda c: pats[int(time_to_rand(float(c), seed) * n)])


def _keep(e: Event, filt: tuple[tuple[int, float], ...]) -> bool:
    t = float(e.whole_or_part().begin)
    return all(time_to_rand(t, seed) >= amount for seed, amount in filt)


def fastcat(pats: Sequence[Pattern]) -> Pattern:
    """Patterns one after another within a cycle."""
    return timecat([(1, p) for p in pats])


def slowcat(pats: Sequence[Pattern]) -> Pattern:
    """One pattern a cycle, in turn; each sees only the cycles it plays (Tidal's ``cat``)."""
    pats = list(pats)
    n = len(pats)
    if n == 0:
        return silence
    if n == 1:
        return pats[0]
    qs = [p._q for p in pats]

    def query(span: Span) -> list[Event]:
        out = []
        for cs in span.cycles():
            cyc = _floor(cs.begin)
            i = cyc % n
            offset = cyc - (cyc - i) // n
            if offset == 0:
                out.extend(qs[i](cs))
                continue
            for e in qs[i](Span(cs.begin - offset, cs.end - offset)):
                w = e.whole
                out.append(Event(None if w is None else Span(w.begin + offset, w.end + offset),
                                 Span(e.part.begin + offset, e.part.end + offset),
                                 e.value, e.sources))
        return out

    return Pattern(query)


def stack(pats: Iterable[Pattern]) -> Pattern:
    """Patterns played at the same time."""
    pats = list(pats)
    if not pats:
        return silence
    if len(pats) == 1:
        return pats[0]
    qs = [p._q for p in pats]
    return Pattern(lambda span: [e for q in qs for e in q(span)])


# ---------------------------------------------------------------------------------------------
# merge operators (# and the |op| family)


def _div(a: Any, b: Any) -> Any:
    if b == 0:
        return 0
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def _mod(a: Any, b: Any) -> Any:
    return 0 if b == 0 else a % b


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):
        return f"{a}{b}"
    return a + b


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": lambda a, b: b, "<": lambda a, b: a, "+": _add, "-": operator.sub,
    "*": operator.mul, "/": _div, "%": _mod,
}

MERGE_OPERATORS = ("#",) + tuple(
    f"{left}{op}{right}" for op in _OPS for left, right in (("|", ""), ("", "|"), ("|", "|")))


def _apply_op(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    if isinstance(a, Sampled) or isinstance(b, Sampled):
        value = op(float(a), float(b))
        return Sampled.derived(value, lambda c: op(sample_at(a, c), sample_at(b, c)))
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = as_controls(a), as_controls(b)
        out = dict(a)
        for key, v in b.items():
            out[key] = _apply_op(op, a[key], v) if key in a else v
        return out
    if isinstance(a, str) != isinstance(b, str) and op is not _add and op not in _PICKS:
        raise PatternError(f"cannot combine {a!r} and {b!r} with an arithmetic operator")
    return op(a, b)


_PICKS = (_OPS[">"], _OPS["<"])


def _union(a: Any, b: Any) -> dict:
    """``a # b`` for two values: the right's controls win (the common case, kept fast)."""
    return {**(a if type(a) is dict else {"sound": a}), **(b if type(b) is dict else {"sound": b})}


def as_controls(value: Any) -> dict:
    """A value as a dict of controls: a bare value is a sound name."""
    return value if isinstance(value, dict) else {"sound": value}


def merge_op(name: str, left: Pattern, right: Pattern) -> Pattern:
    """``left <name> right`` for a merge operator such as ``#``, ``|+``, ``+|`` or ``|*|``.

    Where a value comes from a continuous right-hand event it becomes :class:`Sampled`, so the
    engine can re-sample it along a long voice.
    """
    if name == "#":
        name = "|>"
    if name not in MERGE_OPERATORS:
        raise LanguageError(f"unknown operator {name!r}")
    structure = ("both" if name[0] == "|" and name[-1] == "|"
                 else "left" if name[0] == "|" else "right")
    op = _OPS[name.strip("|")]

    def sampled_right(right_events_value: Any, source: Pattern) -> Any:
        v = right_events_value
        if isinstance(v, dict):
            return {k: (Sampled(x, source, k) if _is_plain_number(x) else x)
                    for k, x in v.items()}
        return Sampled(v, source, None) if _is_plain_number(v) else v

    combine = _union if op is _PICKS[0] else (
        lambda a, b: _apply_op(op, as_controls(a), as_controls(b)))

    if structure == "both":
        return left.app_both(right, combine)
    if structure == "right":
        return right.app_left(left, lambda b, a: combine(a, b))
    lq, rq = left._q, right._q
    if isinstance(right, Pure):
        # A constant on the right (``# gain 0.8``): no need to query it per event.
        value, extra = right.value, right.sources
        return Pattern(lambda span: [Event(e.whole, e.part, combine(e.value, value),
                                           e.sources + extra) for e in lq(span)])

    def query(span: Span) -> list[Event]:
        out = []
        for e in lq(span):
            whole, part = e.whole, e.part
            for o in rq(whole if whole is not None else part):
                p = part.sect(o.part)
                if p is None:
                    continue
                b = o.value if o.whole is not None else sampled_right(o.value, right)
                out.append(Event(whole, p, combine(e.value, b), e.sources + o.sources))
        return out

    return Pattern(query)


def _is_plain_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool | Sampled)
