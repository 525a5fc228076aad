"""Tidal's transitions as pure patterns: the old pattern before the start, the transition, the
new pattern after it (latentcode.patterns.transitions)."""

from __future__ import annotations

import math
from fractions import Fraction as F

import pytest
from pattern_helpers import events, onsets

from latentcode import mini
from latentcode.patterns.budget import BudgetError
from latentcode.patterns.transitions import (
    TRANSITIONS,
    anticipate_in,
    clutch_in,
    interpolate_in,
    jump_in,
    jump_in_next,
    jump_mod,
    once_from,
    xfade_in,
)

OLD = mini("a*8")
NEW = mini("b*8")


def sounds(p, begin, end) -> list[str]:
    return [v["sound"] if isinstance(v, dict) else v for _, v in onsets(p, begin, end)]


def gain_of(p, begin, end, sound) -> list[float]:
    return [v["gain"] for _, v in onsets(p, begin, end)
            if isinstance(v, dict) and v["sound"] == sound]


@pytest.mark.parametrize("build", sorted({b for b, _ in TRANSITIONS.values()},
                                         key=lambda b: b.__name__))
def test_every_transition_is_the_old_pattern_before_and_the_new_one_after(build):
    p = build(OLD, NEW, F(2), F(4))
    assert events(p, 0, 2) == events(OLD, 0, 2)
    assert events(p, 8, 12) == events(NEW, 8, 12)
    assert p.end <= 8 and p.new is NEW  # the track can go on with the new pattern alone


def test_xfade_in_is_an_equal_power_crossfade_of_gain():
    p = xfade_in(OLD, NEW, F(2), F(4))
    # at the start: the old at full gain, the new silent
    assert gain_of(p, 2, F(17, 8), "a") == [1.0] and gain_of(p, 2, F(17, 8), "b") == [0.0]
    # half way (cycle 4): both at cos = sin of a quarter turn's half, the power constant
    a, b = gain_of(p, 4, F(33, 8), "a")[0], gain_of(p, 4, F(33, 8), "b")[0]
    assert a == pytest.approx(math.sqrt(0.5)) and b == pytest.approx(math.sqrt(0.5))
    for t in (F(2), F(5, 2), F(3), F(7, 2), F(5), F(11, 2)):
        a, b = gain_of(p, t, t + F(1, 8), "a")[0], gain_of(p, t, t + F(1, 8), "b")[0]
        assert a * a + b * b == pytest.approx(1.0)
        assert a > b if t < 4 else b > a
    # the end: the new pattern alone, as it is
    assert sounds(p, 6, 7) == ["b"] * 8 and events(p, 6, 7) == events(NEW, 6, 7)


def test_xfade_in_multiplies_a_gain_the_events_have():
    p = xfade_in(mini("a").set(gain=0.5), mini("b").set(gain=0.8), F(0), F(2))
    assert gain_of(p, 1, 2, "a") == [pytest.approx(0.5 * math.sqrt(0.5))]
    assert gain_of(p, 1, 2, "b") == [pytest.approx(0.8 * math.sqrt(0.5))]


def test_xfade_in_on_a_new_track_fades_in_from_silence():
    p = xfade_in(None, NEW, F(0), F(2))
    assert sounds(p, 0, 1) == ["b"] * 8
    assert gain_of(p, 0, F(1, 8), "b") == [0.0] and gain_of(p, 1, F(9, 8), "b")[0] > 0.5


def test_clutch_in_swaps_events_progressively():
    p = clutch_in(mini("a*64"), mini("b*64"), F(0), F(4))
    per_cycle = [sounds(p, c, c + 1) for c in range(4)]
    news = [s.count("b") for s in per_cycle]
    olds = [s.count("a") for s in per_cycle]
    assert news[0] < news[1] < news[3] and olds[0] > olds[2] > olds[3]
    assert news[0] < 20 and olds[3] < 20  # mostly old at the start, mostly new at the end
    assert sounds(p, 4, 5) == ["b"] * 64
    # the same events every time it is asked (randomness is a function of time)
    assert events(p, 0, 4) == events(p, 0, 4)


def test_jump_in_switches_after_its_cycles_and_jump_mod_on_a_multiple():
    p = jump_in(OLD, NEW, F(2), F(3))
    assert sounds(p, 4, 5) == ["a"] * 8 and sounds(p, 5, 6) == ["b"] * 8
    assert sounds(jump_in(OLD, NEW, F(2), F(0)), 2, 3) == ["b"] * 8
    m = jump_mod(OLD, NEW, F(5), F(4))
    assert sounds(m, 7, 8) == ["a"] * 8 and sounds(m, 8, 9) == ["b"] * 8
    assert sounds(jump_mod(OLD, NEW, F(8), F(4)), 8, 9) == ["b"] * 8
    # jumpIn': from a start mid-cycle (quant 0.25), at the next whole cycle after its cycles
    q = jump_in_next(OLD, NEW, F(9, 4), F(1))
    assert sounds(q, F(13, 4), 4) == ["a"] * 6 and sounds(q, 4, 5) == ["b"] * 8


