"""Latent trajectories: each onset starts a voice (:mod:`.voice`) that walks a sound's latent
frames, and :class:`Voices` renders all that sound.

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

from collections.abc import Callable

import numpy as np

from latentcode.model.frame_cache import FrameCache
from latentcode.patterns.time import Fraction
from latentcode.playback import grains, loudness, matched, resampled, stealing
from latentcode.playback.batch import Batch
from latentcode.playback.framing import Framing
from latentcode.playback.latents import latents, steady_rows
from latentcode.playback.moving import frame_gains, per_frame, walk_voice
from latentcode.playback.voice import FADE_IN, FADE_OUT, Voice

MAX_VOICES = 512
# Voices are mixed in this many lanes, each new one in the least busy, and the lanes are added
# in order: a split render (latentcode.playback.parallel) renders each lane in one process and
# adds them the same way, so its file has the very bits of a render in one process.
LANES = 4


Exchange = Callable[[int, int, dict[int, np.ndarray]], dict[int, np.ndarray]]


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
        # a split render's hand-over: (start, samples, this process's lanes) in, every lane out
        self.exchange: Exchange | None = None
        # the frames each step's match filtered together (live, a rewind makes voices again as
        # they were filtered); with ``replay``, this render groups as the one that noted it did
        self.groups = matched.Groups()
        self.replay: matched.Groups | None = None

    def add(self, voice: Voice) -> None:
        """Start a voice; past MAX_VOICES the oldest fades out (the scheduler's voice cap,
        far lower, steals first: see :mod:`latentcode.playback.stealing`)."""
        voice.seed(self.seed, voice.start)
        voice.lane = self._lightest_lane(voice.start)
        self.voices.append(voice)
        if voice.walk is not None:  # (a resampled voice's inner one walks on its own)
            self._walking.append(voice)
        if len(self.voices) > MAX_VOICES and len(self.sounding(voice.start)) > MAX_VOICES:
            stealing.cut_oldest(self.voices, voice.start, self.framing.hop, FADE_OUT)

    def spare(self) -> Voices:
        """No voices, rendered as these are (the same decode, framing, seed and channels).

        >>> from latentcode.playback.framing import make_framing
        >>> silent = lambda z: np.zeros((len(z), 1024), np.float32)
        >>> voices = Voices(silent, tracks=1, segment=1024, framing=make_framing("ola", 1024))
        >>> voices.spare().voices, voices.spare().framing is voices.framing
        ([], True)
        """
        return Voices(self.decode, tracks=0, segment=self.segment, framing=self.framing,
                      seed=self.seed, channels=self.channels)

    def withdraw(self, track: int, since: int) -> list[Voice]:
        """Take out the voices of ``track`` that start at or after ``since`` and can be made
        again (they have an ``origin``); returns them (see :mod:`.rewind`)."""
        gone = [v for v in self.voices
                if v.track == track and v.start >= since and v.origin is not None]
        if gone:
            ids = {id(v) for v in gone}
            self.voices = [v for v in self.voices if id(v) not in ids]
            self._walking = [v for v in self._walking if id(v) not in ids]
        return gone

    def adopt(self, other: Voices, carry: np.ndarray) -> None:
        """Take over the voices ``other`` rendered up to where this one's next block starts,
        and add ``carry`` (tracks, channels, segment) to what reaches into that block."""
        for v in other.voices:
            v.lane = self._lightest_lane(v.start)
            self.voices.append(v)
        self._walking.extend(other._walking)
        self.groups.take(other.groups)
        self.frames_decoded += other.frames_decoded
        if carry.any():
            lane = self._carry.get(0)
            self._carry[0] = carry.copy() if lane is None else lane + carry

    def carried(self, tracks: int) -> np.ndarray:
        """All that this block's frames add to the next one, the lanes added together."""
        total = np.zeros((tracks, self.channels, self.segment), np.float32)
        for acc in self._carry.values():
            total += acc
        return total

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
            # (the live input has no levels measured ahead: its mixes are not brought to them)
            mixes = [i for i, (v, _) in enumerate(batch.plan) if v.norm > 0 and (
                     (v.b is not None or v.c is not None) and not any(
                         s is not None and s.live for s in (v.a, v.b, v.c)))]
            morph = (self._per_frame(batch, "morph", cycle_at)
                     if any(v.c is not None for v, _ in batch.plan) else None)
            ends = loudness.ends(batch, mixes, pos) if mixes else []
            unknown = loudness.unknown(loudness.wanted(ends), self.decode, self.framing.window)
            audio = self._decode(batch, cycle_at, pos, alpha, stretched, unknown, morph)
            offsets = batch.column("start")[batch.which] + batch.j * hop - start
            steps = offsets // (step or n)
            frames, match = self._shape(audio, batch, pos, alpha, steps,
                                        start + steps * (step or n), mixes, ends, morph)
            # per frame: (frames, channels), or (.., seg)
            gains = frame_gains(batch, cycle_at, hop, seg, self.channels)
            tracks = batch.column("track")[batch.which].tolist()
            lanes_of = batch.column("lane")[batch.which].tolist()
            matched.mix(frames, gains, lanes_of, tracks, offsets.tolist(), match, lane, step or n,
                        start, self.groups, self.replay)
            self.groups.forget(start + n)
        # only frames that started in this block reach past it
        self._carry = {k: acc[:, :, n:].copy() for k, acc in lanes.items() if acc[:, :, n:].any()}
        heard = {k: acc[:, :, :n] for k, acc in lanes.items()}
        if self.exchange is not None:
            heard = self.exchange(start, n, heard)
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
               steps: np.ndarray, bases: np.ndarray, mixes: list[int], ends: loudness.Ends,
               morph: np.ndarray | None = None) -> tuple[np.ndarray, matched.Plan]:
        """Window every frame, bringing mixes to their sounds' level (see :mod:`.grains`); plan
        their spectral match and filter those it filters one by one (see :mod:`.matched`);
        fade the frames at a voice's start and end. ``pos`` and ``alpha`` are per frame, as
        the decode read them; ``steps`` the step of the block each starts in, ``bases`` that
        step's first sample; ``mixes`` the voices brought to their sounds' level, reading
        their clean levels where ``ends`` says; ``morph`` per frame where a voice has a
        ``morphfrom``. Returns the frames and the match's plan."""
        seg, hop = self.segment, self.framing.hop
        if mixes:
            mixed, gains = loudness.level_gains(audio, batch, mixes, ends, alpha,
                                                self.framing.window, morph)
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
        match = matched.plan(batch, alpha, fading, seg, pos, steps, bases, self.replay, morph)
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
                alpha: np.ndarray, stretched: list[int], unknown: loudness.Unknown,
                morph: np.ndarray | None = None) -> np.ndarray:
        """One batched decode for the block, one unwindowed segment per row: a frame for every
        row of the plain voices, and the segments of their sound that the ``stretched`` voices
        have not decoded yet, from which their grains are read (see :mod:`.grains`). The
        mixes' ``unknown`` clean levels are measured in the same call, which pads its rows to
        a multiple of 16 anyway (see :func:`loudness.unknown`). ``alpha`` and ``morph`` (None:
        no voice has a ``morphfrom``) are per row, read once for the decode and the shaping."""
        skip = set(stretched)
        others = [i for i in range(len(batch.plan)) if i not in skip]
        rows = grains.rows_of(batch, others)
        parts = [(batch.subset(others), pos[rows], alpha[rows],
                  None if morph is None else morph[rows])]
        reach = grains.reach(batch, stretched, pos, self.segment)
        wanted = grains.wanted(batch, stretched, reach, self.segment)
        new = [(i, ks) for i, ks in zip(stretched, wanted, strict=True) if ks]
        # each new segment is decoded ahead, with the controls of the frame that will play it
        source = Batch([(batch.plan[i][0], grains.playing_frames(batch, i, pos, ks))
                        for i, ks in new])
        at = np.array([k for _, ks in new for k in ks], dtype=float)
        parts.append((source, at, self._per_frame(source, "alpha", cycle_at),
                      None if morph is None else self._per_frame(source, "morph", cycle_at)))
        z = [latents(b, p, a, m, lambda b, name: self._per_frame(b, name, cycle_at))
             for b, p, a, m in parts if len(p)]
        self.planned = [(v.track, len(js)) for b, *_ in parts for v, js in b.plan]
        steady = [steady_rows(b) for b, p, *_ in parts if len(p)]
        if unknown:
            z.append(loudness.latents(unknown))
            steady.append(np.zeros(len(z[-1]), bool))  # (wanted once: never kept)
        decoded = (self._run(np.concatenate(z), np.concatenate(steady)) if z
                   else np.zeros((0, self.segment), np.float32))
        measured = len(z[-1]) if unknown else 0
        loudness.store(unknown, decoded[len(decoded) - measured :], self.framing.window)
        if not stretched and isinstance(self.decode, FrameCache):
            # every row decoded, in the batch's order, into an array of the cache's making
            # (never its own slots): shaped where it lies, not copied (a pass over every row)
            return decoded[: len(pos)]
        audio = np.empty((len(pos), self.segment), dtype=np.float32)
        audio[rows] = decoded[: len(rows)]
        if stretched:
            grains.keep([batch.plan[i][0] for i, _ in new], [ks for _, ks in new],
                        decoded[len(rows) : len(decoded) - measured], self.framing.window,
                        self.framing.first)
            aligned, read = grains.read(batch, stretched, reach, self.segment, self.framing.hop)
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

    def walk_to(self, end: int, cycle_at: Callable[[int], Fraction]) -> None:
        """Walk every moving stretch to the frames that start before ``end`` and one segment
        beyond, so that a voice's end is known before its fading frames are rendered, and its
        time (``along``: how far it has walked) before anything reads it there. Nothing is
        forgotten: a render that schedules several blocks before it makes them (``--plot``
        reads the controls as it schedules) calls this for each."""
        if not self._walking:
            return
        hop, centre = self.framing.hop, self.segment // 2
        ahead = -(-self.segment // hop)
        for v in self._walking:
            walk_voice(v, -((v.start - end) // hop) + ahead, hop, centre, cycle_at)

    def _advance(self, start: int, end: int, cycle_at: Callable[[int], Fraction]) -> None:
        """:meth:`walk_to` ``end``, then forget the positions before ``start`` (played)."""
        self.walk_to(end, cycle_at)
        hop = self.framing.hop
        for v in self._walking:
            v.walk.forget(-((v.start - start) // hop))  # frames before this block are played
        self._walking = [v for v in self._walking if v.walk.frames is None]
