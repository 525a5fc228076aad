"""Latent trajectories: each onset starts a voice that walks a sound's latent frames.

A voice reads frames of its sound from ``begin`` to ``end`` at a rate set by ``stretch`` (the
paper's "interpolation with extensions": 8 = eight times slower; fractional positions interpolate
neighbouring latent frames), optionally interpolates towards a second sound with ``mix`` and
``alpha`` (z = (1-α)·z_a + α·z_b on mu and logvar, α may leave [0, 1]), then samples z with
``noise`` times the model's noise, adds ``jitter``, and applies ``zscale`` and ``bias`` to the
latent dimensions chosen by ``dim``. Each of these, and ``gain`` and ``pan``, may be a
continuous signal that moves while the voice sounds: it is read at every frame (a moving
``stretch`` changes the voice's speed; see :mod:`latentcode.playback.moving`).

:class:`Voices` renders blocks: every frame of every voice that starts inside the block goes
through ONE batched decode call, then the frames are windowed, enveloped, panned and added into
per-track stereo buffers. Two framings are available (see :data:`FRAMINGS`): windowed
overlap-add at a quarter of the segment, whose stretched voices' grains are aligned in phase
(:mod:`latentcode.playback.grains`), and the paper's plain concatenation of whole segments
(``concat``, also called ``glitch``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from latentcode.controls import CONTROLS, sound_name
from latentcode.errors import LatentcodeError
from latentcode.model.bank import Bank, Sound
from latentcode.model.frame_cache import FrameCache
from latentcode.playback import grains, matched, resampled, stealing
from latentcode.playback.batch import Batch
from latentcode.playback.framing import Framing
from latentcode.playback.latents import latents, steady_rows
from latentcode.playback.moving import (
    MAX_STRETCH,
    MOVING,
    Walk,
    frame_gains,
    is_moving,
    pan_gains,
    per_frame,
    sample,
    stretch_magnitude,
    walk_voice,
)

FADE_IN = 64  # samples; enough to hide a step at the onset, short enough to keep attacks
FADE_OUT = 256
MAX_VOICES = 512
# Voices are mixed in this many lanes, each new one in the least busy, and the lanes are added
# in order: a split render (latentcode.playback.parallel) renders each lane in one process and
# adds them the same way, so its file has the very bits of a render in one process.
LANES = 4


@dataclass
class Voice:
    """One sounding trajectory. Positions are in latent frames of sound ``a``.

    Each of the controls in :data:`~latentcode.playback.moving.MOVING` (``stretch``, ``alpha``,
    ``noise``, ``jitter``, ``zscale``, ``bias``, ``gain``, ``pan``) is a float, or a continuous
    signal (a value with ``.at(cycle)``) that the voice reads at every output frame; ``moving``
    names the latter. With a moving ``stretch``, ``walk`` integrates the positions and
    ``frames``/``length`` are upper bounds until the end comes within the lookahead.
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
    rng: np.random.Generator | None = None  # the voice's own noise: tracks never share draws
    stretch: Any = 1.0
    gain: Any = 1.0
    pan: Any = 0.5
    moving: tuple[str, ...] = ()  # the controls read frame by frame
    walk: Walk | None = None  # the positions of a moving stretch
    window: int = 0  # samples of one frame (a walk's end sets ``length`` from it)
    tail: np.ndarray | None = None  # how the last aligned grain goes on (grains.py)
    source: dict = field(default_factory=dict)  # a stretched voice's decoded segments
    norm: float = 1.0  # loudness compensation of a mix (grains.level_gains)
    match: float = 1.0  # how much of its sounds' spectral match it takes (playback.matched)
    level: float | None = None  # its smoothed correction in dB
    speed: float = 1.0  # resampled after decoding when not 1 (see :mod:`.resampled`)
    inner: Voice | None = None  # then: the voice at speed 1, in its own time
    resampler: Any = None  # and what of it is rendered
    lane: int = 0  # which of the LANES it is mixed in (see Voices.render)
    # where a mix reads ``b`` when one of the two is the live input: (first position, step
    # per frame); NaN: as far through ``b`` as through ``a`` (see latents.mixed_positions)
    b_at: tuple[float, float] = (math.nan, math.nan)

    @property
    def a_last(self) -> int:
        """The last frame index of sound ``a`` (at least 1: positions are divided by it)."""
        return max(self.a.frames - 1, 1)

    def frames_in(self, begin: int, end: int, hop: int) -> range:
        """Indices of this voice's output frames that start in samples [begin, end)."""
        lo = max(0, -((self.start - begin) // hop))
        hi = min(self.frames, -((self.start - end) // hop))
        return range(lo, hi)

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
) -> Voice:
    """The voice an onset event starts; ``duration`` is the event's length in samples.

    ``value`` is a sound name or a dict of controls with a ``sound`` key.
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
    )
    if b is not None and (a.live or b.live):
        first = b.frame_at(start) if b.live else min(math.floor(trim * b.onset), b.frames - 1)
        voice.b_at = (first, framing.hop / b.hop)
    return resampled.wrap(voice, framing.hop) if speed != 1.0 else voice


class Voices:
    """The playing voices of all tracks, rendered block by block.

    ``decode`` is the model's batched decode: (n, latent) -> (n, segment).
    """

    def __init__(
        self,
        decode: Callable[[np.ndarray], np.ndarray],
        *,
        tracks: int,
        segment: int,
        framing: Framing,
        seed: int = 0,
        channels: int = 2,
    ) -> None:
        self.decode = decode
        self.framing = framing
        self.segment = segment
        self.voices: list[Voice] = []
        self.seed = seed
        self.channels = channels  # outputs per track: 2, or a ring of speakers
        self._carry: dict[int, np.ndarray] = {}  # per lane: what its frames add to the next block
        self.frames_decoded = 0
        self.planned: list[tuple[int, int]] = []  # (track, frames) per voice of the last decode
        self._walking: list[Voice] = []  # voices whose moving stretch has not reached its end
        # how many lanes voices are dealt to: LANES for a render (one process or several give
        # the same bits), 1 live (one buffer to add: a ring of 32 speakers makes lanes dear)
        self.lanes = 1
        # the lanes this process renders (None: all); a split render gives each process its
        # share, and the other voices are scheduled and ended but never decoded here
        self.owned: frozenset[int] | None = None
        # a split render's hand-over: this process's lanes of a block in, every lane out
        self.exchange: Callable[[int, dict[int, np.ndarray]], dict[int, np.ndarray]] | None = None

    def add(self, voice: Voice) -> None:
        """Start a voice; past MAX_VOICES the oldest fades out (the scheduler's voice cap,
        far lower, steals first: see :mod:`latentcode.playback.stealing`)."""
        # Seeded by where the voice starts, so its noise is the same whatever else plays.
        voice.rng = np.random.default_rng([self.seed, voice.track, voice.start])
        voice.lane = self._lightest_lane(voice.start)
        self.voices.append(voice)
        if voice.walk is not None:  # (a resampled voice's inner one walks on its own)
            self._walking.append(voice)
        if len(self.voices) > MAX_VOICES and len(self.sounding(voice.start)) > MAX_VOICES:
            stealing.cut_oldest(self.voices, voice.start, self.framing.hop, FADE_OUT)

    def _lightest_lane(self, now: int) -> int:
        """The lane with the fewest voices sounding at ``now``: a split render's processes get
        about equal work, as a voice costs about the same in every block it sounds (and each
        process knows every voice, so all of them agree)."""
        if self.lanes == 1:
            return 0
        sounding = [0] * self.lanes
        for v in self.voices:
            if v.start + v.length > now:
                sounding[v.lane] += 1
        return sounding.index(min(sounding))

    def clear(self) -> None:
        """Stop every voice at once, and drop what is already mixed ahead."""
        self.voices.clear()
        self._walking.clear()
        self._carry.clear()

    def render(self, out: np.ndarray, start: int, cycle_at: Callable[[int], Fraction],
               step: int | None = None) -> None:
        """Add the audio of samples [start, start+n) into ``out`` (tracks, channels, n), a
        span scheduled in blocks of ``step`` samples (all of it by default)."""
        n = out.shape[2]
        hop, seg = self.framing.hop, self.segment
        lanes: dict[int, np.ndarray] = {}

        def lane(k: int) -> np.ndarray:
            """Lane ``k``'s buffer for this block: its carry, then room for new frames."""
            if k not in lanes:
                lanes[k] = np.zeros((out.shape[0], self.channels, n + seg), dtype=np.float32)
                if k in self._carry:
                    lanes[k][:, :, :seg] += self._carry[k]
            return lanes[k]

        for k in self._carry:
            lane(k)
        self._advance(start, start + n, cycle_at)
        mine = self.voices if self.owned is None else [v for v in self.voices
                                                        if v.lane in self.owned]
        for v in mine:
            if v.inner is not None:
                resampled.mix(v, self, lane(v.lane), start, n, cycle_at)
        plan = [(v, v.frames_in(start, start + n, hop)) for v in mine if v.inner is None]
        plan = [(v, js) for v, js in plan if len(js)]
        if plan:
            batch = Batch(plan)
            # read once a block, used by both the decode and the grains
            pos, alpha = self._positions(batch), self._per_frame(batch, "alpha", cycle_at)
            stretched = self._stretched(batch)
            audio = self._decode(batch, cycle_at, pos, alpha, stretched)
            offsets = batch.column("start")[batch.which] + batch.j * hop - start
            frames, match = self._shape(audio, batch, pos, alpha, offsets // (step or n))
            # per frame: (frames, channels), or (.., seg)
            gains = frame_gains(batch, cycle_at, hop, seg, self.channels)
            stereo = frames[:, None, :] * (gains if gains.ndim == 3 else gains[:, :, None])
            tracks = batch.column("track")[batch.which].tolist()
            lanes_of = batch.column("lane")[batch.which].tolist()
            matched.mix(stereo, lanes_of, tracks, offsets.tolist(), match, lane, step or n)
        # only frames that started in this block reach past it
        self._carry = {k: acc[:, :, n:].copy() for k, acc in lanes.items() if acc[:, :, n:].any()}
        heard = {k: acc[:, :, :n] for k, acc in lanes.items()}
        if self.exchange is not None:
            heard = self.exchange(start, heard)
        for k in sorted(heard):  # lane after lane, whichever process rendered them
            out += heard[k]
        self.voices = self.sounding(start + n)

    def sounding(self, at: int) -> list[Voice]:
        """The voices with audio at or after sample ``at`` (those a render up to ``at`` keeps):
        a render of several blocks at once drops the others at its end, so what is decided
        within it (the voice cap) asks this rather than reading :attr:`voices`."""
        hop = self.framing.hop
        return [v for v in self.voices if v.start + (v.frames - 1) * hop >= at
                or (v.inner is not None and v.start + v.length > at)]

    def _shape(self, audio: np.ndarray, batch: Batch, pos: np.ndarray, alpha: np.ndarray,
               steps: np.ndarray) -> tuple[np.ndarray, matched.Plan]:
        """Window every frame, bringing mixes to their sounds' level (see :mod:`.grains`); plan
        their spectral match and filter those it filters one by one (see :mod:`.matched`);
        fade the frames at a voice's start and end. ``pos`` and ``alpha`` are per frame, as
        the decode read them; ``steps`` the step of the block each starts in. Returns the
        frames and the match's plan."""
        seg, hop = self.segment, self.framing.hop
        # (the live input has no levels measured ahead: its mixes are not brought to them)
        mixes = [i for i, (v, _) in enumerate(batch.plan)
                 if v.b is not None and v.norm > 0 and not (v.a.live or v.b.live)]
        if mixes:
            mixed, gains, extra = grains.level_gains(audio, batch, mixes, pos, alpha,
                                                     self.decode, self.framing.window)
            self.frames_decoded += extra
        first = (batch.j == 0) & (self.framing.first is not None)  # at full gain at once
        head = audio[first] * self.framing.first if first.any() else None
        audio *= self.framing.window
        if head is not None:
            audio[first] = head
        if mixes:
            audio[mixed] *= gains[:, None]
        offset = batch.j * hop  # where each frame starts within its voice
        length = batch.column("length")[batch.which]
        fading = (offset < FADE_IN) | (offset + seg > length - FADE_OUT)
        # windowed frames, so the whole voice goes through one filter; before the fades, so a
        # voice still starts at 0 on its onset's sample and ends at 0
        match = matched.plan(batch, alpha, fading, seg, pos, steps)
        matched.filter_frames(audio, match)
        edge = np.flatnonzero(fading)
        if edge.size:
            t = offset[edge, None] + np.arange(seg)[None, :]
            fade = np.minimum(t / FADE_IN, (length[edge, None] - t) / FADE_OUT)
            audio[edge] *= np.clip(fade, 0.0, 1.0).astype(np.float32)
        return audio, match

    def _stretched(self, batch: Batch) -> list[int]:
        """The voices of the batch whose grains are aligned (none unless the framing aligns)."""
        return grains.stretched(batch.plan, self.framing.hop) if self.framing.align else []

    def _decode(self, batch: Batch, cycle_at: Callable[[int], Fraction], pos: np.ndarray,
                alpha: np.ndarray, stretched: list[int]) -> np.ndarray:
        """One batched decode for the block, one unwindowed segment per row: a frame for every
        row of the plain voices, and the segments of their sound that the ``stretched`` voices
        have not decoded yet, from which their grains are read (see :mod:`.grains`)."""
        skip = set(stretched)
        others = [i for i in range(len(batch.plan)) if i not in skip]
        rows = grains.rows_of(batch, others)
        parts = [(batch.subset(others), pos[rows], alpha[rows])]
        wanted = grains.wanted(batch, stretched, pos, self.segment)
        new = [(i, ks) for i, ks in zip(stretched, wanted, strict=True) if ks]
        # each new segment is decoded ahead, with the controls of the frame that will play it
        source = Batch([(batch.plan[i][0], grains.playing_frames(batch, i, pos, ks))
                        for i, ks in new])
        at = np.array([k for _, ks in new for k in ks], dtype=float)
        parts.append((source, at, self._per_frame(source, "alpha", cycle_at)))
        z = [latents(b, p, a, lambda b, name: self._per_frame(b, name, cycle_at))
             for b, p, a in parts if len(p)]
        self.planned = [(v.track, len(js)) for b, _, _ in parts for v, js in b.plan]
        steady = np.concatenate([steady_rows(b) for b, p, _ in parts if len(p)]) if z else None
        decoded = (self._run(np.concatenate(z), steady) if z
                   else np.zeros((0, self.segment), np.float32))
        audio = np.empty((len(pos), self.segment), dtype=np.float32)
        audio[rows] = decoded[: len(rows)]
        if stretched:
            grains.keep([batch.plan[i][0] for i, _ in new], [ks for _, ks in new],
                        decoded[len(rows) :], self.framing.window, self.framing.first)
            aligned, read = grains.read(batch, stretched, pos, self.segment, self.framing.hop)
            audio[aligned] = read
        return audio

    def _run(self, z: np.ndarray, steady: np.ndarray) -> np.ndarray:
        """The model's decode of ``z``; a broken checkpoint's non-finite output is zeroed.
        A frame cache is told which rows can come again (``steady``: no sampled noise)."""
        self.frames_decoded += len(z)
        z = z.astype(np.float32, copy=False)
        decoded = (self.decode(z, steady) if isinstance(self.decode, FrameCache)
                   else self.decode(z))
        audio = np.asarray(decoded, dtype=np.float32)
        if not np.isfinite(audio).all():  # only a broken checkpoint gets here: cheap to check
            audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
        return audio

    def _per_frame(self, batch: Batch, name: str, cycle_at: Callable) -> np.ndarray:
        """Control ``name`` for every frame of the batch (see :func:`moving.per_frame`)."""
        return per_frame(batch, name, cycle_at, self.framing.hop, self.segment // 2)

    def _positions(self, batch: Batch) -> np.ndarray:
        """Every frame's position in sound ``a`` (latent frames): ``pos0 + j·step`` for a
        constant stretch, the walked positions for a moving one."""
        which = batch.which
        pos = batch.column("pos0")[which] + batch.j * batch.column("step")[which]
        for i in batch.moving:
            v, js = batch.plan[i]
            if v.walk is not None:
                pos[batch.rows(i)] = v.walk.positions(js)
        return pos

    def _advance(self, start: int, end: int, cycle_at: Callable[[int], Fraction]) -> None:
        """Walk every moving stretch to the frames that start before ``end`` and one segment
        beyond, so that a voice's end is known before its fading frames are rendered."""
        if not self._walking:
            return
        hop, centre = self.framing.hop, self.segment // 2
        ahead = -(-self.segment // hop)
        for v in self._walking:
            walk_voice(v, -((v.start - end) // hop) + ahead, hop, centre, cycle_at)
            v.walk.forget(-((v.start - start) // hop))  # frames before this block are played
        self._walking = [v for v in self._walking if v.walk.frames is None]
