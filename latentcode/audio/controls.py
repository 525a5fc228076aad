"""The controls the engine applies to a whole track: the control table's "track" rows, the fader.

Names, defaults and ranges come from :mod:`latentcode.controls` (``acting("track")``: lpf, hpf,
room, delay, delaytime, delayfeedback), so the language and the engine cannot disagree about
them. The engine adds only
what is its own: the track fader ``gain`` (a level a :class:`~latentcode.audio.source.Source`
sets, not a word of the language, whose ``gain`` acts on a voice) and a cap on filter cutoffs.

>>> track = TrackControls(sr=44100)
>>> track.names
('gain', 'lpf', 'hpf', 'room', 'delay', 'delaytime', 'delayfeedback')
>>> track.value("lpf", 1e6), track.value("lpf", 0), track.value("hpf", 1)
(19845.0, 19845.0, 5.0)
>>> track.value("room", None), track.value("room", 3), track.value("room", "lots")
(0.0, 1.0, None)
"""

from __future__ import annotations

import math
from typing import Any

from latentcode.audio.source import SAMPLE_LIMIT
from latentcode.controls import Control, acting

FADER = Control("gain", "number", "track", "the track fader, linear (the source has already "
                "applied each voice's gain and pan)", default=1.0, low=0.0, high=SAMPLE_LIMIT)
# How the graph (latentcode.audio.graph) uses each track row: a cutoff in Hz, where 0 opens the
# filter; a send level, to the shared reverb or to the track's own delay line; or a setting of
# that delay line (time in seconds, feedback), per track as Tidal's orbits have them. A new
# "track" row in the table needs a place here and in the graph; tests/test_engine.py checks
# that none is left out.
FILTERS = ("lpf", "hpf")
SENDS = ("room", "delay")
DELAY_LINE = ("delaytime", "delayfeedback")
# Cutoffs stay below 0.45 x the sample rate: near Nyquist a digital filter stops filtering.
CUTOFF_CAP = 0.45


class TrackControls:
    """The per-track controls at one sample rate: their names, defaults and checked values."""

    def __init__(self, sr: float) -> None:
        self.rows: dict[str, Control] = {FADER.name: FADER}
        self.rows.update((row.name, row) for row in acting("track"))
        self.names: tuple[str, ...] = tuple(self.rows)
        self.cap = CUTOFF_CAP * sr
        # an open low-pass sits at the cap; an "open" high-pass stays at its 5 Hz floor, which
        # still removes DC
        self.defaults: dict[str, float] = {
            name: self._capped(name, float(row.default or 0.0)) for name, row in self.rows.items()
        }

    def value(self, name: str, raw: Any) -> float | None:
        """``raw`` as the engine applies it to control ``name``; None when it is no number.

        ``None`` resets a control to its default (fader 1, filters open, sends 0); so does 0 for
        a filter. Numbers are clamped to the control's range. ``name`` must be one of
        :attr:`names` (KeyError otherwise).
        """
        row = self.rows[name]
        if raw is None or (name in FILTERS and raw == 0):
            return self.defaults[name]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(value):
            return None
        return self._capped(name, row.clamp(value))

    def _capped(self, name: str, value: float) -> float:
        return min(value, self.cap) if name in FILTERS else value
