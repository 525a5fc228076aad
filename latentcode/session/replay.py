"""A live run played again offline: every track switches where it switched live.

Asked to (``Track.log``), a track notes where each change landed: the cycle, the pattern, the
crossfade. A change at a cycle lands on it, an immediate one (``now``) where its rewind began.
:class:`Replay` is a :class:`~latentcode.audio.source.Source` that plays a fresh session's
tracks with those switches, a block at a time, and evaluates other statements (a ``bank``) at
the samples they took effect live. So an offline render of it is what the live run made: bit
for bit, where the live audio had no gap and no rewind came too late (``benchmarks/soak.py``
measures a long run through JACK).

>>> from latentcode.session import Session
>>> live = Session(tracks=1); live.eval('t1 $ "bell"')
>>> for track in live.tracks.values(): track.log = []
>>> scheduler = live.scheduler(wait_for_sounds=False)
>>> block = np.zeros((1, 2, 1024), np.float32); _ = scheduler.fill(block, 0)
>>> [(cycle, xfade) for cycle, _, xfade in live.tracks["t1"].log]
[(Fraction(0, 1), None)]
>>> again = Session(tracks=1); again.eval('t1 $ "bell"')
>>> heard = np.zeros_like(block); _ = Replay(again, logs(live)).fill(heard, 0)
>>> bool(np.array_equal(heard, block))
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from latentcode.playback.stealing import VoiceCap


def logs(session: Any) -> dict[str, list]:
    """Each track's log of switches (see ``Track.log``), by track name."""
    return {name: list(track.log or ()) for name, track in session.tracks.items()}


class Replay:
    """Play ``session`` (fresh, its first patterns evaluated as they were live) with the live
    run's switches (``switches``: :func:`logs` of it) and ``evals``, (sample, statement) pairs
    evaluated before the block that holds their sample. As live: one lane (the same sums in
    the same order) and the live voice cap (``voice_cap``, the session's by default).
    Sounds are waited for, where live a sound still being made was silent."""

    def __init__(self, session: Any, switches: dict[str, list],
                 evals: Iterable[tuple[int, str]] = (), voice_cap: int | None = None) -> None:
        self.session = session
        self.scheduler = session.scheduler(wait_for_sounds=True)
        self.scheduler.voices.lanes = 1
        self.scheduler.cap = VoiceCap(voice_cap or session.voice_cap, report=session.report)
        self.tracks, self.channels = self.scheduler.tracks, self.scheduler.channels
        # the piece's first patterns are pending here as they were live; a switch logged at
        # cycle 0 puts the very same in their place
        self.due = {name: list(log) for name, log in switches.items()}
        self.evals = sorted(evals)

    def fill(self, out: np.ndarray, start: int) -> list[dict]:
        """Switch what is due in this block, then fill it as the scheduler does."""
        end = start + out.shape[2]
        while self.evals and self.evals[0][0] < end:
            self.session.eval(self.evals.pop(0)[1])
        clock = self.scheduler.clock
        for name, due in self.due.items():
            if due and clock.sample_at(due[0][0]) < end:
                cycle, pattern, xfade = due.pop(0)
                self.session.tracks[name].pending = (pattern, cycle, xfade)
        return self.scheduler.fill(out, start)
