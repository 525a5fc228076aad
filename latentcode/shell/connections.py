"""What a front end connects when its session starts: MIDI in (``--midi-in``) and events out
(``--send-osc``, ``--send-midi``). Each says in one line what it did or why it could not, and
the session plays on either way.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def start_midi(session: Any, args: argparse.Namespace,
               say: Callable[[str], None] = print) -> None:
    """Start the MIDI input ``--midi-in`` asks for; one line says what happened (nothing when
    ``auto`` finds no MIDI system: ``:midi`` tells why), and the session plays on."""
    from latentcode.errors import LatentcodeError

    kind, connect = getattr(args, "midi_in", "auto"), getattr(args, "midi_in_connect", None)
    try:
        session.start_midi(kind, connect=connect)
    except LatentcodeError as e:
        if kind != "auto" or connect:
            say(f"{e}; playing on without MIDI")
        return
    midi = session.midi
    if midi is not None:
        fed = f", connected to {connect}" if connect else ""
        say(f"MIDI in: {midi.name} ({midi.kind}{fed}); :midi lists controllers, :learn names one")


def start_sending(session: Any, args: argparse.Namespace,
                  say: Callable[[str], None] = print) -> None:
    """Apply ``--send-osc`` and ``--send-midi`` to a started session; a destination that
    cannot be used is said in one line, and the session plays on."""
    from latentcode.errors import LatentcodeError

    out = session.events_out
    wanted = [("osc", d) for d in getattr(args, "send_osc", None) or []]
    if getattr(args, "send_midi", None) is not None:
        wanted.append(("midi", args.send_midi))
    for kind, destination in wanted:
        try:
            say(out.command(f"{kind} {destination}"))
        except LatentcodeError as e:
            say(f"error: --send-{kind}: {e}")
