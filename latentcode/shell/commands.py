"""The REPL's ``:commands`` (also accepted from ``--pipe`` and the OSC port), and their table.

:data:`COMMANDS` is the one list of them: name, other spellings, arguments, what it does, and
the method that runs it. ``:help`` and completion (:mod:`latentcode.shell.completer`) read it.

>>> from latentcode.shell.frontends import Evaluator
>>> class S:
...     tracks, muted, soloed, engine = {}, set(), set(), None
>>> Commands(S(), Evaluator(S(), print), print).run(":tracks")
no track plays yet
True
>>> find(":l").name, find(":dance")
(':load', None)
"""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentcode.language.vocabulary import Vocabulary
from latentcode.shell.blocks import as_one_block
from latentcode.shell.frontends import Evaluator, Say

WIDTH = 96


def is_command(text: str) -> bool:
    """Whether a block is a ``:command`` rather than code.

    >>> is_command(":help fast"), is_command('t1 $ "a:3"')
    (True, False)
    """
    return text.lstrip().startswith(":")


def _wrap(title: str, names: list[str]) -> str:
    body = textwrap.fill(" ".join(names), WIDTH - 4, initial_indent="  ", subsequent_indent="  ")
    return f"{title}:\n{body}"


class Commands:
    """Runs ``:command`` lines on a session; ``run`` returns False for ``:quit``."""

    def __init__(self, session: Any, evaluator: Evaluator, say: Say,
                 vocabulary: Vocabulary | None = None) -> None:
        self.session = session
        self.evaluator = evaluator
        self.say = say
        self._vocabulary = vocabulary
        self.last_loaded: Path | None = None
        self.recording: Path | None = None

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = Vocabulary.of_language()
        return self._vocabulary

    def run(self, line: str) -> bool:
        """Run one command line; False when the REPL should quit. Never raises."""
        name, _, arg = line.strip().partition(" ")
        command = find(name)
        if command is None:
            self.say(f"error: no command {name}: the commands are {', '.join(NAMES)}")
            return True
        try:
            with self.evaluator.lock:
                return command.handler(self, arg.strip()) is not False
        except Exception as e:  # noqa: BLE001 - a command must never end the performance
            self.say(f"error: {name}: {e}")
            return True

    # -- the commands -------------------------------------------------------------------------
    def help(self, arg: str) -> None:
        """``:help`` lists everything; ``:help NAME`` explains one word or command."""
        v = self.vocabulary
        if not arg:
            self.say("\n".join([
                _wrap("statements", v.names("keyword")),
                _wrap("functions", v.names("function")),
                _wrap("signals", v.names("signal")),
                _wrap("controls (after #)", v.names("control")),
                "commands:", *(f"  {command.help}" for command in COMMANDS),
                "keys: Enter evaluates a complete statement, Alt-Enter adds a line, Ctrl-C "
                "clears the line, Ctrl-D quits. :help NAME explains NAME.",
            ]))
            return
        name = arg
        # a word of the language wins over the command of the same name: `:help stop` is
        # the word, `:help :stop` the command
        if name.startswith(":") or (v.help(name) is None and f":{name}" in NAMES):
            command = find(name if name.startswith(":") else f":{name}")
            if command is not None:
                self.say(command.help)
                return
        text = v.help(name)
        if text is None:
            import difflib

            close = difflib.get_close_matches(name, [*v.names(), *NAMES], n=3)
            hint = f": did you mean {', '.join(close)}?" if close else ": :help lists everything"
            self.say(f"error: no function, control or command {name!r}{hint}")
            return
        self.say(text)

    def load(self, arg: str) -> None:
        """``:load FILE`` evaluates a whole file, all or nothing."""
        if not arg:
            self.say("error: :load needs a file, e.g. :load examples/first.lc")
            return
        path = Path(shlex.split(arg)[0]).expanduser()
        self.last_loaded = path
        self._evaluate_file(path)

    def reload(self, arg: str) -> None:
        """``:reload`` evaluates the last loaded file again; the clock keeps running."""
        if self.last_loaded is None:
            self.say("error: nothing loaded yet: :load FILE first")
            return
        self._evaluate_file(self.last_loaded)

    def _evaluate_file(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            self.say(f"error: cannot read {str(path)!r}: {getattr(e, 'strerror', None) or e}")
            return
        if self.evaluator.run(as_one_block(text), path.parent):
            self.say(f"loaded {path}")

    def tracks(self, arg: str) -> None:
        """``:tracks``: each track with its state and what it plays."""
        s = self.session
        if not s.tracks:
            self.say("no track plays yet")
            return
        lines = []
        for name, track in s.tracks.items():
            pattern = track.latest() if hasattr(track, "latest") else track.pattern
            state = "silent" if pattern is None else "playing"
            if name in s.muted:
                state += ", muted"
            if name in s.soloed:
                state += ", soloed"
            source = self.evaluator.sources.get(name, "") if pattern is not None else ""
            lines.append(f"  {name:<8} {state:<18} {str(source)[:60]}".rstrip())
        self.say("\n".join(lines))

    def bank(self, arg: str) -> None:
        """``:bank``: the groups of the bank with their sounds (``:bank GROUP`` for one)."""
        groups = self.session.bank.groups()
        if arg:
            members = groups.get(arg)
            if members is None:
                self.say(f"error: no group {arg!r}: the groups are {', '.join(groups)}")
                return
            self.say(_wrap(f"{arg} ({len(members)} sounds; {arg}:0 .. {arg}:{len(members) - 1})",
                           members))
            return
        lines = []
        for group, members in groups.items():
            shown = " ".join(members[:4]) + (" ..." if len(members) > 4 else "")
            lines.append(f"  {group:<14} {len(members):>4}  {shown}")
        lines.append("  also: cluster:N (clusters of the bank's frames), prior:N (the prior)")
        self.say(f"{len(groups)} groups (write GROUP or GROUP:N; :bank GROUP lists one):\n"
                 + "\n".join(lines))

    def latency(self, arg: str) -> None:
        """``:latency`` shows, ``:latency MS`` sets how far ahead the producer decodes."""
        engine = self._engine()
        if engine is None:
            return
        sr = engine.sample_rate
        if arg:
            try:
                ms = float(arg.removesuffix("ms"))
            except ValueError:
                self.say(f"error: :latency takes milliseconds, e.g. :latency 50 (not {arg!r})")
                return
            engine.set_lookahead(round(ms * sr / 1000))
        self.say(f"latency {engine.latency * 1000:.0f} ms "
                 f"(decoding {engine.lookahead * 1000 / sr:.0f} ms ahead)")

    def record(self, arg: str) -> None:
        """``:record FILE`` records what is heard to a WAV file until ``:stop``."""
        engine = self._engine()
        if engine is None:
            return
        if not arg:
            self.say("error: :record needs a file name, e.g. :record take1.wav")
            return
        path = Path(shlex.split(arg)[0]).expanduser().with_suffix(".wav")
        engine.record(path)
        self.recording = path
        self.say(f"recording to {path} (:stop to finish)")

    def stop(self, arg: str) -> None:
        """``:stop`` finishes the recording."""
        engine = self.session.engine
        if self.recording is None or engine is None:
            self.say("not recording")
            return
        engine.stop_record()
        self.say(f"wrote {self.recording}")
        self.recording = None

    def quit(self, arg: str) -> bool:
        """``:quit`` stops the music and leaves."""
        return False

    def _engine(self) -> Any:
        engine = self.session.engine
        if engine is None:
            self.say("error: no audio engine is running (no audio device was found)")
        return engine


@dataclass(frozen=True)
class Command:
    """One ``:command``: how it is written, what it takes and does, and what runs it."""

    name: str
    args: str  # as shown in help: FILE, [NAME] (optional), or "" for none
    what: str
    handler: Callable[[Commands, str], bool | None]
    aliases: tuple[str, ...] = ()

    @property
    def help(self) -> str:
        """The line ``:help`` shows, e.g. ``:load FILE        evaluate a file (all or nothing)``."""
        return f"{(self.name + ' ' + self.args).strip():<16} {self.what}"

    @property
    def takes_file(self) -> bool:
        return self.args.strip("[]") == "FILE"


COMMANDS: tuple[Command, ...] = (
    Command(":help", "[NAME]", "list everything, or explain one function, control or command",
            Commands.help, (":h", ":?")),
    Command(":load", "FILE", "evaluate a file (all or nothing)", Commands.load, (":l",)),
    Command(":reload", "", "evaluate the last loaded file again (the clock keeps running)",
            Commands.reload, (":r",)),
    Command(":tracks", "", "the tracks, what they play, muted and soloed", Commands.tracks),
    Command(":bank", "[GROUP]", "the sounds of the bank and their groups", Commands.bank),
    Command(":latency", "[MS]", "show or set how far ahead audio is decoded, live",
            Commands.latency),
    Command(":record", "FILE", "record the output to a WAV file", Commands.record),
    Command(":stop", "", "stop recording", Commands.stop),
    Command(":quit", "", "stop the music and leave (also Ctrl-D)", Commands.quit,
            (":q", ":exit")),
)
NAMES = [command.name for command in COMMANDS]  # the canonical names, in table order
_BY_NAME = {n: command for command in COMMANDS for n in (command.name, *command.aliases)}


def find(name: str) -> Command | None:
    """The command written ``name`` (its name or an alias), or None."""
    return _BY_NAME.get(name)
