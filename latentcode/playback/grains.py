"""Grains: how a stretched voice's decoded frames join into a stream without roughness.

Overlap-add framing decodes one segment (1024 samples) per output frame, every ``hop`` (256)
samples. At ``stretch 1`` a voice advances two latent frames (encoder hop 128) per output
frame, so every grain continues the previous one exactly where the original audio did: the
grains are in phase and the windows sum to the original. Any other stretch reads the sound
slower (or faster, or backwards) than the grains are laid down, so neighbouring grains meet
with arbitrary phase: partials cancel (a 440 Hz sine lost 24 dB at stretch 8) and the
mismatch repeats at the frame rate, a 172 Hz roughness.

So a stretched voice (see :func:`needs_alignment`) plays a WSOLA (waveform similarity
overlap-add) of its own sound:

- it keeps the decoded segments of its sound's frames on the stretch-1 grid (every
  ``FRAME_GRID``-th latent frame, windowed): overlap-added, they are the sound as stretch 1
  plays it, a continuous signal (:func:`reconstruct`). Each segment is decoded once, when
  the voice first needs it, with the controls (alpha, noise, ...) of that moment
  (:func:`wanted`, :func:`keep`);
- each output frame reads one segment's length of that signal, within ``±SEARCH`` samples of
  where the voice's position puts it, wherever its waveform best continues the voice's previous
  grain (normalised cross-correlation, :func:`read`); the framing's window then applies as to
  any frame, so the windows still sum to one.

The search must reach half a period of a sound's lowest partial: a 37 Hz drone needs ±600
samples. An earlier version searched inside each decoded segment, ±128 samples at most, and
added 20-46 dB of frame-rate modulation to steady drones (``benchmarks/stretch.py``). Reading
from the reconstruction also decodes less: at stretch 8, one segment every 8 output frames
instead of one per frame. Voices at ``stretch 1`` keep the plain path, bit-identical to
overlap-add.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from latentcode.playback import grain_search

FRAME_GRID = 2  # latent frames between the decoded segments of a stretched voice: stretch 1's grid
SEARCH = 640  # samples a grain may move from its ideal place, either way
# A grain moves only for a better match; among near-equal ones (silence, noise) it keeps to
# its ideal place: a normalised correlation must beat that one's by this much to move 2·SEARCH.
_PULL = 0.02
# Samples compared to find the best place: the whole overlap with the previous grain. Low
# drones need it: a shorter window matched on a fraction of their period.
COMPARE = 768
COARSE = 4  # the first search looks at every 4th offset, on sums of 4 samples


def needs_alignment(step: float, source_hop: int, hop: int, walking: bool) -> bool:
    """Whether a voice's grains need aligning: all but those that advance exactly one output
    hop of the original audio per output frame (``stretch 1`` forwards, not walking).

    >>> needs_alignment(2.0, 128, 256, False), needs_alignment(0.25, 128, 256, False)
    (False, True)
    >>> needs_alignment(-2.0, 128, 256, False), needs_alignment(2.0, 128, 256, True)
    (True, True)
    """
    return walking or step * source_hop != hop


def stretched(plan: Sequence[tuple[object, range]], hop: int) -> list[int]:
    """The indices in a block's ``plan`` ((voice, frames) pairs) of the voices whose grains
    need aligning (see :func:`needs_alignment`)."""
    return [i for i, (v, _) in enumerate(plan)  # (the input is read as it comes: no grains)
            if needs_alignment(v.step, v.a.hop, hop, v.walk is not None) and not v.a.live]


def rows_of(batch: object, voices: Sequence[int]) -> np.ndarray:
    """The batch rows (frames) of the voices ``voices``, voice after voice."""
    spans = [batch.rows(i) for i in voices]
    return np.concatenate([np.arange(s.start, s.stop) for s in spans] or [np.zeros(0, np.intp)])


def ideal_starts(pos: np.ndarray, source_hop: int | np.ndarray) -> np.ndarray:
    """Where in its sound (samples) each frame at latent position ``pos`` would start: where
    the segment decoded from that frame starts.

    >>> ideal_starts(np.array([0.0, 0.25, 2.5]), 128).tolist()
    [0, 32, 320]
    """
    return np.rint(np.asarray(pos) * source_hop).astype(np.int64)


class Reach(NamedTuple):
    """Where a block's stretched voices read their sounds: their batch ``rows`` (voice after
    voice), each row's ideal ``starts`` (:func:`ideal_starts`), voice ``v``'s being
    ``starts[first[v] : first[v + 1]]``, and each voice's samples [``lo[v]``, ``hi[v]``)
    (:func:`span`). Reckoned once a block for both :func:`wanted` and :func:`read`."""

    rows: np.ndarray
    starts: np.ndarray
    first: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def reach(batch: object, voices: Sequence[int], pos: np.ndarray, segment: int) -> Reach:
    """The :class:`Reach` of the stretched ``voices`` of a block, whose rows are at latent
    positions ``pos``.

    >>> class S: hop = 128
    >>> class V: a = S()
    >>> class B: plan = [(V(), range(2)), (V(), range(1))]; rows = lambda self, i: [
    ...     slice(0, 2), slice(2, 3)][i]
    >>> r = reach(B(), [0, 1], np.array([0.0, 0.5, 4.0]), 1024)
    >>> r.starts.tolist(), r.first.tolist(), (r.lo + SEARCH).tolist(), r.hi.tolist()
    ([0, 64, 512], [0, 2, 3], [0, 512], [1728, 2176])
    """
    plan = [batch.plan[i] for i in voices]
    first = np.zeros(len(plan) + 1, np.int64)
    np.cumsum([len(js) for _, js in plan], out=first[1:])
    rows = rows_of(batch, voices)
    starts = ideal_starts(pos[rows], np.repeat([v.a.hop for v, _ in plan], np.diff(first)))
    if not plan:
        return Reach(rows, starts, first, np.zeros(0, np.int64), np.zeros(0, np.int64))
    lo = np.minimum.reduceat(starts, first[:-1]) - SEARCH  # (every voice has a row)
    hi = np.maximum.reduceat(starts, first[:-1]) + SEARCH + segment
    return Reach(rows, starts, first, lo, hi)


def span(starts: np.ndarray, segment: int) -> tuple[int, int]:
    """The samples [lo, hi) of a sound that frames starting at ``starts`` may read from."""
    return int(starts.min()) - SEARCH, int(starts.max()) + SEARCH + segment


def grid_frames(lo: int, hi: int, source_hop: int, segment: int, last: int) -> range:
    """The frames on the ``FRAME_GRID`` whose decoded segments overlap samples [lo, hi) of a
    sound of ``last + 1`` frames.

    >>> list(grid_frames(0, 300, 128, 1024, 100))
    [0, 2]
    >>> list(grid_frames(1000, 1100, 128, 1024, 100))
    [0, 2, 4, 6, 8]
    """
    first = max(0, -(-(lo - segment + 1) // source_hop))
    first += -first % FRAME_GRID
    stop = min(last, (hi - 1) // source_hop) + 1
    return range(first, max(first, stop), FRAME_GRID)


def needed(starts: np.ndarray, source_hop: int, segment: int, last: int,
           bounds: tuple[int, int] | None = None) -> list[int]:
    """The grid frames that grains starting near ``starts`` (within ``±SEARCH``) read, in
    order: one run for a slow voice, separate runs for a fast one (``stretch 0.1`` leaps
    thousands of samples a frame: what lies between is never heard, so never decoded).

    >>> needed(np.array([0, 32, 64]), 128, 1024, 1000)
    [0, 2, 4, 6, 8, 10, 12]
    >>> len(needed(np.array([0, 100_000]), 128, 1024, 1000))
    20
    """
    lo, hi = span(starts, segment) if bounds is None else bounds  # (bounds: the span known)
    reach = 2 * SEARCH + segment  # the samples one grain may read
    if hi - lo <= 2 * reach:  # the usual case, a live block: the grains' reaches overlap
        return list(grid_frames(lo, hi, source_hop, segment, last))
    # Runs of starts whose reaches overlap or touch read one span each: their frames are those
    # of the grains one by one (a render's block of a slow voice, 128 grains, was 128 calls)
    s = np.unique(starts)
    frames: set[int] = set()
    for run in np.split(s, np.flatnonzero(np.diff(s) > reach) + 1):
        frames.update(grid_frames(int(run[0]) - SEARCH, int(run[-1]) + SEARCH + segment,
                                  source_hop, segment, last))
    return sorted(frames)


def wanted(batch: object, voices: Sequence[int], r: Reach, segment: int) -> list[list[int]]:
    """Per stretched voice, the grid frames its rows in this block read (``r``: where they
    do) that it has not decoded yet (``voice.source`` holds those it has), in the order it
    meets them. Each voice forgets the segments this block does not read."""
    out = []
    for n, (i, lo, hi) in enumerate(zip(voices, r.lo.tolist(), r.hi.tolist(), strict=True)):
        v = batch.plan[i][0]
        frames = needed(r.starts[r.first[n] : r.first[n + 1]], v.a.hop, segment,
                        v.a.frames - 1, (lo, hi))
        keep = set(frames)
        v.source = {k: x for k, x in v.source.items() if k in keep}
        order = frames if v.step >= 0 else reversed(frames)
        out.append([k for k in order if k not in v.source])
    return out


def playing_frames(batch: object, i: int, pos: np.ndarray, frames: Sequence[int]) -> list[int]:
    """The output frames of voice ``i`` of a block's ``batch`` that will play its sound's
    ``frames`` (whose position reaches them), so that a segment decoded ahead, when the search
    first reaches it, takes the controls of the moment it sounds (a moving alpha stays in
    time), at the voice's present speed; never before the voice's first frame.

    >>> class V: step = 0.25
    >>> class B: plan = [(V(), range(4, 8))]; rows = lambda self, i: slice(0, 4)
    >>> playing_frames(B(), 0, np.array([1.0, 1.25, 1.5, 1.75]), [2, 6, 0])
    [8, 24, 0]
    """
    v, js = batch.plan[i]
    p = pos[batch.rows(i)]
    step = p[-1] - p[-2] if len(p) > 1 and p[-1] != p[-2] else v.step
    return [max(0, js.start + round((k - p[0]) / step)) for k in frames]


def keep(voices: Sequence[object], frames: Sequence[Sequence[int]], audio: np.ndarray,
         window: np.ndarray, first: np.ndarray | None) -> None:
    """Store the decoded segments ``audio`` (rows: the ``frames`` of each voice, voice after
    voice) windowed, in each voice's ``source``. A sound's frame 0 takes ``first`` (the window
    with those of the frames before it added: none exist, so the sound starts at full gain)."""
    row = 0
    for v, ks in zip(voices, frames, strict=True):
        for k in ks:
            v.source[k] = audio[row] * (first if k == 0 and first is not None else window)
            row += 1


def reconstruct(source: dict[int, np.ndarray], lo: int, hi: int, source_hop: int) -> np.ndarray:
    """Samples [lo, hi) of a sound as overlap-added from the windowed segments ``source``
    (frame -> segment); zero where none reaches.

    >>> w = np.full(4, 0.5, dtype=np.float32)
    >>> reconstruct({0: w, 1: w}, -1, 7, 2).tolist()
    [0.0, 0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 0.0]
    >>> reconstruct({0: w, 2: w, 4: w}, 0, 8, 1).tolist()    # frames on the grid
    [0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    """
    out = np.empty(hi - lo, dtype=np.float32)
    frames = _order(source, source_hop)
    if not frames:
        out[:] = 0.0
        return out
    parts = np.stack([source[k] for k in frames])
    grain_search.overlap(parts, np.array(frames, np.int64) * source_hop, lo, out)
    return out


def _order(source: dict[int, np.ndarray], source_hop: int) -> list[int]:
    """The order in which a sample takes the segments of ``source`` that reach it. The usual
    case, frames one grid step apart: latest first, the order in which earlier versions'
    chunk-wise adds summed them (renders keep their bits); any other set in the order the
    voice kept them.

    >>> w = np.zeros(4, np.float32)
    >>> _order({2: w, 0: w, 4: w}, 2), _order({4: w, 0: w}, 2)
    ([4, 2, 0], [4, 0])
    """
    frames = list(source)
    if not frames:
        return frames
    ordered = sorted(frames)
    grid = ordered == list(range(ordered[0], ordered[-1] + 1, FRAME_GRID))
    if grid and len(source[frames[0]]) % (FRAME_GRID * source_hop) == 0:
        return ordered[::-1]
    return frames


def read(batch: object, voices: Sequence[int], r: Reach, segment: int, hop: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """The grains (unwindowed, one segment long) of the stretched ``voices`` of a block: (their
    rows, the grains), each read from its voice's reconstruction (``r``: where its rows read
    it) where it best continues the previous one. Each voice keeps that continuation in
    ``voice.tail`` from block to block. All the voices in one compiled call
    (:func:`.grain_search.read_voices`), not a few numpy calls a voice."""
    overlap = segment - hop  # how much of a grain the next one overlaps
    compare = min(COMPARE, overlap)
    skip = (overlap - compare) // 2  # compare the middle of the overlap, where both weigh most
    mine = [batch.plan[i][0] for i in voices]
    orders = [_order(v.source, v.a.hop) for v in mine]
    parts = [v.source[k] for v, ks in zip(mine, orders, strict=True) for k in ks]
    at = np.array([k * v.a.hop for v, ks in zip(mine, orders, strict=True) for k in ks],
                  np.int64)
    part_from = np.zeros(len(voices) + 1, np.int64)
    np.cumsum([len(ks) for ks in orders], out=part_from[1:])
    # the tails copied into rows that the search updates in place: what a voice kept from
    # the block before is never written
    tails = np.zeros((len(voices), compare), np.float32)
    known = np.array([v.tail is not None for v in mine], bool)
    for k in np.flatnonzero(known).tolist():
        tails[k] = mine[k].tail
    out = np.empty((len(r.starts), segment), dtype=np.float32)
    bases = r.starts - np.repeat(r.lo + SEARCH, np.diff(r.first))  # from each span's start
    grain_search.read_voices(np.stack(parts) if parts else np.zeros((0, segment), np.float32),
                             at, part_from, r.lo, r.hi, bases, r.first, tails, known,
                             _pull(2 * SEARCH), COARSE, hop, skip, out)
    for v, tail in zip(mine, tails, strict=True):
        v.tail = tail
    return r.rows, out


@functools.lru_cache(maxsize=4)
def _pull(room: int) -> np.ndarray:
    """What a grain's score loses at each offset 0..room for its distance from the middle
    (its own place): it moves only for a clearly better match (``_PULL``).

    >>> _pull(4).tolist() == [0.01, 0.005, 0.0, 0.005, 0.01]
    True
    """
    return _PULL * np.abs(np.arange(room + 1) - room // 2) / room
