"""Front ends on one Session: ``latentcode run``, ``latentcode watch`` and what they share.

``run`` evaluates the piece and plays until Ctrl-C (or ``--duration``). ``watch`` does the same,
then re-evaluates the blocks that changed every time the file is saved, so any editor becomes a
live-coding editor. Blocks are separated by blank lines (or a line holding only ``;;``), as in
Tidal (:mod:`latentcode.shell.blocks`); an error in one block is printed in one line and changes
nothing, and the music goes on.

The REPL (:mod:`latentcode.shell.repl`), ``--pipe`` (:mod:`latentcode.shell.pipe`) and the OSC port
(:mod:`latentcode.shell.osc`) start their session with :func:`start_session` and evaluate through an
:class:`Evaluator`, so every front end reports errors the same way.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentcode.audio.backends import LIVE_BACKENDS
from latentcode.errors import LanguageError, LatentcodeError
from latentcode.shell.blocks import blocks

Say = Callable[[str], None]


def say(message: str) -> None:
    """Print one message, its newline in the same write: a Ctrl-C or SIGTERM arriving in the
    middle can never glue the next message onto it."""
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def add_audio_options(parser: argparse.ArgumentParser) -> None:
    """The flags every live front end shares."""
    parser.add_argument("--audio", choices=LIVE_BACKENDS, default="jack",
                        help="audio backend (default jack, falling back to none when no "
                             "server or device is found; none: no output, keeps time)")
    parser.add_argument("--device", type=int, default=None, help="PortAudio output device")
    parser.add_argument("--buffer", type=int, default=256, help="audio buffer size in samples")
    parser.add_argument("--model", help="a checkpoint instead of the default model")


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("piece", help="a latentcode file (.lc)")
    add_audio_options(parser)
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: until Ctrl-C)")
    parser.set_defaults(watching=name == "watch")


def describe_error(error: BaseException) -> str:
    """What a front end prints for an error: a caret under language errors, else one line.

    >>> describe_error(LatentcodeError("no track 't9'"))
    "error: no track 't9'"
    """
    if isinstance(error, LanguageError):
        return "error: " + error.pretty()
    if isinstance(error, LatentcodeError):
        return f"error: {error}"
    return f"error: {type(error).__name__}: {error}"


class Evaluator:
    """Evaluates code from any number of front ends (REPL, OSC thread) on one session.

    One block at a time (a lock), and a failure is told through ``say``, never raised:

    >>> class S:
    ...     def eval(self, text): raise LatentcodeError("no track 't9'")
    >>> Evaluator(S(), print).run("mute t9")
    error: no track 't9'
    False
    """

    def __init__(self, session: Any, say: Say) -> None:
        self.session = session
        self.say = say
        self.lock = threading.RLock()
        self.sources: dict[str, str] = {}  # track -> the code it last got, for :tracks

    def run(self, text: str, base: Path | None = None) -> bool:
        """Evaluate ``text``; True when it was accepted, False (and a message) when not.

        ``base`` is the folder of the file the text comes from: relative paths start there.
        """
        if not text.strip():
            return True
        with self.lock:
            try:
                self.session.eval(text) if base is None else self.session.eval(text, base=base)
            except Exception as e:  # noqa: BLE001 - the music goes on whatever the code did
                self.say(describe_error(e))
                return False
            self._remember(text)
            return True

    def _remember(self, text: str) -> None:
        """Note which code each track got (first line of its statement)."""
        try:
            from latentcode import language

            statements = language.parse(text)
        except Exception:  # noqa: BLE001 - only for display; eval already accepted the text
            return
        lines = text.splitlines()
        for st in statements:
            track, line = getattr(st, "track", None), getattr(st, "line", 0)
            if track and hasattr(st, "expr") and 0 < line <= len(lines):
                self.sources[track] = lines[line - 1].strip()


class Watcher:
    """Evaluates the blocks of a file that changed since the last look."""

    def __init__(self, session: Any, path: Path, say: Say = print) -> None:
        self.evaluator = session if isinstance(session, Evaluator) else Evaluator(session, say)
        self.session = self.evaluator.session
        self.path = path
        self.say = say
        self.seen: set[str] = set()
        self.mtime: float | None = None

    def poll(self) -> int:
        """Look at the file; evaluate new or changed blocks. Returns how many were evaluated."""
        try:
            mtime = self.path.stat().st_mtime_ns
            if mtime == self.mtime:
                return 0
            self.mtime = mtime
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            self.say(f"cannot read {self.path}: {e}")
            return 0
        done = 0
        current = blocks(text)
        for block in current:
            if block in self.seen:
                continue
            if self.evaluator.run(block, self.path.parent):
                done += 1
                self.say(f"evaluated: {block.splitlines()[0][:60]}")
        self.seen = set(current)
        return done


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Let SIGTERM (how editors stop the programs they started) end like Ctrl-C: cleanly,
    closing the audio engine in its safe order."""
    signal.signal(signal.SIGTERM, _interrupt)


