"""Tidal's common words (issue 15): each behaves as in Tidal, beyond its docstring equations."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction as F

import pytest
from pattern_helpers import events, lc, onsets, values

from latentcode import mini
from latentcode.errors import LanguageError
from latentcode.patterns.budget import BudgetError
from latentcode.patterns.more import ARP_MODES
from latentcode.patterns.registry import FUNCTIONS


def test_linger_repeats_the_starts_of_the_next_cycles_as_tidal_does():
    # Tidal: zoom to the first quarter, then fast 4: cycle 0 holds the starts of cycles 0..3
    for cycle in range(3):
        assert values(lc('linger 0.25 $ "<a b> c d e"'), cycle, cycle + 1) == list("abab")
    assert values(lc('linger -0.25 $ "a b c <d e>"'), 0, 1) == list("dede")
    assert values(lc('linger 0.5 $ "<a b c> d"'), 0, 3) == list("abcabc")
    assert lc('linger 0 $ "a"').query(0, 2) == []


def test_linger_of_a_cut_event_keeps_the_fragment():
    # zoomed: a 0-2/3, b 2/3-4/3 (cut at 1); then 4/3 times as fast
    es = sorted(lc('linger 0.75 $ "a b"').query(0, 1), key=lambda e: e.part.begin)
    assert [(e.value, e.whole.begin, e.whole.end, e.part.end) for e in es] == [
        ("a", 0, F(1, 2), F(1, 2)), ("b", F(1, 2), 1, F(3, 4)), ("a", F(3, 4), F(5, 4), 1)]


def test_trunc_cuts_the_event_that_runs_past_the_end():
    es = sorted(lc('trunc 0.75 $ "a b"').query(0, 1), key=lambda e: e.part.begin)
    assert [(e.value, e.whole.begin, e.whole.end, e.part.end) for e in es] == [
        ("a", 0, F(1, 2), F(1, 2)), ("b", F(1, 2), 1, F(3, 4))]
    assert lc('trunc 0 "a"').query(0, 2) == []
    assert mini("a b").trunc(0.5).query(0, 1) == mini("a ~").query(0, 1)  # a method too


def test_fast_gap_below_one_plays_the_start_of_the_cycle_slowed():
    assert onsets(lc('fastGap 0.5 $ "a b"'), 0, 2) == [(0, "a"), (1, "a")]
    assert lc('fastGap 0 "a"').query(0, 1) == []


@pytest.mark.parametrize("text", [
    'fastGap 3 $ "a b c"', 'trunc 0.6 $ "a b c"', 'arp "<up diverge>" "[a,b,c] [d,e]"',
    'rolled "[a,b,c,d] [e,f]"', 'plyWith 3 (fast 2) "a b"', 'linger 0.3 $ "a b c"'])
def test_split_queries_give_the_same_events(text):
    pat = lc(text)
    cuts = [0, F(1, 7), F(1, 3), F(1, 2), F(5, 6), 1, F(4, 3), 2]
    pieces = [e for b, e in zip(cuts, cuts[1:], strict=False) for e in pat.query(b, e)]
    whole = pat.query(0, 2)
    # the same notes, each onset once: fragments of one event may differ in how they are cut
    assert sorted((e.whole.begin, e.value) for e in pieces if e.has_onset()) == sorted(
        (e.whole.begin, e.value) for e in whole if e.has_onset())


def test_iter_back_patterned_and_negative():
    assert values(lc("iter' \"<4 2>\" $ \"a b c d\""), 1, 2) == list("cdab")
    assert values(lc("iter' -4 $ \"a b c d\""), 1, 2) == list("bcda")  # iter 4, as in Tidal


def test_every_offset_first_of_last_of():
    def doubled(text: str) -> list[int]:
        return [c for c in range(6) if len(values(lc(text), c, c + 1)) == 2]

    assert doubled("every' 3 2 (fast 2) $ \"a\"") == [2, 5]
    assert doubled('firstOf 2 (fast 2) $ "a"') == [0, 2, 4]
    assert doubled('lastOf 2 (fast 2) $ "a"') == [1, 3, 5]
    assert doubled("every' 0 0 (fast 2) $ \"a\"") == []


def test_fix_matches_all_the_given_controls_and_leaves_the_rest():
    text = 'fix (# gain 0) (sound "a" # pan 1) $ "a a b" # pan "1 0 1"'
    got = [(v["sound"], v.get("gain")) for v in values(lc(text))]
    assert got == [("a", 0), ("a", None), ("b", None)]
    got = [(v["sound"], v.get("gain")) for v in values(lc(text.replace("fix", "unfix")))]
    assert got == [("a", None), ("a", 0), ("b", 0)]


def test_fix_with_a_pattern_of_controls():
    assert [v if isinstance(v, str) else v["gain"]
            for v in values(lc('fix (# gain 0) "<a b>" $ "a b"'), 1, 2)] == ["a", 0]


def _counts(text: str, cycles: int = 400) -> Counter:
    return Counter(v for c in range(cycles) for v in values(lc(text), c, c + 1))


def test_wchoose_follows_the_weights():
    counts = _counts('segment 1 $ wchoose [("a", 3), ("b", 1), ("c", 0)]')
    assert 240 <= counts["a"] <= 360 and counts["c"] == 0, counts


def test_wrandcat_follows_the_weights_a_cycle_at_a_time():
    counts = _counts('wrandcat [("a", 1), ("b b", 3)]')
    assert 60 <= counts["a"] <= 140, counts
    assert counts["b"] == 2 * (400 - counts["a"])


@pytest.mark.parametrize(("text", "wanted"), [
    ('wchoose ["a", "b"]', "(value, weight) pairs"),
    ('wrandcat [("a", -1)]', "a weight must be 0 or more"),
    ("rangex 0 100 saw", "above 0"),
    ('arp "sideways" "[a,b]"', "unknown mode 'sideways'"),
])
def test_bad_arguments_say_what_to_do(text, wanted):
    with pytest.raises(LanguageError, match=re.escape(wanted)):
        lc(text)


def test_rangex_is_exponential():
    got = values(lc("segment 4 $ rangex 20 320 saw"))
    assert [round(v, 6) for v in got] == [20, 40, 80, 160]


def test_sew_cuts_long_events_and_stitch_takes_the_rhythm_of_the_switch():
    es = sorted(lc('sew "t f" "a" "b"').query(0, 1), key=lambda e: e.part.begin)
    assert [(e.value, e.part.begin, e.part.end, e.has_onset()) for e in es] == [
        ("a", 0, F(1, 2), True), ("b", F(1, 2), 1, False)]
    assert onsets(lc('stitch "t*2 f" "<a c>" "b"'), 1, 2) == [
        (1, "c"), (F(5, 4), "c"), (F(3, 2), "b")]


def test_squeeze_wraps_the_index_and_fit_moves_along_the_list():
    assert values(lc('squeeze "0 3" ["a b", "c"]')) == list("abc")
    assert values(lc('fit 2 ["a", "b", "c", "d"] "0 1"'), 1, 2) == list("cd")
    assert values(lc('fit 0 ["a", "b"] "0 1 2"'), 5, 6) == list("aba")


ORDERS = {  # Tidal's arpeggio of [0,1,2,3] in each mode
    "up": [0, 1, 2, 3], "down": [3, 2, 1, 0], "updown": [0, 1, 2, 3, 2, 1],
    "downup": [3, 2, 1, 0, 1, 2], "up&down": [0, 1, 2, 3, 3, 2, 1, 0],
    "down&up": [3, 2, 1, 0, 0, 1, 2, 3], "converge": [0, 3, 1, 2], "diverge": [2, 1, 3, 0],
    "disconverge": [0, 3, 1, 2, 1, 3, 0], "pinkyup": [0, 3, 1, 3, 2, 3],
    "pinkyupdown": [0, 3, 1, 3, 2, 3, 2, 3, 1, 3], "thumbup": [0, 1, 0, 2, 0, 3],
    "thumbupdown": [0, 1, 0, 2, 0, 3, 0, 2, 0, 1],
}


@pytest.mark.parametrize("mode", sorted(ARP_MODES))
def test_arp_modes(mode):
    notes = ARP_MODES[mode]([0, 1, 2, 3])
    assert notes == ORDERS[mode]
    word = mode.replace("&", "_")
    got = onsets(lc(f'arp "{word}" "[0,1,2,3]"'))
    assert got == [(F(i, len(notes)), n) for i, n in enumerate(notes)]


def test_arp_keeps_a_single_note_and_a_chord_across_cycles():
    assert values(lc('arp "updown" "a [b,c]"')) == ["a", "b", "c"]
    assert onsets(lc('arp "up" $ slow 2 "[a,b]"'), 0, 2) == [(0, "a"), (1, "b")]


def test_rolled_starts_each_note_later_and_all_end_with_the_chord():
    es = sorted((e for e in lc('rolled "[a,b,c,d] e"').query(0, 1) if e.has_onset()),
                key=lambda e: e.whole.begin)
    assert [(e.value, e.whole.begin, e.whole.end) for e in es] == [
        ("a", 0, F(1, 2)), ("b", F(1, 32), F(1, 2)), ("c", F(2, 32), F(1, 2)),
        ("d", F(3, 32), F(1, 2)), ("e", F(1, 2), 1)]
    assert events(lc('rolledBy 0 "[a,b]"')) == events(mini("[a,b]"))


def test_ply_with_applies_the_function_again_to_each_repeat():
    got = onsets(lc('plyWith 3 (|+ gain 1) $ "a" # gain 0'))
    assert [(t, v["gain"]) for t, v in got] == [(0, 0), (F(1, 3), 1), (F(2, 3), 2)]
    assert values(lc('plyWith 1 (fast 2) "a b"')) == ["a", "b"]


def test_jux_by_pans_around_the_centre():
    got = sorted((v["pan"], v["sound"]) for v in values(lc('juxBy 0.2 rev $ "a b"')))
    assert [(round(p, 9), s) for p, s in got] == [(0.4, "a"), (0.4, "b"), (0.6, "a"), (0.6, "b")]


def test_primed_names_are_words_of_the_language():
    assert {"every'", "iter'", "while"} <= set(FUNCTIONS)
    assert values(lc("every' 2 1 rev $ \"a b\""), 1, 2) == ["b", "a"]


def test_string_concatenation_and_power_operators():
    assert values(lc('"a b" |++ "x"')) == [{"sound": "ax"}, {"sound": "bx"}]
    assert values(lc('"x" ++| "a b"')) == [{"sound": "xa"}, {"sound": "xb"}]
    assert [v["gain"] for v in values(lc('"a*2" # gain 2 |** gain "3 0.5"'))] == [
        8, pytest.approx(2 ** 0.5)]
    assert [v["gain"] for v in values(lc('"a" # gain 0 |** gain -1'))] == [0]  # as x / 0
    with pytest.raises(LanguageError, match=r"\+\+ joins words"):
        lc('"a" # gain 1 |++ gain 2').query(0, 1)
    with pytest.raises(LanguageError, match="only \\+ and \\+\\+ join words"):
        lc('"a" |** "b"').query(0, 1)


@pytest.mark.parametrize("text", [
    'plyWith 1e9 (fast 2) $ "a"', "iter' 1e9 $ \"a\"", 'arp "up" $ fast 1e9 "[a,b]"',
    'rolled $ "[a,b]*1e9"', 'trunc 0.5 $ "a*1e9"', 'fix (fast 1e9) "a" $ "a"',
    'squeeze "0*1e9" ["a"]', 'sew "t*1e9" "a" "b"'])
def test_explosive_arguments_are_refused_at_once(text):
    with pytest.raises(BudgetError, match="cap of"):
        lc(text).query(0, 1)
