"""The pattern core: time, events, queries, signals, merging and Sampled."""

from __future__ import annotations

import numbers
import subprocess
import sys
from fractions import Fraction as F

import pytest
from pattern_helpers import events, values

from latentcode import Event, Pattern, Span, mini
from latentcode.errors import LanguageError
from latentcode.patterns.core import Sampled, merge_op, pure, silence
from latentcode.patterns.functions import fast
from latentcode.patterns.sequences import slowcat, stack
from latentcode.patterns.signals import rand, saw, sine
from latentcode.patterns.time import time_to_rand, to_time


def test_design_section_7_api():
    p = mini("a b*2 <c d>")
    es = p.query(0, 2)
    assert all(isinstance(e, Event) for e in es)
    e = es[0]
    assert (e.whole.begin, e.whole.end) == (F(0), F(1, 3))
    assert (e.part.begin, e.part.end) == (F(0), F(1, 3))
    # exact rationals (quicktions' Fraction): equal to, hashed and converted like fractions'
    assert isinstance(e.whole.begin, numbers.Rational) and hash(e.whole.end) == hash(F(1, 3))
    assert e.value == "a" and e.has_onset()
    assert [x.value for x in es] == ["a", "b", "b", "c", "a", "b", "b", "d"]


def test_query_accepts_numbers_and_fractions():
    p = mini("a b")
    assert p.query(0, 1) == p.query(F(0), F(1)) == p.query(0.0, 1.0)


def test_fragments_only_the_first_has_an_onset():
    es = mini("a").query(F(1, 2), F(3, 2))
    assert [(e.has_onset(), str(e.part)) for e in es] == [(False, "1/2→1"), (True, "1→3/2")]
    assert es[0].whole == Span(F(0), F(1))


def test_span_cycles_and_sect():
    assert Span(F(0), F(2)).cycles() == [Span(F(0), F(1)), Span(F(1), F(2))]
    assert Span(F(1), F(1)).cycles() == [Span(F(1), F(1))]
    assert Span(F(0), F(1)).sect(Span(F(1), F(2))) is None
    assert Span(F(0), F(1)).sect(Span(F(1, 2), F(2))) == Span(F(1, 2), F(1))


def test_signals_have_no_whole_and_sample_at_query_start():
    es = saw.query(F(1, 4), F(3, 4))
    assert len(es) == 1
    e = es[0]
    assert e.whole is None and not e.has_onset()
    assert e.part == Span(F(1, 4), F(3, 4))
    assert e.value == 0.25  # the start of the query span, not its middle


def test_signal_is_one_sample_per_query_even_across_cycles():
    es = saw.query(F(1, 2), F(3, 2))
    assert [(e.value, e.part) for e in es] == [(0.5, Span(F(1, 2), F(3, 2)))]


def test_sample_one_instant():
    assert saw.sample(2.75) == 0.75
    assert mini("a b").sample(F(1, 2)) == "b"
    assert silence.sample(0) is None


def test_randomness_is_a_pure_function_of_time():
    assert time_to_rand(12.5) == time_to_rand(12.5)
    assert time_to_rand(12.5, 1) != time_to_rand(12.5)
    assert rand.query(0, 10) == rand.query(0, 10)
    samples = [time_to_rand(i / 7) for i in range(7000)]
    assert all(0 <= x < 1 for x in samples)
    assert abs(sum(samples) / len(samples) - 0.5) < 0.02


def test_to_time():
    assert to_time(0.1) == F(1, 10)
    assert to_time(1 / 3) == F(1, 3)
    assert to_time(2) == F(2)


def test_pure_and_slowcat():
    assert [e.value for e in slowcat([pure(1), pure(2)]).query(0, 3)] == [1, 2, 1]
    assert stack([pure(1), pure(2)]).query(0, 1)[1].value == 2


def test_slowcat_children_see_only_their_cycles():
    p = slowcat([mini("<a b>"), pure("x")])
    assert [e.value for e in p.query(0, 4)] == ["a", "x", "b", "x"]


# -- merging -----------------------------------------------------------------------------------


