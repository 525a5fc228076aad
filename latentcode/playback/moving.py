"""Per-voice controls that move while the voice sounds, and a stretch that changes speed.

A control fed by a continuous pattern (``# pan (slow 4 sine)``) reaches a voice as a value with
``.at(cycle)`` (a :class:`~latentcode.patterns.sampled.Sampled`, or the scheduler's ``Ramp`` of a
morph). :mod:`latentcode.playback.voices` reads such a control once per output frame, at the
frame's centre, and a constant once at the onset (a constant costs nothing per frame).

``stretch`` is a rate: with a moving stretch a voice's position advances by a step that depends
on the stretch at each frame, integrated block by block by a :class:`Walk`.

>>> from latentcode.patterns.signals import saw
>>> from latentcode.patterns.sampled import Sampled
>>> is_moving(Sampled(0.0, saw)), is_moving(0.5)
(True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from latentcode.controls import CONTROLS

# The per-voice controls that may move along a voice, in the order the voice applies them.
MOVING = ("stretch", "alpha", "morph", "noise", "jitter", "zscale", "bias", "gain", "pan")
# A moving stretch is read within these magnitudes (a constant above 64 keeps its own value as
# the ceiling): 0 would freeze the position forever, so a voice could never end.
MIN_STRETCH = 1 / 64
MAX_STRETCH = 64.0


def is_moving(value: Any) -> bool:
    """Whether a control's value is a continuous signal (has ``.at``) rather than a constant."""
    return hasattr(value, "at")


def clamp(name: str, value: float, fallback: float) -> float:
    """A sampled ``value`` of control ``name`` brought into the control table's range;
    ``fallback`` (the onset value) where the signal gave no finite number.

    >>> clamp("pan", 1.5, 0.5), clamp("gain", float("nan"), 0.7)
    (1.0, 0.7)
    """
    return CONTROLS[name].clamp(value if math.isfinite(value) else fallback)


def stretch_magnitude(value: float, top: float) -> float:
    """|stretch| as a moving stretch uses it: within [1/64, top].

    >>> stretch_magnitude(0.0, 64.0), stretch_magnitude(-8.0, 64.0), stretch_magnitude(500, 64)
    (0.015625, 8.0, 64)
    """
    return min(max(abs(value), MIN_STRETCH), top)


