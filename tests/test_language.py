"""The statement language: parsing, evaluation, operators, errors, completeness."""

from __future__ import annotations

import pytest
from pattern_helpers import events, lc, values

from latentcode import mini
from latentcode.errors import LanguageError
from latentcode.language.evaluation import evaluate
from latentcode.language.statements import (
    KEYWORDS,
    Bank,
    Hush,
    Let,
    Mute,
    Panic,
    Play,
    Solo,
    Str,
    Tempo,
    Unmute,
    Unsolo,
    Use,
    is_complete,
    parse,
    parse_expression,
)
from latentcode.patterns.core import Sampled
from latentcode.patterns.functions import slow
from latentcode.patterns.registry import FUNCTIONS


def same(a: str, b: str, cycles: int = 4) -> bool:
    return events(lc(a), 0, cycles) == events(lc(b), 0, cycles)


# -- statements --------------------------------------------------------------------------------


def test_design_section_3_sketch():
    block = '''tempo 0.5                             -- cycles per second
bank "~/sounds/erokia"                -- encode a folder once
t1 $ "drone bell*2 [pad pad:3] ~"
t2 $ every 4 (fast 2) $ "bell(3,8)" # stretch 8 # noise 0.3 # gain 0.8 # pan sine
t3 $ "drone" # mix "pad" # alpha (slow 8 $ range -1 1.3 sine)
let groove = "bell*2 ~ pad"
t4 $ groove # lpf 1800 # room 0.4
hush
t1 silence
solo t2
unsolo
mute t3
unmute t3
panic
use basics
'''
    stmts = parse(block)
    kinds = [type(s).__name__ for s in stmts]
    assert kinds == ["Tempo", "Bank", "Play", "Play", "Play", "Let", "Play", "Hush", "Play",
                     "Solo", "Unsolo", "Mute", "Unmute", "Panic", "Use"]
    assert stmts[0] == Tempo(0.5, line=1, column=1, text="tempo 0.5")
    assert stmts[1].path == "~/sounds/erokia"
    assert stmts[2].track == "t1" and not stmts[2].now and stmts[2].line == 3
    assert stmts[5].name == "groove"
    env = {"groove": evaluate(stmts[5].expr)}
    for s in stmts:
        if isinstance(s, Play):
            assert evaluate(s.expr, env).query(0, 4) is not None
    t2 = evaluate(stmts[3].expr).query(0, 1)
    assert [e.value["stretch"] for e in t2] == [8, 8, 8, 8, 8, 8]  # every 4 fast 2 at cycle 0
    assert evaluate(stmts[8].expr).query(0, 1) == []
    assert isinstance(stmts[-1], Use) and stmts[-1].name == "basics"


def test_statement_classes_and_fields():
    assert parse("hush") == [Hush(line=1, column=1, text="hush")]
    assert parse("panic")[0] == Panic(line=1, column=1, text="panic")
    assert parse("solo drums")[0].track == "drums"
    assert isinstance(parse("unsolo")[0], Unsolo)
    assert parse("mute d1")[0] == Mute("d1", line=1, column=1, text="mute d1")
    assert parse("unmute d1")[0] == Unmute("d1", line=1, column=1, text="unmute d1")
    assert parse('bank "x y"')[0] == Bank("x y", line=1, column=1, text='bank "x y"')
    assert parse('use "my lib"')[0].name == "my lib"
    assert isinstance(parse("solo t")[0], Solo)


def test_bpm_is_converted_to_cycles_per_second():
    assert parse("bpm 120")[0].cps == 0.5
    assert parse("tempo 135/240")[0].cps == pytest.approx(0.5625)


def test_now_and_any_track_name():
    s = parse('now drums $ "a"')[0]
    assert s.now and s.track == "drums"
    assert parse("now t1 silence")[0].now


def test_let_and_environment():
    s = parse('let g = "a b"')[0]
    assert isinstance(s, Let)
    env = {"g": evaluate(s.expr)}
    assert events(evaluate(parse_expression("fast 2 g"), env)) == events(mini("a b a b"))


def test_let_a_function_with_value_mode():
    f = evaluate(parse_expression("fast 2 . rev"), value=True)
    env = {"f": f}
    assert events(evaluate(parse_expression('f "a b"'), env)) == events(mini("b a b a"))


def test_blocks_comments_and_blank_lines():
    text = '-- a piece\n\nt1 $ "a"   -- first\n\n\n  t2 $ "b"\n-- end\n'
    stmts = parse(text)
    assert [(s.track, s.line, s.column) for s in stmts] == [("t1", 3, 1), ("t2", 6, 3)]
    assert stmts[0].text == 't1 $ "a"'
    assert parse("") == [] and parse("\n\n-- nothing\n") == []