def test_hash_takes_structure_from_the_left():
    p = merge_op("#", mini("a b"), mini("1 2 3"))
    assert [(str(e.whole), str(e.part), e.value) for e in p.query(0, 1)] == [
        ("0→1/2", "0→1/3", {"sound": "a"} | {"sound": 1}),
        ("0→1/2", "1/3→1/2", {"sound": 2}),
        ("1/2→1", "1/2→2/3", {"sound": 2}),
        ("1/2→1", "2/3→1", {"sound": 3}),
    ]


def test_merge_controls_and_methods():
    p = mini("bell*2").merge({"stretch": 8}).set(gain=0.5)
    assert p.query(0, 1)[0].value == {"sound": "bell", "stretch": 8, "gain": 0.5}
    assert p.hash({"gain": 1}).query(0, 1)[0].value["gain"] == 1


def test_arithmetic_merges():
    base = mini("a").merge({"gain": 2})
    assert base.combine("|+", {"gain": 1}).query(0, 1)[0].value["gain"] == 3
    assert base.combine("|*", {"gain": 3}).query(0, 1)[0].value["gain"] == 6
    assert base.combine("|<", {"gain": 9, "pan": 1}).query(0, 1)[0].value == {
        "sound": "a", "gain": 2, "pan": 1}
    assert base.combine("|-", {"gain": 1}).query(0, 1)[0].value["gain"] == 1
    assert base.combine("|/", {"gain": 4}).query(0, 1)[0].value["gain"] == 0.5


def test_structure_from_the_right_and_both():
    right = merge_op("+|", mini("a").merge({"n": 1}), mini("[x x]").merge({"n": 1}))
    assert len(right.query(0, 1)) == 2 and all(e.has_onset() for e in right.query(0, 1))
    both = merge_op("|+|", mini("a b"), mini("x y z").merge({"n": 1}))
    assert len(both.query(0, 1)) == 4


def test_string_addition_concatenates():
    p = merge_op("|+", mini("bell"), mini("<:1 :2>".replace(":", "x")))
    assert p.query(0, 1)[0].value == {"sound": "bellx1"}


def test_pattern_arithmetic():
    assert values(mini("1 2") + 10) == [11, 12]
    assert values(mini("1 2") + mini("10 20 30")) == [11, 21, 22, 32]
    assert values(10 - mini("1")) == [9]
    assert values(mini("1 2") * 2) == [2, 4]


# -- the core's helpers and hooks --------------------------------------------------------------


def test_query_and_event_span_helpers_make_time_transformations():
    p = mini("a b c d")
    later = p.with_query_time(lambda t: t - F(1, 4)).with_event_time(lambda t: t + F(1, 4))
    assert events(later) == events(mini("d a b c"))
    twice = (p.with_query_span(lambda s: Span(s.begin * 2, s.end * 2))
             .with_event_span(lambda s: Span(s.begin / 2, s.end / 2)))
    assert events(twice) == events(fast(2, p))
    assert events(mini("a").with_event_time(lambda t: t * 2), 0, 2) == [
        ((0, 2), (0, 2), "'a'"), ((2, 4), (2, 4), "'a'")]


def test_strings_need_the_parser_the_language_hands_to_the_core(monkeypatch):
    from latentcode.patterns import core

    assert events(fast(2, "a b")) == events(mini("a b a b"))  # the language is loaded here
    monkeypatch.setattr(core, "_string_parser", None)
    with pytest.raises(LanguageError, match="import latentcode.language"):
        core.reify("a b")
    assert core.reify(1).query(0, 1)[0].value == 1


