"""Playing with others: the ``:link`` and ``:tap`` commands, and the stage's command-line
options (``--outputs``, ``--link``, ``--midi-clock``).

``:link`` joins an Ableton Link session (:mod:`latentcode.ports.link`); ``:tap`` sets the
tempo from the rhythm of the taps, as a drum machine's tap key does.

>>> taps = Taps(); [taps.tap(t) for t in (0.0, 0.5, 1.0)][-1]   # 0.5 s a beat
120.0
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from latentcode.errors import LatentcodeError

TAP_GAP = 2.0  # s: a longer pause starts a new run of taps
TAP_KEEP = 8  # the last taps that count


class Taps:
    """Tap times, and the tempo (bpm) they give once there are two in a run."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def tap(self, t: float) -> float | None:
        """Add a tap at ``t`` seconds; the bpm of the run so far (None after its first tap)."""
        if self.times and not 0 < t - self.times[-1] <= TAP_GAP:
            self.times.clear()
        self.times = [*self.times[-(TAP_KEEP - 1):], t]
        if len(self.times) < 2:
            return None
        beat = (self.times[-1] - self.times[0]) / (len(self.times) - 1)
        return round(60 / beat, 2)


def link(commands: Any, arg: str) -> None:
    """``:link`` shows Link's state; ``:link on [QUANTUM]`` joins, ``:link off`` leaves."""
    session, words = commands.session, arg.split()
    if not words:
        commands.say(session.link.describe() if session.link is not None else
                     "Link is off (:link on [QUANTUM] joins a session)")
        return
    if words[0] == "off" and len(words) == 1:
        session.stop_link()
        commands.say("left the Link session")
        return
    if words[0] == "on" and len(words) <= 2:
        try:
            quantum = float(words[1]) if len(words) == 2 else 4.0
        except ValueError:
            quantum = -1.0
        if not 0 < quantum <= 64:
            commands.say(f"error: :link on QUANTUM: the quantum is beats, 1 to 64 "
                         f"(not {words[1][:20]!r})")
            return
        commands.say(session.start_link(quantum))
        return
    commands.say("error: :link, :link on [QUANTUM] or :link off")


def tap(commands: Any, arg: str) -> None:
    """``:tap``: type it on the beat a few times; from the second tap the tempo follows."""
    import time

    taps = commands.__dict__.setdefault("_taps", Taps())
    bpm = taps.tap(time.monotonic())
    if bpm is None:
        commands.say(":tap again on the next beat (and on, to refine it)")
        return
    try:
        commands.session.tempo(bpm / 240)
    except LatentcodeError as e:
        commands.say(f"error: :tap: {e}")
        return
    commands.say(f"tempo {bpm / 240:.4g} cps ({bpm:g} bpm) from {len(taps.times)} taps")


def add_stage_options(parser: argparse.ArgumentParser) -> None:
    """``--link`` and ``--midi-clock`` (the REPL's and ``--pipe``'s)."""
    parser.add_argument("--link", metavar="QUANTUM", type=float, nargs="?", const=4.0,
                        default=None,
                        help="join an Ableton Link session: tempo and cycle starts shared with "
                             "other players, a cycle starting on a bar of QUANTUM beats "
                             "(default 4)")
    parser.add_argument("--midi-clock", metavar="JACK-PORT", nargs="?", const="",
                        default=None,
                        help="send MIDI clock (24 ticks a beat, start and stop) on the JACK "
                             "MIDI output, connected to JACK-PORT if given (as :send clock)")


def start_stage(session: Any, args: argparse.Namespace, say: Callable[[str], None]) -> None:
    """Apply ``--link`` and ``--midi-clock`` to a started session; each problem is one line,
    and the session plays on."""
    clock = getattr(args, "midi_clock", None)
    if clock is not None:
        try:
            say(session.events_out.command(f"clock {clock}".strip()))
        except LatentcodeError as e:
            say(f"error: --midi-clock: {e}")
    quantum = getattr(args, "link", None)
    if quantum is not None:
        try:
            if not 0 < quantum <= 64:
                raise LatentcodeError(f"the quantum is beats, 1 to 64 (not {quantum:g})")
            say(session.start_link(quantum))
        except LatentcodeError as e:
            say(f"error: --link: {e}")
