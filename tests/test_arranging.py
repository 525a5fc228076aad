"""Arranging patterns: select, pickF, spread, wedge, bite... beyond their documented equations."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from pattern_helpers import events, lc, onsets, values

from latentcode.errors import LanguageError


def test_select_wraps_past_the_last_pattern_and_reads_its_chooser_at_onsets():
    assert values(lc('select "<0 1 0.75>" ["a", "b", "c"]'), 0, 3) == ["a", "a", "c"]
    # a sine sampled once a cycle, 0.5 1 0.5 0 over four cycles: index 1, 2 (wraps to 0), 1, 0
    assert values(lc('select (segment 1 $ slow 4 $ sine) ["lo", "hi"]'), 0, 4) == \
        ["hi", "lo", "hi", "lo"]


def test_pick_f_applies_the_picked_function_and_keeps_the_pattern_otherwise():
    assert onsets(lc('pickF "1 0" [id, fast 2] $ "a b"')) == \
        [(0, "a"), (F(1, 4), "b"), (F(1, 2), "b")]
    assert events(lc('pickF "0" [] $ "a b"')) == events(lc('"a b"'))


def test_spread_gives_each_value_in_turn_and_refuses_a_function_of_a_pattern_alone():
    assert onsets(lc('spread late [0, 0.25] $ "a b"'), 0, 2) == \
        [(0, "a"), (F(1, 2), "b"), (F(5, 4), "a"), (F(7, 4), "b")]
    assert events(lc('spread fast [] $ "a"')) == []
    with pytest.raises(LanguageError, match="must take a value and then a pattern"):
        lc('spread rev [1, 2] $ "a"').query(0, 1)


def test_wedge_takes_a_patterned_share():
    assert onsets(lc('wedge "<0.5 0.25>" "a" "b"'), 0, 2) == \
        [(0, "a"), (F(1, 2), "b"), (1, "a"), (F(5, 4), "b")]


def test_bite_wraps_its_part_numbers():
    assert values(lc('bite 2 "3" $ "a b c d"')) == ["c", "d"]


def test_quantise_rounds_controls_and_refuses_a_zero_step():
    assert values(lc('"bell*2" # alpha (quantise 2 "0.3 0.9")')) == \
        [{"sound": "bell", "alpha": 0.5}, {"sound": "bell", "alpha": 1.0}]
    with pytest.raises(LanguageError, match="quantise needs a step other than 0"):
        lc('quantise 0 "1"')
