"""A pattern's period: every constructor that claims one repeats exactly, and a new line is
rehearsed for its period alone (when that is shorter than the cycles checked)."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pattern_helpers import events, lc
from test_functions import EXAMPLES
from test_properties import CALLS, CONTROLS, FUNCTIONS, MINI, NUMBERS, SETTINGS

from latentcode import mini
from latentcode.errors import LanguageError
from latentcode.patterns.core import Pattern, Pure, pure
from latentcode.patterns.time import Span
from latentcode.playback.rehearsal import CHECKED_CYCLES, rehearse


def _cycle(p: Pattern, c: int, moved: int = 0) -> list[tuple]:
    """Cycle ``c``'s events, each span moved back by ``moved`` cycles, in a canonical order."""
    return events(p.with_event_time(lambda t: t - moved), c, c + 1)


def assert_repeats(p: Pattern, start: int = 0, cycles: int = 4, what: str = "") -> None:
    """Cycles ``start + period + k`` hold cycle ``start + k``'s events, moved by the period."""
    period = p.period
    if period is None or period > 48:  # unknown, or too long to query here
        return
    for c in range(start, start + min(cycles, period)):
        assert _cycle(p, c + period, period) == _cycle(p, c), (what, period, c)


# -- the periods the constructors give ----------------------------------------------------------


@pytest.mark.parametrize(("text", "period"), [
    ("a", 1), ("~", 1), ("a b*3 [c d]", 1), ("<a b c>", 3), ("a*1.5", 2), ("a/3", 3),
    ("<a b>/2", 4), ("{a b c}%4", 3), ("[a b, <c d e>]", 3), ("<a b>!3 <c d e>", 6),
    ("a(3,8,2)", 1), ("<a b>(3,8)", 2), ("a@3 b _", 1),
    # numbers given by patterns: theirs with those of the patterns each value makes
    ("a(<3 5>,8)", 2), ("a*<2 3>", 2), ("a(<3 5>,8,<0 2 4>)", 6), ("{a b c}%<4 8>", 6),
    ("a*<1.5 2>", 2), ("<a b c>*<1 2>", 6),
    # randomness never repeats for sure; nor is a long argument's period looked for
    ("a? b", None), ("a | b", None), ("a*<2 [3|4]>", None),
    ("a*<" + " ".join(str(n) for n in range(2, 20)) + ">", None),
])
def test_mini_notation_periods(text, period):
    assert mini(text).period == period
    assert_repeats(mini(text), what=text)


@pytest.mark.parametrize(("source", "period"), [
    ('"bell*128" # gain 0.05 # legato 1', 1), ('"a*8" # alpha sine', 1),
    ('"a*8" # alpha (range 0.2 0.8 sine)', 1), ('"a b" # gain "<0.5 0.8 1>"', 3),
    ('slow 2 $ "a b"', 2), ('rev "<a b> c"', 2), ('0.25 ~> "<a b>"', 2),
    ('"a b" + "<1 2 3>"', 3), ('cat ["a", "b c"]', 2), ('stack ["<a b>", "<c d e>"]', 6),
    ('jux rev $ "a b"', 1), ('"a*8" # alpha rand', None), ('"a*8" # alpha perlin', None),
    ('sometimes (# gain 0.5) $ "a b"', None), ('s "a*4" # n (irand 8)', None),
    # cycle by cycle: the condition's own cycles with the pattern's
    ('fast "<1 2>" $ "a b"', 2), ('"<0 0.25>" ~> "a b"', 2), ('"a*4" # alpha (fast sine 1)', None),
    ('every 4 (fast 2) $ "a b"', 4), ('every 2 (# gain "<1 2 3>") $ "a"', 6),
    ('whenmod 4 2 rev $ "<a b c>"', 12), ('iter 4 "a b c d"', 4), ("iter' 3 \"a b c\"", 3),
    ('chunk 4 (hurry 2) $ "a b"', 4), ('brak "<a b c>"', 6), ("lastOf 3 (fast 2) \"a\"", 3),
    ("every' 3 1 (fast 2) \"<a b>\"", 6), ('within (0, 0.5) (fast 2) $ "<a b>"', 2),
    ('zoom (0.25, 1.75) $ "<a b c>"', 3), ('someCycles rev "a b"', None),
    # event by event, or from the same cycle alone: the pattern's own
    ('ply 2 $ "<a b c>"', 3), ('ply 1.5 $ "a b"', 2), ('ply "<2 3>" $ "a b"', 2),
    ('press "<a b> c"', 2), ('pressBy 0.25 $ "a b"', 1), ('rot 1 $ "<a b> c d"', 2),
    ('rot "<0 1 2>" $ "a b"', 3), ('chop 2 $ "<a b>"', 2), ('striate 2 $ "<a b>"', 2),
    ('splice 4 "0 <2 3>" $ "a"', 2), ('trunc 0.75 $ "<a b> c"', 2),
    ('fastGap 3 $ "<a b>"', 2), ('arp "up" $ "<[a,b] [c,d,e]>"', 2),
    ('rolled $ "[a,b,c] <d e>"', 2), ('plyWith 3 (|* gain 0.5) $ "<a b>" # gain 1', 2),
    ('squeeze "0 <1 0>" ["a <b c>", "d"]', 2), ('fit 1 ["a", "b", "c"] "0 1"', 3),
    ('echo 3 0.2 0.5 $ "<a b>"', 2), ('stut 3 0.5 0.125 $ "a b"', 1),
    ('echoWith 3 (1/8) (|* speed 2) $ "<a b>"', 2), ('ply 2 $ "a? b"', None),
])
def test_language_periods(source, period):
    p = lc(source)
    assert p.period == period
    assert_repeats(p, what=source)


