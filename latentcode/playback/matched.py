"""Each voice's frames through its sounds' spectral match (:mod:`latentcode.model.match`): the
model's hiss above a sound's own spectrum taken away, its dulled top end partly restored.

A voice of one sound uses that sound's match. A voice moving between two (``mix``) takes, at
each frame, the larger of the two matches, each weighed by how near ``alpha`` is to its sound:
fully from its own end to the middle, fading to nothing at the other end (alpha clamped to
0..1). So ``alpha 0`` and ``alpha 1`` sound exactly as the two sounds do alone, and a morph
between them keeps every band either sound has: a plain crossfade of the two matches cut a
drone-to-bell morph by 4.8 dB at alpha 0.4, where the morph sounds in the bell's band. A sound
with no match of its own (frame clusters, the prior) counts as one that keeps everything. The
``match`` control scales the correction in dB: 1 as measured, 0 the model's raw decode (no
filtering at all: bit for bit the frames as decoded).

Frames are filtered after they are windowed, so that their overlap-add is the whole voice
through one filter (see :func:`latentcode.model.match.apply`). As the filter is linear, the
frames of voices that play one sound as measured can be added first and filtered together:
a block's middle frames of one sound (neither a voice's first frame nor one it fades in or
out), when a lane holds at least :data:`GROUP_FROM` of them, go into one buffer per lane,
filtered once (:func:`on_grid`). Forty voices of a drone
then cost two FFTs a block, not a hundred and sixty. The frames at a voice's ends are
filtered one by one before their fades, so a voice still starts at 0 on its onset's sample
and ends at 0, with nothing of the filter before or after it.

Filtering a group and filtering its frames one by one differ slightly (the block's finer FFT
grid, and what each cuts of the filter's ringing). So a render notes which frames it grouped
(:class:`Groups`), and a rewind that takes voices out makes them again grouped as they were
(``replay``): the filter is linear, so their audio is then what they added, to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from latentcode.model.match import PAD, apply, fft_size
from latentcode.playback.batch import Batch
from latentcode.playback.latents import mixed_positions
from latentcode.playback.overlap_add import add_frames

GROUP_FROM = 6  # middle frames of one sound in a block from which they are filtered together
# samples of a render's groups kept (see Groups): more than any queue a rewind makes again
KEEP_GROUPS = 1 << 17

# a group as a render noted it: (its step's first sample, lane, match key, track)
GroupKey = tuple[int, int, tuple[int, int], int]


class Groups:
    """The frames a render filtered together: per step, lane, match and track, the span its
    group's audio was added over (samples from the step's first). A voice made again is
    filtered as it was when its key is here, and one by one when it is not.

    >>> g = Groups(); g.note((1024, 0, (7, 0), 1), 10, 900)
    >>> g.span((1024, 0, (7, 0), 1)), g.span((1024, 0, (7, 0), 2))
    ((10, 900), None)
    >>> g.forget(1024 + KEEP_GROUPS + 1); g.span((1024, 0, (7, 0), 1))
    """

    def __init__(self) -> None:
        # step's first sample -> {(lane, match key, track): span}, steps in the order noted
        self.steps: dict[int, dict[tuple[int, tuple[int, int], int], tuple[int, int]]] = {}

    def note(self, key: GroupKey, lo: int, hi: int) -> None:
        """Group ``key``'s audio was added over samples [lo, hi) of its step."""
        self.steps.setdefault(key[0], {})[key[1:]] = (lo, hi)

    def span(self, key: GroupKey) -> tuple[int, int] | None:
        """Where group ``key``'s audio was added, or None when it was not noted."""
        return self.steps.get(key[0], {}).get(key[1:])

    def forget(self, now: int) -> None:
        """Drop the groups of steps that began :data:`KEEP_GROUPS` or more before ``now``
        (the oldest noted first: a render notes its steps in order)."""
        while self.steps and next(iter(self.steps)) <= now - KEEP_GROUPS:
            del self.steps[next(iter(self.steps))]

    def take(self, other: Groups) -> None:
        """Add the groups ``other`` noted (voices made in a rewind, now played here); where a
        key is noted by both, the two were filtered apart and this one's is kept."""
        for step, spans in other.steps.items():
            mine = self.steps.setdefault(step, {})
            for key, span in spans.items():
                mine.setdefault(key, span)


@dataclass
class Plan:
    """How a block's frames are filtered: ``rows`` one by one with ``gains`` (one row each),
    and the others by ``group`` (per row: the index in ``masks`` of the match its frame is
    mixed and filtered with, -1 for none)."""

    rows: np.ndarray
    gains: np.ndarray
    group: np.ndarray
    masks: list[np.ndarray] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)  # per mask: (match id, step)


