"""Front ends on one Session: ``latentcode run``, ``latentcode watch`` and what they share.

``run`` evaluates the piece and plays until Ctrl-C (or ``--duration``). ``watch`` does the same,
then re-evaluates the blocks that changed every time the file is saved, so any editor becomes a
live-coding editor. Blocks are separated by blank lines (or a line holding only ``;;``), as in
Tidal (:mod:`latentcode.shell.blocks`); an error in one block is printed in one line, naming the
file and its line, and changes nothing, and the music goes on.

The REPL (:mod:`latentcode.shell.repl`), ``--pipe`` (:mod:`latentcode.shell.pipe`) and the OSC port
(:mod:`latentcode.shell.osc`) start their session with :func:`start_session` and evaluate through an
:class:`Evaluator`, so every front end reports errors the same way.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentcode.audio.backends import LIVE_BACKENDS
from latentcode.errors import InternalError, LanguageError, LatentcodeError
from latentcode.shell.blocks import as_one_block, numbered_blocks
from latentcode.shell.deadline import EVAL_DEADLINE, STOP_WAIT, Guard, run_with_deadline
from latentcode.shell.feedback import confirmations, snapshot
from latentcode.shell.listings import one_line

Say = Callable[[str], None]


# C0 controls but newline and tab, DEL, and C1 controls (0x9b alone is a CSI on some terminals)
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)] if c not in (9, 10)}
_CONTROLS.update({13: "\\r", 27: "\\x1b"})


def printable(text: str) -> str:
    r"""``text`` with the control characters that drive a terminal written as escapes.

    Text from outside (an OSC packet, a file) is shown through this: an escape sequence in it
    must not retitle, clear or recolour the performer's terminal. Newlines and tabs stay.

    >>> printable('t1 $ \x1b]0;owned\x07 "bell"')
    't1 $ \\x1b]0;owned\\x07 "bell"'
    """
    return text.translate(_CONTROLS)


def say(message: str) -> None:
    """Print one message, its newline in the same write: a Ctrl-C or SIGTERM arriving in the
    middle can never glue the next message onto it. Control characters are shown escaped."""
    sys.stdout.write(f"{printable(message)}\n")
    sys.stdout.flush()


def add_audio_options(parser: argparse.ArgumentParser) -> None:
    """The flags every live front end shares."""
    parser.add_argument("--audio", choices=LIVE_BACKENDS, default="jack",
                        help="audio backend (default jack, falling back to none when no "
                             "server or device is found; none: no output, keeps time)")
    parser.add_argument("--device", type=int, default=None, help="PortAudio output device")
    parser.add_argument("--buffer", type=int, default=256, help="audio buffer size in samples")
    parser.add_argument("--threads", type=int, default=None, metavar="N", dest="live_threads",
                        help="decode on N threads (default: the cores other programs leave free)")
    add_model_options(parser)
    add_channels_option(parser)
    parser.add_argument("--input", choices=("auto", "none"), default="auto",
                        help="the audio input that `in` plays and :sample records (default "
                             "auto: on JACK, a port latentcode:input_1 fed from "
                             "system:capture_1; none: no input)")
    parser.add_argument("--input-connect", metavar="PORT", action="append", default=[],
                        help="feed the input from this JACK port instead (again for more "
                             "channels, mixed to one)")
    parser.add_argument("--outputs", choices=("master", "tracks"), default="master",
                        help="tracks: besides the master, a pair of JACK ports per track named "
                             "after it (t1_L, t1_R ...) and one for the reverb, for a "
                             "spatialiser or a DAW; :record FOLDER then records them as stems")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--model PATH`` and ``--precision NAME``: which model decodes, and in what arithmetic.

    The precision goes into the environment (:func:`apply_model_options`), so that every
    process of the command (a split render's forks, the bank's helper) decodes alike.
    """
    from latentcode.model.precision import PRECISIONS, default

    parser.add_argument("--model", help="a checkpoint instead of the default model")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help=f"the decoder's arithmetic (default here {default()}: int8x3 where "
                             "the CPU has VNNI, as fp32 to the ear and about 2.4x as fast, else "
                             "fp32, the reference; bf16: about 4x as fast on CPUs with native "
                             "bf16, but it changes the detail of stretched voices; see "
                             "docs/audio-engine.md)")