def test_a_pure_value_fmapped_stays_pure_and_silence_repeats_every_cycle():
    assert isinstance(pure(1).fmap(lambda v: v + 1), Pure)
    assert mini("~").period == 1


def test_filtering_by_time_forgets_the_period():
    p = mini("a*4")
    assert p.filter_values(lambda v: v == "a").period == 1
    assert p.filter_events(lambda e: e.part.begin < F(1, 2)).period is None


# -- every constructor that claims a period keeps it ---------------------------------------------


@pytest.mark.parametrize(("name", "left", "right"), EXAMPLES,
                         ids=[f"{n}:{left}" for n, left, _ in EXAMPLES])
def test_the_documented_examples_repeat_as_their_periods_say(name, left, right):
    for side in (left, right):
        assert_repeats(lc(side), start=-1, what=side)


@SETTINGS
@given(MINI, FUNCTIONS, CONTROLS, st.integers(-6, 12))
def test_random_lines_repeat_as_their_periods_say(text, function, control, start):
    source = f'{function}"{text}"{control}'
    try:
        p = lc(source)
    except LanguageError:
        return
    assert_repeats(p, start, cycles=2, what=source)


@SETTINGS
@given(CALLS, NUMBERS, NUMBERS, MINI, st.integers(-6, 12))
def test_functions_with_odd_arguments_repeat_as_their_periods_say(call, x, y, text, start):
    source = f'{call.format(x, y)} $ "{text}"'
    try:
        p = lc(source)
        assert_repeats(p, start, cycles=2, what=source)
    except LanguageError:
        pass


# -- the rehearsal ------------------------------------------------------------------------------


def _counting(period: int | None) -> tuple[Pattern, list[int]]:
    """A pattern that says it repeats every ``period`` cycles, recording the cycles asked."""
    asked: list[int] = []

    def query(span: Span) -> list:
        asked.append(int(span.begin))
        return []

    return Pattern(query, period=period), asked


def test_a_repeating_line_is_rehearsed_for_its_period_alone():
    p, asked = _counting(3)
    rehearse(p, start=5, bank=None, framing=None)
    assert asked == [5, 6, 7]
    p, asked = _counting(None)
    rehearse(p, start=5, bank=None, framing=None)
    assert asked == list(range(5, 5 + CHECKED_CYCLES))
    p, asked = _counting(4 * CHECKED_CYCLES)  # a long period: the usual cycles
    rehearse(p, start=0, bank=None, framing=None)
    assert len(asked) == CHECKED_CYCLES
