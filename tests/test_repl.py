"""The REPL's logic through prompt_toolkit's pipe input: Enter, completion, :commands, errors.

A real Session on a tiny random model and a bank of four generated sounds (no audio device,
no default model), so these tests are quick and exercise the real language.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from latentcode.language.vocabulary import Vocabulary
from latentcode.shell.completer import LatentCompleter
from latentcode.shell.keys import should_evaluate
from latentcode.shell.lexer import LatentLexer
from latentcode.shell.repl import Repl
from latentcode.shell.toolbar import status

ENTER, ALT_ENTER, TAB, RIGHT = "\r", "\x1b\r", "\t", "\x1b[C"


@pytest.fixture
def bank_dir(tmp_path):
    import soundfile

    folder = tmp_path / "sounds"
    folder.mkdir()
    t = np.arange(4410) / 44100
    for stem, f in (("bell_00", 880), ("bell_01", 990), ("pad", 220), ("drone", 55)):
        soundfile.write(folder / f"{stem}.wav", 0.3 * np.sin(2 * np.pi * f * t), 44100)
    return folder


@pytest.fixture
def session(tiny_model, bank_dir, latentcode_home):
    from latentcode.model.bank import Bank
    from latentcode.session import Session

    s = Session(tiny_model, Bank(tiny_model, [bank_dir], default=False))
    yield s
    s.stop()


@pytest.fixture
def repl(session):
    """A Repl whose messages are collected in ``repl.said``."""
    said: list[str] = []
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        r = Repl(session, audio="none", color=False, history=InMemoryHistory(),
                 input=inp, output=DummyOutput())
        r.say = said.append
        r.evaluator.say = said.append
        r.commands.say = said.append
        r.said = said
        r.inp = inp
        yield r


def typed(repl: Repl, keys: str) -> str:
    """What one prompt returns after ``keys`` are typed."""
    repl.inp.send_text(keys)
    return repl.prompt.prompt()


def typed_in_steps(repl: Repl, *chunks: str, gap: float = 0.25) -> str:
    """Like :func:`typed`, pausing between chunks: completion and suggestions are computed in
    the event loop, after the keys that asked for them."""

    def feed() -> None:
        for chunk in chunks:
            time.sleep(gap)
            repl.inp.send_text(chunk)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        return repl.prompt.prompt()
    finally:
        feeder.join(timeout=5)


def text_of(said: list[str]) -> str:
    return "\n".join(said)


# -- Enter asks the grammar -----------------------------------------------------------------


def test_enter_evaluates_a_complete_statement(repl):
    assert typed(repl, 't1 $ "bell*2"' + ENTER) == 't1 $ "bell*2"'


@pytest.mark.parametrize("first,rest", [
    ('t1 $ (fast 2', ' "bell")'),        # open bracket
    ('t1 $ "bell', ' pad"'),             # open quote
    ('t1 $', ' "bell"'),                 # trailing $
    ('t1 $ "bell" #', ' gain 0.5'),      # trailing #
])
def test_enter_continues_an_incomplete_statement(repl, first, rest):
    assert typed(repl, first + ENTER + rest + ENTER) == f"{first}\n{rest}"


def test_enter_on_an_empty_continuation_line_evaluates_anyway(repl):
    text = typed(repl, 't1 $ (fast 2' + ENTER + ENTER)
    assert text == "t1 $ (fast 2\n"
    repl.handle(text)
    assert "error" in text_of(repl.said) and "t1" not in repl.session.tracks


def test_alt_enter_adds_a_line_to_a_complete_statement(repl):
    assert typed(repl, 'tempo 0.5' + ALT_ENTER + 't1 $ "pad"' + ENTER) == 'tempo 0.5\nt1 $ "pad"'


def test_commands_are_always_complete():
    assert should_evaluate(":help fast(", lambda t: False)
    assert should_evaluate("   ", lambda t: False)


def test_ctrl_c_clears_the_line_and_ctrl_d_quits(repl):
    repl.inp.send_text('t1 $ "bell' + "\x03")
    with pytest.raises(KeyboardInterrupt):
        repl.prompt.prompt()
    repl.inp.send_text("\x04")
    with pytest.raises(EOFError):
        repl.prompt.prompt()


def test_loop_evaluates_and_ends_on_ctrl_d(repl):
    repl.inp.send_text('t1 $ "bell*2"' + ENTER + "\x03" + 'mute t1' + ENTER + "\x04")
    repl.loop()
    assert repl.session.tracks["t1"].latest() is not None
    assert repl.session.muted == {"t1"}


def test_quit_command_ends_the_loop(repl):
    repl.inp.send_text(":quit" + ENTER + 't1 $ "bell"' + ENTER)
    repl.loop()
    assert "t1" not in repl.session.tracks


# -- completion --------------------------------------------------------------------------------


def completions(repl: Repl, text: str) -> dict[str, str]:
    doc = Document(text, len(text))
    found = repl.prompt.completer.get_completions(doc, None)
    return {c.text: c.display_meta_text for c in found}


def test_completes_functions_with_their_signature(repl):
    got = completions(repl, 't1 $ fa')
    assert got["fast"] == "fast factor pat"
    assert "gain" not in got and "bell" not in got


def test_completes_controls_after_hash(repl):
    got = completions(repl, 't1 $ "bell" # st')
    assert list(got) == ["stretch"]
    assert set(completions(repl, 't1 $ "bell" # ')) >= {"alpha", "mix", "gain", "lpf", "noise"}


def test_completes_sounds_and_groups_inside_strings(repl):
    got = completions(repl, 't1 $ "pad be')
    assert got["bell"] == "group, 2 sounds"
    assert got["bell_01"] == "in bell"
    assert completions(repl, 't1 $ "bell:') == {"bell:0": "bell_00", "bell:1": "bell_01"}
    assert "fast" not in completions(repl, 't1 $ "f')


def test_completes_track_names_and_statements_at_the_start(repl):
    repl.handle('t1 $ "bell"\ntrack2 $ "pad"')
    got = completions(repl, 't')
    assert got["t1"] == "track" and got["track2"] == "track" and "tempo" in got
    assert "hush" in completions(repl, 'hu')


def test_completes_let_names(repl):
    repl.handle('let groove = "bell*2 pad"')
    assert "groove" in completions(repl, 't1 $ fast 2 $ gro')


def test_completes_commands_and_help_topics(repl):
    assert set(completions(repl, ":re")) == {":record", ":reload"}
    assert "fast" in completions(repl, ":help fa")


def test_help_and_completion_come_from_the_command_table(repl):
    from latentcode.shell.commands import COMMANDS

    repl.handle(":help")
    listed = text_of(repl.said)
    offered = completions(repl, ":")
    for command in COMMANDS:
        assert command.help in listed
        assert offered[command.name] == command.what
        for alias in command.aliases:
            repl.said.clear()
            repl.handle(f":help {alias}")
            assert repl.said == [command.help]
    assert set(offered) == {command.name for command in COMMANDS}
    assert completions(repl, ":l ") == completions(repl, ":load ")  # aliases complete too


def test_tab_inserts_the_completion_in_the_prompt(repl):
    got = typed_in_steps(repl, 't1 $ "pad" # stre', TAB, " 4" + ENTER)
    assert got == 't1 $ "pad" # stretch 4'


def test_enter_on_a_chosen_completion_takes_it_without_evaluating(repl):
    got = typed_in_steps(repl, 't1 $ "pad" # stre', TAB, ENTER, " 4" + ENTER)
    assert got == 't1 $ "pad" # stretch 4'


def test_suggestions_come_from_history(session):
    history = InMemoryHistory()
    history.append_string('t1 $ every 4 (fast 2) $ "bell*2 pad"')
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        r = Repl(session, history=history, color=False, input=inp, output=DummyOutput())
        r.inp = inp
        got = typed_in_steps(r, "t1 $ ev", RIGHT, ENTER)
        assert got == 't1 $ every 4 (fast 2) $ "bell*2 pad"'


def test_history_file_lives_where_latentcode_history_says(tmp_path, monkeypatch):
    from latentcode.shell.repl import history_path, open_history

    monkeypatch.setenv("LATENTCODE_HISTORY", str(tmp_path / "h" / "hist"))
    assert history_path() == tmp_path / "h" / "hist"
    history = open_history(history_path())
    history.store_string("tempo 0.5")
    assert "tempo 0.5" in (tmp_path / "h" / "hist").read_text()


def test_history_defaults_to_the_user_data_dir(monkeypatch, latentcode_home):
    from latentcode.shell.repl import history_path

    monkeypatch.delenv("LATENTCODE_HISTORY", raising=False)
    assert history_path() == latentcode_home / "history"


# -- highlighting --------------------------------------------------------------------------------


def styles(repl: Repl, line: str) -> dict[str, str]:
    lexer = repl.prompt.lexer
    return {text: style for style, text in lexer.lex_document(Document(line))(0) if text.strip()}


def test_highlights_keywords_functions_controls_sounds(repl):
    got = styles(repl, 't1 $ every 4 (fast 2) $ "bell ~ nosuch" # gain sine -- loud')
    assert got["t1"] == "class:track" and got["every"] == "class:function"
    assert got["gain"] == "class:control" and got["sine"] == "class:signal"
    assert got["bell"] == "class:sound" and got["nosuch"] == "class:string"
    assert got["~"] == "class:rest" and got["4"] == "class:number"
    assert got["-- loud"] == "class:comment"
    assert styles(repl, "hush")["hush"] == "class:keyword"


def test_a_new_library_function_colours_and_completes_itself(monkeypatch):
    from latentcode.language import vocabulary as vocab
    from latentcode.patterns import registry as library
    from latentcode.patterns.core import Pattern

    monkeypatch.setattr(library, "FUNCTIONS", dict(library.FUNCTIONS))
    vocab._language_vocabulary.cache_clear()

    def wobble(amount: float, pat: Pattern) -> Pattern:
        """Wobble a pattern.

        lc> wobble 1 "a"  ==  wobble 1 "a"
        """
        return pat

    library.register(wobble)
    try:
        v = Vocabulary.of_language()
        assert LatentLexer(v).tokens("wobble 2 x")[0] == ("class:function", "wobble")
        got = LatentCompleter(v).candidates("t1 $ wob")
        assert [c.text for c in got] == ["wobble"]
        assert "Wobble a pattern." in v.help("wobble")
    finally:
        vocab._language_vocabulary.cache_clear()


# -- commands ------------------------------------------------------------------------------------


def test_help_lists_functions_controls_and_commands(repl):
    repl.handle(":help")
    out = text_of(repl.said)
    for word in ("fast", "every", "stretch", "alpha", "sine", "hush", "panic", ":load", ":record"):
        assert word in out


def test_help_name_shows_signature_doc_and_example(repl):
    repl.handle(":help fast")
    out = text_of(repl.said)
    assert out.startswith("fast factor pat") and "example:" in out
    repl.said.clear()
    repl.handle(":help stretch")
    assert "stretch" in text_of(repl.said) and "control" in text_of(repl.said)
    repl.said.clear()
    repl.handle(":help :load")
    assert ":load FILE" in text_of(repl.said)


def test_help_of_an_unknown_name_suggests_one(repl):
    repl.handle(":help fsat")
    assert "did you mean fast" in text_of(repl.said)


def test_unknown_command_lists_the_commands(repl):
    assert repl.handle(":dance") is True
    assert "no command :dance" in text_of(repl.said) and ":help" in text_of(repl.said)


def test_tracks_shows_state_and_code(repl):
    repl.handle('t1 $ "bell*2"\nt2 $ "pad"')
    repl.handle("mute t2")
    repl.said.clear()
    repl.handle(":tracks")
    out = text_of(repl.said)
    assert 't1       playing            t1 $ "bell*2"' in out
    assert "t2       playing, muted" in out


def test_tracks_joins_a_statement_of_several_lines_and_shows_silence(repl):
    repl.handle('t1 $ "bell*2"\n  # gain 0.8\n  # pan 0.2\nt2 $ "pad"\nt3 $ "drone"')
    repl.handle("t2 silence\nt3 $ silence")
    repl.said.clear()
    repl.handle(":tracks")
    out = repl.said[-1].splitlines()
    assert out[0] == '  t1       playing            t1 $ "bell*2" # gain 0.8 # pan 0.2'
    assert out[1] == "  t2       silence            t2 silence"
    assert out[2] == "  t3       silence            t3 $ silence"
    repl.handle("hush")
    repl.handle(":tracks")
    assert repl.said[-1].splitlines()[0] == "  t1       stopped (hush)"


def test_tracks_fits_the_terminal_with_an_ellipsis(repl, monkeypatch):
    monkeypatch.setenv("COLUMNS", "45")
    repl.handle('t1 $ every 2 (fast 2) $ "bell*2 pad drone bell" # gain 0.8\nt2 $ "pad"')
    repl.said.clear()
    repl.handle(":tracks")
    lines = repl.said[-1].splitlines()
    assert all(len(line) < 45 for line in lines)
    assert lines[0].startswith("  t1       playing            t1 $ ev") and lines[0][-1] == "…"
    assert lines[1] == '  t2       playing            t2 $ "pad"'  # short enough: whole


def test_the_repl_confirms_each_statement(repl):
    repl.handle('tempo 1\nt1 $ "bell"')
    assert repl.said == ["tempo 1 cps (240 bpm)", "t1: new pattern"]


def test_bank_lists_groups_and_sounds(repl):
    repl.handle(":bank")
    out = text_of(repl.said)
    assert "bell" in out and "bell_00 bell_01" in out and "cluster:N" in out
    repl.said.clear()
    repl.handle(":bank bell")
    assert "bell:0 .. bell:1" in text_of(repl.said)


def test_load_and_reload_a_file(repl, tmp_path):
    piece = tmp_path / "piece.lc"
    piece.write_text('tempo 1\n\nt1 $ "bell*2"\n')
    repl.handle(f":load {piece}")
    assert repl.session.cps == 1 and "t1" in repl.session.tracks
    piece.write_text('tempo 0.25\nt2 $ "pad"\n')
    repl.handle(":reload")
    assert repl.session.cps == 0.25 and "t2" in repl.session.tracks
    assert f"loaded {piece}" in text_of(repl.said)


def test_load_reads_double_semicolons_as_block_ends_and_errors_keep_their_line(repl, tmp_path):
    piece = tmp_path / "piece.lc"
    piece.write_text('tempo 1\n;;\nt1 $ "bell*2"\n')
    repl.handle(f":load {piece}")
    assert repl.session.cps == 1 and "t1" in repl.session.tracks
    piece.write_text('tempo 0.25\n;;\nt2 $ fast 2 )\n')
    repl.handle(":reload")
    assert "line 3" in repl.said[-1] and repl.session.cps == 1  # all or nothing


def test_load_reports_missing_files_and_bad_code_in_one_line(repl, tmp_path):
    repl.handle(":reload")
    repl.handle(f":load {tmp_path / 'nope.lc'}")
    bad = tmp_path / "bad.lc"
    bad.write_text("tempo 1\nt1 $ (fast 2\n")
    repl.handle(f":load {bad}")
    said = repl.said
    assert said[0].startswith("error: nothing loaded yet")
    assert said[1].startswith("error: cannot read") and "\n" not in said[1]
    assert said[2].startswith("error: ") and repl.session.cps == 0.5  # all or nothing


def test_audio_commands_without_an_engine_say_so(repl):
    for command in (":latency 50", ":record take.wav", ":latency"):
        repl.said.clear()
        assert repl.handle(command)
        assert text_of(repl.said).startswith("error: no audio engine")
    repl.said.clear()
    repl.handle(":stop")
    assert repl.said == ["not recording"]


class FakeEngine:
    """The engine calls the audio commands make (the real ones are tested with the engine)."""

    sample_rate, latency = 44100, 0.05
    lookahead_floor, worst_fill = 1323, 0.025  # 30 ms: the producer measured slow

    def __init__(self):
        self.lookahead, self.calls = 4096, []

    def set_lookahead(self, samples):
        self.calls.append(("lookahead", samples))
        self.lookahead = samples

    def record(self, path):
        self.calls.append(("record", str(path)))
        open(path, "wb").close()  # pyo creates the file at once (or only prints that it can't)

    def stop_record(self):
        self.calls.append(("stop_record",))


def test_latency_and_record_drive_the_engine(repl, tmp_path):
    repl.session.engine = engine = FakeEngine()
    try:
        repl.handle(":latency 50")
        repl.handle(f":record {tmp_path / 'take'}")
        assert repl.commands.recording.path == tmp_path / "take.wav"
        assert any("rec take.wav" in text for _, text in repl.toolbar())
        repl.handle(":stop")
        repl.handle(":latency fast")
    finally:
        repl.session.engine = None
    # the take is written to a hidden file beside it, named take.wav by :stop
    assert engine.calls == [("lookahead", 2205),
                            ("record", str(tmp_path / ".take.recording.wav")),
                            ("stop_record",)]
    assert (tmp_path / "take.wav").exists()
    assert "decoding 50 ms ahead; at least 30 ms" in repl.said[0]
    assert repl.said[-2] == f"wrote {tmp_path / 'take.wav'}"
    assert repl.said[-1].startswith("error: :latency takes milliseconds")


def test_latency_goes_no_lower_than_the_producer_keeps_up_with(repl):
    repl.session.engine = engine = FakeEngine()
    try:
        repl.handle(":latency 10")
    finally:
        repl.session.engine = None
    assert engine.calls == [("lookahead", 1323)]
    assert repl.said[0].startswith("the slowest block lately took 25 ms: decoding less than "
                                   "30 ms ahead would gap")


# -- errors at the prompt ------------------------------------------------------------------------


def test_a_parse_error_shows_a_caret_under_the_line_and_changes_nothing(repl):
    repl.handle('t1 $ "bell"')
    before = repl.session.tracks["t1"].latest()
    repl.said.clear()
    repl.handle('t1 $ fast 2 ) "pad"')
    out = text_of(repl.said)
    lines = out.splitlines()
    assert lines[0].startswith("error: line 1, column 13")
    assert lines[1] == '  t1 $ fast 2 ) "pad"'
    assert lines[2] == "  " + " " * 12 + "^"
    assert repl.session.tracks["t1"].latest() is before


def test_an_evaluation_error_names_the_function_and_argument(repl):
    repl.handle('t1 $ "bell"')
    before = repl.session.tracks["t1"].latest()
    repl.said.clear()
    repl.handle('t1 $ fast "pad" "bell"')
    out = text_of(repl.said)
    assert out.startswith("error: ") and "fast" in out and "factor" in out
    assert repl.session.tracks["t1"].latest() is before


def test_an_unknown_sound_is_an_error_with_a_suggestion(repl):
    repl.handle('t1 $ "bel"')
    assert "did you mean 'bell'" in text_of(repl.said)


def test_errors_are_red_on_a_terminal(session, capsys):
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        r = Repl(session, color=True, input=inp, output=DummyOutput())
        r.say("error: x")
        r.say("fine")
    assert capsys.readouterr().out == "\x1b[31merror: x\x1b[0m\nfine\n"


# -- toolbar -------------------------------------------------------------------------------------


def test_toolbar_shows_tempo_tracks_and_mutes(repl):
    repl.handle('tempo 0.5\nt1 $ "bell"\nt2 $ "pad"\nmute t2\nsolo t1')
    text = "".join(t for _, t in repl.toolbar())
    assert "0.5 cps (120 bpm)" in text and " t1*" in text and "(t2)" in text
    assert "silent" in text


def test_toolbar_reads_the_engine_clock_and_stats(session):
    class Stats:
        position, producer_load_recent, underruns = 44100 * 3, 0.25, 2

    class Engine:
        stats = Stats()

    session.live_scheduler = session.scheduler()
    session.engine = Engine()
    try:
        text = "".join(t for _, t in status(session, audio="jack"))
    finally:
        session.live_scheduler = session.engine = None
    assert "cycle    1.50 ··●·" in text and "decode  25%" in text and "underruns 2" in text


def test_toolbar_shows_per_track_outputs_and_link(session):
    class Engine:
        channels, outputs = 20, "tracks"

    class Link:
        peers, quantum = 2, 4.0

        def phase(self):
            return 2.5

    session.engine, session.link = Engine(), Link()
    try:
        text = "".join(t for _, t in status(session, audio="jack"))
    finally:
        session.engine = session.link = None
    assert "out 20 ch (tracks)" in text and "link 2 peers 2.5/4" in text


def test_a_sound_is_listed_in_its_own_group_not_the_folder_group(session, tmp_path):
    completer = LatentCompleter(sounds=lambda: {"sounds": ["bell_00", "bell_01", "pad"],
                                                "bell": ["bell_00", "bell_01"]})
    got = {c.text: c.display_meta_text for c in completer.candidates('"bell_')}
    assert got == {"bell_00": "in bell", "bell_01": "in bell"}


def test_code_from_osc_is_shown_as_if_typed(repl):
    repl.run_block('t1 $ "bell"\n  # gain 0.5')
    assert repl.said[0] == 'osc> t1 $ "bell"\n...    # gain 0.5'
    assert "t1" in repl.session.tracks


def test_a_string_spanning_lines_is_coloured_and_completed_as_a_string(repl):
    text = 't1 $ "bell ~\n  drone" # gain 1\nt2 $ "be'
    lex = repl.prompt.lexer.lex_document(Document(text))
    second = {t: style for style, t in lex(1) if t.strip()}
    assert second["drone"] == "class:sound" and second["gain"] == "class:control"
    assert second['"'] == "class:string"
    assert "bell" in completions(repl, text)
    assert "bell" not in completions(repl, 't1 $ "a" -- "be')


def test_load_completes_paths(repl, tmp_path, monkeypatch):
    (tmp_path / "piece.lc").write_text("hush\n")
    monkeypatch.chdir(tmp_path)
    doc = Document(":load pi", 8)
    found = list(repl.prompt.completer.get_completions(doc, CompleteEvent()))
    assert [c.display_text for c in found] == ["piece.lc"]


# -- typing into long text costs the audio little -------------------------------------------------


def test_redraws_are_spaced_by_what_the_last_one_cost(repl):
    app = repl.prompt.app
    slow = [0.03]
    app.before_render.add_handler(lambda _: time.sleep(slow[0]))  # a redraw that takes 30 ms
    app.before_render.fire()
    app.after_render.fire()
    assert app.min_redraw_interval >= 0.1  # drawing may take at most a fifth of the time
    slow[0] = 0.0
    app.before_render.fire()
    app.after_render.fire()
    assert app.min_redraw_interval < 0.05  # a short line redraws at once again


def test_a_string_opened_above_is_known_after_an_edit_above_it(repl):
    lexer = repl.prompt.lexer

    def line_styles(text: str, lineno: int) -> set[str]:
        return {style for style, part in lexer.lex_document(Document(text))(lineno)
                if part.strip()}

    page = "".join(f"-- line {i}\n" for i in range(300))
    assert "class:sound" in line_styles(page + 't1 $ "bell\nbell"', 301)  # inside the string
    # close the string on the line above: the lexer must not reuse what it knew of that line
    assert "class:sound" not in line_styles(page + 't1 $ "bell"\nbell"', 301)
    assert "class:sound" in line_styles(page + 't1 $ "bell\nbell"', 301)


def test_completion_at_the_end_of_a_pasted_page(repl):
    page = "".join(f'-- line {i}, t9 $ "bell*2"\n' for i in range(5000))
    assert "alpha" in completions(repl, page + 't1 $ "bell" # al')
    assert "bell" in completions(repl, page + 't1 $ "be')
    repl.session.eval('t1 $ "bell"')
    assert "t1" in completions(repl, page + "t")


# -- words typed alone out of habit ---------------------------------------------------------------


@pytest.mark.parametrize("word, said", [
    ("quit", "to leave, type :quit or press Ctrl-D"),
    ("exit", "to leave, type :quit or press Ctrl-D"),
    ("clear", "Ctrl-L clears the screen"),
    ("fast", 'fast is a function, not a statement: e.g. t1 $ fast 2 $ "a b"'),
    # its own example: along goes inside a control, not before a pattern
    ("along", 'along is a function, not a statement: e.g. t1 $ "bell*2" # alpha (along saw)'),
    ("alpha", "alpha is a control, not a statement"),
])
def test_a_word_typed_alone_is_answered_at_once_not_continued(repl, word, said):
    # before: Enter opened a continuation line and the next line was swallowed into it
    assert typed(repl, word + ENTER) == word  # Enter took it at once
    assert repl.handle(word) is True
    assert text_of(repl.said).startswith(said), repl.said
    assert repl.session.tracks == {}


def test_help_typed_alone_shows_help_and_a_track_name_alone_waits_for_more(repl):
    assert typed(repl, "help" + ENTER) == "help"
    repl.handle("help")
    assert ":help" in text_of(repl.said) and "functions" in text_of(repl.said).lower()
    assert typed(repl, "tempo" + ENTER) == "tempo"  # a keyword alone: its error shows at once
    assert typed(repl, "t1" + ENTER + '$ "bell"' + ENTER) == 't1\n$ "bell"'  # t1 $ ... goes on


def test_the_new_operators_colour_whole_and_controls_complete_after_them(repl):
    lexer = repl.prompt.lexer
    ops = [text for style, text in lexer.lex_document(Document('t1 $ "a" |** "2" |++| "b"'))(0)
           if style == "class:operator"]
    assert ops == ["$", "|**", "|++|"]
    assert "alpha" in completions(repl, 't1 $ "bell" |++ al')
    assert "alpha" in completions(repl, 't1 $ "bell" |**| al')


# -- continuation lines at the prompt ------------------------------------------------------------


def _gain_of(repl, track):
    events = repl.session.tracks[track].latest().query(0, 1)
    return {e.value.get("gain") if isinstance(e.value, dict) else None for e in events}


def test_a_line_starting_with_an_operator_continues_the_statement_that_ran(repl):
    first = typed(repl, 't1 $ "bell*2"' + ENTER)
    assert first == 't1 $ "bell*2"'  # Enter ran it: it was complete
    repl.handle(first)
    assert _gain_of(repl, "t1") == {None}
    line = typed(repl, "  # gain 0.5" + ENTER)
    assert line == "  # gain 0.5"  # Enter submits it: no continuation prompt
    repl.said.clear()
    repl.handle(line)
    assert repl.said == ['continuing: t1 $ "bell*2" # gain 0.5', "t1: new pattern"]
    assert _gain_of(repl, "t1") == {0.5}
    repl.handle("# pan 0.25")  # and again: the longer statement goes on
    assert repl.said[-2] == 'continuing: t1 $ "bell*2" # gain 0.5 # pan 0.25'
    assert {e.value["pan"] for e in repl.session.tracks["t1"].latest().query(0, 1)} == {0.25}


def test_a_continuation_continues_only_the_last_statement_and_never_after_an_error(repl):
    repl.handle('tempo 1\nt1 $ "bell"\nt2 $ "pad"')
    repl.handle("# gain 0.5")
    assert _gain_of(repl, "t2") == {0.5} and _gain_of(repl, "t1") == {None}
    repl.handle('t2 $ "nosuch"')
    repl.said.clear()
    repl.handle("# gain 0.25")  # the last statement failed: nothing to continue
    assert repl.said[0].startswith("error: line 1, column 1: unexpected '#'")
    assert _gain_of(repl, "t2") == {0.5}


def test_a_new_statement_is_not_taken_for_a_continuation(repl):
    repl.handle('t1 $ "bell"')
    repl.said.clear()
    repl.handle('t2 $ "pad"')
    assert repl.said == ["t2: new pattern"]
