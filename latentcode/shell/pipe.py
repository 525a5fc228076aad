"""``latentcode --pipe``: evaluate blocks of code read from standard input.

Blocks (:mod:`latentcode.shell.blocks`) are separated by a blank line or by a line holding only
``;;``; each block is evaluated as soon as its separator arrives, so an editor can keep the pipe
open and send a block at a time. A block starting with ``:`` is a REPL command (``:record``,
``:tracks`` …). Each statement accepted is confirmed in one line, as in the REPL
(:mod:`latentcode.shell.feedback`); errors and messages are printed on standard output too; the
music plays until end of input (or ``:quit``).

>>> from latentcode.shell.cli import main
>>> main(["--pipe", "--audio", "none"])   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from typing import Any

from latentcode.shell.blocks import read_blocks


def stdin_lines() -> Iterator[str]:
    """Lines of standard input as they arrive (no read-ahead that would delay a block)."""
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        yield line


def make_block_runner(session: Any, say: Callable[[str], None], *,
                      osc_files: bool = False) -> tuple[Any, Callable, Callable]:
    """The Commands, a function running one block (command or code; False means quit), and
    the one the OSC port calls, which refuses what touches files unless ``osc_files``."""
    from latentcode.shell.commands import Commands, is_command
    from latentcode.shell.frontends import Evaluator

    evaluator = Evaluator(session, say)
    commands = Commands(session, evaluator, say, remote_files=osc_files)

    def run_block(block: str) -> bool:
        if is_command(block):
            return commands.run(block)
        evaluator.run(block)  # it says what changed, or the error
        return True

    def run_remote(block: str) -> bool:
        refusal = commands.remote_refusal(block)
        if refusal is not None:
            say(refusal)
            return True
        return run_block(block)

    return commands, run_block, run_remote


def run(args: argparse.Namespace) -> int:
    """Play from standard input until it ends."""
    from latentcode.shell.frontends import say, start_session, stop_on_sigterm

    stop_on_sigterm()  # SIGTERM and SIGHUP: as end of input (a recording is finished)
    session = start_session(args, say)
    osc = None
    commands = None
    try:
        commands, run_block, run_remote = make_block_runner(
            session, say, osc_files=getattr(args, "osc_files", False))
        if getattr(args, "osc", None) is not None:
            from latentcode.shell.osc import OscServer, osc_files_line

            osc = OscServer(args.osc, run_remote, say).start()
            say(f"listening for OSC /eval on 127.0.0.1:{osc.port}")
            say(osc_files_line(commands.remote_files))
        say(f"reading blocks from standard input ({args.audio_used}); end of input stops")
        for block in read_blocks(stdin_lines()):
            if not run_block(block):
                break
    except KeyboardInterrupt:
        pass
    finally:
        if osc is not None:
            osc.close()
        if commands is not None:
            commands.close()
        session.stop()
    say("stopped")
    return 0
