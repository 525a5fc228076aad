"""``latentcode --pipe``: evaluate blocks of code read from standard input.

Blocks (:mod:`latentcode.shell.blocks`) are separated by a blank line or by a line holding only
``;;``; each block is evaluated as soon as its separator arrives, so an editor can keep the pipe
open and send a block at a time. A block starting with ``:`` is a REPL command (``:record``,
``:tracks`` …). Messages and errors are printed one per line on standard output; the music plays
until end of input (or ``:quit``).

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


def make_block_runner(session: Any, say: Callable[[str], None]) -> tuple[Any, Callable]:
    """An Evaluator and a function running one block (command or code); False means quit."""
    from latentcode.shell.commands import Commands, is_command
    from latentcode.shell.frontends import Evaluator

    evaluator = Evaluator(session, say)
    commands = Commands(session, evaluator, say)

    def run_block(block: str) -> bool:
        if is_command(block):
            return commands.run(block)
        if evaluator.run(block):
            say(f"ok: {block.strip().splitlines()[0][:60]}")
        return True

    return commands, run_block


def run(args: argparse.Namespace) -> int:
    """Play from standard input until it ends."""
    from latentcode.shell.frontends import say, start_session, stop_on_sigterm

    stop_on_sigterm()
    session = start_session(args, say)
    osc = None
    try:
        commands, run_block = make_block_runner(session, say)
        if getattr(args, "osc", None) is not None:
            from latentcode.shell.osc import OscServer

            osc = OscServer(args.osc, run_block, say).start()
            say(f"listening for OSC /eval on 127.0.0.1:{osc.port}")
        say(f"reading blocks from standard input ({args.audio_used}); end of input stops")
        for block in read_blocks(stdin_lines()):
            if not run_block(block):
                break
    except KeyboardInterrupt:
        pass
    finally:
        if osc is not None:
            osc.close()
        session.stop()
    say("stopped")
    return 0
