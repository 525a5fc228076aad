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

import math
import os
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.language.vocabulary import Vocabulary
from latentcode.patterns.controllers import CONTROLLERS, describe
from latentcode.shell import listings, sampling, stage
from latentcode.shell.blocks import as_one_block
from latentcode.shell.connections import open_midi
from latentcode.shell.frontends import Evaluator, Say, printable, read_text
from latentcode.shell.takes import Take, finish, start_stems, stems_folder

WIDTH = 96
LEARN_SECONDS = 20.0  # :learn waits this long for a controller to move


def is_command(text: str) -> bool:
    """Whether a block is a ``:command`` rather than code.

    >>> is_command(":help fast"), is_command('t1 $ "a:3"')
    (True, False)
    """
    return text.lstrip().startswith(":")


class Commands:
    """Runs ``:command`` lines on a session; ``run`` returns False for ``:quit``."""

    def __init__(self, session: Any, evaluator: Evaluator, say: Say,
                 vocabulary: Vocabulary | None = None, *, remote_files: bool = False) -> None:
        self.session = session
        self.evaluator = evaluator
        self.say = say
        self._vocabulary = vocabulary
        self.remote_files = remote_files  # --osc-files: the port may touch files too
        self.last_loaded: Path | None = None
        self.recording: Take | None = None  # the take under way

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
            self.say(f"error: no command {printable(name)[:40]}: the commands are "
                     f"{', '.join(NAMES)}")
            return True
        try:
            with self.evaluator.lock:
                return command.handler(self, arg.strip()) is not False
        except Exception as e:  # noqa: BLE001 - a command must never end the performance
            self.say(f"error: {name}: {e}")
            return True

    def remote_refusal(self, block: str) -> str | None:
        """Why ``block`` (code or a command from the OSC port) is refused, or None.

        Without ``--osc-files`` the port may play code but not make latentcode read or write
        files: no file commands, no ``bank "FOLDER"`` statement.

        >>> from latentcode.shell.frontends import Evaluator
        >>> Commands(None, Evaluator(None, print), print).remote_refusal(":record x.wav")
        'error: :record is refused over OSC: it touches files (start latentcode with --osc-files...'
        """
        if self.remote_files:
            return None
        if is_command(block):
            command = find(block.strip().partition(" ")[0])
            if command is not None and command.files:
                return (f"error: {command.name} is refused over OSC: it touches files (start "
                        "latentcode with --osc-files to allow it)")
            return None
        from latentcode import language

        try:
            statements = language.parse(block)
        except Exception:  # noqa: BLE001 - evaluating it will report the error
            return None
        if any(isinstance(st, language.Bank) for st in statements):
            return ("error: bank is refused over OSC: it reads a folder (start latentcode "
                    "with --osc-files to allow it)")
        return None

    def close(self) -> None:
        """Finish a recording still running (quitting, or SIGTERM/SIGHUP): the take is kept."""
        if self.recording is not None:
            self._finish_recording()

    # -- the commands -------------------------------------------------------------------------
    def help(self, arg: str) -> None:
        """``:help`` lists everything; ``:help NAME`` explains one word or command."""
        v = self.vocabulary
        if not arg:
            columns = min(WIDTH, listings.width())
            self.say("\n".join([
                listings.wrap("statements", v.names("keyword"), columns),
                listings.wrap("functions", v.names("function"), columns),
                listings.wrap("signals", v.names("signal"), columns),
                listings.wrap("controls (after #)", v.names("control"), columns),
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
        # only pieces: an error quotes the offending line, and the line of any other file
        # (:load /etc/shadow) must never reach the screen
        if path.suffix != ".lc":
            self.say(f"error: :load reads pieces (.lc files), and {printable(str(path))!r} "
                     "is not one")
            return
        try:
            text = read_text(path)
        except LatentcodeError as e:
            self.say(f"error: {e}")
            return
        except (OSError, UnicodeDecodeError) as e:
            self.say(f"error: cannot read {str(path)!r}: {getattr(e, 'strerror', None) or e}")
            return
        if self.evaluator.run(as_one_block(text), path.parent, file=str(path)):
            self.say(f"loaded {path}")

    def tracks(self, arg: str) -> None:
        """``:tracks``: each track with its state and what it plays, as wide as the terminal."""
        if not self.session.tracks:
            self.say("no track plays yet")
            return
        self.say("\n".join(listings.track_lines(self.session, self.evaluator.sources,
                                                 listings.width())))

    def bank(self, arg: str) -> None:
        """``:bank``: the groups of the bank with their sounds (``:bank GROUP`` for one)."""
        self.say("\n".join(listings.bank_lines(self.session.bank, arg, listings.width())))

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
                ms = math.nan
            if not math.isfinite(ms):
                self.say(f"error: :latency takes milliseconds, e.g. :latency 50 "
                         f"(not {printable(arg)[:40]!r})")
                return
            samples, floor = round(ms * sr / 1000), engine.lookahead_floor
            if samples < floor:  # less would gap the audio as the producer runs now
                samples = floor
                self.say(f"the slowest block lately took {engine.worst_fill * 1000:.0f} ms: "
                         f"decoding less than {floor * 1000 / sr:.0f} ms ahead would gap")
            engine.set_lookahead(samples)
        self.say(f"latency {engine.latency * 1000:.0f} ms "
                 f"(decoding {engine.lookahead * 1000 / sr:.0f} ms ahead; at least "
                 f"{engine.lookahead_floor * 1000 / sr:.0f} ms as it runs now)")

    def record(self, arg: str) -> None:
        """``:record FILE`` records what is heard to a WAV file until ``:stop``;
        ``:record FOLDER/`` records stems (with ``--outputs tracks``; see
        :mod:`latentcode.shell.takes`).

        An existing take is never replaced: ``take.wav`` becomes ``take-2.wav`` (``-3`` …) and
        the line says so; ``:record FILE force`` replaces it. The take is written to a hidden
        file beside it and gets its name at ``:stop``, so a file under that name is always a
        finished recording.
        """
        engine = self._engine()
        if engine is None:
            return
        words = shlex.split(arg)
        if not words or len(words) > 2 or words[1:] not in ([], ["force"]):
            self.say("error: :record needs a file name, e.g. :record take1.wav "
                     "(:record take1.wav force replaces an existing file; :record FOLDER/ "
                     "records stems)")
            return
        force = words[1:] == ["force"]
        folder = stems_folder(words[0])
        if folder is not None:
            if self.recording is not None:
                self._finish_recording()
            try:
                self.recording = start_stems(engine, folder, force)
            except LatentcodeError as e:
                self.say(f"error: {e}")
                return
            self.say(f"recording to {self.recording.describe()} (:stop to finish)")
            return
        path = Path(words[0]).expanduser().with_suffix(".wav")
        folder = path.parent
        if not folder.is_dir():
            self.say(f"error: cannot record to {str(path)!r}: there is no folder {str(folder)!r}")
            return
        if not os.access(folder, os.W_OK | os.X_OK):
            self.say(f"error: cannot record to {str(path)!r}: the folder is not writable")
            return
        if self.recording is not None:
            self._finish_recording()  # one take at a time: the last one is kept
        wanted, path = path, path if force else free_name(path)
        partial = path.with_name(f".{path.stem}.recording.wav")
        partial.unlink(missing_ok=True)
        engine.record(partial)
        if not partial.is_file():  # pyo only prints when it cannot open the file
            engine.stop_record()
            self.say(f"error: cannot record to {str(path)!r}: the file could not be opened")
            return
        # with per-track outputs the take holds them all, and :stop keeps the master's pair
        split = getattr(engine, "outputs", "master") == "tracks"
        self.recording = Take(path, partial, stems=False,
                              channels=engine.channels if split else 2)
        note = f" ({wanted.name} exists; :record {wanted.name} force replaces it)" \
            if path != wanted else ""
        self.say(f"recording to {path}{note} (:stop to finish)")

    def stop(self, arg: str) -> None:
        """``:stop`` finishes the recording."""
        if self.recording is None or self.session.engine is None:
            self.say("not recording")
            return
        self._finish_recording()

    def _finish_recording(self) -> None:
        """Close the take (pyo writes the WAV header then), then give it its name."""
        take, self.recording = self.recording, None
        engine = self.session.engine
        if engine is not None:
            engine.stop_record()
        if take is not None:
            finish(take, self.session, self.say, _duration)

    def send(self, arg: str) -> None:
        """``:send osc [HOST:]PORT [bundle|heard]``, ``:send midi [JACK-PORT]``, ``:send off``:
        where the events that start voices go (docs/events-out.md); ``:send`` shows it."""
        self.say(self.session.events_out.command(arg))

    def midi(self, arg: str) -> None:
        """``:midi`` lists the MIDI input, what feeds it and what each controller last sent;
        ``:midi on`` opens it; ``:midi connect PORT`` connects a source (a name or a glob such
        as ``a2j:*``), opening the input first if needed."""
        midi = getattr(self.session, "midi", None)
        why = getattr(self.session, "midi_why", "MIDI input is off")
        verb, _, rest = arg.partition(" ")
        if verb == "on" and not rest.strip():
            if midi is None:
                open_midi(self.session, "auto", None, self.say)
            else:
                self.say(f"MIDI in: {midi.name} is already open")
            return
        if verb == "connect":
            if midi is None and rest.strip():
                open_midi(self.session, "auto", None, self.say)
                midi = getattr(self.session, "midi", None)
            if midi is None:
                self.say(f"error: no MIDI input to connect to: {why}")
            elif not rest.strip():
                self.say("error: :midi connect needs a port, e.g. :midi connect 'a2j:*'")
            else:
                names = midi.connect(rest.strip().strip("'\""))
                self.say(f"MIDI in: connected {', '.join(names)}")
            return
        if arg:
            self.say("error: :midi lists the MIDI input; :midi on opens it; :midi connect PORT "
                     "connects a source")
            return
        lines = midi.describe() if midi is not None else [f"no MIDI input: {why}"]
        self.say("\n".join([*lines, *controller_lines()]))

    def learn(self, arg: str) -> None:
        """``:learn``: move a knob (or send ``/ctrl``) and its name in the language is shown."""
        store, moves = CONTROLLERS, CONTROLLERS.moves
        midi = getattr(self.session, "midi", None)
        hint = "" if midi is not None else (
            f" (no MIDI input: {getattr(self.session, 'midi_why', 'off')}; OSC /ctrl counts)")
        self.say(f"learning: move a controller within {LEARN_SECONDS:g} s{hint}")

        def wait() -> None:
            deadline = time.monotonic() + LEARN_SECONDS
            while time.monotonic() < deadline:
                last = store.last
                if store.moves != moves and last is not None:
                    key = last[0]
                    if key[0] == "cc":
                        self.say(f"learned: cc {key[2]} (channel {key[1]}): write cc {key[2]}, "
                                 f"or {describe(key)} for this channel only")
                    else:
                        self.say(f"learned: {describe(key)}")
                    return
                time.sleep(0.05)
            self.say(f"learn: nothing moved in {LEARN_SECONDS:g} s")

        threading.Thread(target=wait, name="latentcode-learn", daemon=True).start()

    def quit(self, arg: str) -> bool:
        """``:quit`` stops the music and leaves."""
        return False

    def _engine(self) -> Any:
        engine = self.session.engine
        if engine is None:
            self.say("error: no audio engine is running (no audio device was found)")
        return engine


def controller_lines(limit: int = 24) -> list[str]:
    """What each controller and note last sent, for ``:midi``.

    >>> controller_lines()
    ['no controller has moved yet']
    """
    sent = {k: v for k, v in CONTROLLERS.sent.items() if not (k[0] == "cc" and k[1] == 0)}
    notes = dict(CONTROLLERS.notes_seen)
    if not sent and not notes:
        return ["no controller has moved yet"]
    lines = [f"  {describe(k):<16} {v:.4g}" for k, v in sorted(sent.items(), key=str)[:limit]]
    if len(sent) > limit:
        lines.append(f"  ... and {len(sent) - limit} more")
    if notes:
        held = ", ".join(f"{n} (channel {c}) {'velocity ' + str(v) if v else 'off'}"
                         for (c, n), v in sorted(notes.items())[:limit])
        lines.append(f"  notes: {held}")
    return ["controllers (as written in the language, last value):", *lines]


def free_name(path: Path) -> Path:
    """``path``, or the first of ``NAME-2.wav``, ``NAME-3.wav`` … that does not exist.

    >>> free_name(Path("/no/such/folder/take.wav"))
    PosixPath('/no/such/folder/take.wav')
    """
    n = 2
    found = path
    while found.exists():
        found = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return found


def _duration(path: Path) -> str:
    """`` (12.3 s)``: how long a written WAV lasts, or '' when it cannot be read."""
    try:
        import soundfile

        return f" ({soundfile.info(str(path)).duration:.1f} s)"
    except Exception:  # noqa: BLE001 - only a detail of the message
        return ""


@dataclass(frozen=True)
class Command:
    """One ``:command``: how it is written, what it takes and does, and what runs it."""

    name: str
    args: str  # as shown in help: FILE, [NAME] (optional), or "" for none
    what: str
    handler: Callable[[Commands, str], bool | None]
    aliases: tuple[str, ...] = ()
    files: bool = False  # reads or writes files: refused over OSC without --osc-files

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
    Command(":load", "FILE", "evaluate a piece (.lc file), all or nothing", Commands.load,
            (":l",), files=True),
    Command(":reload", "", "evaluate the last loaded file again (the clock keeps running)",
            Commands.reload, (":r",), files=True),
    Command(":tracks", "", "the tracks, what they play, muted and soloed", Commands.tracks),
    Command(":bank", "[GROUP]", "the sounds of the bank and their groups", Commands.bank),
    Command(":latency", "[MS]", "show or set how far ahead audio is decoded, live",
            Commands.latency),
    Command(":record", "FILE", "record the output to a WAV file (FILE force replaces one)",
            Commands.record, files=True),
    Command(":stop", "", "stop recording", Commands.stop),
    Command(":send", "[osc|midi|off ..]", "send events out: osc [HOST:]PORT [heard], midi "
            "[JACK-PORT], off", Commands.send),
    Command(":midi", "[on|connect PORT]", "the MIDI input, its sources and what each "
            "controller last sent; open it; connect a source", Commands.midi),
    Command(":learn", "", "move a knob: shows how to write it (cc 21 ...)", Commands.learn),
    Command(":link", "[on [QUANTUM]|off]", "share tempo and phase with others over Ableton "
            "Link", stage.link),
    Command(":tap", "", "type on the beat a few times: the tempo follows", stage.tap),
    Command(":input", "", "the audio input (`in`): its level and how late it is heard",
            sampling.show_input),
    Command(":sample", "NAME CYCLES|save DIR", "record the input from the next cycle into the "
            "bank as NAME; save: copy the samples into DIR", sampling.sample, files=True),
    Command(":quit", "", "stop the music and leave (also Ctrl-D)", Commands.quit,
            (":q", ":exit")),
)
NAMES = [command.name for command in COMMANDS]  # the canonical names, in table order
_BY_NAME = {n: command for command in COMMANDS for n in (command.name, *command.aliases)}


def find(name: str) -> Command | None:
    """The command written ``name`` (its name or an alias), or None."""
    return _BY_NAME.get(name)