def plan(batch: Batch, alpha: np.ndarray, edge: np.ndarray, segment: int = 1024,
         pos: np.ndarray | None = None, block_step: np.ndarray | None = None,
         bases: np.ndarray | None = None, replay: Groups | None = None,
         morph: np.ndarray | None = None) -> Plan:
    """The filtering of ``batch``'s frames (``segment`` samples each); ``alpha`` is each row's
    interpolation position, ``edge`` marks the rows faded at a voice's start or end (filtered
    one by one), ``pos`` each row's position in its sound ``a`` (latent frames), which says
    whether a frame takes its sound's match or that of its quiet tail (``Sound.steps``),
    ``block_step`` which step of the block each row starts in (frames group within one),
    ``morph`` each row's morph from its voice's ``morphfrom`` (None when no voice has one).
    With ``replay``, a row groups where that render grouped it (``bases``: each row's step's
    first sample), whatever the count here.

    >>> from latentcode.model.sound import Sound
    >>> class V: moving = (); lane = 0
    >>> v = V(); v.b, v.c, v.match = None, None, 1.0
    >>> v.a = Sound("x", np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float32), 128,
    ...             match=np.ones(641, np.float32))
    >>> p = plan(Batch([(v, range(10))]), np.zeros(10), np.arange(10) % 9 == 0)
    >>> p.rows.tolist(), p.group.tolist()
    ([0, 9], [-1, 0, 0, 0, 0, 0, 0, 0, 0, -1])
    >>> plan(Batch([(v, range(4))]), np.zeros(4), np.arange(4) == 0).rows.tolist()  # too few
    [0, 1, 2, 3]
    """
    n = len(batch.which)
    pos = np.zeros(n) if pos is None else pos
    group = np.full(n, -1, dtype=np.intp)
    table: dict[tuple[int, int], int] = {}
    masks: list[np.ndarray] = []
    per_row = np.full(n, -1, dtype=np.intp)  # a plain voice's row: the index of its mask
    own = np.zeros(len(batch.plan), dtype=bool)  # voices filtered frame by frame throughout
    for i, (v, _) in enumerate(batch.plan):
        ga = v.a.match
        gb = v.b.match if v.b is not None else None
        gc = v.c.match if v.c is not None else None
        if v.match == 0.0 or (ga is None and gb is None and gc is None):
            continue
        if v.b is None and v.c is None and v.match == 1.0:
            rows = batch.rows(i)
            steps = v.a.step_at(pos[rows])
            counts = np.bincount(steps)  # the steps present, in order (np.unique: 4x as long)
            lut = np.full(len(counts), -1, dtype=np.intp)
            for step in np.flatnonzero(counts).tolist():
                key = (id(ga), step)
                if key not in table:
                    table[key] = len(masks)
                    masks.append(v.a.gains(step))
                lut[step] = table[key]
            per_row[rows] = lut[steps]
        else:
            own[i] = True
    grouped = (per_row >= 0) & ~edge  # a voice's first frame is an edge too (its fade-in)
    keys = list(table)  # per mask, in the order made: (match id, quiet step)
    # a block's buffer costs a stereo pair of FFTs each about twice a frame's: a sound with
    # few middle frames in a lane's block (one voice, concatenated framing) is cheaper frame
    # by frame. Counted per lane: a split render's processes see only their own lanes, and
    # must decide alike (see .parallel)
    if masks and replay is not None:
        lane, track = batch.column("lane")[batch.which], batch.column("track")[batch.which]
        for r in np.flatnonzero(grouped).tolist():
            grouped[r] = replay.span((int(bases[r]), int(lane[r]), keys[per_row[r]],
                                      int(track[r]))) is not None
    elif masks:
        lane = batch.column("lane")[batch.which]
        key = lane * len(masks) + np.maximum(per_row, 0)
        if block_step is not None:  # a render of several steps at once decides as step by step
            key = key * (int(block_step.max()) + 1) + block_step
        counts = np.bincount(key[grouped], minlength=int(key.max()) + 1)
        grouped &= counts[key] >= GROUP_FROM
    group[grouped] = per_row[grouped]
    single = (own[batch.which] | ((per_row >= 0) & ~grouped)).nonzero()[0]
    if not len(single):
        return Plan(single, np.zeros((0, 0), np.float32), group, masks, keys)
    bins = fft_size(segment) // 2 + 1
    gains = np.empty((len(single), bins), np.float32)
    plain = per_row[single] >= 0
    if plain.any():
        gains[plain] = np.stack(masks)[per_row[single[plain]]]
    at = np.empty(n, dtype=np.intp)
    at[single] = np.arange(len(single))
    for i in np.flatnonzero(own):
        v = batch.plan[i][0]
        r = np.arange(n)[batch.rows(i)]
        quiet_b = v.b is not None and v.b.quiet is not None  # (where in b, only then)
        b_pos = mixed_positions(batch, v.b, r, pos) if quiet_b else None
        g = _blend(v, alpha[r], _rows(v.a, pos[r], len(r)), _rows(v.b, b_pos, len(r)))
        if v.c is not None:  # from a third sound to the mix: the same rule between them
            quiet_c = v.c.quiet is not None
            c_pos = mixed_positions(batch, v.c, r, pos, "c") if quiet_c else None
            g = _between(morph[r], _rows(v.c, c_pos, len(r)), g)
        gains[at[r]] = g if v.match == 1.0 else g ** np.float32(v.match)
    return Plan(single, gains, group, masks, keys)


