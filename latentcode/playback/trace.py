"""What moved while a piece played: a recorder of the controls of the sounding voices.

An offline render can attach a :class:`Trace` to its :class:`~latentcode.playback.scheduler.
Scheduler` (``scheduler.trace = Trace(...)``); the scheduler then hands it every block, and the
trace samples, every ``interval`` seconds, the controls of the voices sounding on each track:
``alpha``, ``pan``, ``gain``, ``stretch``, the filters and sends... each read where the voice
reads it (a continuous signal at that moment, a constant as given, clamped to the control
table's range). Where the voices sounding at once disagree (a chord, ``jux``, overlapping
tails) the reading is their range ``[lowest, highest]``, not one of them: following one voice
would draw a jump each time another starts. It also notes every voice: when, on which track, which
sound, which ``mix`` and which ``morphfrom`` (the old sound an ``xfade`` morphs from). ``render
--plot`` draws it as a control panel under the spectrogram.

Nothing is attached while playing live: a scheduler without a trace does no work for it.

>>> t = Trace(sample_rate=100, interval=0.5, names={0: "t1"})
>>> t.to_dict()["tracks"]
{}
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from latentcode.controls import CONTROLS, sound_name
from latentcode.patterns.sampled import sample_at
from latentcode.patterns.time import Fraction

# Controls that a panel has no use for: `legato` shapes the voice's length (drawn as the
# voice's bar), `dim` picks dimensions and is not a level.
SKIPPED = frozenset({"legato", "dim"})
NUMBERS = tuple(c.name for c in CONTROLS.values() if c.kind == "number" and c.name not in SKIPPED)


def voice_value(voice: Any, name: str, cycle: Fraction | float) -> float | None:
    """The value ``voice`` gives control ``name`` at ``cycle``: a continuous signal read there,
    a constant as given, clamped to the control's range; None when the voice does not set it
    (``alpha`` counts as set whenever the voice has a second sound, and only then; ``morph``
    whenever it has a third, ``morphfrom``, and only then).

    >>> from types import SimpleNamespace
    >>> from latentcode.patterns.signals import saw
    >>> from latentcode.patterns.sampled import Sampled
    >>> v = SimpleNamespace(controls={"pan": Sampled(0.0, saw), "gain": 3.0}, b=None)
    >>> [voice_value(v, name, Fraction(1, 4)) for name in ("pan", "gain", "stretch")]
    [0.25, 3.0, None]
    >>> v.controls["morph"] = 0.5  # an xfade's morph, on a voice with nothing to morph from
    >>> voice_value(v, "morph", 0), voice_value(SimpleNamespace(**vars(v), c="z"), "morph", 0)
    (None, 0.5)
    """
    if name == "alpha" and getattr(voice, "b", None) is None:
        return None  # without a second sound alpha changes nothing
    if name == "morph" and getattr(voice, "c", None) is None:
        return None  # without a third sound morph changes nothing
    if name in getattr(voice, "moving", ()):  # read frame by frame: ask the voice itself
        return float(voice.value_at(name, cycle))
    if name == "alpha":
        raw = getattr(voice, "alpha", voice.controls.get("alpha"))
    else:
        raw = voice.controls.get(name)
    if raw is None:
        return None
    try:
        value = float(raw.at(cycle)) if hasattr(raw, "at") else float(sample_at(raw, cycle))
    except (TypeError, ValueError, ArithmeticError):
        return None
    return CONTROLS[name].clamp(value) if math.isfinite(value) else None


# A reading of one control on one track: a number, the range of the voices sounding at once
# where they differ, or None where none of them sets it.
Reading = float | list[float] | None


def spread(values: list[float | None]) -> Reading:
    """One reading of a control from the values of the voices sounding at once.

    >>> spread([0.5, None, 0.5]), spread([1.0, 0.0, 0.25]), spread([None])
    (0.5, [0.0, 1.0], None)
    """
    given = [x for x in values if x is not None]
    if not given:
        return None
    lo, hi = min(given), max(given)
    return lo if lo == hi else [lo, hi]


class Trace:
    """Controls of the sounding voices, sampled every ``interval`` seconds of a render.

    ``names`` maps track slots to the names the panel shows (``t1``...). Each reading of a
    control is a number, ``[lowest, highest]`` where the track's voices differ, or None.
    """

    def __init__(
        self, *, sample_rate: int, interval: float = 0.02, names: dict[int, str] | None = None
    ) -> None:
        self.sample_rate = sample_rate
        self.interval = interval
        self.step = max(1, round(interval * sample_rate))  # samples between two readings
        self.names = dict(names or {})
        self.next = 0  # the next sample to read the controls at
        # per track slot: times (seconds) and, per control, one value (or None) per time
        self.times: dict[int, list[float]] = {}
        self.values: dict[int, dict[str, list[Reading]]] = {}
        self.voices: list[dict[str, Any]] = []
        self._sounding: list[Any] = []  # the voice of each entry of ``voices``

    def record(self, start: int, n: int, voices: list[Any], clock: Any) -> None:
        """Note the voices that start in samples [start, start+n) and read the controls at the
        sampling instants that fall in it. Called by the scheduler once a block."""
        sr = self.sample_rate
        for v in voices:
            if start <= v.start < start + n:
                controls = v.controls
                self.voices.append({
                    "track": v.track,
                    "start": v.start / sr,
                    "sound": str(sound_name(controls) or "?"),  # with ``n`` in its index
                    "mix": None if controls.get("mix") is None else str(controls["mix"]),
                    "morphfrom": (None if controls.get("morphfrom") is None
                                  else str(controls["morphfrom"])),
                })
                self._sounding.append(v)
        while self.next < start + n:
            t = self.next
            self.next += self.step
            if t < start:
                continue
            sounding: dict[int, list[Any]] = {}
            for v in voices:
                if v.start <= t < v.start + v.length:
                    sounding.setdefault(v.track, []).append(v)
            if not sounding:
                continue
            cycle = clock.cycle_at(t)
            for track, group in sounding.items():
                self._add(track, t / sr, group, cycle)

    def _add(self, track: int, seconds: float, voices: list[Any], cycle: Fraction) -> None:
        times = self.times.setdefault(track, [])
        values = self.values.setdefault(track, {})
        if times and seconds - times[-1] > 1.5 * self.interval:
            # a silence between two voices: a gap, so lines are not drawn across it
            times.append(times[-1] + self.interval)
            for column in values.values():
                column.append(None)
        times.append(seconds)
        one = voices[0] if len(voices) == 1 else None  # most readings: no range to take
        for name in NUMBERS:
            value = (voice_value(one, name, cycle) if one is not None
                     else spread([voice_value(v, name, cycle) for v in voices]))
            if value is None and name not in values:
                continue
            column = values.setdefault(name, [None] * (len(times) - 1))
            column.append(value)
        for column in values.values():  # controls none of these voices sets
            if len(column) < len(times):
                column.append(None)

    def to_dict(self) -> dict[str, Any]:
        """The trace as plain data (what ``X.controls.json`` holds)."""
        def name(slot: int) -> str:
            return self.names.get(slot, f"track {slot}")

        def rounded(column: list[Reading]) -> list[Reading]:
            return [x if x is None else [round(x[0], 5), round(x[1], 5)] if isinstance(x, list)
                    else round(x, 5) for x in column]

        return {
            "interval": self.interval,
            "tracks": {
                name(slot): {
                    "times": [round(t, 4) for t in self.times[slot]],
                    "controls": {k: rounded(c) for k, c in self.values[slot].items()},
                }
                for slot in sorted(self.times)
            },
            # a voice's length is read last: with a moving stretch it is known only at its end
            "voices": [{**v, "track": name(v["track"]), "start": round(v["start"], 4),
                        "end": round((voice.start + voice.length) / self.sample_rate, 4)}
                       for v, voice in zip(self.voices, self._sounding, strict=True)],
        }

    def save(self, path: str | Path) -> Path:
        """Write the trace as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        return path