def test_statements_spanning_lines():
    text = 't1 $ every 2 (fast 2\n   . rev) $\n  "a b"\n  # gain 0.5\n  |+ gain 0.25\nhush'
    stmts = parse(text)
    assert len(stmts) == 2
    assert stmts[0].text.endswith("|+ gain 0.25")
    assert events(evaluate(stmts[0].expr)) == events(
        lc('every 2 (fast 2 . rev) $ "a b" # gain 0.75'))
    assert len(parse('t1 $ stack [\n  "a",\n  "b"\n]\nt2 $ "c" #\n  gain 1')) == 2


# -- expressions -------------------------------------------------------------------------------


def test_dollar_and_hash_precedence():
    assert same('fast 2 $ "a b" # gain 1', 'fast 2 ("a b" # gain 1)')
    assert same('every 4 (fast 2) $ "bell(3,8)" # stretch 8',
                'every 4 (fast 2) ("bell(3,8)" # stretch 8)')


def test_hash_gives_dicts_of_controls():
    e = lc('"bell*2" # stretch 8 # alpha sine').query(0, 1)[0]
    assert e.value["sound"] == "bell" and e.value["stretch"] == 8
    assert isinstance(e.value["alpha"], Sampled) and e.value["alpha"] == 0.5


def test_merge_operators():
    assert values(lc('"a" # gain 1 |+ gain 2'))[0]["gain"] == 3
    assert values(lc('"a" # gain 2 |* gain "3"'))[0]["gain"] == 6
    assert values(lc('"a" # gain 2 |< gain 5'))[0]["gain"] == 2
    assert values(lc('"a" # gain 2 |- gain 5'))[0]["gain"] == -3
    assert len(values(lc('"a" # gain 2 +| gain "1 1"'))) == 2


def test_shift_operators():
    assert same('0.25 <~ "a b c d"', '"b c d a"')
    assert same('0.25 ~> "a b c d"', '"d a b c"')
    assert same('"<0 0.25>" <~ "a b c d"', '"<[a b c d] [b c d a]>"')
    assert same('(1/4) ~> "a b c d"', '"d a b c"')
    assert same('1/4 ~> "a b c d"', '"d a b c"')
    assert same('0.25 <~ "a b" # gain "1 2"', '(0.25 <~ "a b") # gain "1 2"')
    assert not same('0.25 <~ "a b" # gain "1 2"', '0.25 <~ ("a b" # gain "1 2")')


def test_composition_and_sections():
    assert same('(fast 2 . rev) "a b"', '"b a b a"')
    assert same('every 2 (# gain 0) $ "a"', '"<a a>" # gain "<0 1>" |< "a"') is False
    assert values(lc('every 2 (# gain 0) $ "a"'), 0, 1) == [{"sound": "a", "gain": 0}]
    assert values(lc('every 2 (# gain 0) $ "a"'), 1, 2) == ["a"]
    assert same('every 2 (0.25 <~) $ "a b c d"', '"<[b c d a] [a b c d]>"')
    assert same('superimpose ((# gain 0) . fast 2) $ "a"',
                'stack ["a", "a*2" # gain 0]')


def test_negative_numbers_and_arithmetic():
    assert values(lc("segment 2 $ range -1 1 $ saw")) == [-1, 0]
    assert values(lc('"1 2" + "10"')) == [11, 12]
    assert values(lc('"1 2" * 2 - 1')) == [1, 3]


def test_constant_arithmetic_is_exact_and_division_by_zero_is_an_error():
    assert parse("tempo 1/3")[0].cps == 1 / 3
    assert "division by zero" in error("tempo 1/0").message
    assert "division by zero" in error('t1 $ 1/0 ~> "a"').message
    assert values(lc('"1 2" / 0')) == [0, 0]  # a pattern divided by 0 gives 0
    assert values(lc('"3 4" / 2')) == [1.5, 2]


def test_pattern_arithmetic_and_merge_operators_share_one_table():
    assert values(lc('"bell" + "1 2"')) == ["bell1", "bell2"]
    assert values(lc('"bell" |+ "1 2"')) == [{"sound": "bell1"}]
    assert values(lc('"1 2" |/| "0 2"')) == [{"sound": 0}, {"sound": 1}]


def test_lists_and_tuples():
    assert same('cat ["a", "b c"]', '"<a [b c]>"')
    assert same('timeCat [(1, "a"), (2, "b")]', '"a b@2"')
    assert same('layer [rev, fast 2] $ "a b"', 'stack ["b a", "a b a b"]')
    assert same("stack []", "silence")