def _rows(sound, pos: np.ndarray | None, n: int) -> np.ndarray | None:
    """The match of each of ``n`` frames of ``sound`` at positions ``pos`` (rows of gains), or
    None when it has none."""
    if sound is None or sound.match is None:
        return None
    if pos is None or sound.quiet is None:
        return np.broadcast_to(sound.match, (n, len(sound.match)))
    return sound.gain_table[sound.step_at(pos)]


def _blend(v, alpha: np.ndarray, ga: np.ndarray | None, gb: np.ndarray | None
           ) -> np.ndarray | None:
    """The gains of a voice's rows at ``alpha``: its mix's two matches (see the module; ``ga``
    and ``gb`` one row of gains per frame; None: a sound without a match)."""
    return ga if v.b is None else _between(alpha, ga, gb)


def _between(t: np.ndarray, ga: np.ndarray | None, gb: np.ndarray | None) -> np.ndarray | None:
    """Two sounds' matches at ``t`` (0: the first, 1: the second) per row: the larger of the
    two, each weighed fully from its own end to the middle (a sound without one keeps every
    band: all ones).

    >>> g = _between(np.array([0.0, 0.5, 1.0]), np.full((3, 2), 0.5, np.float32), None)
    >>> g[:, 0].tolist()
    [0.5, 1.0, 1.0]
    """
    if ga is None and gb is None:
        return None
    ones = np.ones_like(ga if ga is not None else gb)
    t = np.clip(t, 0.0, 1.0).astype(np.float32)[:, None]
    return np.maximum(np.minimum(1, 2 - 2 * t) * (ones if ga is None else ga),
                      np.minimum(1, 2 * t) * (ones if gb is None else gb))


def filter_frames(audio: np.ndarray, p: Plan) -> None:
    """Filter in place the rows of ``audio`` that ``p`` filters one by one."""
    if len(p.rows) == len(audio):
        audio[:] = apply(audio, p.gains)
    elif len(p.rows):
        audio[p.rows] = apply(audio[p.rows], p.gains)


