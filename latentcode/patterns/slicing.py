"""Slicing: words that play parts of a sound, over the controls ``begin``, ``end`` and
``stretch``.

``chop``, ``striate``, ``slice``, ``splice`` and ``loopAt`` as in Tidal. A part is always taken
of the range an event already plays: on ``"bell" # begin 0.5``, the first half of ``chop 2`` is
0.5..0.75 (``begin`` 0 and ``end`` 1 when absent).

Tidal's ``splice`` and ``loopAt`` fit a sound to a number of cycles exactly, because Tidal can
give a sample's speed in cycles (``unit "c"``). latentcode's ``stretch`` is a factor of the
sound's own length, and a pattern does not know how long a sound lasts nor the tempo, so these
two fit exactly a sound that lasts one cycle at the current tempo and keep the proportions of any
other: ``loopAt 2`` plays the sound twice as long, ``splice 4`` a slice as many times longer
than a quarter of a cycle as its event is.

>>> from latentcode import mini
>>> [(e.value["begin"], e.value["end"]) for e in chop(2, mini("bell")).query(0, 1)]
[(0.0, 0.5), (0.5, 1.0)]
"""

from __future__ import annotations

import math
from typing import Any

from latentcode.patterns import primitives
from latentcode.patterns.budget import check_count, spend
from latentcode.patterns.core import Event, Pattern, merge_op, pure
from latentcode.patterns.core import silence as _silence
from latentcode.patterns.operators import as_controls
from latentcode.patterns.registry import register
from latentcode.patterns.sequences import fastcat
from latentcode.patterns.time import PatternError, Span, Time, _floor, to_number


def _part(value: Any, k: int, n: int) -> dict:
    """``value``'s controls playing the ``k``-th of ``n`` parts of the range it plays."""
    controls = as_controls(value)
    b = float(to_number(controls.get("begin", 0.0)))
    e = float(to_number(controls.get("end", 1.0)))
    return {**controls, "begin": b + (e - b) * k / n, "end": b + (e - b) * (k + 1) / n}


@register
def chop(n: int, pat: Pattern) -> Pattern:
    """Cut each event into ``n`` parts in a row, each playing its part of the sound.

    lc> chop 2 $ "a b"  ==  "[a a] [b b]" # begin "0 0.5 0 0.5" # end "0.5 1 0.5 1"
    lc> chop 2 $ "a" # begin 0.5  ==  "a*2" # begin "0.5 0.75" # end "0.75 1"
    """
    if n <= 0:
        return _silence
    n = check_count(n, "chop")
    q = pat.query_span

    def query(span: Span) -> list[Event]:
        out = []
        for e in q(span):
            w, p = e.whole, e.part
            if w is None or w.begin == w.end:  # a signal or an instant: nothing to cut
                out.append(e)
                continue
            width = (w.end - w.begin) / n
            # only the parts that meet the query: a short query of a long event makes few
            first = min(n - 1, max(0, _floor((p.begin - w.begin) / width)))
            last = first + 1 if p.begin == p.end else min(n, math.ceil((p.end - w.begin) / width))
            spend(last - first)
            for k in range(first, last):
                piece = Span(w.begin + k * width, w.begin + (k + 1) * width)
                part = piece.sect(p)
                if part is not None:
                    out.append(Event(piece, part, _part(e.value, k, n), e.sources))
        return out

    return Pattern(query, period=pat.period)  # each event cut on its own


@register
def striate(n: int, pat: Pattern) -> Pattern:
    """Play the pattern ``n`` times a cycle, squeezed, the k-th time with the k-th of ``n``
    parts of every sound: the parts of all the sounds interlaced.

    lc> striate 2 $ "a b"  ==  "[a b] [a b]" # begin "0 0.5" # end "0.5 1"
    """
    if n <= 0:
        return _silence
    n = check_count(n, "striate")
    return fastcat([pat.fmap(lambda v, k=k: _part(v, k, n)) for k in range(n)])


def _slice(n: int, i: Pattern, pat: Pattern) -> Pattern:
    if n <= 0:
        return _silence
    def piece(index: Any, value: Any) -> dict:
        try:
            k = math.floor(to_number(index))
        except PatternError:
            raise PatternError(f"slice: the index must be a number, got {index!r}") from None
        return _part(value, k % n, n)

    # the rhythm is the index pattern's, as in Tidal; the sounds are taken from ``pat``
    return i.app_left(pat, piece)


@register
def slice_(n: int, i: Pattern, pat: Pattern) -> Pattern:
    """Cut each sound into ``n`` parts and play part ``i`` (counted from 0, wrapping around);
    the rhythm comes from ``i``.

    lc> slice 4 "0 2" $ "a"  ==  "a*2" # begin "0 0.5" # end "0.25 0.75"
    lc> slice 4 "<5 -1>" $ "a"  ==  "a" # begin "<0.25 0.75>" # end "<0.5 1>"
    """
    return _slice(n, i, pat)


@register
def splice(n: int, i: Pattern, pat: Pattern) -> Pattern:
    """``slice``, each part stretched to fill its event and ended with it (``legato 1``).

    ``stretch`` becomes ``n`` times the event's length in cycles: exact for a sound that lasts
    one cycle at the current tempo (a pattern knows neither a sound's length nor the tempo).

    lc> splice 4 "0 2" $ "a"  ==  "a*2" # begin "0 0.5" # end "0.25 0.75" # stretch 2 # legato 1
    lc> splice "4 8" "0 1" $ "a"  ==  "a*2" # begin "0 0.125" # end "0.25 0.25" # stretch "2 4" # legato 1
    """  # noqa: E501 - an equation is one line
    sliced = _slice(n, i, pat)
    q = sliced.query_span

    def fill(e: Event) -> Event:
        if e.whole is None:
            return e
        length = e.whole.end - e.whole.begin
        return e.with_value({**e.value, "stretch": float(n * length), "legato": 1})

    return Pattern(lambda span: [fill(e) for e in q(span)], period=sliced.period)


@register
def loopAt(n: Time, pat: Pattern) -> Pattern:
    """Slow the pattern by ``n`` and stretch its sounds ``n`` times (``|* stretch n``), so a
    sound one cycle long lasts ``n`` cycles: a loop played over ``n`` cycles.

    lc> loopAt 2 $ chop 2 $ "a"  ==  "a" # begin "<0 0.5>" # end "<0.5 1>" # stretch 2
    lc> loopAt 2 $ "a" # stretch 3  ==  slow 2 $ "a" # stretch 6
    """
    if n == 0:
        return _silence
    return merge_op("|*", primitives.slow(n, pat), pure({"stretch": float(n)}))

