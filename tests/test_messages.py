"""What the front ends say: errors that point where the mistake is, and the line that confirms
each statement (the same in the REPL, ``--pipe`` and ``watch``).

A real Session on a tiny random model and a bank of generated sounds (no audio device).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from latentcode.errors import LanguageError, LatentcodeError
from latentcode.language import parse
from latentcode.language.positions import blame
from latentcode.shell.feedback import confirmations, snapshot
from latentcode.shell.frontends import Evaluator, Watcher, describe_error


def _write_sounds(folder, stems):
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(4410) / 44100
    for i, stem in enumerate(stems):
        soundfile.write(folder / f"{stem}.wav", 0.3 * np.sin(2 * np.pi * (110 + 50 * i) * t),
                        44100)
    return folder


@pytest.fixture
def session(tiny_model, tmp_path, latentcode_home):
    from latentcode.model.bank import Bank
    from latentcode.session import Session

    folder = _write_sounds(tmp_path / "sounds", ["bell_00", "bell_01", "pad", "drone"])
    s = Session(tiny_model, Bank(tiny_model, [folder], default=False))
    yield s
    s.stop()


@pytest.fixture
def said():
    return []


@pytest.fixture
def evaluator(session, said):
    return Evaluator(session, said.append)


def error_of(session, code: str) -> LanguageError:
    with pytest.raises(LanguageError) as info:
        session.eval(code)
    return info.value


def caret_under(error: LanguageError) -> str:
    """The text from the caret's column on, in the line the error shows."""
    return error.source_line[error.column - 1:]


# -- the caret sits under the offending token ---------------------------------------------------


def test_an_unknown_sound_points_at_its_name(session):
    e = error_of(session, 't1 $ "bell nosuch"')
    assert "unknown sound 'nosuch'" in e.message
    assert (e.line, e.column) == (1, 12) and caret_under(e).startswith('nosuch"')
    pretty = describe_error(e).splitlines()
    assert pretty[1:] == ['  t1 $ "bell nosuch"', "  " + " " * 11 + "^"]


def test_stretch_0_points_at_stretch_even_inside_an_alternation(session):
    for code in ('t1 $ "bell" # stretch 0', 't1 $ "bell" # stretch "<1 0>"'):
        e = error_of(session, code)
        assert "stretch must not be 0" in e.message
        assert caret_under(e).startswith("stretch"), code


def test_an_unknown_mix_sound_points_at_it(session):
    e = error_of(session, 't1 $ "bell" # mix "nope"')
    assert caret_under(e).startswith('nope"') and e.column == 20


@pytest.mark.parametrize("code, word", [  # (each found as the pattern is queried, not built)
    ('t1 $ smooth "bell drone"', "bell"),
    ('t1 $ "bell" # gain "<1 loud>"', "loud"),
    ('t1 $ "bell" # alpha (smooth "<0 wide>")', "wide"),
])
def test_a_word_where_a_number_belongs_points_at_the_word(session, code, word):
    e = error_of(session, code)
    assert "number" in e.message and f"'{word}'" in e.message
    assert caret_under(e).startswith(word), (code, e.column)


@pytest.mark.parametrize("code, column", [  # the word also names a sound earlier in the line
    ('t1 $ "drone" # gain "<1 drone>"', 25),
    ('t1 $ "bell*2" # stretch "bell"', 26),
    ('t1 $ fast "<1 bell>" $ "bell"', 15),
])
def test_the_caret_goes_under_the_word_given_to_the_control_not_the_sound(session, code, column):
    e = error_of(session, code)
    assert "number" in e.message
    assert e.column == column, (code, e.column, caret_under(e))


def test_the_caret_finds_its_line_in_a_statement_of_several_lines(session):
    e = error_of(session, 'tempo 1\nt1 $ "bell pad"\n  # gain 0.5\n  # mix "pad nosuch:3"')
    assert e.line == 4 and e.source_line == '  # mix "pad nosuch:3"'
    assert caret_under(e).startswith("nosuch:3")