# (id of a match, samples) -> (the match, its gains on that block's grid); the match is kept
# so that its id is not reused while the entry lives
_GRIDS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def on_grid(match: np.ndarray, samples: int) -> np.ndarray:
    """``match`` read on the FFT grid of a buffer of ``samples`` (frames of one sound added
    together): :func:`.match.apply` with it filters the buffer as filtering each frame before
    adding them would. Kept: a render asks for the same few again and again.

    >>> g = np.where(np.arange(641) < 100, 1.0, 0.0).astype(np.float32)   # < 3.4 kHz
    >>> t = np.arange(2048) / 44100; w = np.hanning(2048)
    >>> x = np.stack([np.sin(6283 * t) * w, np.sin(62832 * t) * w]).astype(np.float32)
    >>> [round(float(np.abs(a).max()), 2) for a in apply(x, on_grid(g, 2048))]
    [1.0, 0.0]
    """
    key = (id(match), samples)
    if key not in _GRIDS:
        if len(_GRIDS) > 512:
            _GRIDS.clear()
        coarse = np.linspace(0.0, 1.0, len(match))  # as fractions of Nyquist
        fine = np.linspace(0.0, 1.0, (samples + PAD) // 2 + 1)
        _GRIDS[key] = (match, np.interp(fine, coarse, match).astype(np.float32))
    return _GRIDS[key][1]


def mix(frames: np.ndarray, gains: np.ndarray, lanes: list[int], tracks: list[int],
        offsets: list[int], p: Plan, lane: Callable[[int], np.ndarray], step: int,
        start: int = 0, noted: Groups | None = None, replay: Groups | None = None) -> None:
    """Add each of the mono ``frames`` (frames, samples), at its ``gains`` on each channel
    (:func:`~latentcode.playback.overlap_add.add_frames`), into its lane's buffer
    (``lane(k)``: tracks, channels, samples) at its track and offset, the frames that ``p``
    groups by way of one buffer per lane and sound, filtered once (:func:`on_grid`).

    A render that decodes several steps of ``step`` samples at once gets the same bits as one
    step at a time: the frames are added a step at a time (those that start in it, in order,
    then its filtered groups), and each group holds the frames of one step, so its FFT has the
    same grid. The groups of every step are filtered in one FFT call (a row's spectrum does
    not depend on the others in the call: :func:`.match.apply`), before any is added: a call
    a group cost 4 times as much at these sizes.

    The render begins at sample ``start``; its groups are noted in ``noted``. With ``replay``
    (a rewind), a group's audio is added over the span that render noted, so that the frames
    made again are cut as they were."""
    offsets_ = np.asarray(offsets, np.int64)
    lanes_, tracks_ = np.asarray(lanes, np.int64), np.asarray(tracks, np.int64)
    groups = np.asarray(p.group, np.int64)
    steps = offsets_ // step
    order = np.argsort(steps, kind="stable")  # step by step, each in the frames' order
    per_step = [rows for rows in np.split(order, np.flatnonzero(np.diff(steps[order])) + 1)
                if len(rows)]
    # first every group of every step, mixed apart (from the frames alone) and filtered at once
    bases = [int(steps[rows[0]]) * step for rows in per_step]
    made = [_groups(frames, gains, rows, base, lanes_, tracks_, offsets_, groups, p, lane, step,
                    start, replay) for rows, base in zip(per_step, bases, strict=True)]
    _filter([g for step_groups in made for g in step_groups])
    # then the adds into the lanes, in the order one step at a time makes them
    for rows, base, step_groups in zip(per_step, bases, made, strict=True):
        alone = rows[groups[rows] < 0]
        # the adds into one buffer keep the frames' order (add_frames: numpy's bits)
        for k in dict.fromkeys(lanes_[alone].tolist()):
            mine = alone[lanes_[alone] == k]
            add_frames(lane(k), frames, gains, mine, tracks_[mine], offsets_[mine])
        for g in step_groups:
            # only where its frames are: the FFT's rounding and the filter's ringing beyond
            # the frames are never heard before a voice's onset or after its end
            for t, row in zip(g.tracks, g.heard, strict=True):
                lo, hi = g.spans[t]
                lane(g.lane)[t, :, base + lo : base + hi] += row[:, lo:hi]
                if noted is not None:
                    noted.note(g.keys[t], lo, hi)


@dataclass
class _Group:
    """The frames of one step, lane and match, added together: their ``mixed`` audio (one row
    per track in ``tracks``), each track's span and key (see :class:`Groups`), and, once
    filtered, what is ``heard``."""

    lane: int
    match: np.ndarray
    tracks: list[int]
    mixed: np.ndarray
    spans: dict[int, list[int]]
    keys: dict[int, GroupKey]
    heard: np.ndarray | None = None


def _groups(frames: np.ndarray, gains: np.ndarray, rows: np.ndarray, base: int,
            lanes_: np.ndarray, tracks_: np.ndarray, offsets_: np.ndarray, groups: np.ndarray,
            p: Plan, lane: Callable[[int], np.ndarray], step: int, start: int,
            replay: Groups | None) -> list[_Group]:
    """The groups of one step's ``rows`` (the step begins at sample ``base`` of the call), in
    the order their first frames come (as they are added into a lane), each mixed from its
    frames."""
    seg = frames.shape[-1]
    grouped = rows[groups[rows] >= 0]
    made = []
    pairs = zip(lanes_[grouped].tolist(), groups[grouped].tolist(), strict=True)
    for k, g in dict.fromkeys(pairs):
        mine = grouped[(lanes_[grouped] == k) & (groups[grouped] == g)]
        at, on = offsets_[mine] - base, tracks_[mine]
        mixed = np.zeros((*lane(k).shape[:2], step + seg), np.float32)
        add_frames(mixed, frames, gains, mine, on, at)
        ts = sorted(set(on.tolist()))
        # per track: [first, end) of its frames
        spans = {t: [int(at[on == t].min()), int(at[on == t].max()) + seg] for t in ts}
        keys = {t: (start + base, k, p.keys[g], t) for t in ts}
        if replay is not None:
            for t in ts:
                spans[t] = list(replay.span(keys[t]))
        made.append(_Group(k, p.masks[g], ts, mixed[ts], spans, keys))
    return made


def _filter(found: list[_Group]) -> None:
    """Each group's ``mixed`` through its match (:func:`on_grid`), all in one call, into its
    ``heard``."""
    if not found:
        return
    buffers = np.concatenate([g.mixed for g in found])
    grids = [on_grid(g.match, buffers.shape[-1]) for g in found]
    gains = np.concatenate([np.broadcast_to(grid, (len(g.mixed), 1, len(grid)))
                            for g, grid in zip(found, grids, strict=True)])
    heard, at = apply(buffers, gains), 0
    for g in found:
        g.heard, at = heard[at : at + len(g.mixed)], at + len(g.mixed)
