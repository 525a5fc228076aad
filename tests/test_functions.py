"""The pattern functions: every docstring example holds, plus one test per function."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from pattern_helpers import events, lc, onsets, values

from latentcode import mini
from latentcode.errors import LanguageError
from latentcode.patterns import functions as library
from latentcode.patterns.core import Pattern
from latentcode.patterns.registry import FUNCTIONS, Curried

EXAMPLES = [(name, left, right) for name, spec in sorted(FUNCTIONS.items())
            for left, right in spec.examples]


def test_every_function_has_a_documented_example():
    missing = [name for name, spec in FUNCTIONS.items() if not spec.examples]
    assert missing == []


@pytest.mark.parametrize(("name", "left", "right"), EXAMPLES,
                         ids=[f"{n}:{left}" for n, left, _ in EXAMPLES])
def test_docstring_example(name, left, right):
    assert events(lc(left), 0, 8) == events(lc(right), 0, 8)


def ev(text: str, begin=0, end=1):
    return onsets(lc(text), begin, end)


# -- one test per function --------------------------------------------------------------------


def test_fast_patterned_and_negative():
    assert ev('fast "<1 2>" $ "a b"', 1, 2) == [(1, "a"), (F(5, 4), "b"), (F(3, 2), "a"),
                                                (F(7, 4), "b")]
    assert ev('fast -1 $ "a b"') == [(0, "b"), (F(1, 2), "a")]
    assert lc('fast 0 "a"').query(0, 3) == []


def test_slow_spreads_over_cycles():
    assert ev('slow 4 "a b"', 0, 4) == [(0, "a"), (2, "b")]
    assert lc('slow 0 "a"').query(0, 2) == []


def test_hurry_keeps_other_controls():
    # Tidal's hurry changes speed (pitch), never stretch (latentcode's time in latent space)
    assert values(lc('hurry 2 $ "a" # stretch 4'))[0] == {"sound": "a", "stretch": 4,
                                                           "speed": 2.0}


def test_early_and_late_wrap_around_cycles():
    assert ev('early 1.5 "<a b>"', 0, 1) == [(F(1, 2), "a")]
    assert ev('late "<0 0.5>" $ "a"', 1, 2) == [(F(3, 2), "a")]


def test_rev_keeps_fragments():
    es = sorted(lc('rev "a b@3"').query(0, 1), key=lambda e: e.whole.begin)
    assert [(str(e.whole), e.value) for e in es] == [("0→3/4", "b"), ("3/4→1", "a")]
    assert ev('rev "<a b> c"', 1, 2) == [(1, "c"), (F(3, 2), "b")]


def test_every_patterned_period():
    got = [len(ev('every "<2 3>" (fast 2) "a"', c, c + 1)) for c in range(4)]
    assert got == [2, 1, 2, 2]  # cycle 2: 2 % 2; cycle 3: 3 % 3


def test_whenmod():
    assert [len(ev('whenmod 4 2 (fast 2) "a"', c, c + 1)) for c in range(8)] == [
        1, 1, 2, 2, 1, 1, 2, 2]


def test_sometimes_family_splits_events_between_both_paths():
    for name, amount in [("sometimes", 0.5), ("often", 0.75), ("rarely", 0.25),
                         ("almostNever", 0.1), ("almostAlways", 0.9)]:
        es = lc(f'{name} (# gain 0) $ "a*8"').query(0, 200)
        assert len(es) == 1600
        changed = sum(1 for e in es if isinstance(e.value, dict))
        assert abs(changed / 1600 - amount) < 0.05, name


def test_sometimes_by_patterned_amount():
    es = lc('sometimesBy "<0 1>" (# gain 0) $ "a*4"').query(0, 2)
    assert [isinstance(e.value, dict) for e in es] == [False] * 4 + [True] * 4


def test_some_cycles_changes_whole_cycles():
    per_cycle = [{isinstance(e.value, dict) for e in lc('someCycles (# gain 0) "a*4"').query(
        c, c + 1)} for c in range(100)]
    assert all(len(s) == 1 for s in per_cycle)
    assert 35 < sum(1 for s in per_cycle if True in s) < 65


def test_degrade_by_rate():
    kept = len(lc('degradeBy 0.3 "a*4"').query(0, 250))
    assert abs(kept / 1000 - 0.7) < 0.05
    assert lc('degradeBy 0.3 "a*4"').query(0, 30) == lc('degradeBy 0.3 "a*4"').query(0, 30)


def test_iter_backwards_compatible_with_rotation():
    assert [values(lc('iter 4 "a b c d"'), c, c + 1)[0] for c in range(5)] == list("abcda")


def test_palindrome_alternates():
    assert values(lc('palindrome "a b"'), 1, 2) == ["b", "a"]


def test_chunk_cycles_through_parts():
    got = [[isinstance(v, dict) for v in values(lc('chunk 4 (# gain 0) "a*4"'), c, c + 1)]
           for c in range(4)]
    assert got == [[i == c for i in range(4)] for c in range(4)]


def test_ply_fractional_and_patterned():
    assert len(ev('ply "<2 3>" "a b"', 1, 2)) == 6
    assert ev('ply 2 "a ~"') == [(0, "a"), (F(1, 4), "a")]


def test_linger_patterned():
    assert values(lc('linger "<0.25 0.5>" "a b c d"'), 1, 2) == list("abab")
    assert values(lc('linger 0.5 "<[a b] [c d]>"'), 1, 2) == list("ac")  # cycles 2 and 3 begin


def test_off_and_superimpose():
    assert len(lc('off 0.125 (# gain 0) "a*2"').query(0, 1)) == 5  # one fragment wraps
    assert len(ev('off 0.125 (# gain 0) "a*2"')) == 4
    assert len(ev('superimpose (fast 2) "a b"')) == 6


def test_layer_takes_a_list_of_functions():
    assert len(ev('layer [id, rev] "a b"')) == 4
    assert len(ev('layer [rev, fast 2, (# gain 0)] "a b"')) == 8


def test_jux_pans_left_and_right():
    pans = sorted(v["pan"] for v in values(lc('jux rev "a b"')))
    assert pans == [0, 0, 1, 1]


def test_segment_samples_at_each_onset():
    assert values(lc("segment 4 $ range 0 4 saw")) == [0, 1, 2, 3]
    assert all(e.has_onset() for e in lc("segment 3 rand").query(0, 1))


def test_range_on_patterns():
    assert values(lc('range 10 20 "0 0.5 1"')) == [10, 15, 20]


def test_struct_and_mask():
    assert ev('struct "t f t" "a"') == [(0, "a"), (F(2, 3), "a")]
    assert ev('struct "1 0 1" "a"') == [(0, "a"), (F(2, 3), "a")]
    assert ev('mask "<1 [0 1]>" "a*2"', 1, 2) == [(F(3, 2), "a")]


def test_euclid_functions_with_patterns():
    assert len(ev('euclid "<3 5>" 8 "a"', 1, 2)) == 5
    assert len(ev('euclidOff 3 8 "<0 2>" "a"', 1, 2)) == 3
    assert ev("euclid -3 8 \"a\"") == ev('euclidInv 3 8 "a"')


def test_run_and_irand():
    assert values(lc("run 4")) == [0, 1, 2, 3]
    got = [v for c in range(50) for v in values(lc("segment 4 $ irand 4"), c, c + 1)]
    assert set(got) == {0, 1, 2, 3} and all(isinstance(v, int) for v in got)


def test_choose_is_uniform_and_repeatable():
    got = [v for c in range(300) for v in values(lc('segment 4 $ choose ["a", "b", "c"]'), c,
                                                  c + 1)]
    for x in "abc":
        assert abs(got.count(x) / 1200 - 1 / 3) < 0.05


def test_cat_fastcat_stack_timecat_overlay():
    assert values(lc('cat ["a", "b"]'), 3, 4) == ["b"]
    assert values(lc('fastcat ["a", "b"]')) == ["a", "b"]
    assert len(values(lc('stack ["a", "b"]'))) == 2
    assert ev('timeCat [(1, "a"), (1, "b c")]') == [(0, "a"), (F(1, 2), "b"), (F(3, 4), "c")]
    assert len(values(lc('overlay "a" "b"'))) == 2


def test_signals_ranges():
    for name in ("sine", "cosine", "saw", "isaw", "tri", "square", "rand", "perlin"):
        got = values(lc(f"segment 64 {name}"), 0, 4)
        assert all(0 <= v <= 1 for v in got), name
    for name in ("sine2", "cosine2", "saw2", "isaw2", "tri2", "square2"):
        got = values(lc(f"segment 64 {name}"), 0, 4)
        assert min(got) < -0.9 and max(got) > 0.4 and all(-1 <= v <= 1 for v in got), name


def test_perlin_is_smooth():
    got = values(lc("segment 100 perlin"), 0, 1)
    assert max(abs(a - b) for a, b in zip(got, got[1:], strict=False)) < 0.05


def test_within():
    assert [isinstance(v, dict) for v in values(lc('within (0.5, 1) (# gain 0) "a*4"'))] == [
        False, False, True, True]


def test_controls_produce_dicts_and_mix_takes_names():
    assert values(lc('"bell" # mix "pad:2" # alpha 0.3 # dim 4 # bias 1'))[0] == {
        "sound": "bell", "mix": "pad:2", "alpha": 0.3, "dim": 4, "bias": 1}
    assert values(lc('s "bell"')) == [{"sound": "bell"}]
    with pytest.raises(LanguageError):
        lc('"a" # gain "loud"').query(0, 1)


def test_all_controls_are_registered():
    from latentcode.controls import CONTROLS

    for name in ("mix", "alpha", "stretch", "begin", "end", "noise", "bias", "zscale", "dim",
                 "jitter", "legato", "gain", "pan", "lpf", "hpf", "room", "delay", "sound", "s",
                 "n", "speed"):
        assert name in FUNCTIONS
        assert name in CONTROLS or name == "s"


def test_python_api_currying_and_errors():
    assert isinstance(library.fast(2), Curried)
    assert events(library.every(2, library.fast(2), "a")) == events(mini("<[a a] a>"))
    with pytest.raises(LanguageError):
        library.fast(2, "a", "b")
    with pytest.raises(LanguageError, match="fast: argument 'factor'"):
        library.fast(library.rev, "a")
    with pytest.raises(LanguageError, match="needs a number"):
        library.fast("bd", "a").query(0, 1)


def test_a_registered_function_becomes_a_method_that_never_replaces_a_core_one(monkeypatch):
    from latentcode.patterns import registry

    monkeypatch.setattr(registry, "FUNCTIONS", dict(registry.FUNCTIONS))

    def twice(pat: Pattern) -> Pattern:
        """Play a pattern twice as fast.

        lc> twice "a b"  ==  "a b a b"
        """
        return library.fast(2, pat)

    def onsets(pat: Pattern) -> Pattern:
        """A function named like a method of the core.

        lc> onsets "a"  ==  "a"
        """
        return library.rev(pat)

    registry.register(twice)
    as_word = registry.register(onsets)
    p = mini("a b")
    assert events(p.twice()) == events(mini("a b a b"))
    assert events(as_word(p)) == events(mini("b a"))  # a function of the library ...
    assert [e.value for e in p.onsets(0, 1)] == ["a", "b"]  # ... but the core's method wins
    monkeypatch.undo()  # out of the registry, out of Pattern
    with pytest.raises(AttributeError):
        p.twice  # noqa: B018


def test_every_function_ending_in_a_pattern_is_a_method():
    import inspect

    for name, spec in FUNCTIONS.items():
        if spec.params and spec.params[-1].kind == "pattern":
            # installed by the registry, not a core method of the same name
            assert repr(inspect.getattr_static(Pattern, name)) == f"<library method {name}>"
    assert not hasattr(mini("a"), "stack")  # its last parameter is a list
    # so Pattern.set finds every control (and alias) among the methods
    assert mini("a").set(s="b", gain=1).query(0, 1)[0].value == {"sound": "b", "gain": 1}
    with pytest.raises(LanguageError, match="unknown control 'nosuch'"):
        mini("a").set(nosuch=1)
    for not_a_control in ("fast", "query"):  # a library function, a core method
        with pytest.raises(LanguageError, match=f"unknown control '{not_a_control}'"):
            mini("a").set(**{not_a_control: 2})


def test_registry_signatures():
    assert FUNCTIONS["fast"].signature == "fast factor pat"
    assert [p.kind for p in FUNCTIONS["every"].params] == ["int", "function", "pattern"]
    assert FUNCTIONS["sine"].params == ()
    assert isinstance(FUNCTIONS["sine"].function(), Pattern)


def test_zoom_and_compress():
    assert values(lc('zoom (0.5, 1) "<[a b] [c d]>"'), 1, 2) == ["d"]
    assert lc('zoom (0.5, 0.5) "a"').query(0, 1) == []
    assert ev('compress (0.5, 1) "a b"') == [(F(1, 2), "a"), (F(3, 4), "b")]
    assert lc('compress (0.5, 2) "a"').query(0, 1) == []


def test_inside_and_outside():
    assert values(lc('inside 2 (rot 1) "a b c d"')) == list("badc")
    assert values(lc('outside 2 rev "<a b>"'), 0, 2) == ["b", "a"]


def test_brak_only_in_odd_cycles():
    assert ev('brak "a"', 0, 1) == [(0, "a")]
    assert ev('brak "a"', 1, 2) == [(F(5, 4), "a")]


def test_press_and_press_by():
    assert ev('press "a ~ b"') == [(F(1, 6), "a"), (F(5, 6), "b")]
    assert ev('pressBy "<0 0.5>" "a"', 1, 2) == [(F(3, 2), "a")]


def test_swing_delays_offbeats():
    assert [t for t, _ in ev('swingBy (1/3) 4 "a*8"')][:2] == [0, F(1, 8) + F(1, 12)]
    assert events(lc('swing 4 "a*8"')) == events(lc('swingBy (1/3) 4 "a*8"'))


def test_rot_keeps_rhythm_and_rotates_values():
    got = onsets(lc('rot 2 "a [b c] ~ d"'))
    assert [t for t, _ in got] == [0, F(1, 4), F(3, 8), F(3, 4)]
    assert [v for _, v in got] == ["c", "d", "a", "b"]
    assert ev('rot 1 "a b"', F(1, 2), 1) == [(F(1, 2), "a")]


def test_shuffle_plays_each_part_once():
    orders = set()
    for c in range(40):
        got = values(lc('shuffle 4 "a b c d"'), c, c + 1)
        assert sorted(got) == list("abcd")
        orders.add(tuple(got))
    assert len(orders) > 5


def test_scramble_may_repeat_parts():
    got = [tuple(values(lc('scramble 4 "a b c d"'), c, c + 1)) for c in range(40)]
    assert all(len(g) == 4 for g in got)
    assert any(len(set(g)) < 4 for g in got)


def test_randcat_picks_whole_patterns():
    got = [tuple(values(lc('randcat ["a", "b c"]'), c, c + 1)) for c in range(100)]
    assert set(got) == {("a",), ("b", "c")}
    assert 30 < got.count(("a",)) < 70


def test_inv():
    assert values(lc('inv "1 0"')) == [False, True]