def test_the_public_api_reads_strings_and_import_stays_light():
    code = ("import sys, latentcode\n"
            "heavy = {'lark', 'torch', 'pyo'} & set(sys.modules)\n"
            "assert not heavy, heavy\n"
            "from latentcode import Pattern\n"
            "assert Pattern.__name__ == 'Pattern'\n"
            "from latentcode.patterns.functions import fast\n"
            "print([e.value for e in fast(2, 'a b').query(0, 1)])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "['a', 'b', 'a', 'b']"


# -- Sampled -----------------------------------------------------------------------------------


def test_continuous_control_values_are_sampled():
    from latentcode.patterns.controls import alpha

    p = mini("bell*2").merge(alpha(saw))
    es = p.query(0, 1)
    a = es[1].value["alpha"]
    assert isinstance(a, Sampled) and isinstance(a, float)
    assert a == 0.5 and repr(a) == "0.5" and str(a) == "0.5"
    assert a.at(F(3, 4)) == 0.75
    assert a.at(1.25) == 0.25


def test_sampled_follows_transformed_signals():
    from latentcode.patterns.controls import alpha

    p = mini("x").merge(alpha(fast(2, saw) * 2))
    a = p.query(0, 1)[0].value["alpha"]
    assert a == 0.0 and a.at(0.25) == 1.0


def test_sampled_through_arithmetic_merges():
    from latentcode.patterns.controls import alpha

    p = mini("x").merge({"alpha": 1}).combine("|+", alpha(saw))
    a = p.query(0, 1)[0].value["alpha"]
    assert a == 1.0 and a.at(0.5) == 1.5


def test_a_continuous_pattern_reads_an_instant_as_its_query_does():
    """A moving control is read at every decoded frame, through the value a continuous pattern
    keeps for an instant (no query); it must be the query's value to the bit, everywhere."""
    from latentcode.language.evaluation import evaluate
    from latentcode.language.statements import parse_expression
    from latentcode.patterns import budget

    exprs = ["sine", "slow 8 $ range 0.1 0.6 sine", "fast 3 $ range -1 1 $ saw",
             "0.25 ~> (slow 3 $ perlin)", "(1/3) <~ (fast 2.5 $ tri)", "pan (slow 12 $ cosine)",
             "alpha (slow 4 $ range -0.5 1.4 sine)", "slow 7 $ rand"]
    times = [F(k, 97) * F(13, 7) for k in range(-40, 400)] + [F(3, 1), F(-5, 4), 0.3]
    for text in exprs:
        p = evaluate(parse_expression(text))
        assert p._at is not None, f"{text}: read by a query at every frame"
        for t in times:
            q = F(t) if not isinstance(t, F) else t
            by_query = budget.run(p._q, Span(to_time(q), to_time(q)))[0].value
            assert p.sample(t) == by_query, (text, t)
    # where the instant is not known, the query answers, as before
    for text in ['"<0 1>" + sine', "rev $ slow 2 $ saw", "segment 4 $ sine", "sine * 0.5"]:
        p = evaluate(parse_expression(text))
        assert p._at is None
    assert mini("a b").sample(F(1, 2)) == "b"


def test_discrete_values_are_plain():
    from latentcode.patterns.controls import alpha

    v = mini("x").merge(alpha("0.5")).query(0, 1)[0].value["alpha"]
    assert type(v) is float


def test_sampled_of_sine_at_onset():
    from latentcode.patterns.controls import pan

    es = mini("x*4").merge(pan(sine)).query(0, 1)
    assert [round(e.value["pan"], 6) for e in es] == [0.5, 1.0, 0.5, 0.0]


# -- methods from the registry ------------------------------------------------------------------


def test_library_functions_are_methods():
    p = mini("a b")
    assert events(p.fast(2)) == events(mini("a b a b"))
    assert events(p.every(2, lambda x: x.rev())) == events(mini("<[b a] [a b]>"))
    assert events(p.jux(lambda x: x.rev())) == events(
        stack([p.merge({"pan": 0}), mini("b a").merge({"pan": 1})]))
    with pytest.raises(AttributeError):
        p.no_such_function  # noqa: B018


def test_pattern_repr():
    assert "a" in repr(mini("a"))
    assert isinstance(mini("a"), Pattern)


def test_docstring_examples_of_the_pattern_modules():
    import doctest

    from latentcode.language import evaluation, grammars, mininotation, statements
    from latentcode.patterns import (
        arguments,
        controls,
        core,
        functions,
        operators,
        primitives,
        registry,
        sampled,
        sequences,
        signals,
        time,
        timing,
    )

    for module in (time, sampled, operators, core, timing, sequences, arguments, primitives,
                   registry, functions, signals, controls, mininotation, statements, evaluation,
                   grammars):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
