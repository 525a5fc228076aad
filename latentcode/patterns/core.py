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
of time and seed (:func:`~latentcode.patterns.time.time_to_rand`), so querying a pattern twice
gives the same events.

A pattern may know its ``period``: the cycles after which it plays the same events again, moved
by that many cycles (``"<a b c>"`` 3, ``"a*1.5"`` 2). Constructors that are sure of it say so
(:func:`joint_period` for patterns heard together); anything random, or built from an arbitrary
query, leaves it None. A new line is rehearsed for its period alone when that is shorter.

>>> mini("<a b c>").period, mini("a? b").period
(3, None)

The core knows nothing of the language: mini-notation strings become patterns through the
parser that :mod:`latentcode.language.mininotation` hands to :func:`set_string_parser`, and the
library functions become methods when :mod:`~latentcode.patterns.registry` registers them.
"""

from __future__ import annotations

import math
import numbers
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from latentcode.controls import ALIASES, CONTROLS
from latentcode.patterns import budget
from latentcode.patterns.budget import spend, spent
from latentcode.patterns.events import Event, Source, map_event_spans
from latentcode.patterns.operators import OPS, apply, merge_operator
from latentcode.patterns.sampled import Sampled, sampled_from
from latentcode.patterns.time import Fraction, PatternError, Span, _floor, sam, to_time

__all__ = ["Event", "Pattern", "Pure", "Sampled", "Source", "joint_period", "map_event_spans",
           "merge_op", "per_cycle", "pure", "reify", "set_string_parser", "signal", "silence"]

class Pattern:
    """A function from a time span to the events active in it.

    Library functions are also methods: ``p.fast(2)``, ``p.every(4, lambda x: x.rev())``
    (:func:`~latentcode.patterns.registry.register` installs them). ``p.merge(q)`` is the
    language's ``#`` (structure from ``p``, values from ``q``), ``p.combine("|+", q)`` any of the
    merge operators, and ``+ - * /`` combine numbers with structure from both sides.
    """

    __slots__ = ("_q", "_at", "period")

    def __init__(self, query: Callable[[Span], list[Event]],
                 at: Callable[[Fraction], Any] | None = None, *,
                 period: int | None = None) -> None:
        self._q = query
        # A continuous pattern's value at an instant, read without a query (None: query it):
        # a moving control is sampled at every decoded frame, and the query's spans, events
        # and lists were most of that cost. signal, fmap and the time maps pass it on.
        self._at = at
        #: Every ``period`` cycles the pattern plays the same events again, moved by the period
        #: (None: not known, the default). A new line is rehearsed for as many cycles as this,
        #: at most, so only constructors that know it for sure set it (see :func:`joint_period`).
        self.period = period

    # -- querying ---------------------------------------------------------------------------

    def query(self, begin: Any, end: Any) -> list[Event]:
        """Events in [begin, end) (numbers or Fractions), within a budget: over
        :data:`~.budget.MAX_EVENTS_PER_CYCLE` events a cycle raise :class:`~.budget.BudgetError`.
        """
        return budget.run(self._q, Span(to_time(begin), to_time(end)))

    def query_span(self, span: Span) -> list[Event]:
        return self._q(span)

    def onsets(self, begin: Any, end: Any) -> list[Event]:
        """The events that start in [begin, end)."""
        return [e for e in self.query(begin, end) if e.has_onset()]

    def sample(self, t: Any) -> Any:
        """The value at time ``t`` (a zero-width query), or None when nothing is there."""
        t = t if type(t) is Fraction else Fraction(t)
        if self._at is not None:
            return self._at(t)
        events = budget.run(self._q, Span(t, t))
        return events[0].value if events else None

    # -- time: the two helpers most transformations are built from (Tidal's) ------------------

    def with_query_span(self, f: Callable[[Span], Span],
                        at: Callable[[Fraction], Fraction] | None = None) -> Pattern:
        """The pattern asked for ``f(span)`` whenever it is asked for ``span``; ``at`` is the
        same map for an instant, where ``f`` maps instants to instants (a continuous pattern
        is then read there without a query).

        The events come back as they are: pair it with :meth:`with_event_span` to move them to
        where they were asked for. Here the second half of each cycle is heard at its start:

        >>> from latentcode import mini
        >>> half = Fraction(1, 2)
        >>> later = mini("a b").with_query_span(lambda s: Span(s.begin + half, s.end + half))
        >>> [e.value for e in later.query(0, half)]
        ['b']
        """
        q, inner = self._q, self._at
        return Pattern(lambda span: q(f(span)),
                       None if at is None or inner is None else lambda t: inner(at(t)))

    def with_query_time(self, f: Callable[[Fraction], Fraction]) -> Pattern:
        """:meth:`with_query_span` with ``f`` applied to both ends of the span."""
        q, inner = self._q, self._at
        return Pattern(lambda span: q(Span(f(span.begin), f(span.end))),
                       None if inner is None else lambda t: inner(f(t)))

    def with_event_span(self, f: Callable[[Span], Span]) -> Pattern:
        """The same events with ``f`` applied to their wholes and parts.

        With :meth:`with_query_span` it makes any transformation of time; ``fast 2`` is a query
        twice as long with events half as long:

        >>> from latentcode import mini
        >>> twice = (mini("a b").with_query_span(lambda s: Span(s.begin * 2, s.end * 2))
        ...          .with_event_span(lambda s: Span(s.begin / 2, s.end / 2)))
        >>> [(str(e.whole), e.value) for e in twice.query(0, Fraction(1, 2))]
        [('0→1/4', 'a'), ('1/4→1/2', 'b')]
        """
        q = self._q
        return Pattern(lambda span: map_event_spans(q(span), f), self._at)  # values as they were

    def with_event_time(self, f: Callable[[Fraction], Fraction]) -> Pattern:
        """:meth:`with_event_span` with ``f`` applied to both ends of every span.

        >>> from latentcode import mini
        >>> [str(e.whole) for e in mini("a").with_event_time(lambda t: t + 1).query(0, 1)]
        ['1→2']
        """
        return self.with_event_span(lambda s: Span(f(s.begin), f(s.end)))

    # -- values -------------------------------------------------------------------------------

    def fmap(self, f: Callable[[Any], Any]) -> Pattern:
        """Apply ``f`` to every value."""
        q, inner = self._q, self._at
        return Pattern(lambda span: [Event(e.whole, e.part, f(e.value), e.sources)
                                     for e in q(span)],
                       None if inner is None else lambda t: f(inner(t)), period=self.period)

    def filter_values(self, keep: Callable[[Any], bool]) -> Pattern:
        q = self._q
        return Pattern(lambda span: [e for e in q(span) if keep(e.value)], period=self.period)

    def filter_events(self, keep: Callable[[Event], bool]) -> Pattern:
        """The events ``keep`` accepts; ``keep`` may read their time (at random, for one), so
        the period is no longer known."""
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
                for o in spent(oq(whole if whole is not None else part)):
                    p = part.sect(o.part)
                    if p is not None:
                        out.append(Event(whole, p, f(e.value, o.value), e.sources + o.sources))
            return out

        return Pattern(query, period=joint_period(self.period, other.period))

    def app_both(self, other: Pattern, f: Callable[[Any, Any], Any]) -> Pattern:
        """Structure from both: events where both are active, wholes intersected."""
        q, oq = self._q, other._q

        def query(span: Span) -> list[Event]:
            out = []
            right = oq(span)
            order = sorted(range(len(right)), key=lambda i: right[i].part.begin)
            begins = [right[i].part.begin for i in order]
            longest = max((o.part.end - o.part.begin for o in right), default=0)
            for e in q(span):
                # only the right events that may meet e: "a*4000" + "1*4000" is not 16e6 pairs
                lo = bisect_left(begins, e.part.begin - longest)
                hi = bisect_right(begins, e.part.end)
                spend(hi - lo + 1)
                for o in [right[i] for i in sorted(order[lo:hi])]:
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

        return Pattern(query, period=joint_period(self.period, other.period))

    def inner_join(self) -> Pattern:
        """A pattern of patterns flattened, structure from the inner patterns."""
        q = self._q

        def query(span: Span) -> list[Event]:
            out = []
            for outer in q(span):
                for e in spent(outer.value._q(outer.part)):
                    p = span.sect(e.part)
                    if p is not None:
                        out.append(Event(e.whole, p, e.value, e.sources))
            return out

        return Pattern(query)

    def squeeze_join(self, inner_period: int | None = None) -> Pattern:
        """A pattern of patterns flattened, each inner cycle squeezed into its outer event.

        An outer event of cycle c plays its pattern's cycle c, so when the caller knows a
        period that every inner pattern keeps (``inner_period``), the result repeats with both.
        """
        q = self._q

        def query(span: Span) -> list[Event]:
            out = []
            for outer in q(span):
                w = outer.whole_or_part()
                for e in spent(_compress_cycle(w, outer.value)._q(outer.part)):
                    out.append(Event(e.whole, e.part, e.value, e.sources + outer.sources))
            return out

        return Pattern(query, period=joint_period(self.period, inner_period))

    # -- merging controls and arithmetic ------------------------------------------------------

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
        """``p.set(gain=0.8, alpha=sine)`` = ``p # gain 0.8 # alpha sine``.

        >>> from latentcode import mini
        >>> mini("a").set(gain=0.8).query(0, 1)[0].value
        {'sound': 'a', 'gain': 0.8}
        """
        out = self
        for name, value in controls.items():
            if name not in CONTROLS and name not in ALIASES:
                raise PatternError(f"set: unknown control {name!r}")
            # The control functions are methods installed by the registry: ``gain(v)`` is
            # ``reify(v).gain()``. Looking them up here keeps the core free of the registry.
            out = out.merge(getattr(reify(value), name)())
        return out

    def operate(self, op: str, other: Any) -> Pattern:
        """``self op other`` for an arithmetic operator of :data:`~.operators.OPS`: numbers
        combine, the structure comes from both sides (``+ - * /`` on patterns).

        >>> from latentcode import mini
        >>> [e.value for e in mini("1 2").operate("*", 10).query(0, 1)]
        [10, 20]
        """
        return self._operate(OPS[op], other)

    def _operate(self, op: Callable[[Any, Any], Any], other: Any, flip: bool = False) -> Pattern:
        f = (lambda a, b: apply(op, b, a)) if flip else (lambda a, b: apply(op, a, b))
        if isinstance(other, int | float | Fraction):
            return self.fmap(lambda v: f(v, other))
        return self.app_both(reify(other), f)

    def __add__(self, other: Any) -> Pattern:
        return self._operate(OPS["+"], other)

    def __radd__(self, other: Any) -> Pattern:
        return self._operate(OPS["+"], other, True)

    def __sub__(self, other: Any) -> Pattern:
        return self._operate(OPS["-"], other)

    def __rsub__(self, other: Any) -> Pattern:
        return self._operate(OPS["-"], other, True)

    def __mul__(self, other: Any) -> Pattern:
        return self._operate(OPS["*"], other)

    def __rmul__(self, other: Any) -> Pattern:
        return self._operate(OPS["*"], other, True)

    def __truediv__(self, other: Any) -> Pattern:
        return self._operate(OPS["/"], other)

    def __rtruediv__(self, other: Any) -> Pattern:
        return self._operate(OPS["/"], other, True)

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

        super().__init__(query, period=1)

    def fmap(self, f: Callable[[Any], Any]) -> Pattern:
        return Pure(f(self.value), self.sources)


def pure(value: Any, sources: tuple[Source, ...] = ()) -> Pattern:
    """``value`` once a cycle."""
    return Pure(value, sources)


def _silent(span: Span) -> list[Event]:
    return []


silence = Pattern(_silent, period=1)


def signal(f: Callable[[float], Any], period: int | None = None) -> Pattern:
    """A continuous pattern: ``f`` of the (float) time at the start of each query; ``period``
    when ``f(t + period)`` is ``f(t)`` (a sine's 1), None for randomness."""
    return Pattern(lambda span: [Event(None, span, f(float(span.begin)))],
                   lambda t: f(float(t)), period=period)


def joint_period(*periods: int | None) -> int | None:
    """The period of patterns heard together: the least common multiple of theirs, None when
    one of them is not known.

    >>> joint_period(2, 3), joint_period(1, None)
    (6, None)
    """
    if any(p is None for p in periods):
        return None
    return math.lcm(*periods)


def per_cycle(choose: Callable[[int], Pattern], period: int | None = None) -> Pattern:
    """A pattern that plays ``choose(cycle)`` in each cycle (queries are split at cycles);
    ``period`` when the caller knows the result repeats (None: not known)."""

    def query(span: Span) -> list[Event]:
        out = []
        for cs in span.cycles():
            out.extend(spent(choose(_floor(cs.begin))._q(cs)))
        return out

    return Pattern(query, period=period)


# ---------------------------------------------------------------------------------------------
# strings: the language's parser, handed to the core


_string_parser: Callable[[str], Pattern] | None = None


def set_string_parser(parse: Callable[[str], Pattern]) -> None:
    """Let :func:`reify` read strings with ``parse``.

    :mod:`latentcode.language.mininotation` installs its ``mini`` here when it is imported, so
    the core reads mini-notation without importing the language above it.
    """
    global _string_parser
    _string_parser = parse


def reify(x: Any) -> Pattern:
    """A Pattern from a pattern, a mini-notation string, a number or a dict."""
    if isinstance(x, Pattern):
        return x
    if isinstance(x, str):
        if _string_parser is None:
            raise PatternError(f"cannot read the string {x!r} as a pattern: no mini-notation "
                               "parser is installed (import latentcode.language, or use "
                               "latentcode.mini)")
        return _string_parser(x)
    if isinstance(x, dict | numbers.Real):  # numbers, any rational (fractions.Fraction) too
        return pure(x)
    raise PatternError(f"expected a pattern, a string or a number, got {_describe(x)}")


def _describe(x: Any) -> str:
    if callable(x) and not isinstance(x, Pattern):
        return "a function"
    return type(x).__name__


# ---------------------------------------------------------------------------------------------
# squeezing and merging


def _compress_cycle(span: Span, pat: Pattern) -> Pattern:
    """Cycle c of ``pat`` squeezed into ``span`` (for squeeze_join): c = cycle of span.begin."""
    c = sam(span.begin)
    begin, width = span.begin, span.end - span.begin
    if width <= 0:
        return silence
    # inner time t plays at begin + (t - c) * width
    q = pat.with_event_span(lambda s: Span(begin + (s.begin - c) * width,
                                           begin + (s.end - c) * width))._q

    def query(qspan: Span) -> list[Event]:
        b = max(qspan.begin, begin)
        e = min(qspan.end, span.end)
        if b > e or (b == e and qspan.begin != qspan.end):
            return []
        return q(Span(c + (b - begin) / width, c + (e - begin) / width))

    return Pattern(query)


def merge_op(name: str, left: Pattern, right: Pattern) -> Pattern:
    """``left <name> right`` for a merge operator such as ``#``, ``|+``, ``+|`` or ``|*|``.

    Where a value comes from a continuous right-hand event it becomes :class:`Sampled`, so the
    engine can re-sample it along a long voice.
    """
    structure, combine = merge_operator(name)
    if structure == "left" and hasattr(right, "number_events"):  # nTake: counts left's events
        return right.number_events(left, combine)
    if structure == "both":
        return left.app_both(right, combine)
    if structure == "right":
        return right.app_left(left, lambda b, a: combine(a, b))
    lq, rq = left._q, right._q
    if isinstance(right, Pure):
        # A constant on the right (``# gain 0.8``): no need to query it per event.
        value, extra = right.value, right.sources
        return Pattern(lambda span: [Event(e.whole, e.part, combine(e.value, value),
                                           e.sources + extra) for e in lq(span)],
                       period=left.period)

    def query(span: Span) -> list[Event]:
        out = []
        for e in lq(span):
            whole, part = e.whole, e.part
            for o in spent(rq(whole if whole is not None else part)):
                p = part.sect(o.part)
                if p is None:
                    continue
                b = o.value if o.whole is not None else sampled_from(o.value, right)
                out.append(Event(whole, p, combine(e.value, b), e.sources + o.sources))
        return out

    return Pattern(query, period=joint_period(left.period, right.period))
