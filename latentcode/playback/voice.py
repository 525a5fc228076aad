"""One voice: a latent trajectory that an onset starts, and how an event's controls make it.

A voice reads frames of its sound from ``begin`` to ``end`` at a rate set by ``stretch``,
optionally towards a second sound with ``mix`` and ``alpha`` and from a third with
``morphfrom`` and ``morph``, with the controls that move while it sounds read at every frame;
:class:`~latentcode.playback.voices.Voices` renders them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentcode.controls import CONTROLS, sound_name
from latentcode.errors import LatentcodeError
from latentcode.model.bank import Bank, Sound
from latentcode.patterns.sampled import Along
from latentcode.playback import resampled
from latentcode.playback.framing import Framing
from latentcode.playback.moving import (
    MAX_STRETCH,
    MOVING,
    Walk,
    is_moving,
    pan_gains,
    sample,
    stretch_magnitude,
)
from latentcode.playback.normals import Normals

FADE_IN = 64  # samples; enough to hide a step at the onset, short enough to keep attacks
FADE_OUT = 256


@dataclass
class Voice:
    """One sounding trajectory. Positions are in latent frames of sound ``a``.

    Each of the controls in :data:`~latentcode.playback.moving.MOVING` (``stretch``, ``alpha``,
    ``morph``, ``noise``, ``jitter``, ``zscale``, ``bias``, ``gain``, ``pan``) is a float, or a
    continuous signal (a value with ``.at(cycle)``) that the voice reads at every output frame;
    ``moving`` names the latter. With a moving ``stretch``, ``walk`` integrates the positions
    and ``frames``/``length`` are upper bounds until the end comes within the lookahead.
    """

    track: int
    start: int  # absolute sample of the onset
    a: Sound
    b: Sound | None
    pos0: float
    step: float  # latent frames advanced per output frame (at the onset's stretch)
    frames: int  # output frames this voice decodes
    length: int  # samples until the voice has faded out
    alpha: Any  # a float, or a value with .at(cycle) for a continuous signal
    noise: Any
    jitter: Any
    zscale: Any
    bias: Any
    dims: Any  # slice or index array of latent dimensions that zscale/bias act on
    gains: tuple[float, float]  # (left, right) at the onset
    controls: dict = field(default_factory=dict)
    rng: Normals | None = None  # the voice's own noise: tracks never share draws
    # its jitter's own stream (drawn from ``rng``, noise and jitter were interleaved batch by
    # batch, and a voice with both sounded different decoded a block or four at a time)
    jitter_rng: Normals | None = None
    stretch: Any = 1.0
    gain: Any = 1.0
    pan: Any = 0.5
    moving: tuple[str, ...] = ()  # the controls read frame by frame
    walk: Walk | None = None  # the positions of a moving stretch
    window: int = 0  # samples of one frame (a walk's end sets ``length`` from it)
    tail: np.ndarray | None = None  # how the last aligned grain goes on (grains.py)
    source: dict = field(default_factory=dict)  # a stretched voice's decoded segments
    norm: float = 1.0  # loudness compensation of a mix (loudness.level_gains)
    match: float = 1.0  # how much of its sounds' spectral match it takes (playback.matched)
    level: float | None = None  # its smoothed correction in dB
    speed: float = 1.0  # resampled after decoding when not 1 (see :mod:`.resampled`)
    inner: Voice | None = None  # then: the voice at speed 1, in its own time
    resampler: Any = None  # and what of it is rendered
    lane: int = 0  # which of the LANES it is mixed in (see Voices.render)
    # where a mix reads ``b`` when one of the two is the live input: (first position, step
    # per frame); NaN: as far through ``b`` as through ``a`` (see latents.mixed_positions)
    b_at: tuple[float, float] = (math.nan, math.nan)
    # (event value, event length in samples): how the scheduler made it, so that an immediate
    # change can make it again and take its audio back out (see :mod:`.rewind`)
    origin: tuple[Any, int] | None = None
    # a third sound the voice morphs from (``morphfrom``), and how far it has come (``morph``:
    # 0 all ``c``, 1 all its own); ``c_at`` is ``b_at``'s for it
    c: Sound | None = None
    morph: Any = 1.0
    c_at: tuple[float, float] = (math.nan, math.nan)

    @property
    def a_last(self) -> int:
        """The last frame index of sound ``a`` (at least 1: positions are divided by it)."""
        return max(self.a.frames - 1, 1)

    def frames_in(self, begin: int, end: int, hop: int) -> range:
        """Indices of this voice's output frames that start in samples [begin, end)."""
        lo = max(0, -((self.start - begin) // hop))
        hi = min(self.frames, -((self.start - end) // hop))
        return range(lo, hi)

    def seed(self, seed: int, start: int) -> None:
        """Make this voice's noise and jitter generators, seeded by where it starts, so that
        its draws are the same whatever else plays and however its blocks are batched.

        >>> v = Voice(0, 0, None, None, 0.0, 1.0, 1, 1024, 0.5, 1.0, 0.0, 1.0, 0.0, None,
        ...           (0.7, 0.7))
        >>> v.seed(1, 0); bool((v.rng.draw(1, 4) == v.jitter_rng.draw(1, 4)).any())
        False
        """
        self.rng = Normals([seed, self.track, start])
        self.jitter_rng = Normals([seed, self.track, start, 1])

    def value_at(self, name: str, cycle: Any) -> float:
        """The value this voice gives control ``name`` (one of ``MOVING``) at ``cycle``: a
        moving control read there and clamped as the voice reads it (at each frame's centre),
        a constant as it was at the onset (no signal is queried for it).

        >>> from latentcode.patterns.signals import saw
        >>> from latentcode.patterns.sampled import Sampled
        >>> v = Voice(0, 0, None, None, 0.0, 1.0, 1, 1024, 0.5, 1.0, 0.0, 1.0, 0.0, None,
        ...           (0.7, 0.7), pan=Sampled(0.0, saw), moving=("pan",))
        >>> v.value_at("pan", 0.25), v.value_at("gain", 0.25)
        (0.25, 1.0)
        """
        if name not in MOVING:
            raise LatentcodeError(f"{name!r} is not a per-voice control: one of {MOVING}")
        value = getattr(self, name)
        if name not in self.moving:
            return float(value)
        return sample(self, name, [cycle], lambda c: c)[0]


def _own_time(voice: Voice, clock: Any, framing: Framing) -> Callable[[Any], float]:
    """A cycle as the time of ``voice`` itself: 0 at its first sample, 1 at its end.

    With a moving stretch the end is not known until the walk reaches it (a knob may move
    the stretch meanwhile), and the length until then is what the slowest stretch would take:
    the time read against it crawled and then jumped to 1 at the end. So such a voice's time
    is how far through its sound it has walked, or through its length as its onset set it (a
    ``legato``), whichever is further: each reaches 1 where it ends the voice."""
    start, walk = voice.start, voice.walk
    if walk is None:
        return lambda cycle: (clock.sample_at(cycle) - start) / voice.length
    held, span = voice.length, abs(walk.pos1 - walk.pos0)
    hop, centre = framing.hop, len(framing.window) // 2  # a frame's position is its centre's

    def walked(cycle: Any) -> float:
        elapsed = clock.sample_at(cycle) - start
        through = abs(walk.at((elapsed - centre) / hop) - walk.pos0) / span if span else 0.0
        return max(through, elapsed / held)

    return walked


def _dims(value: Any, latent: int) -> Any:
    if value is None:
        return slice(None)
    idx = np.atleast_1d(np.asarray(value, dtype=float)).astype(int) % latent
    return idx


def make_voice(
    value: Any,
    *,
    bank: Bank,
    track: int,
    start: int,
    duration: int,
    framing: Framing,
    clock: Any = None,
) -> Voice:
    """The voice an onset event starts; ``duration`` is the event's length in samples.

    ``value`` is a sound name or a dict of controls with a ``sound`` key. With the ``clock``
    that places it, a control read ``along`` the voice is bound to its start and length
    (without one, as in a rehearsal, it keeps its onset value).
    """
    controls = value if isinstance(value, dict) else {"sound": value}
    name = sound_name(controls)  # with ``n`` added to its index
    if name is None:
        raise LatentcodeError(
            f"no sound in {controls!r}: start the pattern with a sound, e.g. \"bell\" # ..."
        )
    if not isinstance(name, str):
        raise LatentcodeError(f"{name!r} is not a sound name: sounds are words like bell:3")
    a = bank.resolve(name)
    mix = controls.get("mix")
    b = bank.resolve(str(mix)) if mix is not None else None
    source = controls.get("morphfrom")
    c = bank.resolve(str(source)) if source is not None else None

    # A continuous signal stays one, read frame by frame; its onset value is checked like a
    # constant's (a number, finite) so a bad pattern fails here, at the onset, not mid-voice.
    values = {name: CONTROLS[name].read(controls) for name in MOVING}
    moving = tuple(name for name in MOVING if is_moving(controls.get(name)))
    for name in moving:
        values[name] = controls[name]
    stretch = values["stretch"]
    if "stretch" not in moving and abs(stretch) < 1 / 64:
        raise LatentcodeError("stretch must not be 0: use e.g. 64 for a near freeze",
                              culprit="stretch")
    top = max(MAX_STRETCH, abs(float(stretch)))  # the slowest a moving stretch may get
    begin, end = CONTROLS["begin"].read(controls), CONTROLS["end"].read(controls)
    trim = CONTROLS["trim"].read(controls)
    endless = a.live and (begin, end) == (0.0, 1.0)  # the input, live: as long as its event
    if a.live:
        pos0, pos1 = a.span(begin, end, start)
    else:
        last = max(a.frames - 1, 0)
        # skip the lead-in (trim) by whole latent frames: between two, every frame blends
        skip = min(math.floor(trim * a.onset), last)
        pos0, pos1 = skip + begin * (last - skip), skip + end * (last - skip)
    direction = math.copysign(1.0, stretch) * (1.0 if pos1 >= pos0 else -1.0)
    if direction < 0 and pos1 >= pos0 and not endless:
        pos0, pos1 = pos1, pos0  # negative stretch plays the sound backwards (the input:
        # back from now into its ring)
    step = direction * framing.hop / (a.hop * stretch_magnitude(stretch, top))
    walk, bound = None, step
    if "stretch" in moving:
        # until the walk finds the end: as many frames as the slowest rate could take
        bound = framing.hop / (a.hop * top)
        walk = Walk(pos0=pos0, pos1=pos1, direction=direction, rate=framing.hop / a.hop,
                    top=top, limit=int(abs(pos1 - pos0) // bound) + 1)
    frames = int(abs(pos1 - pos0) // abs(bound)) + 1
    natural = (frames - 1) * framing.hop + len(framing.window)

    speed = CONTROLS["speed"].read(controls)
    if abs(speed) < resampled.MIN_SPEED:
        raise LatentcodeError(f"speed {speed:g} is too slow to end: at least 1/32 either way, "
                              f"e.g. 0.5 for an octave down, -1 for backwards",
                              culprit="speed")
    legato = CONTROLS["legato"].read(controls)
    if legato is None and endless:
        legato = 1.0
    length = natural
    if legato is not None:  # of the event's length as heard, after the speed's resampling
        length = min(natural, max(FADE_OUT, int(legato * duration * abs(speed))))
        frames = min(frames, -(-length // framing.hop))
    if walk is not None:
        walk.limit = min(walk.limit, frames)
    voice = Voice(
        track=track,
        start=start,
        a=a,
        b=b,
        pos0=pos0,
        step=step,
        frames=frames,
        length=length,
        alpha=values["alpha"],
        noise=values["noise"],
        jitter=values["jitter"],
        zscale=values["zscale"],
        bias=values["bias"],
        dims=_dims(CONTROLS["dim"].read(controls), a.mu.shape[1]),
        gains=pan_gains(CONTROLS["pan"].read(controls), CONTROLS["gain"].read(controls)),
        controls=controls,
        stretch=values["stretch"],
        gain=values["gain"],
        pan=values["pan"],
        moving=moving,
        walk=walk,
        window=len(framing.window),
        norm=CONTROLS["norm"].read(controls),
        match=CONTROLS["match"].read(controls),
        speed=speed,
        c=c,
        morph=values["morph"],
    )
    if clock is not None:
        for name in moving:
            if isinstance(values[name], Along):
                setattr(voice, name, values[name].over(_own_time(voice, clock, framing)))
    for end, sound in (("b_at", b), ("c_at", c)):
        if sound is not None and (a.live or sound.live):
            first = (sound.frame_at(start) if sound.live
                     else min(math.floor(trim * sound.onset), sound.frames - 1))
            setattr(voice, end, (first, framing.hop / sound.hop))
    return resampled.wrap(voice, framing.hop) if speed != 1.0 else voice
