"""Each track's effects (filters, sends, its delay line): what the audio side is told, block
by block.

These controls are not decoded into a voice's audio: the engine applies them per track, after
the voices are mixed (see :mod:`latentcode.audio.graph`). A block's settings ride with its
audio through the ring and apply when its first sample is heard; a knob that moves them is
worked out again for the blocks already queued (:func:`latentcode.playback.rewind.retouch`).

>>> TRACK_CONTROLS[:2]
('lpf', 'hpf')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from latentcode.controls import acting

# Controls the engine applies per track: read from the voices sounding on the track, once per
# block (see TrackEffects).
TRACK_CONTROLS = tuple(c.name for c in acting("track"))
# samples: how long a voice that ended is remembered (longer than any lookahead: the queued
# blocks after it may be worked out again)
KEEP_ENDED = 1 << 16


class TrackEffects:
    """Where each track's effects (the ``"track"`` controls) stand, block by block.

    A track effect follows the latest-started voice of its track that is still sounding and
    has that control: a constant is sent once, when its voice starts; a continuous value (one
    with ``.at(cycle)``, e.g. ``# lpf (slow 4 $ range 200 5000 sine)``) is read again in every
    block while its voice sounds, and the graph glides between the readings. When no voice with
    the control sounds, the track keeps the last value (a reverb tail is not cut).

    >>> fx = TrackEffects()
    >>> class V: track, start, length, controls = 0, 0, 1000, {"lpf": 500.0}
    >>> out = {}; fx.start(V(), out); out
    {'lpf': 500.0}
    >>> out = {}; fx.sample(0, out, 512, 1024, cycle_at=lambda s: s); out   # constant: nothing
    {}
    """

    def __init__(self) -> None:
        # per track: (start, end, {control: value}) of the voices that carry a track control
        self.sounding: dict[int, list[tuple[int, int, dict[str, Any]]]] = {}
        self.sent: dict[tuple[int, str], float] = {}  # the last value sent per (track, control)

    def start(self, voice: Any, controls: dict) -> None:
        """A voice started: its track controls take effect (at their onset values)."""
        mine = {k: voice.controls[k] for k in TRACK_CONTROLS if k in voice.controls}
        if not mine:
            return
        onset = {k: float(v) for k, v in mine.items()}  # a value that is no number raises here
        controls.update(onset)
        self.sent.update(((voice.track, k), v) for k, v in onset.items())
        self.sounding.setdefault(voice.track, []).append(
            (voice.start, voice.start + voice.length, mine))

    def forget(self, track: int, since: int) -> None:
        """A rewind (:mod:`.rewind`): forget the voices of ``track`` that start at or after
        ``since`` and what was sent, so the next :meth:`sample` sends the track's whole state.
        """
        voices = self.sounding.get(track)
        if voices:
            voices[:] = [v for v in voices if v[0] < since]
        for key in [k for k in self.sent if k[0] == track]:
            del self.sent[key]

    def carrying(self) -> list[int]:
        """The tracks with a voice remembered that carries a track effect, in order: only
        they have effects to read (the others keep what was sent).

        >>> fx = TrackEffects()
        >>> class V: track, start, length, controls = 2, 0, 1000, {"lpf": 500.0}
        >>> fx.carrying(), (fx.start(V(), {}), fx.carrying())[1]
        ([], [2])
        """
        return sorted(track for track, voices in self.sounding.items() if voices)

    def sample(self, track: int, controls: dict, begin: int, end: int,
               cycle_at: Callable[[int], Any]) -> None:
        """Add to ``controls`` the continuous values of ``track`` for samples [begin, end)
        (read at the middle, or from where the voice starts) and any value that changed
        because a voice ended."""
        voices = self.sounding.get(track)
        if not voices:
            return
        # forget the voices that ended, but not before the audio queued after them is made:
        # a knob's retouch works the queued blocks out again
        voices[:] = [v for v in voices if v[1] > begin - KEEP_ENDED]
        for k, value in self.settings(track, begin, end, cycle_at).items():
            if self.sent.get((track, k)) != value:
                controls[k] = self.sent[track, k] = value

    def settings(self, track: int, begin: int, end: int,
                 cycle_at: Callable[[int], Any]) -> dict[str, float]:
        """Every effect of ``track`` in samples [begin, end): each from the latest-started
        voice sounding there with it (a continuous one read at the middle, or from where the
        voice starts).

        >>> fx = TrackEffects()
        >>> class V: track, start, length, controls = 0, 100, 1000, {"lpf": 500.0}
        >>> fx.start(V(), {}); fx.settings(0, 0, 50, lambda s: s), fx.settings(0, 0, 200, None)
        ({}, {'lpf': 500.0})
        """
        middle = (begin + end) // 2
        latest: dict[str, tuple[int, Any]] = {}
        for v_start, v_end, values in self.sounding.get(track, ()):
            if v_start < end and v_end > begin:
                for k, v in values.items():
                    if k not in latest or v_start >= latest[k][0]:
                        latest[k] = (v_start, v)
        out = {}
        for k, (v_start, v) in latest.items():
            value = float(v)
            if hasattr(v, "at"):
                try:
                    value = float(v.at(cycle_at(max(middle, v_start))))
                except Exception:  # noqa: BLE001 - a signal failing later: keep its onset value
                    value = float(v)
            out[k] = value
        return out

    def moving(self, track: int) -> set[str]:
        """The effects of ``track`` that some voice plays as a signal (which a knob can move).

        >>> fx = TrackEffects(); fx.moving(0)
        set()
        """
        return {k for _s, _e, values in self.sounding.get(track, ())
                for k, v in values.items() if hasattr(v, "at")}