def apply_model_options(args: argparse.Namespace) -> None:
    """Put ``--precision`` into the environment, where every model this process (and its
    children) loads reads it, and ``--threads``, where the live decoder reads it."""
    from latentcode.model.precision import ENV
    from latentcode.model.spare_cores import THREADS_ENV

    if getattr(args, "precision", None):
        os.environ[ENV] = args.precision
    n = getattr(args, "live_threads", None)  # not ``threads``: train's flag of its own
    if n is not None:
        if n < 1:
            raise LatentcodeError(f"--threads takes a number of threads such as 1, not {n}")
        os.environ[THREADS_ENV] = str(n)


def add_channels_option(parser: argparse.ArgumentParser) -> None:
    """``--channels N``: stereo, or a ring of N speakers (live and offline)."""
    parser.add_argument("--channels", type=int, default=2, metavar="N",
                        help="output channels: 2 (stereo, the default) or a ring of N speakers "
                             "that pan goes round (channel picks a pair), up to 64")


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("piece", help="a latentcode file (.lc)")
    add_audio_options(parser)
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (default: until Ctrl-C; at most "
                             f"{MAX_DURATION:g}, a week)")
    parser.set_defaults(watching=name == "watch")


def describe_error(error: BaseException, file: str | None = None) -> str:
    """What a front end prints for an error: a caret under language errors, else one line;
    ``file`` names the file the code came from.

    >>> describe_error(LatentcodeError("no track 't9'"), "piece.lc")
    "error: piece.lc: no track 't9'"
    """
    if isinstance(error, LanguageError):
        if file is not None:
            error.file = file
        return "error: " + error.pretty()
    if isinstance(error, LatentcodeError):
        return f"error: {file}: {error}" if file is not None else f"error: {error}"
    _log_internal(error)  # the Session makes the errors users cause its own: this is a bug
    return f"error: {InternalError.of(error)}"


def _log_internal(error: BaseException) -> None:
    """A bug's traceback goes to standard error with LATENTCODE_DEBUG=1, never to the screen
    otherwise."""
    if os.environ.get("LATENTCODE_DEBUG"):
        import traceback

        traceback.print_exception(error, file=sys.stderr)


