"""Pattern time is quicktions' Fraction: the same values and floats as fractions.Fraction, and
any other rational is taken at the boundary."""

import fractions

from hypothesis import given, settings
from hypothesis import strategies as st

from latentcode import mini
from latentcode.patterns.time import Fraction, Span, to_number, to_time


def test_time_is_the_fast_fraction_not_the_standard_one():
    assert Fraction is not fractions.Fraction
    assert type(to_time(0.25)) is Fraction
    assert type(mini("a b c").query(0, 1)[1].whole.begin) is Fraction


def test_a_standard_fraction_is_taken_as_our_own():
    t = to_time(fractions.Fraction(3, 4))
    assert type(t) is Fraction and t == Fraction(3, 4)
    assert to_number(fractions.Fraction(1, 8)) == 0.125


def test_a_pattern_fed_standard_fractions_plays_as_with_ours():
    ours = mini("a b c").fast(Fraction(3, 2)).query(0, 2)
    theirs = mini("a b c").fast(fractions.Fraction(3, 2)).query(fractions.Fraction(0),
                                                                fractions.Fraction(2))
    assert [(e.whole, e.value) for e in ours] == [(e.whole, e.value) for e in theirs]
    assert all(type(e.whole.begin) is Fraction for e in theirs)


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**30, 10**30), st.integers(1, 10**30), st.floats(-1e6, 1e6))
def test_same_values_and_same_floats_as_the_standard_fraction(n, d, x):
    ours, std = Fraction(n, d), fractions.Fraction(n, d)
    assert float(ours) == float(std)  # renders keep their bits
    assert ours == std and hash(ours) == hash(std)
    assert ours // 1 == std // 1 and ours % 1 == std % 1 and round(ours) == round(std)
    assert (Fraction(x).limit_denominator(1 << 20)
            == fractions.Fraction(x).limit_denominator(1 << 20))
    assert repr(ours) == repr(std)


def test_spans_split_at_cycle_boundaries_with_either_kind_of_fraction():
    a = Span(Fraction(1, 2), Fraction(5, 2)).cycles()
    b = Span(to_time(fractions.Fraction(1, 2)), to_time(fractions.Fraction(5, 2))).cycles()
    assert [(s.begin, s.end) for s in a] == [(s.begin, s.end) for s in b] == [
        (Fraction(1, 2), 1), (1, 2), (2, Fraction(5, 2))]


def test_text_becomes_a_fraction_without_touching_shared_ints():
    from latentcode.language.mininotation import parse_number
    from latentcode.patterns.time import read_fraction

    assert [read_fraction(t) for t in ("3", "0", "-1/3", "0.25")] == [
        3, 0, Fraction(-1, 3), Fraction(1, 4)]
    assert parse_number("3") == (3, Fraction(3)) and parse_number("0h")[1] == 0
    mini("bd(3,8) sn:2 [a b]*4 <1 2>")
    assert int.from_bytes(b"\0", "little") == 0 and int.from_bytes(b"\1", "little") == 1
