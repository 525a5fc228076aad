"""The REPL: ``latentcode`` with no subcommand.

A prompt_toolkit loop on one :class:`~latentcode.session.Session`: the language coloured
(:mod:`latentcode.shell.lexer`), completed (:mod:`latentcode.shell.completer`), Enter decided by
the grammar (:mod:`latentcode.shell.keys`), a live toolbar (:mod:`latentcode.shell.toolbar`),
``:commands`` (:mod:`latentcode.shell.commands`), suggestions from a history file in the user's
data folder (``$LATENTCODE_HISTORY`` to put it elsewhere). Messages from the engine, the
scheduler and the OSC port are printed above the prompt without breaking the line being typed.
No error ends the REPL or stops the music; Ctrl-D (or ``:quit``) stops both cleanly. Each
accepted statement is confirmed in one line (:mod:`latentcode.shell.feedback`), and a line that
starts with an operator continues the statement that ran last
(:mod:`latentcode.shell.continuation`).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from latentcode.language.vocabulary import Vocabulary
from latentcode.shell.commands import Commands, is_command
from latentcode.shell.completer import LatentCompleter
from latentcode.shell.continuation import continued, last_statement
from latentcode.shell.frontends import Evaluator, printable
from latentcode.shell.habits import bare_word
from latentcode.shell.keys import grammar_is_complete, repl_bindings
from latentcode.shell.lexer import STYLE, LatentLexer
from latentcode.shell.listings import one_line
from latentcode.shell.pacing import pace_redraws
from latentcode.shell.toolbar import status

PROMPT = "lc> "
CONTINUATION = "... "
REFRESH = 0.25  # s between toolbar redraws
SHOWN = 80  # characters of a continued statement shown


def history_path() -> Path:
    """Where the REPL keeps its history: ``$LATENTCODE_HISTORY`` or the user's data folder."""
    explicit = os.environ.get("LATENTCODE_HISTORY")
    if explicit:
        return Path(explicit).expanduser()
    from latentcode.resources import user_data_dir

    return user_data_dir() / "history"


def open_history(path: Path | None) -> History:
    """A file history, or one in memory when the file cannot be written (said once)."""
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return FileHistory(str(path))
    except OSError as e:
        print(f"history not saved ({path}: {e.strerror})")
        return InMemoryHistory()


class Repl:
    """The read-eval-print loop over ``session``; :meth:`handle` is the logic, testable alone."""

    def __init__(
        self,
        session: Any,
        *,
        audio: str = "none",
        history: History | None = None,
        color: bool | None = None,
        osc_files: bool = False,
        **prompt_options: Any,
    ) -> None:
        self.session = session
        self.audio = audio
        self.color = sys.stdout.isatty() if color is None else color
        self.evaluator = Evaluator(session, self.say)
        self.vocabulary = Vocabulary.of_language()
        self.commands = Commands(session, self.evaluator, self.say, remote_files=osc_files)
        self.last_statement: str | None = None  # what a line starting with '#' continues
        self.prompt = PromptSession(
            PROMPT,
            lexer=LatentLexer(sounds=self._sound_names, tracks=self._track_names),
            completer=LatentCompleter(tracks=self._track_names, sounds=session.bank.groups,
                                      names=lambda: list(getattr(session, "env", {}))),
            complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(),
            history=history if history is not None else InMemoryHistory(),
            key_bindings=repl_bindings(grammar_is_complete, self._now),
            multiline=True,
            prompt_continuation=lambda width, line, wrap: CONTINUATION.rjust(width),
            bottom_toolbar=self.toolbar,
            refresh_interval=REFRESH,
            style=STYLE,
            include_default_pygments_style=False,
            **prompt_options,
        )
        pace_redraws(self.prompt.app)  # a long line's redraws must not starve the audio

    def _track_names(self) -> list[str]:
        return list(self.session.tracks)

    def _sound_names(self) -> list[str]:
        return self.session.bank.names()

    def toolbar(self) -> list[tuple[str, str]]:
        try:
            return status(self.session, audio=self.audio, recording=self.commands.recording)
        except Exception as e:  # noqa: BLE001 - a toolbar must never break the prompt
            return [("", f" toolbar: {type(e).__name__}")]

    def say(self, message: str) -> None:
        """Print a message above the prompt (errors in red on a terminal); control characters
        in it (from an OSC packet, a file) are shown escaped, never sent to the terminal."""
        message = printable(message)
        if self.color and message.startswith("error"):
            message = f"\x1b[31m{message}\x1b[0m"
        sys.stdout.write(f"{message}\n")
        sys.stdout.flush()

    def _answer(self, text: str) -> str | None:
        return bare_word(text, self.vocabulary)

    def _now(self, text: str) -> bool | None:
        """Whether Enter takes ``text`` at once although the grammar would wait for more: a
        lone word answered here, or a lone keyword (``tempo``), whose error then shows."""
        return (self._answer(text) is not None
                or self.vocabulary.kind(text.strip()) == "keyword") or None

    def handle(self, text: str) -> bool:
        """Act on one accepted input: a command or code (a line such as ``# gain 0.5``
        continues the statement that ran last). False means quit."""
        if not text.strip():
            return True
        if is_command(text):
            return self.commands.run(text)
        answer = self._answer(text)
        if answer == ":help":
            return self.commands.run(":help")
        if answer is not None:
            self.say(answer)
            return True
        whole = continued(self.last_statement, text)
        if whole is not None:  # "# gain 0.5" after a statement ran: that statement, longer
            self.say(f"continuing: {one_line(whole)[:SHOWN]}")
            text = whole
        self.last_statement = last_statement(text) if self.evaluator.run(text) else None
        return True

    def run_block(self, text: str) -> bool:
        """What the OSC port calls: like typing ``text`` at the prompt, shown as typed, except
        that what touches files is refused without ``--osc-files``."""
        lines = text.strip().splitlines() or [""]
        self.say("\n".join([f"osc> {lines[0]}", *(f"...  {line}" for line in lines[1:])]))
        refusal = self.commands.remote_refusal(text)
        if refusal is not None:
            self.say(refusal)
            return True
        return self.handle(text)

    def loop(self) -> None:
        """Prompt until Ctrl-D or :quit. Ctrl-C clears the line; nothing else ends it."""
        with patch_stdout(raw=True):
            while True:
                try:
                    text = self.prompt.prompt()
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                try:
                    if not self.handle(text):
                        break
                except KeyboardInterrupt:
                    self.say("interrupted")