def test_a_name_inside_a_longer_word_is_not_taken_for_the_culprit():
    text = 't1 $ "bells bell_00 bell"'
    assert blame(text, parse(text)[0], "bell") == (1, 21, text)


def test_without_a_culprit_found_the_statement_start_is_blamed():
    text = 'tempo 1\n  t2 $ "pad"'
    assert blame(text, parse(text)[1], "nowhere") == (2, 3, '  t2 $ "pad"')
    assert blame(text, parse(text)[1]) == (2, 3, '  t2 $ "pad"')


def test_an_error_raised_with_a_culprit_keeps_it():
    assert LatentcodeError("x", culprit="bell").culprit == "bell"
    assert LatentcodeError("x").culprit is None
    assert LanguageError("x", culprit="y").culprit == "y"


def test_an_unclosed_quote_is_called_one_with_the_caret_at_the_quote(session):
    for code, column in (('t1 $ "bell', 6), ('t1 $ "bell" # mix "pad', 19)):
        e = error_of(session, code)
        assert e.message.startswith("unclosed quote"), e.message
        assert e.column == column and caret_under(e).startswith('"'), code
        assert not e.expected  # not a list of tokens nobody needs here
    assert "t1" not in session.tracks


# -- errors name the file and its own line ------------------------------------------------------


def test_watch_names_the_file_and_its_own_line(session, said, tmp_path):
    piece = tmp_path / "piece.lc"
    piece.write_text('tempo 1\n\n-- a comment\nt1 $ "bell"\n\n\nt2 $ "pad"\n  # mix "nosuch"\n')
    Watcher(Evaluator(session, said.append), piece, said.append).poll()
    error = [line for line in said if line.startswith("error")]
    assert len(error) == 1
    assert error[0].startswith(f"error: {piece}, line 8, column 10: unknown sound 'nosuch'")
    assert error[0].splitlines()[1] == '    # mix "nosuch"'


def test_load_and_reload_name_the_file_and_its_line(session, said, tmp_path):
    from latentcode.shell.commands import Commands

    commands = Commands(session, Evaluator(session, said.append), said.append)
    piece = tmp_path / "bad.lc"
    piece.write_text('tempo 1\n;;\nt1 $ "bell"\n\nt2 $ fast 2 )\n')
    commands.run(f":load {piece}")
    assert said[-1].startswith(f"error: {piece}, line 5, column 13: unexpected ')'")
    piece.write_text('tempo 1\n\n\nt1 $ "bell nosuch"\n')
    commands.run(":reload")
    assert said[-1].startswith(f"error: {piece}, line 4, column 12: unknown sound 'nosuch'")


def test_an_error_without_a_position_still_names_the_file():
    assert describe_error(LatentcodeError("all 8 tracks are in use"), "p.lc") == \
        "error: p.lc: all 8 tracks are in use"


# -- one line confirms each statement -------------------------------------------------------------


def test_each_statement_is_confirmed_in_one_line(evaluator, said):
    assert evaluator.run('tempo 1\nlet a = "pad"\nt1 $ "bell"\n  # gain 0.5\nt2 silence\n'
                         'mute t2\nsolo t1\nunsolo\nunmute t2\nnow t3 $ a\nxfade 4 t1 $ a')
    assert said == ["tempo 1 cps (240 bpm)", "a: defined", "t1: new pattern", "t2: silence",
                    "t2: muted", "t1: soloed", "unsolo: every track sounds", "t2: unmuted",
                    "t3: new pattern now", "t1: morphs into the new pattern over 4 cycles"]
    said.clear()
    assert evaluator.run("hush\npanic")
    assert said == ["hush: every track stops", "panic: silence now"]


def test_an_error_confirms_nothing(evaluator, said):
    assert not evaluator.run('t1 $ "bell"\nt2 $ "nosuch"')
    assert len(said) == 1 and said[0].startswith("error: line 2")


