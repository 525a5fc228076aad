"""The ``:sample`` and ``:input`` commands: the audio input, recorded into the bank and shown.

>>> class S:
...     def input_line(self): return "no audio input"
>>> class C: session, say = S(), print
>>> show_input(C(), "")
no audio input
>>> sample(C(), "riff")
error: :sample NAME CYCLES records the input into the bank; :sample save DIR keeps the samples
"""

from __future__ import annotations

import shlex
from typing import Any

from latentcode.errors import LatentcodeError

USAGE = (":sample NAME CYCLES records the input into the bank; :sample save DIR keeps the "
         "samples")


def sample(commands: Any, arg: str) -> None:
    """``:sample NAME CYCLES``: record that many cycles of the input, from the next cycle
    heard, as the sound NAME; ``:sample save DIR``: copy the session's samples into DIR."""
    try:
        words = shlex.split(arg)
    except ValueError as e:
        commands.say(f"error: :sample: {e}")
        return
    try:
        if len(words) == 2 and words[0] == "save":
            commands.say(commands.session.save_samples(words[1]))
            return
        if len(words) != 2:
            commands.say(f"error: {USAGE}")
            return
        try:
            cycles = float(words[1])
        except ValueError:
            commands.say(f"error: :sample {words[0]} CYCLES takes a number of cycles, not "
                         f"{words[1][:20]!r}")
            return
        commands.say(commands.session.sample(words[0], cycles))
    except LatentcodeError as e:
        commands.say(f"error: :sample: {e}")


def show_input(commands: Any, arg: str) -> None:
    """``:input``: the input's level and how late it is heard."""
    commands.say(commands.session.input_line())