def test_strings_are_mini_notation_with_positions():
    stmt = parse('t1 $ "bd sd"')[0]
    assert isinstance(stmt.expr, Str)
    es = evaluate(stmt.expr).query(0, 1)
    assert [e.sources for e in es] == [((1, 7, 9),), ((1, 10, 12),)]


def test_sine2_is_a_function_here_and_a_sound_in_strings():
    assert values(lc("segment 4 sine2"))[1] == pytest.approx(1.0)
    assert values(lc('"sine2"')) == ["sine2"]


def test_numbers_are_patterns_where_a_pattern_is_wanted():
    assert values(lc("fast 2 1")) == [1, 1]
    assert values(lc("gain 0.5")) == [{"gain": 0.5}]


def test_reference_alternation_equivalence_through_the_language():
    assert events(lc('"<a!3 b ! c@5>"'), 0, 20) == events(lc('slow 10 "[a a a b b] c"'), 0, 20)
    assert events(slow(10, "[a a a b b] c"), 0, 20) == events(mini("<a!3 b ! c@5>"), 0, 20)


# -- errors ------------------------------------------------------------------------------------


def error(text: str) -> LanguageError:
    with pytest.raises(LanguageError) as info:
        for s in parse(text):
            if isinstance(s, Play | Let):
                evaluate(s.expr)
    return info.value


def test_parse_error_names_line_column_and_expectation_in_words():
    err = error('t1 $ "a"\nt2 $ fast 2 )')
    assert (err.line, err.column) == (2, 13)
    assert err.source_line == "t2 $ fast 2 )"
    assert "unexpected ')'" in err.message
    text = err.pretty()
    assert "line 2, column 13" in text and "\n  t2 $ fast 2 )\n" in text
    assert text.endswith(" " * 14 + "^")


def test_expected_tokens_are_words_not_terminal_names():
    err = error("t1 $")
    assert "a pattern string" in err.expected and "a number" in err.expected
    assert "'('" in err.expected and "a function name" in err.expected
    assert not any(x.isupper() for x in err.expected)


def test_error_inside_a_mini_string_points_into_the_line():
    err = error('t1 $ fast 2 $ "bd [sd"')
    assert (err.line, err.column) == (1, 22)
    assert err.source_line == 't1 $ fast 2 $ "bd [sd"'
    assert "pattern string" in err.message
    err = error('hush\nt1 $ "bd & sd"')
    assert (err.line, err.column) == (2, 10)


def test_unknown_function_suggests_the_nearest():
    err = error('t1 $ fsat 2 "a"')
    assert err.message == "unknown function 'fsat': did you mean 'fast'?"
    assert (err.line, err.column) == (1, 6)


def test_wrong_argument_type_names_function_and_argument():
    err = error('t1 $ every 2 "a" "b"')
    assert "every" in err.message and "'f'" in err.message
    err = error('t1 $ every "a" rev $ "b"')
    assert err.message == "every: argument 'n' needs a number, got 'a'"
    assert err.column == 13  # under the word given as the number, not the function
    err = error('t1 $ fast rev "a"')
    assert "fast" in err.message and "'factor'" in err.message


def test_too_many_arguments():
    err = error('t1 $ fast 2 "a" "b"')
    assert "too many arguments" in err.message and "fast" in err.message


def test_missing_arguments_and_non_functions():
    assert "needs more arguments" in error("t1 $ fast 2").message
    assert "not a function" in error('t1 $ "a" "b"').message


def test_statement_errors():
    assert "track name" in " ".join(error("$ a").expected)
    error('fast 2 $ "a"')
    error("tempo fast")
    error("tempo -1")
    error("t1 $ (")


def test_an_error_changes_nothing():
    text = 't1 $ "a"\nt2 $ )'
    with pytest.raises(LanguageError):
        parse(text)
    assert len(parse('t1 $ "a"')) == 1


# -- completeness, keywords ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "complete"), [
    ('t1 $ "a b"', True), ("t1 $ (fast 2", False), ("t1 $", False), ('t1 $ "a b', False),
    ('t1 $ "a" #', False), ("t1 $ stack [", False), ("hush", True), ("", True),
    ("t1 $ )", True), ('t1 $ "a"\n  # gain 1', True), ("let x =", False),
])
def test_is_complete(text, complete):
    assert is_complete(text) is complete


def test_keywords_and_names_for_highlighting():
    assert {"let", "tempo", "bpm", "hush", "panic", "silence", "solo", "unsolo", "mute",
            "unmute", "bank", "use", "now"} <= set(KEYWORDS)
    assert not set(KEYWORDS) & (set(FUNCTIONS) - {"silence"})
    spec = FUNCTIONS["every"]
    assert spec.signature == "every n f pat" and spec.summary