def start_audio(session: Any, backend: str, *, buffer: int = 256, device: int | None = None,
                say: Say = print) -> str:
    """Start ``session`` on ``backend``, falling back to ``none``; returns the backend used.

    When even ``none`` cannot start, the session stays silent but still evaluates code, and
    ``say`` tells why in one line: a front end always starts. The engine's own messages reach
    the session's ``report`` (Session.start wires them).
    """
    try:
        session.start(backend, buffersize=buffer, device=device)
        return backend
    except (LatentcodeError, OSError) as e:
        reason = str(e)
    if backend != "none":
        try:
            session.start("none", buffersize=buffer)
            say(f"no audio output ({reason}); playing silently (--audio none)")
            return "none"
        except (LatentcodeError, OSError) as e:
            reason = f"{reason}; none: {e}"
    say(f"no audio at all ({reason}); patterns are checked but not played")
    return "off"


def start_session(args: argparse.Namespace, say: Say = say) -> Any:
    """A Session on the chosen model, playing through the chosen backend (see start_audio)."""
    from latentcode.session import Session

    session = Session(getattr(args, "model", None), report=say)
    args.audio_used = start_audio(session, args.audio, buffer=args.buffer, device=args.device,
                                  say=say)
    return session


def list_devices(say: Say = say) -> int:
    """Print the backends that would start now and PortAudio's output devices."""
    os.environ.setdefault("PYO_GUI_WX", "0")
    from latentcode.audio import backends

    usable = [b if b != "offline" else "none" for b in backends.available_backends()]
    say(f"audio backends available now: {', '.join(usable)}")
    try:
        devices = backends.output_devices()
    except Exception as e:  # noqa: BLE001 - probing a sound system may fail in many ways
        say(f"PortAudio: cannot list devices ({e})")
        return 0
    if not devices:
        say("PortAudio: no output devices")
    for index, name, default in devices:
        say(f"  --device {index}: {name}{' (default)' if default else ''}")
    return 0


def run(args: argparse.Namespace) -> int:
    from latentcode.shell.render import read_piece

    path = Path(args.piece)
    text = read_piece(path)
    stop_on_sigterm()
    session = start_session(args, say)
    evaluator = Evaluator(session, say)
    try:
        if args.watching:
            watcher = Watcher(evaluator, path, say)
            watcher.poll()
        elif not evaluator.run(text, path.parent):
            return 1
        say(f"playing {path.name} ({args.audio_used}); Ctrl-C stops")
        t_end = time.monotonic() + args.duration if args.duration else None
        while t_end is None or time.monotonic() < t_end:
            time.sleep(0.1)
            if args.watching:
                watcher.poll()
    except KeyboardInterrupt:
        pass
    finally:
        session.stop()
    say("stopped")
    sys.stdout.flush()
    return 0
