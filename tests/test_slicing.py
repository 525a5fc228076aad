"""Slicing (chop, striate, slice, splice, loopAt) and echoes (echo, stut, echoWith, stutWith).

The docstrings' ``lc>`` equations are checked by tests/test_functions.py; these tests check
what one equation cannot: fragments, short queries, patterned arguments, the budget, errors.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pattern_helpers import events, lc, onsets

from latentcode import mini
from latentcode.errors import LanguageError
from latentcode.patterns.budget import BudgetError
from latentcode.patterns.registry import FUNCTIONS

WORDS = ["chop", "striate", "slice", "splice", "loopAt", "echo", "stut", "echoWith", "stutWith"]


def ranges(text: str, begin=0, end=1) -> list[tuple]:
    """(onset, begin, end) of each onset."""
    return [(t, round(v["begin"], 9), round(v["end"], 9)) for t, v in onsets(lc(text), begin, end)]


def gains(text: str, begin=0, end=1) -> list[tuple]:
    """(onset, gain) of each onset; a sound without gain has gain 1."""
    return [(t, round(v.get("gain", 1), 9) if isinstance(v, dict) else 1)
            for t, v in onsets(lc(text), begin, end)]


def test_the_words_are_registered_with_equations():
    for word in WORDS:
        assert FUNCTIONS[word].examples, word


# -- chop -------------------------------------------------------------------------------------


def test_chop_cuts_uneven_events_and_keeps_fragments_of_any_query():
    chopped = lc('chop 4 $ "a@3 b"')
    explicit = lc('"[a a a a]@3 [b b b b]" # begin "[0 0.25 0.5 0.75]@3 [0 0.25 0.5 0.75]"'
                  ' # end "[0.25 0.5 0.75 1]@3 [0.25 0.5 0.75 1]"')
    for begin, end in [(0, 1), (F(1, 3), F(5, 2)), (F(1, 10), F(1, 5)), (F(-1, 2), F(1, 2))]:
        assert events(chopped, begin, end) == events(explicit, begin, end), (begin, end)


def test_chop_of_a_long_event_cuts_it_across_cycles():
    assert ranges('chop 2 $ slow 2 "a"', 0, 2) == [(0, 0, 0.5), (1, 0.5, 1)]


def test_chop_samples_at_an_instant():
    assert lc('chop 2 $ "a"').sample(F(1, 2))["begin"] == 0.5
    assert lc('chop 2 $ "a"').sample(F(1, 4))["begin"] == 0


def test_chop_patterned_and_nothing_for_zero():
    assert [len(onsets(lc('chop "<1 3>" $ "a"'), c, c + 1)) for c in range(2)] == [1, 3]
    assert lc('chop 0 $ "a"').query(0, 2) == []
    assert mini("a").chop(2).query(0, 1) == lc('chop 2 $ "a"').query(0, 1)


def test_a_short_query_of_a_fine_chop_makes_only_the_parts_it_meets():
    es = lc('chop 4096 $ "a"').query(0, F(1, 1024))
    assert len(es) == 4


def test_chop_over_the_cap_is_refused_with_one_line():
    with pytest.raises(BudgetError, match="cap"):
        lc("chop 1e9 \"a\"")
    with pytest.raises(BudgetError, match="cap"):
        lc('chop 4096 $ "a*64"').query(0, 1)


# -- striate ----------------------------------------------------------------------------------


def test_striate_interlaces_the_parts_of_every_sound():
    got = ranges('striate 3 $ "a b"')
    third = round(1 / 3, 9)
    assert [(b, e) for _, b, e in got] == [(0, third), (0, third), (third, round(2 / 3, 9)),
                                          (third, round(2 / 3, 9)), (round(2 / 3, 9), 1),
                                          (round(2 / 3, 9), 1)]
    assert [t for t, _, _ in got] == [F(k, 6) for k in range(6)]


def test_striate_refuses_too_many_parts():
    with pytest.raises(BudgetError):
        lc('striate 1e6 $ "a"')
    assert lc('striate -1 $ "a"').query(0, 1) == []


# -- slice and splice -------------------------------------------------------------------------


def test_slice_takes_its_rhythm_from_the_index():
    assert ranges('slice 4 "0 ~ 3" $ "a"') == [(0, 0, 0.25), (F(2, 3), 0.75, 1)]
    assert [v["sound"] for _, v in onsets(lc('slice 2 "0*4" $ "<a b>"'), 1, 2)] == ["b"] * 4


def test_slice_is_a_slice_of_the_range_already_played():
    assert ranges('slice 2 1 $ "a" # begin 0.5') == [(0, 0.75, 1)]


def test_slice_index_not_a_number_is_one_clear_error():
    with pytest.raises(LanguageError, match="number"):
        lc('slice 4 "foo" $ "a"').query(0, 1)


def test_splice_stretches_each_part_to_its_event():
    got = [(t, v["begin"], v["stretch"], v["legato"])
           for t, v in onsets(lc('splice 8 "0 1 [2 3]" $ "a"'), 0, 1)]
    assert got == [(0, 0, 8 / 3, 1), (F(1, 3), 0.125, 8 / 3, 1), (F(2, 3), 0.25, 4 / 3, 1),
                   (F(5, 6), 0.375, 4 / 3, 1)]


# -- loopAt -----------------------------------------------------------------------------------


def test_loop_at_slows_and_stretches():
    got = [(t, v["begin"], v["stretch"]) for t, v in onsets(lc('loopAt 2 $ chop 4 "a"'), 0, 2)]
    assert got == [(0, 0, 2), (F(1, 2), 0.25, 2), (1, 0.5, 2), (F(3, 2), 0.75, 2)]
    assert lc('loopAt 0 $ "a"').query(0, 1) == []


# -- echoes -----------------------------------------------------------------------------------


def test_echo_decays_geometrically_and_can_go_back_in_time():
    assert gains('echo 4 0.125 0.5 $ "a"') == [(0, 1), (F(1, 8), 0.5), (F(1, 4), 0.25),
                                              (F(3, 8), 0.125)]
    assert gains('echo 3 -0.25 0.5 $ "a"') == [(0, 1), (F(1, 2), 0.25), (F(3, 4), 0.5)]


def test_echo_keeps_the_gain_it_is_given():
    assert gains('echo 2 0.5 0.5 $ "a" # gain 0.8') == [(0, 0.8), (F(1, 2), 0.4)]


def test_stut_decays_in_a_straight_line_towards_the_feedback():
    assert gains('stut 4 0.5 0.1 $ "a"') == [(0, 1), (F(1, 10), 0.875), (F(1, 5), 0.75),
                                            (F(3, 10), 0.625)]


def test_echo_count_is_patternable():
    assert [len(onsets(lc('echo "<1 3>" 0.1 0.5 $ "a"'), c, c + 1)) for c in (0, 1)] == [1, 3]


def test_echo_with_shifts_then_applies_the_function_each_time():
    assert events(lc('echoWith 2 0.25 (fast 2) $ "a"')) == events(
        lc('stack ["a", fast 2 $ 0.25 ~> "a"]'))
    assert events(lc('echoWith 3 0.25 (|+ gain 1) $ "a" # gain 0')) == events(
        lc('stack ["a" # gain 0, 0.25 ~> "a" # gain 1, 0.5 ~> "a" # gain 2]'))


def test_echo_with_a_function_missing_arguments_is_one_clear_error():
    with pytest.raises(LanguageError, match="still needs"):
        lc('echoWith 3 0.25 fast $ "a"').query(0, 1)


@pytest.mark.parametrize("text", [
    'echo 4096 0.001 0.5 $ "a*64"',
    'stut 4096 0.5 0.001 $ "a*64"',
    'echoWith 4096 0.001 (# gain 1) $ "a"',
    'echo 1e9 0.1 0.5 $ "a"',
])
def test_echoes_over_the_cap_stop_with_one_line(text):
    with pytest.raises(BudgetError, match="cap"):
        lc(text).query(0, 1)


# -- any query: what starts does not depend on how the time is split into queries -------------


def _starting(es: list, a: F, b: F) -> list:
    return sorted((e.whole.begin, e.whole.end, repr(e.value)) for e in es
                  if e.has_onset() and a <= e.whole.begin < b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["chop 3 $ ", "striate 2 $ ", 'slice 4 "0 <1 3>" $ ',
                        'splice 4 "0 ~ 2" $ ', "loopAt 2 $ chop 4 $ ", "echo 3 0.2 0.5 $ ",
                        "stut 3 0.5 (-0.125) $ ", "echoWith 3 (1/3) (fast 2) $ "]),
       st.sampled_from(["a", "a b@3", "<a b> [c d]", "a(3,8)", "[a b, c]", "a? b*2"]),
       st.integers(-8, 16), st.integers(0, 24), st.integers(1, 24))
def test_splitting_a_query_never_changes_what_starts(function, text, a, ab, bc):
    p = lc(f'{function}"{text}"')
    a, b = F(a, 8), F(a, 8) + F(ab, 16)
    c = b + F(bc, 16)
    assert _starting(p.query(a, c), a, b) == _starting(p.query(a, b), a, b)