def banner(session: Any, audio: str) -> str:
    """The one line printed before the first prompt."""
    bank = session.bank
    groups = bank.shown_groups() if hasattr(bank, "shown_groups") else bank.groups()
    sounds = len({s for members in bank.groups().values() for s in members})
    where = {"none": "none (silent, keeping time)", "off": "off"}.get(audio, audio)
    return (f"latentcode: {sounds} sounds in {len(groups)} groups, audio: {where}. "
            f":help lists everything; Ctrl-D quits.")


def warm_up() -> None:
    """Build the parsers now, so the first line typed is evaluated as fast as the next ones."""
    try:
        from latentcode import language

        language.is_complete("hush")
        for st in language.parse('t1 $ fast 2 "a b"'):
            language.evaluate(st.expr, {})
    except Exception:  # noqa: BLE001 - only a head start; the real evaluation reports errors
        pass


def run(args: argparse.Namespace) -> int:
    """Start the REPL with the options of the command line."""
    from latentcode.shell.frontends import Terminated, start_session, stop_on_sigterm

    threading.Thread(target=warm_up, name="latentcode-warm-up", daemon=True).start()
    session = start_session(args)
    repl = Repl(session, audio=args.audio_used, history=open_history(history_path()),
                osc_files=getattr(args, "osc_files", False))
    osc = None
    # SIGTERM or SIGHUP (the terminal closed) end the REPL as Ctrl-D does: a recording is
    # finished and named, the engine closed in its safe order. Not KeyboardInterrupt, which
    # the prompt takes as "clear the line".
    stop_on_sigterm(Terminated)
    how = "bye"
    try:
        if getattr(args, "osc", None) is not None:
            from latentcode.shell.osc import OscServer, osc_files_line

            osc = OscServer(args.osc, repl.run_block, repl.say).start()
            print(f"listening for OSC /eval on 127.0.0.1:{osc.port}")
            print(osc_files_line(repl.commands.remote_files))
        print(banner(session, args.audio_used))
        repl.loop()
    except Terminated as e:
        how = f"stopped by {e}"
    finally:
        # each step on its own: a terminal gone (SIGHUP) must not keep the take unfinished
        for step in (osc.close if osc is not None else None, repl.commands.close, session.stop):
            if step is None:
                continue
            try:
                step()
            except Exception:  # noqa: BLE001 - the next steps must run whatever happens
                pass
    try:
        print(how)
    except OSError:  # the terminal went away
        pass
    return 0