class Evaluator:
    """Evaluates code from any number of front ends (REPL, OSC thread) on one session.

    One block at a time (a lock), each under a deadline (:mod:`~latentcode.shell.deadline`:
    past ``deadline`` seconds, or on Ctrl-C, it is stopped and nothing changes), and a failure
    is told through ``say``, never raised:

    >>> class S:
    ...     def eval(self, text): raise LatentcodeError("no track 't9'")
    >>> Evaluator(S(), print).run("mute t9")
    error: no track 't9'
    False
    """

    def __init__(self, session: Any, say: Say, deadline: float = EVAL_DEADLINE) -> None:
        self.session = session
        self.say = say
        self.deadline = deadline
        self.lock = threading.RLock()
        self.sources: dict[str, str] = {}  # track -> the code it last got, for :tracks
        self.confirm = True  # say what each accepted statement changed

    def run(self, text: str, base: Path | None = None, *, file: str | None = None,
            first_line: int = 1) -> bool:
        """Evaluate ``text``; True when it was accepted (and one line per statement says what
        changed: :mod:`~latentcode.shell.feedback`), False (and a message) when not.

        ``base`` is the folder of the file the text comes from: relative paths start there.
        ``file`` names that file and ``first_line`` is the text's first line in it, so that an
        error gives the file's own line.
        """
        if not text.strip():
            return True
        # another front end's block is at most a deadline and an unwinding away
        if not self.lock.acquire(timeout=2 * (self.deadline + STOP_WAIT)):
            self.say("error: another block is still being evaluated: not evaluated")
            return False
        try:
            guard = Guard()
            session = self.session
            if hasattr(session, "commit_guard"):
                session.commit_guard = guard

            def work() -> None:
                session.eval(text) if base is None else session.eval(text, base=base)

            before = snapshot(session)
            run_with_deadline(work, self.deadline, guard)
            said = self._accepted(text, before)
        except Exception as e:  # noqa: BLE001 - the music goes on whatever the code did
            if isinstance(e, LanguageError) and e.line is not None and first_line > 1:
                e.line += first_line - 1
            self.say(describe_error(e, file))
            return False
        finally:
            self.lock.release()
        for line in said:
            self.say(line)
        return True

    def _accepted(self, text: str, before: Any) -> list[str]:
        """Remember what each track got; the lines that confirm the block (none when they
        cannot be made: they are only for display, the block was accepted)."""
        try:
            from latentcode import language

            statements = language.parse(text)
            self._remember(statements)
            return confirmations(self.session, statements, before) if self.confirm else []
        except Exception as e:  # noqa: BLE001 - only for display; eval accepted the text
            _log_internal(e)
            return []

    def _remember(self, statements: list[Any]) -> None:
        """Note which code each track got: its statement, on one line."""
        for st in statements:
            track = getattr(st, "track", None)
            if track and hasattr(st, "expr"):
                self.sources[track] = one_line(st.text)


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
            text = read_text(self.path)
        except (OSError, UnicodeDecodeError, LatentcodeError) as e:
            self.say(f"cannot read {self.path}: {e}")
            return 0
        done = 0
        current = numbered_blocks(text)
        for first_line, block in current:
            if block in self.seen:
                continue
            if self.evaluator.run(block, self.path.parent, file=str(self.path),
                                  first_line=first_line):
                done += 1
        self.seen = {block for _, block in current}
        return done


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (its name is the message): finish up and leave."""


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
# Functions that catch BaseException because they are called from pyo's C loop: offline,
# pyo calls them in the main thread, and an exception raised there by a signal handler would
# be swallowed (the render would go on). A signal landing inside one is raised a moment later.
_SWALLOWING = frozenset({"on_buffer"})
_RETRY = 0.01  # s


def stop_on_sigterm(raising: type[BaseException] = KeyboardInterrupt,
                    signals: tuple[int, ...] = STOP_SIGNALS) -> Callable[[], None]:
    """Let SIGTERM (how editors stop the programs they started) and SIGHUP (the terminal
    closed) end like Ctrl-C: cleanly, finishing a recording or a render and closing the audio
    engine in its safe order. The first signal raises ``raising`` in the main thread; later
    ones are ignored, so they cannot cut the cleanup short (SIGKILL still ends everything).

    Returns a function that puts the previous handlers back. Outside the main thread (where
    Python cannot set handlers) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    caught: list[int] = []

    def interrupt(signum: int, frame: Any) -> None:
        if signum != getattr(signal, "SIGALRM", None):
            caught.append(signum)
        if not caught:
            return
        if _inside_swallowing(frame) and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, _RETRY)  # try again outside it
            return
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
        for s in handled:
            signal.signal(s, signal.SIG_IGN)
        raise raising(signal.Signals(caught[0]).name)

    handled = (*signals, *((signal.SIGALRM,) if hasattr(signal, "SIGALRM") else ()))
    before = {s: signal.signal(s, interrupt) for s in handled}

    def restore() -> None:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
        for s, handler in before.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)

    return restore


def _inside_swallowing(frame: Any) -> bool:
    while frame is not None:
        if frame.f_code.co_name in _SWALLOWING:
            return True
        frame = frame.f_back
    return False


def start_audio(session: Any, backend: str, *, buffer: int = 256, device: int | None = None,
                say: Say = print, outputs: str = "master", inputs: list[str] | None = None
                ) -> str:
    """Start ``session`` on ``backend``, falling back to ``none``; returns the backend used.

    When even ``none`` cannot start, the session stays silent but still evaluates code, and
    ``say`` tells why in one line: a front end always starts. The engine's own messages reach
    the session's ``report`` (Session.start wires them). ``inputs`` names the JACK ports the
    audio input is fed from (None: no input); elsewhere there is none (``in`` says so).
    """
    extra = ({"inputs": len(inputs), "input_ports": inputs}
             if inputs and backend == "jack" else {})
    try:
        session.start(backend, buffersize=buffer, device=device, outputs=outputs, **extra)
        return backend
    except (LatentcodeError, OSError) as e:
        reason = str(e)
    if backend != "none":
        try:
            session.start("none", buffersize=buffer, outputs=outputs)
            say(f"no audio output ({reason}); playing silently (--audio none)")
            return "none"
        except (LatentcodeError, OSError) as e:
            reason = f"{reason}; none: {e}"
    say(f"no audio at all ({reason}); patterns are checked but not played")
    return "off"