def test_a_switch_never_cuts_an_event_that_began_before_it():
    p = jump_in(mini("long"), mini("b*4"), F(0), F(1, 2))
    assert onsets(p, 0, 1) == [(0, "long"), (F(1, 2), "b"), (F(3, 4), "b")]
    assert [e.whole.end for e in p.query(0, 1) if e.value == "long"] == [1]


def test_anticipate_in_echoes_the_old_pattern_closer_and_closer():
    p = anticipate_in(mini("a"), NEW, F(0), F(4))
    first, last = onsets(p, 0, 1), onsets(p, 3, 4)
    assert sounds(p, 0, 1) == ["a"] * 8
    gaps = [float(first[1][0] - first[0][0]), float(last[1][0] - last[0][0])]
    assert gaps[0] == pytest.approx(1 / 8) and gaps[1] < gaps[0]  # closer each cycle
    echo_gains = [v["gain"] for _, v in first[1:]]
    assert echo_gains == sorted(echo_gains, reverse=True) and echo_gains[-1] < 1
    assert sounds(p, 4, 5) == ["b"] * 8


def test_interpolate_in_moves_numeric_controls_and_morphs_the_sound():
    old = mini("a").set(lpf=1000, gain=1, pan=0)
    new = mini("b").set(lpf=3000, gain=0.5, pan=1)
    p = interpolate_in(old, new, F(0), F(4))
    start, middle = onsets(p, 0, 1)[0][1], onsets(p, 2, 3)[0][1]
    assert start["lpf"] == 1000 and start["gain"] == 1 and start["pan"] == 0
    assert middle["lpf"] == pytest.approx(2000) and middle["pan"] == pytest.approx(0.5)
    # the sound morphs in latent space: the new sound from the old one, morph on the way
    assert (start["sound"], start["morphfrom"], start["morph"]) == ("b", "a", 0)
    assert (middle["sound"], middle["morphfrom"], middle["morph"]) == (
        "b", "a", pytest.approx(0.5))
    assert events(p, 4, 6) == events(new, 4, 6)
    # controls the old pattern lacks, and choices of sound (n), are the new pattern's own
    q = interpolate_in(mini("a"), mini("b").set(lpf=3000, n=3), F(0), F(4))
    assert onsets(q, 2, 3)[0][1]["lpf"] == 3000 and onsets(q, 2, 3)[0][1]["n"] == 3
    assert onsets(q, 2, 3)[0][1]["morphfrom"] == "a"
    # one that already mixes two keeps its mix, and morphs from the old sound as a third
    r = interpolate_in(mini("a"), mini("b").set(mix="c"), F(0), F(4))
    assert {k: onsets(r, 1, 2)[0][1][k] for k in ("sound", "mix", "morphfrom", "morph")} == {
        "sound": "b", "mix": "c", "morphfrom": "a", "morph": 0.25}


def test_interpolate_in_keeps_the_new_rhythm_from_the_start():
    p = interpolate_in(mini("a"), mini("b*4"), F(0), F(2))
    assert len(onsets(p, 0, 1)) == 4


def test_transitions_query_within_the_cap():
    dense = mini("a*4000").fast(20)  # 80,000 events a cycle
    for build in sorted({b for b, _ in TRANSITIONS.values()}, key=lambda b: b.__name__):
        for old, new in ((dense, NEW), (OLD, dense)):
            with pytest.raises(BudgetError):
                build(old, new, F(1), F(4)).query(0, 8)


def test_moved_is_the_same_transition_elsewhere():
    p = xfade_in(OLD, NEW, F(6), F(4))
    assert events(p.moved(F(0)), 0, 4) == events(xfade_in(OLD, NEW, F(0), F(4)), 0, 4)


def test_a_transition_from_a_transition_moves_with_it():
    first = jump_in(OLD, mini("c*8"), F(4), F(2))  # c from cycle 6
    second = jump_in(first, NEW, F(5), F(3))  # b from cycle 8
    assert sounds(second, 5, 6) == ["a"] * 8 and sounds(second, 6, 7) == ["c"] * 8
    moved = second.moved(F(1))  # everything 4 cycles earlier
    assert sounds(moved, 1, 2) == ["a"] * 8 and sounds(moved, 2, 3) == ["c"] * 8
    assert sounds(moved, 4, 5) == ["b"] * 8


def test_once_from_plays_cycle_zero_of_a_pattern_from_a_cycle():
    p = once_from(mini("<a b> c"), F(7, 3))
    assert onsets(p, 0, 10) == [(F(7, 3), "a"), (F(17, 6), "c")]
    assert onsets(p, F(5, 2), 3) == [(F(17, 6), "c")]
