"""Grains: how a voice's decoded frames join into a stream without roughness.

Overlap-add framing decodes one segment (1024 samples) per output frame, every ``hop`` (256)
samples. At ``stretch 1`` a voice advances two latent frames (encoder hop 128) per output
frame, so every grain continues the previous one exactly where the original audio did: the
grains are in phase and the windows sum to the original. Any other stretch reads the sound
slower (or faster, or backwards) than the grains are laid down, so neighbouring grains meet
with arbitrary phase: partials cancel, the level drops (up to 24 dB on a 440 Hz sine at
stretch 8) and the mismatch repeats at the frame rate, a 172 Hz roughness. Fractional latent
positions make it worse: a blend of two neighbouring latents decodes to a blend of two phases.

So a stretched voice (see :func:`needs_alignment`) is played as a WSOLA (waveform similarity
overlap-add) of its own grains:

- its positions snap to whole latent frames (:func:`snap`), which the decoder reproduces
  faithfully, and the fraction left over becomes an offset in samples inside the grain;
- from each decoded segment a shorter window (``segment - hop`` samples, :func:`grain_window`) is
  read at the offset, within ``±hop/2`` of the ideal one, whose waveform best matches the
  natural continuation of the voice's previous grain (normalised cross-correlation);
- the windows stay on the regular grid of output frames, so they still sum to unit gain.

Voices at ``stretch 1`` keep the full window and are bit-identical to plain overlap-add.

The second half of the module is the per-voice loudness compensation (the ``norm`` control):
see :func:`level_gains`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Prefer the ideal offset among near-equal matches (silence, noise): a normalised correlation
# must beat the one at the ideal offset by this much per hop of distance to move the grain.
_PULL = 0.05
# Samples of the overlap compared to find the best offset: its middle, where the crossfade
# weighs both grains most. Half of the overlap matches as well as all of it, at half the cost.
COMPARE = 256
COARSE = 4  # the first search looks at every 4th offset, on 4-sample averages


def grain_window(length: int, hop: int) -> np.ndarray:
    """The window of an aligned grain: a periodic Hann of ``length`` samples (a multiple of
    ``hop``; overlap-add uses ``segment - hop``), scaled so that copies ``hop`` apart sum to one.

    >>> w = grain_window(768, 256); len(w), round(float(w.max()), 3)
    (768, 0.667)
    >>> s = np.zeros(4096); _ = [s.__setitem__(slice(k, k + 768), s[k:k + 768] + w)
    ...                          for k in range(0, 3328, 256)]
    >>> round(float(s[1024:2048].min()), 6), round(float(s[1024:2048].max()), 6)
    (1.0, 1.0)
    """
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)
    return (w * hop / w.sum()).astype(np.float32)


def needs_alignment(step: float, source_hop: int, hop: int, walking: bool) -> bool:
    """Whether a voice's grains need aligning: all but those that advance exactly one output
    hop of the original audio per output frame (``stretch 1`` forwards, not walking).

    >>> needs_alignment(2.0, 128, 256, False), needs_alignment(0.25, 128, 256, False)
    (False, True)
    >>> needs_alignment(-2.0, 128, 256, False), needs_alignment(2.0, 128, 256, True)
    (True, True)
    """
    return walking or step * source_hop != hop


def snap(pos: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``pos`` with the entries ``rows`` (the stretched voices' frames) rounded to whole latent
    frames, a copy: the grain's offset makes up the fraction.

    >>> snap(np.array([0.25, 0.75, 1.5]), np.array([0, 1])).tolist()
    [0.0, 1.0, 1.5]
    """
    pos = np.array(pos, dtype=float)
    pos[rows] = np.rint(pos[rows])
    return pos