def start_session(args: argparse.Namespace, say: Say = say) -> Any:
    """A Session on the chosen model, playing through the chosen backend (see start_audio),
    with MIDI in and events out as the options ask (see :mod:`latentcode.shell.connections`)."""
    from latentcode.session import Session

    check_audio_options(args)
    session = Session(getattr(args, "model", None), report=say,
                      channels=getattr(args, "channels", 2))
    connect = getattr(args, "input_connect", []) or ["system:capture_1"]
    args.audio_used = start_audio(session, args.audio, buffer=args.buffer, device=args.device,
                                  say=say, outputs=getattr(args, "outputs", "master"),
                                  inputs=None if getattr(args, "input", "auto") == "none"
                                  else connect)
    from latentcode.shell.connections import start_midi, start_sending
    from latentcode.shell.stage import start_stage

    start_sending(session, args, say)
    start_midi(session, args, say)
    start_stage(session, args, say)
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


MAX_DURATION = 7 * 24 * 3600.0  # s: --duration beyond a week is a typo, not a performance


def check_number(value: float, flag: str, low: float, high: float, unit: str = "") -> float:
    """``value`` of a command-line flag if ``low <= value <= high`` (so finite), else one
    clear line.

    >>> check_number(float("nan"), "--tail", 0, 600, " s")
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: --tail must be a number from 0 to 600 s, not nan
    """
    if not low <= value <= high:
        shown = value if isinstance(value, int) else f"{value:g}"
        raise LatentcodeError(f"{flag} must be a number from {low:g} to {high:g}{unit}, "
                              f"not {shown}")
    return value


def check_audio_options(args: argparse.Namespace) -> None:
    """The numbers of :func:`add_audio_options`' flags, bounded (one clear line)."""
    check_number(args.buffer, "--buffer", 16, 8192, " samples")
    check_number(getattr(args, "channels", 2), "--channels", 2, 64, " speakers")
    if getattr(args, "channels", 2) != 2 and getattr(args, "outputs", "master") == "tracks":
        raise LatentcodeError("--outputs tracks is stereo: leave --channels at 2 for it")
    if args.device is not None:
        check_number(args.device, "--device", 0, 4096)
    if getattr(args, "input_connect", None) and getattr(args, "input", "auto") == "none":
        raise LatentcodeError("--input-connect needs an input: not --input none")


MAX_PIECE_BYTES = 1 << 20  # a piece is text typed by a person: a megabyte is plenty


def read_text(path: Path) -> str:
    """The text of a regular file of at most :data:`MAX_PIECE_BYTES` (reading at most one byte
    more): ``/dev/zero``, a FIFO or a huge file is refused in one line, never read whole.

    Raises OSError or UnicodeDecodeError as ``Path.read_text`` does, LatentcodeError when the
    file is not a piece-sized regular file.
    """
    with open(path, "rb", opener=_nonblocking) as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise LatentcodeError(f"{str(path)!r} is not a regular file")
        data = f.read(MAX_PIECE_BYTES + 1)
    if len(data) > MAX_PIECE_BYTES:
        raise LatentcodeError(f"{str(path)!r} is over {MAX_PIECE_BYTES >> 20} MB: "
                              "not a piece")
    return data.decode("utf-8")


def _nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block open


def read_piece(path: str | Path) -> str:
    """The text of a piece, to evaluate whole (its ``;;`` block separators read as blank
    lines, as ``:load`` reads them), or one clear line when it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise LatentcodeError(f"no file {str(path)!r}: give the path of a .lc piece")
    try:
        return as_one_block(read_text(p))
    except (OSError, UnicodeDecodeError) as e:
        raise LatentcodeError(f"cannot read {str(path)!r}: {e}") from None


def run(args: argparse.Namespace) -> int:
    check_audio_options(args)
    if args.duration is not None:
        check_number(args.duration, "--duration", 0.001, MAX_DURATION, " s")
    path = Path(args.piece)
    text = read_piece(path)
    stop_on_sigterm()
    session = start_session(args, say)
    evaluator = Evaluator(session, say)
    try:
        if args.watching:
            watcher = Watcher(evaluator, path, say)
            watcher.poll()
        elif not evaluator.run(text, path.parent, file=str(path)):
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
