"""Property tests: parsers fail only with LanguageError; splitting a query changes nothing."""

from __future__ import annotations

from fractions import Fraction as F

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentcode import mini
from latentcode.errors import LanguageError
from latentcode.language import evaluate, is_complete, parse, parse_expression

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

MINI_ALPHABET = "ab~-_.,|!@?*/%:()[]<>{}0123456789eh \n\t"
LANG_ALPHABET = MINI_ALPHABET + '"$#+<~>=\'fastrevylt'


@SETTINGS
@given(st.text(alphabet=MINI_ALPHABET, max_size=30))
def test_random_mini_strings_raise_only_language_errors(text):
    try:
        p = mini(text)
    except LanguageError:
        return
    p.query(0, 3)


@SETTINGS
@given(st.text(max_size=12))
def test_arbitrary_unicode_mini_strings(text):
    try:
        mini(text).query(0, 1)
    except LanguageError:
        pass


def _run_block(text: str) -> None:
    for s in parse(text):
        expr = getattr(s, "expr", None)
        if expr is not None:
            evaluate(expr, {}, value=True)


@SETTINGS
@given(st.text(alphabet=LANG_ALPHABET, max_size=40))
def test_random_statements_raise_only_language_errors(text):
    assert is_complete(text) in (True, False)
    try:
        _run_block(text)
    except LanguageError:
        pass


WORDS = st.sampled_from(["a", "b", "c", "bd:1", "~", "1", "-2", "0.5", "3h"])
MODS = st.sampled_from(["", "", "*2", "/2", "!", "!2", "@2", "?", "?0.3", "(3,8)", "(3,8,2)",
                        "*<2 3>", " _", "/1.5", "(<3 5>,8)"])


def _step(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(inner, MODS).map("".join)


def _seq(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(_step(inner), min_size=1, max_size=4).map(" ".join)


def _groups(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    seq = _seq(inner)
    return st.one_of(
        seq.map(lambda s: f"[{s}]"),
        seq.map(lambda s: f"<{s}>"),
        st.tuples(seq, seq).map(lambda t: f"[{t[0]}, {t[1]}]"),
        st.tuples(seq, seq).map(lambda t: f"{{{t[0]}, {t[1]}}}"),
        seq.map(lambda s: f"{{{s}}}%3"),
        st.tuples(seq, seq, seq).map(lambda t: f"[{t[0]} | {t[1]} | {t[2]}]"),
        st.tuples(seq, seq).map(lambda t: f"[{t[0]} . {t[1]}]"),
    )


MINI = _seq(st.recursive(WORDS, _groups, max_leaves=8))

FUNCTIONS = st.sampled_from([
    "", "fast 2 $ ", "slow 1.5 $ ", "rev $ ", "every 2 (fast 2) $ ", "iter 4 $ ", "ply 2 $ ",
    "linger 0.25 $ ", "off 0.125 (# gain 1) $ ", "chunk 4 (hurry 2) $ ", "jux rev $ ",
    "degradeBy 0.3 $ ", "sometimes (fast 2) $ ", "palindrome $ ", "euclid 3 8 $ ",
    'struct "t ~ t t" $ ', 'mask "1 0 1 1" $ ', "0.25 <~ ", '"<0 0.25>" ~> ',
    "someCycles rev $ ", "whenmod 4 2 (# gain 2) $ ", "superimpose (fast 2) $ ",
    "segment 4 $ ", 'fast "<1 2>" $ ', 'within (0, 0.5) (fast 2) $ ', "zoom (0.25, 0.75) $ ",
    "rot 1 $ ", "shuffle 4 $ ", "scramble 3 $ ", "press $ ", "brak $ ", "swingBy (1/3) 4 $ ",
    "inside 2 rev $ ", 'randcat ["a b", "c"] # ',
])
CONTROLS = st.sampled_from(["", " # gain 0.5", " # alpha sine", ' # pan "0 1"', " |+ n 1"])


def _starting(events, a, b):
    return sorted((e.whole.begin, e.whole.end, repr(e.value)) for e in events
                  if e.has_onset() and a <= e.whole.begin < b)


@SETTINGS
@given(MINI, FUNCTIONS, CONTROLS, st.integers(-8, 16), st.integers(0, 24), st.integers(1, 24))
def test_splitting_a_query_never_changes_what_starts(text, function, control, a, ab, bc):
    source = f'{function}"{text}"{control}'.replace("|+ n 1", "# gain 1")
    try:
        p = evaluate(parse_expression(source))
    except LanguageError as exc:  # e.g. "a _ _" is fine but "_" first is not
        assert "needs a step" in str(exc) or "'..'" in str(exc), (source, exc)
        return
    a, b = F(a, 8), F(a, 8) + F(ab, 16)
    c = b + F(bc, 16)
    assert _starting(p.query(a, c), a, b) == _starting(p.query(a, b), a, b), source


@SETTINGS
@given(MINI)
def test_queries_are_repeatable(text):
    p = mini(text)
    assert p.query(0, 3) == p.query(0, 3)


@SETTINGS
@given(MINI, st.integers(0, 12))
def test_one_cycle_at_a_time_equals_one_long_query(text, start):
    p = mini(text)
    whole = _starting(p.query(start, start + 3), start, start + 3)
    pieces = []
    for c in range(start, start + 3):
        pieces += _starting(p.query(c, c + 1), c, c + 1)
    assert sorted(pieces) == whole


NUMBERS = st.sampled_from(["0", "1", "2", "-1", "0.5", "1.5", "3", "-0.25", "100", "1/3",
                           '"<0 2>"', '"1 0.5"', '"bd"', "sine"])
CALLS = st.sampled_from([
    "fast {0}", "slow {0}", "hurry {0}", "early {0}", "late {0}", "ply {0}", "linger {0}",
    "segment {0}", "range {0} {1}", "euclid {0} {1}", "euclidOff {0} {1} {0}", "iter {0}",
    "every {0} (fast {1})", "whenmod {0} {1} rev", "chunk {0} (# gain {1})", "off {0} rev",
    "degradeBy {0}", "sometimesBy {0} (fast 2)", "someCyclesBy {0} rev",
    "within ({0}, {1}) rev", "struct \"t ~ t\"", "mask \"1 0\"", "({0} <~)", "({0} ~>)",
    "zoom ({0}, {1})", "compress ({0}, {1})", "inside {0} rev", "outside {0} rev", "rot {0}",
    "shuffle {0}", "scramble {0}", "pressBy {0}", "swingBy {0} {1}", "brak",
])


@SETTINGS
@given(CALLS, NUMBERS, NUMBERS, MINI)
def test_functions_with_odd_arguments_fail_only_with_language_errors(call, x, y, text):
    source = f'{call.format(x, y)} $ "{text}"'
    try:
        p = evaluate(parse_expression(source))
        p.query(0, 2)
        p.query(F(1, 3), F(7, 5))
    except LanguageError:
        pass
