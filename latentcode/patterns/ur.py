"""Tidal's ``ur``: a pattern of named patterns, for the large form of a piece.

``ur 8 "intro verse verse chorus" [("intro", p1), ("verse", p2), ("chorus", p3)] []`` plays, over
8 cycles (then again), each named pattern while its name holds in the pattern of names. As in
Tidal, a named pattern keeps its own time: it is not restarted where its name begins, so a
verse that follows a verse goes on rather than repeating its first cycle.

Tidal's fourth argument is a list of named functions, applied where a name is written
``name:function``. Mini-notation here keeps ``word:number`` for sound names (``bell:3``) and
refuses a word after the colon, so that list must be empty (``[]``); apply a function to the
pattern in the list instead: ``("verse", fast 2 $ p2)``.
"""

from __future__ import annotations

from typing import Any

from latentcode.patterns.budget import spent
from latentcode.patterns.core import Event, Pattern, reify
from latentcode.patterns.core import silence as _silence
from latentcode.patterns.functions import fast, slow
from latentcode.patterns.registry import register
from latentcode.patterns.time import Fraction, PatternError, Span, Time

_PAIRS = 'a list of (name, pattern) pairs, e.g. [("a", "bell*2"), ("b", "pluck")]'


def _name(value: Any) -> str | None:
    """A name as the language gives it: a string, or a one-word pattern string."""
    if isinstance(value, Pattern):
        value = value.sample(0)
    return value if isinstance(value, str) else None


@register
def ur(length: Time, names: Pattern, patterns: list, functions: list) -> Pattern:
    """Play named patterns in turn, as a pattern of their ``names`` says, over ``length`` cycles.

    Each named pattern keeps its own time while its name holds (it is not restarted there).
    The list of functions must be empty: see the module's text.

    lc> ur 2 "a b" [("a", "x*2"), ("b", "y")] []  ==  "<[x x] y>"
    lc> ur 4 "a b" [("a", "<x y>"), ("b", "z")] []  ==  "<x y z z>"
    lc> ur 2 "a [a b]" [("a", "x"), ("b", "y z")] []  ==  "<x [x z]>"
    """
    if functions:
        raise PatternError("ur: the list of functions must be empty here ([]): mini-notation "
                           "keeps name:NUMBER for sounds; give ur the pattern with the function "
                           'applied, e.g. ("a", fast 2 $ "bell")')
    table: dict[str, Pattern] = {}
    for pair in patterns:
        name = _name(pair[0]) if isinstance(pair, tuple | list) and len(pair) == 2 else None
        if name is None:
            raise PatternError(f"ur: the patterns are {_PAIRS}, got {pair!r}")
        table[name] = fast(length, reify(pair[1]))  # in the time of the names, made 1 cycle
    if length <= 0 or not table:
        return _silence
    q = names._q

    def query(span: Span) -> list[Event]:
        out = []
        for outer in spent(q(span)):
            if outer.whole is None:  # a continuous pattern of names has no turns
                continue
            inner = table.get(str(outer.value))
            if inner is None:
                raise PatternError(f"ur: no pattern named {outer.value!r}: give one in the "
                                   f'list, e.g. ("{outer.value}", "bell*2")')
            for e in spent(inner._q(outer.part)):
                whole = e.whole
                if whole is not None:  # cut to the turn of its name (Tidal's unwrap)
                    whole = whole.sect(outer.whole)
                    if whole is None:
                        continue
                out.append(Event(whole, e.part, e.value, e.sources + outer.sources))
        return out

    return slow(Fraction(length), Pattern(query))