def test_live_the_line_says_the_cycle_and_how_long_until_it(session, evaluator, said):
    live = session.live_scheduler = session.scheduler(wait_for_sounds=False)
    try:
        live.position = live.clock.sample_at(Fraction(11, 2))  # half way through cycle 5
        assert evaluator.run('t1 $ "bell"')
        seconds = 0.5 / float(session.cps)
        assert said == [f"t1: new pattern from cycle 6 (in {seconds:.1f} s)"]
        said.clear()
        assert evaluator.run('now t1 $ "pad"\ntempo 0.25')
        assert said == ["t1: new pattern now", "tempo 0.25 cps (60 bpm)"]
    finally:
        session.live_scheduler = None


def test_a_new_kind_of_statement_still_gets_a_line():
    class Quantise:
        text = "quantise   beat"

    class S:
        tracks, env, bank = {}, {}, None

    assert confirmations(S(), [Quantise()], snapshot(S())) == ["ok: quantise beat"]


def test_quant_once_and_reset_cycles_say_what_they_do():
    from latentcode.language import parse

    class S:
        tracks, env, bank, live_scheduler = {}, {}, None, None

    lines = confirmations(S(), parse('quant 0.25\nonce $ "bell"\nresetCycles\nquant 0'),
                          snapshot(S()))
    assert lines == ["quant 0.25: new patterns start on the next multiple of 0.25 cycles",
                     "once: one cycle of it, now", "resetCycles: the next moment is cycle 0",
                     "quant 0: new patterns start at once"]


def test_pipe_watch_and_repl_say_the_same_lines(session, said, tmp_path):
    from latentcode.shell.pipe import make_block_runner

    _, run_block, _ = make_block_runner(session, said.append)
    run_block('t1 $ "bell"\ntempo 1')
    piped = list(said)
    said.clear()
    piece = tmp_path / "p.lc"
    piece.write_text('t1 $ "bell"\ntempo 1\n')
    Watcher(Evaluator(session, said.append), piece, said.append).poll()
    assert piped == said == ["t1: new pattern", "tempo 1 cps (240 bpm)"]


# -- bank and use say what they added; :bank shows what a user types ---------------------------


def test_bank_says_how_many_sounds_and_which_groups(evaluator, said, tmp_path):
    _write_sounds(tmp_path / "kit", ["kick_0", "kick_1", "snare", "my-loop"])
    assert evaluator.run(f'bank "{tmp_path / "kit"}"')
    assert said == [f'bank "{tmp_path / "kit"}": 4 sounds in groups kick, snare, kit; my-loop '
                    "only by index (write kit:N): rename to letters, digits and _"]
    said.clear()
    _write_sounds(tmp_path / "more", ["hat_0"])
    assert evaluator.run(f'bank "{tmp_path / "more"}"\nt1 $ "hat"')
    assert said == [f'bank "{tmp_path / "more"}": 1 sound in groups hat, more', "t1: new pattern"]


def test_use_says_which_names_it_defined(evaluator, said):
    assert evaluator.run("use rhythms")
    line = said[-1]
    assert line.startswith("use rhythms: defined ") and "pulse" in line and "tresillo" in line


def test_bank_listing_leaves_out_names_nobody_can_type(session, said, tmp_path):
    from latentcode.shell.commands import Commands

    session.bank.add_folder(_write_sounds(tmp_path / "corpus-v9", ["wood_0", "wood_1"]))
    Commands(session, Evaluator(session, said.append), said.append).run(":bank")
    out = "\n".join(said)
    assert "corpus-v9" not in out and "wood" in out and "bell" in out
    assert out.startswith(f"{len(session.bank.shown_groups())} groups")


def test_the_banner_counts_the_groups_a_user_can_type(session, tmp_path):
    from latentcode.shell.repl import banner

    session.bank.add_folder(_write_sounds(tmp_path / "corpus-v9", ["wood_0", "wood_1"]))
    # bell, drone, pad, sounds (the first folder), wood: not corpus-v9
    assert banner(session, "none").startswith("latentcode: 6 sounds in 5 groups")


