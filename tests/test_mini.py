"""Mini-notation: every construct of docs/mini-notation.md, and the Vortex bugs."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from pattern_helpers import events, onsets, values

from latentcode import mini
from latentcode.errors import LanguageError
from latentcode.patterns.functions import slow
from latentcode.patterns.time import to_number


def same(a: str, b: str, cycles: int = 4) -> bool:
    return events(mini(a), 0, cycles) == events(mini(b), 0, cycles)


# -- sequences, rests, subdivision, feet ----------------------------------------------------


def test_sequence_steps_are_a_third_each():
    assert onsets("a b c") == [(0, "a"), (F(1, 3), "b"), (F(2, 3), "c")]


def test_rests_tilde_and_dash():
    assert same("- 2", "~ 2")
    assert same("[-- 2 -- -]", "[~~ 2 ~~ ~]")
    assert onsets("[-- 2 -- -]") == [(F(2, 6), 2)]


def test_minus_sign_is_a_number_not_a_rest():
    assert values("-2 - 3") == [-2, 3]


def test_subdivision():
    assert onsets("[bd sd] hh") == [(0, "bd"), (F(1, 4), "sd"), (F(1, 2), "hh")]


def test_feet():
    assert same("bd sd . hh hh hh", "[bd sd] [hh hh hh]")


def test_stack_in_brackets_and_at_top_level():
    assert same("[a b, c d e]", "a b, c d e")
    assert onsets("a b, c d e") == [(0, "a"), (0, "c"), (F(1, 3), "d"), (F(1, 2), "b"),
                                    (F(2, 3), "e")]


# -- alternation and polymeter --------------------------------------------------------------


def test_alternation():
    assert values("a <b c>", 0, 1) == ["a", "b"]
    assert values("a <b c>", 1, 2) == ["a", "c"]


def test_alternation_with_layers_is_polymeter_at_one_step_a_cycle():
    assert same("<a b, c d e>", "{a b, c d e}%1", 6)
    assert [values("<a b, c d e>", c, c + 1) for c in range(3)] == [
        ["a", "c"], ["b", "d"], ["a", "e"]]


def test_nested_alternation():
    assert [values("<a <b c>>", c, c + 1)[0] for c in range(4)] == ["a", "b", "a", "c"]


def test_polymeter_steps_follow_the_first_layer():
    # Vortex bug: without % it behaved like < >.
    assert same("{a b, c d e}", "[a b, c d]", 1)
    assert values("{a b, c d e}", 1, 2) == ["a", "e", "b", "c"]


def test_polymeter_with_step_count_and_ratio():
    assert same("{a b c}%4", "a b c a", 1)
    assert same("{a b}%4.4", "{a b}%4.4")  # Vortex bug: did not parse
    assert len(onsets("{a b}%4.4", 0, 5)) == 22
    assert len(onsets("{a b}%1%2", 0, 4)) == 2


def test_patterned_polymeter_steps():
    assert values("{a b c}%<2 4>", 0, 1) == ["a", "b"]
    assert len(values("{a b c}%<2 4>", 1, 2)) == 4


# -- fast, slow, replicate, elongate ---------------------------------------------------------


def test_fast_and_slow():
    assert len(onsets("a*8")) == 8
    assert onsets("a/2", 0, 2) == [(0, "a")]
    assert mini("a/2").query(1, 2)[0].whole.begin == 0


def test_patterned_fast():
    assert len(onsets("a*<2 3>", 0, 1)) == 2
    assert len(onsets("a*<2 3>", 1, 2)) == 3
    assert onsets("a*[1 2]") == [(0, "a"), (F(1, 2), "a")]


def test_replicate_counts_copies():
    # Vortex bug: !3 gave four copies.
    assert same("a!3 b", "a a a b")
    assert same("a! b", "a a b")
    assert same("a ! b", "a a b")
    assert same("{a a}%2", "{a !}%2")


def test_elongate():
    assert same("a _ _ b _", "a@3 b@2")
    assert onsets("a _ _ b _") == [(0, "a"), (F(3, 5), "b")]
    assert same("a@2 b", "[a a b]") is False
    assert onsets("a@2 b") == [(0, "a"), (F(2, 3), "b")]
    assert same("a@0.5 b@1%6 b@1%6 b@1%6", "a b*3")


def test_replicate_and_elongate_inside_alternation():
    assert events(mini("<a!3 b ! c@5>"), 0, 20) == events(slow(10, "[a a a b b] c"), 0, 20)


# -- randomness ------------------------------------------------------------------------------


def test_degrade_default_half():
    kept = len(onsets("a?", 0, 1000))
    assert 450 <= kept <= 550


def test_degrade_amount():
    kept = len(onsets("a?0.2", 0, 1000))
    assert 750 <= kept <= 850


def test_degrade_replicated_equals_degraded_group():
    assert same("a!8?", "[a!8]?", 16)


def test_each_question_mark_has_its_own_seed():
    a = [e.whole.begin for e in mini("[a?, a?]").query(0, 200) if e.has_onset()]
    both = {t for t in a if a.count(t) == 2}
    assert 0 < len(both) < len(set(a))  # independent: neither always together nor never


def test_random_choice_three_way_is_fair():
    # Vortex bug: with three options only the first or last was ever picked.
    counts = {"a": 0, "b": 0, "c": 0}
    for e in mini("[a|b|c]").query(0, 1000):
        counts[e.value] += 1
    for n in counts.values():
        assert abs(n / 1000 - 1 / 3) <= 0.05


def test_random_choice_picks_whole_branches():
    assert same("a a |b b b|c c c c", "[a a|b b b|c c c c]", 20)
    for c in range(20):
        assert len(values("a a |b b b|c c c c", c, c + 1)) in (2, 3, 4)


def test_each_choice_has_its_own_seed():
    picks = [tuple(values("[a|b] [a|b]", c, c + 1)) for c in range(100)]
    assert any(x != y for x, y in picks)


def test_randomness_is_repeatable():
    p = mini("a? [b|c|d] e*4?0.3")
    assert p.query(0, 50) == p.query(0, 50)
    assert mini("a? [b|c|d] e*4?0.3").query(0, 50) == p.query(0, 50)


# -- euclid ----------------------------------------------------------------------------------


def test_euclid_rotation():
    assert same("bd(3,8,1)", "~ ~ bd ~ ~ bd ~ bd")


def test_euclid_onsets():
    assert [t for t, _ in onsets("bd(3,8)")] == [0, F(3, 8), F(6, 8)]


def test_euclid_patterned_arguments():
    assert [len(onsets("bd(<3 5>,8,<0 2>)", c, c + 1)) for c in range(2)] == [3, 5]
    assert same("bd(<3 5>,8,<0 2>)", "<bd(3,8) bd(5,8,2)>")


def test_zeros_are_silence():
    assert mini("cp/0").query(0, 4) == []
    assert mini("cp(5,0)").query(0, 4) == []
    assert mini("cp*0").query(0, 4) == []


# -- ranges and numbers ----------------------------------------------------------------------


def test_ranges():
    assert same("0 .. 8", "0 1 2 3 4 5 6 7 8")
    assert same("0.0..8.0", "0 1 2 3 4 5 6 7 8")
    assert values("3 .. 1") == [3, 2, 1]


@pytest.mark.parametrize(("text", "expected"), [
    ("1e3", [1000]), ("400e-3", [0.4]), ("3h -2q 1.5q", [1.5, -0.5, 0.375]), ("4e2q", [100]),
    ("1%3t", [F(1, 9)]), ("-h", [-0.5]), (".5 -.25", [0.5, -0.25]),
])
def test_number_forms(text, expected):
    got = values(text)
    assert len(got) == len(expected)
    for g, x in zip(got, expected, strict=True):
        assert g == pytest.approx(float(x))


def test_bare_shorthands_are_words_that_read_as_numbers():
    got = values("h -h")
    assert [to_number(v) for v in got] == [0.5, -0.5]
    assert [to_number(v) for v in values("w h q e s t f x")] == pytest.approx(
        [1, 1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 3, 1 / 5, 1 / 6])


def test_number_types():
    assert [type(v) for v in values("1 -2 1.0 1e3 1%2 3h")] == [int, int, float, float, float,
                                                               float]


def test_whitespace():
    assert same("  bd  ", "bd")
    assert same("bd\n  sd", "bd sd")


def test_index_is_part_of_the_word():
    assert values("bell:3 pad") == ["bell:3", "pad"]


def test_empty_is_silence():
    assert mini("").query(0, 2) == []
    assert mini("[]").query(0, 2) == []


# -- source positions ------------------------------------------------------------------------


def test_sources_point_at_atoms():
    es = mini("bd [sd hh]*2").query(0, 1)
    assert [e.sources for e in es[:3]] == [((1, 1, 3),), ((1, 5, 7),), ((1, 8, 10),)]


def test_sources_with_offset():
    es = mini("bd sd", 3, 10).query(0, 1)
    assert es[1].sources == ((3, 13, 15),)


# -- errors ----------------------------------------------------------------------------------


def test_error_names_column_and_expectation():
    with pytest.raises(LanguageError) as info:
        mini("bd [sd")
    err = info.value
    assert (err.line, err.column) == (1, 7)
    assert "']'" in err.expected


def test_error_unexpected_character():
    with pytest.raises(LanguageError) as info:
        mini("bd & sd")
    assert info.value.column == 4 and "&" in info.value.message


def test_error_position_is_offset_into_a_larger_line():
    with pytest.raises(LanguageError) as info:
        mini("a ]", 2, 7)
    assert (info.value.line, info.value.column) == (2, 9)


@pytest.mark.parametrize("text", ["_ a", "a .. b", "! a", "a(3)", "a*", "<a", "1%0"])
def test_bad_strings_raise_language_errors(text):
    with pytest.raises(LanguageError):
        mini(text)


@pytest.mark.parametrize(("text", "word"), [
    ("0/[a!]", "a"), ("0*[1 a]", "a"), ("0*<2 [3 b]>", "b"), ("0*{1 a}", "a"),
    ("0/[1|a]", "a"), ("0(3,[8 a])", "a"), ("0(<3 b>,8)", "b"), ("{a b}%[c!]", "c"),
])
def test_a_patterned_number_that_could_give_a_word_is_refused_at_parse(text, word):
    # Only when every value the argument's pattern can give is a number may the string pass:
    # otherwise it would parse, then fail in whichever cycle first plays the word.
    with pytest.raises(LanguageError, match=f"needs a number, got '{word}'"):
        mini(text)


def test_patterned_numbers_may_be_ratio_shorthands_and_rests():
    assert same("a*[h 2]", "a*[0.5 2]")
    assert values("a*[~ 2]", 0, 1) == ["a"]


def test_cached():
    assert mini("a b c*2") is mini("a b c*2")