class Walk:
    """The latent positions of a voice whose stretch moves, integrated frame by frame.

    Frame ``j+1`` lies one step after frame ``j``, the step being ``direction · rate / |s|``
    with ``s`` the stretch read at frame ``j`` (``rate`` = output hop / encoder hop). Positions
    are computed only as far as asked (the block being rendered plus a lookahead, so the end is
    known before the frames that fade out are rendered) and forgotten once played: a 64x
    stretch never holds thousands of frames.

    While the stretch stays the same, positions are ``p0 + (j - j0) · step`` from the frame
    ``j0`` where it last changed, exactly the arithmetic of a constant stretch: a stretch that
    never changes walks the same positions, to the bit, as the constant.

    >>> w = Walk(pos0=0.0, pos1=10.0, direction=1.0, rate=2.0, top=64.0, limit=1000)
    >>> w.extend(6, lambda j: 1.0 if j < 2 else 4.0); w.positions(range(0, 6)), w.frames
    ([0.0, 2.0, 4.0, 4.5, 5.0, 5.5], None)
    >>> w.extend(100, lambda j: 4.0); w.frames  # frame 14 is at 10.0, frame 15 would pass it
    15
    """

    def __init__(
        self, *, pos0: float, pos1: float, direction: float, rate: float, top: float, limit: int
    ) -> None:
        self.pos0 = pos0
        self.pos1 = pos1
        self.direction = direction
        self.rate = rate
        self.top = top
        self.limit = limit  # frames at the slowest rate: the voice always ends
        self.first = 0  # frame number of _pos[0]
        self._pos = [pos0]
        self._anchor: tuple[int, float, float, int] | None = None  # j0, p0, step, last frame
        self.frames: int | None = None  # the voice's frame count, once its end is known

    def extend(self, upto: int, stretch_at: Callable[[int], float]) -> None:
        """Positions of every frame before ``upto`` (or up to the end); ``stretch_at(j)`` is
        the stretch at frame ``j``."""
        pos = self._pos
        while self.frames is None and self.first + len(pos) < upto:
            j = self.first + len(pos) - 1  # the last frame whose position is known
            step = self.direction * self.rate / stretch_magnitude(stretch_at(j), self.top)
            if self._anchor is None or step != self._anchor[2]:
                # the last frame reachable at this step, as a constant stretch counts it
                self._anchor = (j, pos[-1], step, j + int(abs(self.pos1 - pos[-1]) // abs(step)))
            j0, p0, step, last = self._anchor
            if j + 1 > last or j + 1 >= self.limit:
                self.frames = j + 1
                break
            pos.append(p0 + (j + 1 - j0) * step)

    def positions(self, js: range) -> list[float]:
        """Positions of frames ``js`` (computed by :meth:`extend`, not yet forgotten)."""
        return self._pos[js.start - self.first : js.stop - self.first]

    def at(self, x: float) -> float:
        """The position at frame ``x`` (fractional: between two frames, in a straight line),
        held at the first or last position known.

        >>> w = Walk(pos0=0.0, pos1=10.0, direction=1.0, rate=2.0, top=64.0, limit=1000)
        >>> w.extend(3, lambda j: 1.0); w.at(0.5), w.at(-4), w.at(9)
        (1.0, 0.0, 4.0)
        """
        pos, first = self._pos, self.first
        i = min(max(x - first, 0.0), len(pos) - 1.0)
        j = int(i)
        if j + 1 < len(pos):
            return pos[j] + (i - j) * (pos[j + 1] - pos[j])
        return pos[j]

    def forget(self, before: int) -> None:
        """Drop the positions of frames before ``before`` (the last known one stays)."""
        drop = min(before - self.first, len(self._pos) - 1)
        if drop > 0:
            del self._pos[:drop]
            self.first += drop


def pan_gains(pan: float, gain: float) -> tuple[float, float]:
    """Equal-power pan, 0 = left, 0.5 = centre, 1 = right.

    >>> [round(g, 3) for g in pan_gains(0.5, 1.0)]
    [0.707, 0.707]
    """
    p = min(1.0, max(0.0, pan)) * math.pi / 2
    return gain * math.cos(p), gain * math.sin(p)


def ring_gains(pan: float, gain: float, channels: int, channel: float | None = None
               ) -> np.ndarray:
    """Equal-power gains of ``channels`` speakers in a ring: ``pan`` 0..1 goes once round it
    (0 and 1 at the first speaker, 1/N at the second), between neighbours by the stereo law; with
    ``channel`` it moves within the pair (channel, channel + 1) as stereo does.

    >>> [round(float(g), 3) for g in ring_gains(0.25, 1.0, 4)]
    [0.0, 1.0, 0.0, 0.0]
    >>> [round(float(g), 3) for g in ring_gains(0.125, 1.0, 4)]
    [0.707, 0.707, 0.0, 0.0]
    >>> [round(float(g), 3) for g in ring_gains(1.0, 1.0, 6, channel=2)]
    [0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    """
    out = np.zeros(channels, dtype=np.float32)
    p = min(1.0, max(0.0, pan))
    if channel is not None:
        first, frac = int(channel) % channels, p
    else:
        x = p * channels
        first, frac = int(math.floor(x)) % channels, x - math.floor(x)
    out[first] += gain * math.cos(frac * math.pi / 2)
    out[(first + 1) % channels] += gain * math.sin(frac * math.pi / 2)
    return out


def sample(voice: Any, name: str, at: list[Any], cycle_at: Callable[[Any], Any]) -> list[float]:
    """Control ``name`` of ``voice`` at each of ``at`` (mapped to cycles by ``cycle_at``): a
    moving one read there and clamped, a constant repeated.

    A signal that fails while the voice plays holds its onset value from then on: the audio goes
    on (the pattern already passed every check when its onset was queried).
    """
    value = getattr(voice, name)
    if name not in voice.moving:
        return [float(value)] * len(at)
    onset = float(value)
    try:
        raw = [float(value.at(cycle_at(s))) for s in at]
    except Exception:  # noqa: BLE001 - never let a user's signal stop the audio
        voice.moving = tuple(m for m in voice.moving if m != name)
        setattr(voice, name, onset)
        return [onset] * len(at)
    if name == "stretch":  # the walk reads magnitudes; the sign was fixed at the onset
        return [math.copysign(stretch_magnitude(x, voice.walk.top), x) for x in raw]
    return [clamp(name, x, onset) for x in raw]


def per_frame(batch: Any, name: str, cycle_at: Callable[[int], Any], hop: int,
              centre: int) -> np.ndarray:
    """Control ``name`` for every frame of a block's batch (float64): each voice's constant in
    one vectorised gather, a moving one read at each frame's centre (α only with a ``mix``,
    ``morph`` only with a ``morphfrom``)."""
    values = batch.column(name)[batch.which].astype(np.float64)
    for i in batch.moving:
        v, js = batch.plan[i]
        if name in v.moving and (name != "alpha" or v.b is not None) and (
                name != "morph" or v.c is not None):
            values[batch.rows(i)] = sample(v, name, [v.start + j * hop + centre for j in js],
                                           cycle_at)
    return values


def frame_gains(batch: Any, cycle_at: Callable[[int], Any], hop: int, seg: int,
                channels: int = 2) -> np.ndarray:
    """The gain of every frame of a batch on each output channel: (frames, channels), (left,
    right) in stereo, a ring of speakers beyond (:func:`ring_gains`).

    A moving ``gain`` or ``pan`` is read at each frame's centre: overlap-add's windows crossfade
    one frame's value into the next. Frames that do not overlap (``concat``) would step, and
    click, at every boundary: there the gains are read at the frames' edges and ramp linearly
    across each frame, as (frames, channels, seg).
    """
    if channels == 2:
        gains = np.array([v.gains for v, _ in batch.plan], dtype=np.float32)[batch.which]
    else:
        gains = np.array([ring_gains(float(v.pan), float(v.gain), channels,
                                     CONTROLS["channel"].read(v.controls))
                          for v, _ in batch.plan], dtype=np.float32)[batch.which]
    moving = [i for i in batch.moving if {"gain", "pan"} & set(batch.plan[i][0].moving)]
    if not moving:
        return gains
    ramp = int(hop >= seg)
    if ramp:
        gains = np.repeat(gains[:, :, None], seg, axis=2)
        u = np.arange(seg, dtype=np.float32) / seg
    for i in moving:
        v, js = batch.plan[i]
        at = [v.start + j * hop + (0 if ramp else seg // 2)
              for j in range(js.start, js.stop + ramp)]
        pans, levels = sample(v, "pan", at, cycle_at), sample(v, "gain", at, cycle_at)
        if channels == 2:
            lr = np.array([pan_gains(p, g) for p, g in zip(pans, levels, strict=True)],
                          dtype=np.float32)
        else:
            channel = CONTROLS["channel"].read(v.controls)
            lr = np.array([ring_gains(p, g, channels, channel)
                           for p, g in zip(pans, levels, strict=True)], dtype=np.float32)
        if ramp:  # from the value at the frame's start to the value at its end
            lr = lr[:-1, :, None] + (lr[1:] - lr[:-1])[:, :, None] * u
        gains[batch.rows(i)] = lr
    return gains


def walk_voice(voice: Any, upto: int, hop: int, centre: int, cycle_at: Callable) -> None:
    """Integrate the positions of ``voice``'s moving stretch up to frame ``upto`` (exclusive),
    reading the stretch at each frame's centre; once the position passes the voice's end, its
    ``frames`` and ``length`` become exact (they were upper bounds)."""
    walk = voice.walk
    if walk is None or walk.frames is not None:
        return
    walk.extend(upto, lambda j: sample(voice, "stretch", [voice.start + j * hop + centre],
                                       cycle_at)[0])
    if walk.frames is not None:
        voice.length = min(voice.length, (walk.frames - 1) * hop + voice.window)
        voice.frames = min(walk.frames, -(-voice.length // hop))
