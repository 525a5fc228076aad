"""Every control of the language in one table: what it takes, its default, its range, where it
acts and what it does.

A control is a word used after ``#``: ``"bell" # stretch 8 # pan 0.2``. Each stage reads the
rows it needs from this table and nothing else defines a control:

- :mod:`latentcode.patterns.controls` registers one pattern function per row (and per alias);
- :mod:`latentcode.playback.voices` reads defaults and ranges when an onset starts a voice;
- the scheduler and :mod:`latentcode.audio` take the rows that act on a ``"track"``;
- :mod:`latentcode.language.vocabulary` (completion, ``:help``) and ``docs/reference.md`` show
  the docs.

So a new control is a new row here, plus the code of the stage it acts in.

>>> CONTROLS["pan"].read({"pan": 1.7})    # clamped to its range
1.0
>>> CONTROLS["stretch"].read({})          # absent: the default
1.0
>>> [c.name for c in acting("track")]
['lpf', 'hpf', 'room', 'delay', 'delaytime', 'delayfeedback']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from latentcode.errors import LatentcodeError

KINDS = ("sound", "number")
# Where a control acts, in the order data flows: the clock (the tempo, from an event on), which
# sounds a voice reads, its path through latent space, the voice's audio after decoding, and
# the track's effects in the engine.
PLACES = ("clock", "sound", "latent", "voice", "track")


@dataclass(frozen=True)
class Control:
    """One control: a row of :data:`CONTROLS`.

    ``default`` None means "no value" (no second sound without ``mix``; a voice as long as its
    sound without ``legato``; every latent dimension without ``dim``). Numbers outside
    ``[low, high]`` are clamped (None: unbounded on that side).
    """

    name: str
    kind: str  # one of KINDS
    acts: str  # one of PLACES
    doc: str
    default: float | None = None
    low: float | None = None
    high: float | None = None
    aliases: tuple[str, ...] = ()

    def clamp(self, value: float) -> float:
        """``value`` brought into the control's range.

        >>> CONTROLS["gain"].clamp(-2.0), CONTROLS["begin"].clamp(0.25)
        (0.0, 0.25)
        """
        if self.low is not None and value < self.low:
            return float(self.low)
        if self.high is not None and value > self.high:
            return float(self.high)
        return value

    def read(self, controls: Mapping[str, Any]) -> float | None:
        """The control's number in an event's controls: checked, clamped, or the default.

        >>> CONTROLS["gain"].read({"gain": "loud"})
        Traceback (most recent call last):
        latentcode.errors.LatentcodeError: control gain needs a number, got 'loud'
        """
        raw = controls.get(self.name)
        if raw is None:
            return self.default
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise LatentcodeError(f"control {self.name} needs a number, got {raw!r}",
                                  culprit=raw if isinstance(raw, str) else None,
                                  after=self.name) from None
        if not math.isfinite(value):
            raise LatentcodeError(f"control {self.name} needs a finite number, got {raw!r}")
        return self.clamp(value)

    @property
    def range_text(self) -> str:
        """The range in words, for the reference: ``0..1``, ``>= 0``, or empty."""
        def show(x: float) -> str:
            return f"{x:g}"

        if self.low is not None and self.high is not None:
            return f"{show(self.low)}..{show(self.high)}"
        if self.low is not None:
            return f">= {show(self.low)}"
        if self.high is not None:
            return f"<= {show(self.high)}"
        return ""


_ROWS = (
    Control("sound", "sound", "sound", "the sound to play: a group name of the bank, `bell:3` "
            "for its 4th", aliases=("s",)),
    Control("cps", "number", "clock", "the tempo in cycles per second from this event on, as "
            "Tidal's `# cps`: `\"bell*4\" # cps \"<0.5 0.75>\"` alternates two tempos (it takes "
            "effect within a block, about 23 ms, of the event's onset)", low=0.001, high=100.0),
    Control("n", "number", "sound", "which sound of the group: added to the index of `sound` "
            "(`\"bell*4\" # n \"0 1 2 3\"` plays bell:0 to bell:3, `bell:3 # n 1` bell:4), "
            "wrapping round the group's size; fractions are rounded down"),
    Control("mix", "sound", "sound", "the second sound of a latent interpolation (`alpha` moves "
            "between them)"),
    Control("alpha", "number", "latent", "the interpolation position between `sound` (0) and "
            "`mix` (1); outside 0..1 it extrapolates", default=0.5),
    Control("morphfrom", "sound", "sound", "a third sound the voice starts from: as `morph` "
            "rises from 0 to 1 it moves in latent space from this sound to its own (`sound`, or "
            "`sound` and `mix` at `alpha`), keeping its own sound's length and pace; `xfade` "
            "and `interpolate` set both"),
    Control("morph", "number", "latent", "how far a voice has come from `morphfrom` (0) to "
            "its own sound (1)", default=1.0, low=0.0, high=1.0),
    Control("stretch", "number", "latent", "granular time-stretch factor of the latent "
            "trajectory (8 = 8x slower; negative plays backwards)", default=1.0),
    Control("begin", "number", "latent", "where to start within the sound, 0..1", default=0.0,
            low=0.0, high=1.0),
    Control("end", "number", "latent", "where to stop within the sound, 0..1", default=1.0,
            low=0.0, high=1.0),
    Control("trim", "number", "latent", "how much of the silence before a sound's onset to "
            "skip: 1 starts where it becomes audible, `# trim 0` plays the file from its first "
            "sample; `begin` and `end` count from there", default=1.0, low=0.0, high=1.0),
    Control("noise", "number", "latent", "scale of the VAE's sampling noise: 0 = mean only, 1 = "
            "as trained", default=1.0),
    Control("bias", "number", "latent", "an offset added to latent dimension `dim`",
            default=0.0),
    Control("zscale", "number", "latent", "a factor applied to latent dimension `dim` (Tidal's "
            "`scale` is a musical scale: another thing)", default=1.0),
    Control("dim", "number", "latent", "which latent dimension `bias` and `zscale` apply to "
            "(all when absent)"),
    Control("jitter", "number", "latent", "random wandering of the latent trajectory",
            default=0.0),
    Control("legato", "number", "voice", "length of the sound relative to its event (the whole "
            "sound when absent)"),
    Control("gain", "number", "voice", "loudness, 1 = unchanged", default=1.0, low=0.0),
    Control("speed", "number", "voice", "playback rate of the voice's audio, resampled after "
            "decoding as a sampler does: 2 = an octave up and half as long, 0.5 = an octave "
            "down, negative plays backwards (`stretch` keeps the pitch)", default=1.0,
            low=-16.0, high=16.0),
    Control("pan", "number", "voice", "stereo position, 0 = left, 1 = right; with more than "
            "two outputs (`--channels N`), the way round the ring of speakers, 0 and 1 at the "
            "first, 1/N at the second, or between the pair `channel` picks", default=0.5,
            low=0.0, high=1.0),
    Control("channel", "number", "voice", "with more than two outputs: the first of the pair of "
            "speakers `pan` moves between (0 = the first speaker, wrapping round); without it "
            "`pan` goes round the whole ring", low=0.0, high=1023.0),
    Control("norm", "number", "voice", "loudness compensation of a `mix`: keeps the voice at "
            "its sounds' own level (1), or the decoder's (0); in between, part way",
            default=1.0, low=0.0, high=1.0),
    Control("match", "number", "voice", "how far the model's decode is brought to the "
            "spectrum of the sound's file: 1 takes away the hiss the model adds and gives back "
            "up to 12 dB of the top end it dulls, 0 plays the raw decode; a `mix` keeps every "
            "band either of its sounds has, each sound's correction counting fully from its "
            "own end to `alpha` 0.5", default=1.0, low=0.0, high=1.0),
    Control("lpf", "number", "track", "low-pass filter cutoff in Hz (0 opens it)",
            default=20000.0, low=20.0, high=20000.0),
    Control("hpf", "number", "track", "high-pass filter cutoff in Hz (0 opens it)", default=5.0,
            low=5.0, high=20000.0),
    Control("room", "number", "track", "reverb send, 0..1", default=0.0, low=0.0, high=1.0),
    Control("delay", "number", "track", "delay send, 0..1", default=0.0, low=0.0, high=1.0),
    Control("delaytime", "number", "track", "the track's delay time in seconds", default=0.375,
            low=0.01, high=4.0),
    Control("delayfeedback", "number", "track", "the track's delay feedback: how much of each "
            "echo comes back, 0..0.95", default=0.4, low=0.0, high=0.95),
)

CONTROLS: dict[str, Control] = {c.name: c for c in _ROWS}
ALIASES: dict[str, str] = {alias: c.name for c in _ROWS for alias in c.aliases}
# Words that meant something else here than in Tidal, and what using one says instead.
RENAMED: dict[str, str] = {
    "scale": "scale is Tidal's musical scale, not yet in latentcode; the latent factor is now "
             "zscale, e.g. \"bell\" # zscale 1.5 # dim 3",
}


def sound_name(controls: Mapping[str, Any]) -> Any:
    """The name of the sound an event plays: its ``sound``, with ``n`` added to the index, as
    Tidal does (the bank wraps the index round the group's size).

    >>> sound_name({"sound": "bell", "n": 2}), sound_name({"sound": "bell:3", "n": 1.5})
    ('bell:2', 'bell:4')
    >>> sound_name({"sound": "bell:3"}), sound_name({"sound": "bell", "n": -1})
    ('bell:3', 'bell:-1')
    """
    name = controls.get("sound", controls.get("s"))
    if controls.get("n") is None or not isinstance(name, str):
        return name
    step = math.floor(CONTROLS["n"].read(controls))
    group, sep, index = name.partition(":")
    base = 0
    if sep:
        try:
            base = int(float(index))
        except ValueError:
            return name  # the bank says what is wrong with the index
    return f"{group}:{base + step}"


def acting(place: str) -> tuple[Control, ...]:
    """The controls that act in ``place`` (one of :data:`PLACES`), in table order."""
    if place not in PLACES:
        raise ValueError(f"no place {place!r}: one of {PLACES}")
    return tuple(c for c in _ROWS if c.acts == place)