# -- :help knows every statement ------------------------------------------------------------------


def _grammar_keywords() -> list[str]:
    """Every word the statement grammar spells out (``let``, ``now``, ``xfade`` ...), read from
    grammar/latentcode.lark itself, so a statement added there needs its :help row too."""
    import re

    from latentcode.language.grammars import load_grammar

    parser = load_grammar("latentcode.lark", lexer="basic")
    words = {t.pattern.value for t in parser.terminals if t.pattern.type == "str"}
    return sorted(w for w in words if re.fullmatch(r"[A-Za-z][A-Za-z']*", w))


def test_every_keyword_of_the_grammar_has_a_real_help_row():
    from latentcode.language.vocabulary import STATEMENT_DOCS, Vocabulary

    keywords = _grammar_keywords()
    assert {"let", "now", "silence", "xfade", "hush", "bank"} <= set(keywords)
    vocabulary = Vocabulary.of_language()
    for word in keywords:
        assert word in STATEMENT_DOCS, f"{word}: no row in STATEMENT_DOCS"
        signature, doc, example = STATEMENT_DOCS[word]
        assert word in signature and len(doc) > 20 and example, word
        text = vocabulary.help(word)
        assert text is not None and "A statement of the language" not in text, word


def test_help_xfade_explains_the_latent_morph_and_how_it_differs_from_tidal():
    from latentcode.language.vocabulary import Vocabulary

    text = Vocabulary.of_language().help("xfade")
    assert "latent" in text and "xfadeIn" in text and "example: xfade 4 t1" in text
    assert "morphfrom" in text  # how it morphs sounds that already mix two


def test_a_transition_says_its_word_its_cycles_and_when(evaluator, said):
    """A statement this module has no line of its own for, which changes a track (Tidal's
    xfadeIn ...), is told by its word, its cycles and its start."""
    assert evaluator.run('xfadeIn t1 4 $ "bell"')
    assert said == ["t1: xfadeIn 4"]


def test_render_names_the_file_and_its_line(tiny_model, tmp_path, monkeypatch, capsys,
                                            latentcode_home):
    import latentcode.session
    from latentcode.model.bank import Bank
    from latentcode.shell import cli

    folder = _write_sounds(tmp_path / "sounds", ["bell_00"])
    real = latentcode.session.Session
    monkeypatch.setattr(latentcode.session, "Session", lambda *args, **kwargs: real(
        tiny_model, Bank(tiny_model, [folder], default=False)))
    piece = tmp_path / "p.lc"
    piece.write_text('tempo 1\n\nt1 $ "bell nosuch"\n')
    assert cli.main(["render", str(piece), "-o", str(tmp_path / "p.wav")]) == 2
    err = capsys.readouterr().err
    assert err == f"latentcode: {piece}, line 3, column 12: unknown sound 'nosuch': `:bank` " \
                  "lists the sounds\n"


def test_what_the_bank_calls_typeable_is_what_mini_notation_reads():
    import re

    from latentcode.model.bank import typeable
    from latentcode.resources import data_path

    grammar = (data_path("grammar") / "mini.lark").read_text()
    word = re.search(r"^WORD: /(.*)/$", grammar, re.M).group(1)
    for name in ("bell", "bell_03", "corpus-v2", "my loop", "3bell", "x'y", "a#b", "é", ""):
        assert typeable(name) == bool(re.fullmatch(word, name)), name


def test_xfade_says_it_morphs_also_sounds_that_already_mix_two(evaluator, said):
    """A sound that already interpolates two (``# mix``) is morphed from the old pattern's
    sound as a third (``morphfrom``), so the line promises the morph for it too."""
    for line in ('t1 $ "pad"', 'xfade 4 t1 $ "bell" # mix "pad" # alpha 0.3'):
        assert evaluator.run(line)
    assert said == ["t1: new pattern", "t1: morphs into the new pattern over 4 cycles"]