def ideal_offsets(pos: np.ndarray, source_hop: int | np.ndarray, room: int) -> np.ndarray:
    """Where in each decoded segment an aligned grain would be read if nothing had to line up:
    centred in the ``room`` a grain has to move (segment minus grain window), moved by the
    fraction of a latent frame that :func:`snap` took away.

    >>> ideal_offsets(np.array([0.0, 0.25, 2.5]), 128, 256).tolist()
    [128, 160, 192]
    """
    frac = pos - np.rint(pos)
    return np.clip(room // 2 + np.rint(frac * source_hop), 0, room).astype(np.intp)


def align(
    audio: np.ndarray,
    rows: Sequence[slice],
    tails: list[np.ndarray | None],
    ideal: np.ndarray,
    window: np.ndarray,
    hop: int,
) -> np.ndarray:
    """WSOLA: aligned, windowed grains of the decoded segments of some voices.

    ``audio`` holds decoded segments (frames, segment); voice ``i`` owns the consecutive rows
    ``rows[i]``, in the order they sound, and ``tails[i]`` is the middle of the continuation of
    its last grain (None before its first), updated in place. ``ideal`` gives every row's ideal
    offset. Returns (frames, segment) arrays with each grain windowed and centred.
    Voices are processed together, grain by grain: the n-th grains of all voices in one batch.
    """
    segment = audio.shape[1]
    length = len(window)
    overlap = length - hop  # how much of a grain the next one overlaps
    room = segment - length  # how far a grain can move within its segment
    compare = min(COMPARE, overlap)
    skip = (overlap - compare) // 2  # compare the middle of the overlap, where both weigh most
    out = np.zeros_like(audio)
    counts = np.array([r.stop - r.start for r in rows], dtype=np.intp)
    firsts = np.array([r.start for r in rows], dtype=np.intp)
    for rank in range(int(counts.max(initial=0))):
        live = np.flatnonzero(counts > rank)
        at = firsts[live] + rank
        grains = audio[at]
        offset = ideal[at].copy()
        known = [k for k, i in enumerate(live) if tails[i] is not None]
        if known:
            tail = np.stack([tails[live[k]] for k in known])
            head = grains[known, skip : skip + room + compare]
            offset[known] = _best_offsets(head, tail, ideal[at[known]], room)
        views = _windows(grains, length)
        out[at, room // 2 : room // 2 + length] = views[np.arange(len(at)), offset] * window
        nexts = views[np.arange(len(at)), offset, hop + skip : hop + skip + compare]
        for k, i in enumerate(live):
            tails[i] = nexts[k]
    return out


def _best_offsets(head: np.ndarray, tail: np.ndarray, ideal: np.ndarray, room: int
                  ) -> np.ndarray:
    """For each row, the offset in [0, room] where ``head`` best matches ``tail`` (normalised
    cross-correlation), pulled towards ``ideal`` and at most ``room/2`` from it.

    Coarse to fine, for speed: every ``COARSE``-th offset on the signals summed over
    ``COARSE`` samples (a crude low-pass), then every offset around the best of those.
    """
    rows, compare = tail.shape
    lags = np.arange(0, room + 1, COARSE)
    short, short_tail = _decimate(head[:, : room + compare]), _decimate(tail)
    n = compare // COARSE
    power = np.zeros((rows, short.shape[1] + 1), dtype=np.float32)
    np.cumsum(np.square(short), axis=1, out=power[:, 1:])
    corr = np.einsum("rln,rn->rl", _windows(short, n)[:, : len(lags)], short_tail)
    energy = power[:, n : n + len(lags)] - power[:, : len(lags)]
    coarse = lags[_scores(corr, energy, short_tail, lags, ideal, room).argmax(axis=1)]
    near = np.clip(coarse[:, None] + np.arange(-COARSE, COARSE + 1), 0, room)
    windows = _windows(head, compare)[np.arange(rows)[:, None], near]
    corr = np.einsum("rln,rn->rl", windows, tail)
    energy = np.einsum("rln,rln->rl", windows, windows)
    return near[np.arange(rows), _scores(corr, energy, tail, near, ideal, room).argmax(axis=1)]


def _windows(x: np.ndarray, n: int) -> np.ndarray:
    """Every window of ``n`` consecutive samples of each row: a view (rows, len - n + 1, n)."""
    rows, size = x.shape
    return np.lib.stride_tricks.as_strided(
        x, (rows, size - n + 1, n), (x.strides[0], x.strides[1], x.strides[1]), writeable=False)


def _decimate(x: np.ndarray) -> np.ndarray:
    """Sums of ``COARSE`` consecutive samples along the rows (the length a multiple of it)."""
    out = x[:, 0::COARSE].copy()
    for k in range(1, COARSE):
        out += x[:, k::COARSE]
    return out


def _scores(corr: np.ndarray, energy: np.ndarray, tail: np.ndarray, lags: np.ndarray,
            ideal: np.ndarray, room: int) -> np.ndarray:
    """Normalised correlations (rows, lags) less a pull towards ``ideal``; lags too far from
    it score -inf."""
    norm = np.sqrt(np.maximum(energy, 0.0) * np.einsum("rn,rn->r", tail, tail)[:, None])
    distance = np.abs(lags - ideal[:, None])
    score = corr / (norm + 1e-12) - _PULL * distance / room
    score[distance > room // 2] = -np.inf  # a grain may not wander from its time
    return score


def stretched(plan: Sequence[tuple[object, range]], hop: int) -> list[int]:
    """The indices in a block's ``plan`` ((voice, frames) pairs) of the voices whose grains
    need aligning (see :func:`needs_alignment`)."""
    return [i for i, (v, _) in enumerate(plan)
            if needs_alignment(v.step, v.a.hop, hop, v.walk is not None)]


def rows_of(batch: object, voices: Sequence[int]) -> np.ndarray:
    """The batch rows (frames) of the voices ``voices``, voice after voice."""
    spans = [batch.rows(i) for i in voices]
    return np.concatenate([np.arange(s.start, s.stop) for s in spans] or [np.zeros(0, np.intp)])


def align_voices(
    audio: np.ndarray, batch: object, voices: Sequence[int], pos: np.ndarray, window: np.ndarray,
    hop: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The aligned grains of the stretched ``voices`` of a block: (their rows, the grains).

    ``pos`` holds every row's latent position before :func:`snap`; each voice keeps the
    continuation of its last grain in ``voice.tail`` from one block to the next.
    """
    rows = rows_of(batch, voices)
    plan = batch.plan
    counts = [len(plan[i][1]) for i in voices]
    firsts = np.cumsum([0, *counts[:-1]])
    local = [slice(int(f), int(f) + c) for f, c in zip(firsts, counts, strict=True)]
    source_hop = np.repeat([plan[i][0].a.hop for i in voices], counts)
    ideal = ideal_offsets(pos[rows], source_hop, audio.shape[1] - len(window))
    tails = [plan[i][0].tail for i in voices]
    grains = align(audio[rows], local, tails, ideal, window, hop)
    for i, tail in zip(voices, tails, strict=True):
        plan[i][0].tail = tail
    return rows, grains


# -- loudness compensation ---------------------------------------------------------------------
#
# Decoding a blend of two latents (``mix`` with ``alpha``, more so outside 0..1) often collapses
# or inflates the level: the paper's three strategies played 13 dB apart. A voice with a second
# sound is brought, frame by frame, to the level its sounds have there: the level of each
# endpoint's mean decoded on its own, crossfaded by alpha (clamped to 0..1). Those
# "clean" levels are measured lazily, only around the frames voices reach (every GRID-th frame),
# in one extra decode call in the blocks that meet new frames; each is measured once per sound.
# Silence in a sound stays silent: its clean level is silence too.

LEVEL_RANGE = 12.0  # dB: the most the compensation raises or lowers a frame
SILENCE = -70.0  # dB: a frame decoded this quiet is never raised (nothing there to bring up)
# Clean levels are measured every GRID latent frames (512 samples) and interpolated between:
# a Hann-weighted level of 1024 samples changes little faster, and it costs a quarter.
GRID = 4
SMOOTHING = 0.5  # one-pole coefficient per output frame: the gain settles in ~3 frames (15 ms)


def levels_db(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The level of each frame (rows) in dB: RMS weighted by ``window``.

    >>> levels_db(np.full((1, 4), 0.5), np.ones(4)).round(2).tolist()
    [-6.02]
    """
    weights = (np.asarray(window, dtype=np.float64) / float(np.sum(window))).astype(np.float32)
    power = np.square(frames, dtype=np.float32) @ weights
    return 10 * np.log10(power.astype(np.float64) + 1e-20)


def clean_levels(sound: object) -> np.ndarray:
    """Per latent frame of ``sound``, the level of its mean decoded alone (NaN until measured).

    Kept on the sound itself as an optional attribute, so every voice shares the measurements
    and a sound the bank drops takes them along.
    """
    levels = sound.__dict__.get("_clean_levels")
    if levels is None:
        levels = np.full(sound.frames, np.nan, dtype=np.float32)
        object.__setattr__(sound, "_clean_levels", levels)  # Sound is frozen: an optional cache
    return levels


def measure(wanted: Sequence[tuple[object, np.ndarray]], decode, window: np.ndarray) -> int:
    """Measure, in one decode call, the clean levels of the frames ``wanted`` ((sound, frame
    indices) pairs) that are still unknown. Returns how many frames it decoded."""
    todo = []
    for sound, frames in wanted:
        levels = clean_levels(sound)
        missing = np.unique(frames[np.isnan(levels[frames])])
        if missing.size:
            todo.append((sound, missing))
    if not todo:
        return 0
    mu = np.concatenate([sound.mu[k] for sound, k in todo]).astype(np.float32, copy=False)
    measured = levels_db(np.asarray(decode(mu), dtype=np.float32), window)
    at = 0
    for sound, k in todo:
        clean_levels(sound)[k] = measured[at : at + len(k)]
        at += len(k)
    return len(mu)


def level_gains(
    audio: np.ndarray, batch: object, voices: Sequence[int], pos: np.ndarray, alpha: np.ndarray,
    decode, window: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Loudness compensation of the mixing ``voices`` of a block: (their rows, a gain per row,
    frames decoded to measure clean levels).

    ``audio`` holds the decoded segments, ``pos`` each row's position in sound ``a`` (latent
    frames), ``alpha`` each row's alpha. Each voice's ``norm`` scales its correction, and
    ``voice.level`` carries its smoothed correction (dB) from one block to the next.
    """
    plan = batch.plan
    rows = rows_of(batch, voices)
    counts = [len(plan[i][1]) for i in voices]
    per_row = np.repeat(np.arange(len(voices)), counts)
    mixing = [plan[i][0] for i in voices]
    frames_a = np.array([v.a.frames for v in mixing])[per_row]
    frames_b = np.array([v.b.frames for v in mixing])[per_row]
    p = pos[rows]
    q = p / np.maximum(frames_a - 1, 1) * (frames_b - 1)  # where sound b is read
    parts = _ends(mixing, per_row, {"a": p, "b": q})
    decoded = measure([(sound, np.concatenate([i0, i1])) for _, sound, _, i0, i1, _ in parts],
                      decode, window)
    level = {"a": np.empty(len(rows)), "b": np.empty(len(rows))}
    for end, sound, k, i0, i1, t in parts:
        clean = np.maximum(clean_levels(sound), SILENCE)
        level[end][k] = (1 - t) * clean[i0] + t * clean[i1]
    level_a, level_b = level["a"], level["b"]
    a = np.clip(alpha[rows], 0.0, 1.0)
    # as loud as a crossfade of the two sounds would be: interpolating in dB instead would let
    # a near-silent endpoint (a cluster of quiet frames) pull the whole morph down
    target = 20 * np.log10((1 - a) * 10 ** (level_a / 20) + a * 10 ** (level_b / 20))
    actual = levels_db(audio[rows], window)
    correction = np.clip(target - actual, -LEVEL_RANGE, LEVEL_RANGE)
    correction[(actual < SILENCE) & (correction > 0)] = 0.0
    amount = np.array([plan[i][0].norm for i in voices])[per_row]
    smoothed = _smooth(correction * amount, counts, [plan[i][0] for i in voices])
    return rows, (10 ** (smoothed / 20)).astype(np.float32), decoded


def _ends(mixing: Sequence[object], per_row: np.ndarray, positions: dict[str, np.ndarray]
          ) -> list[tuple[str, object, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per end ("a", "b") and distinct sound there: (end, sound, its rows, the measured frames
    before and after each row's position, the weight of the second)."""
    parts = []
    for end, pos in positions.items():
        sounds = [getattr(v, end) for v in mixing]
        i0, i1, t = _grid(np.array([s.frames for s in sounds])[per_row], pos)
        ids = np.array([id(s) for s in sounds])[per_row]
        for sound in {id(s): s for s in sounds}.values():
            k = np.flatnonzero(ids == id(sound))
            parts.append((end, sound, k, i0[k], i1[k], t[k]))
    return parts


def _grid(frames: np.ndarray | int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured frames around each position (every ``GRID``-th frame, and the last) and
    the weight of the second: clean levels are interpolated between them.

    >>> [x.tolist() for x in _grid(np.array(10), np.array([0.0, 5.0, 9.0]))]
    [[0, 4, 8], [4, 8, 9], [0.0, 0.25, 1.0]]
    """
    last = frames - 1
    p = np.clip(pos, 0, last)
    i0 = np.minimum(np.floor(p / GRID).astype(np.intp) * GRID, last)
    i1 = np.minimum(i0 + GRID, last)
    return i0, i1, np.where(i1 > i0, (p - i0) / np.maximum(i1 - i0, 1), 0.0)


def _smooth(values: np.ndarray, counts: Sequence[int], voices: Sequence[object]) -> np.ndarray:
    """A one-pole low-pass along each voice's consecutive rows, starting from ``voice.level``
    (None: from the first value, so that a voice starts at its correction, not at 0 dB)."""
    out = np.empty_like(values)
    at = 0
    for v, n in zip(voices, counts, strict=True):
        state = values[at] if v.level is None else v.level
        for k in range(at, at + n):
            state += SMOOTHING * (values[k] - state)
            out[k] = state
        v.level = float(state)
        at += n
    return out
