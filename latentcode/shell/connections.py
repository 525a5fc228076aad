"""What a front end connects when its session starts: MIDI in (``--midi-in``) and events out
(``--send-osc``, ``--send-midi``). Each says in one line what it did or why it could not, and
the session plays on either way.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.patterns.controllers import CONTROLLERS


def start_midi(session: Any, args: argparse.Namespace,
               say: Callable[[str], None] = print) -> None:
    """Start the MIDI input ``--midi-in`` asks for; one line says what happened, and the session
    plays on either way.

    ``auto`` (the default) opens nothing yet: the input opens when a pattern first uses ``cc``
    or ``on``, or at ``:midi on``. A JACK MIDI client runs Python in JACK's thread every period,
    and measured through jackd's dummy driver that doubled JACK's own xruns, so only a performer
    who plays controllers pays for it.
    """
    kind, connect = getattr(args, "midi_in", "auto"), getattr(args, "midi_in_connect", None)
    if kind == "auto" and not connect:
        session.midi_why = ("it opens when a pattern first uses cc or on (or type :midi on; "
                            "--midi-in jack or alsa opens it at start)")
        CONTROLLERS.on_use = lambda: open_midi(session, "auto", None, say)
        return
    open_midi(session, kind, connect, say)


def open_midi(session: Any, kind: str, connect: str | None,
              say: Callable[[str], None] = print) -> None:
    """Open the MIDI input now and say so, or say in one line why it cannot be opened."""
    CONTROLLERS.on_use = None
    try:
        session.start_midi(kind, connect=connect)
    except LatentcodeError as e:
        say(f"no MIDI input: {e}; playing on without it")
        return
    midi = session.midi
    if midi is not None:
        fed = f", connected to {connect}" if connect else ""
        say(f"MIDI in: {midi.name} ({midi.kind}{fed}); :midi lists controllers, :learn names one")


def start_sending(session: Any, args: argparse.Namespace,
                  say: Callable[[str], None] = print) -> None:
    """Apply ``--send-osc`` and ``--send-midi`` to a started session; a destination that
    cannot be used is said in one line, and the session plays on."""
    out = session.events_out
    wanted = [("osc", d) for d in getattr(args, "send_osc", None) or []]
    if getattr(args, "send_midi", None) is not None:
        wanted.append(("midi", args.send_midi))
    for kind, destination in wanted:
        try:
            say(out.command(f"{kind} {destination}"))
        except LatentcodeError as e:
            say(f"error: --send-{kind}: {e}")
