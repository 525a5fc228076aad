"""Decoded frames remembered by their latent, so a path that repeats is decoded once.

A pattern repeats: the same pluck every cycle, a stretched bell three times a bar. When a voice
walks exactly the latent path an earlier one walked (the same sound, positions and controls,
no noise), every frame it asks for has been decoded before. :class:`FrameCache` wraps a
model's batched decode and answers those rows from memory; only the others reach the model,
in one batch as before.

The key is the latent row's exact bytes, so a hit is the very frame the model gave, and a
render is bit-identical with the cache on or off (the model's decode gives each row the same
bits in any batch: see :meth:`latentcode.model.vae.LatentModel.decode`). A voice that samples
noise makes new rows every time: its rows are marked not ``steady`` and pass straight
through. The oldest frames are forgotten first, so memory stays bounded: ``capacity`` frames
of ``segment`` samples (8192 frames of 1024 samples: 32 MB, about 48 s of one voice at a hop
of 256), and their latents (8 MB).

The frames live in one array allocated once, a slot each, reused as old ones are forgotten:
keeping a frame allocates nothing, so the producer never asks the C heap for memory while
playing (a copy per frame left the heap fragmented, and resident memory climbed for minutes),
and :meth:`FrameCache.reserve` lets a live session take the whole of it when it starts.

>>> calls = []
>>> def decode(z):
...     calls.append(len(z))
...     return np.repeat(z[:, :1], 4, axis=1)
>>> cache = FrameCache(decode, capacity=8)
>>> z = np.arange(6, dtype=np.float32).reshape(3, 2)
>>> cache(z)[:, 0].tolist(), cache(z[1:])[:, 0].tolist(), calls
([0.0, 2.0, 4.0], [2.0, 4.0], [3])
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

DEFAULT_CAPACITY = 8192  # frames


class FrameCache:
    """``decode`` with memory: the same (n, latent) in, the same (n, segment) out.

    ``capacity`` 0 turns the cache off (every row is decoded). ``hits`` and ``misses`` count
    rows, for the benchmarks and the toolbar. The slots are allocated at the first decode (or
    by :meth:`reserve`).
    """

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray],
                 capacity: int = DEFAULT_CAPACITY) -> None:
        self.decode = decode
        self.capacity = max(0, int(capacity))
        self.hits = 0
        self.misses = 0
        # a row's hash -> its slot, oldest use first; the slot's latent is kept to check that
        # a hit is the very row (two rows may share a hash)
        self._slots: OrderedDict[int, int] = OrderedDict()
        self._latents = np.zeros((0, 0), np.float32)
        self._frames = np.zeros((0, 0), np.float32)
        # the live producer and a dry render may decode at once: one of them at a time
        # touches the slots
        self._lock = threading.Lock()

    def reserve(self, latent: int, segment: int) -> None:
        """Allocate the slots for rows of ``latent`` numbers and frames of ``segment``
        samples now, and touch every page, so that their memory is taken at once rather than
        while playing (a live session calls it when it starts).

        >>> c = FrameCache(lambda z: z, capacity=4); c.reserve(2, 8); c.nbytes
        160
        """
        with self._lock:
            self._allocate(latent, segment)
            self._latents.fill(0.0)
            self._frames.fill(0.0)

    @property
    def nbytes(self) -> int:
        """The memory of the slots (0 until they are allocated)."""
        return self._latents.nbytes + self._frames.nbytes

    def _allocate(self, latent: int, segment: int) -> None:
        if self._frames.shape != (self.capacity, segment) or \
                self._latents.shape != (self.capacity, latent):
            self._slots.clear()
            self._latents = np.zeros((self.capacity, latent), np.float32)
            self._frames = np.zeros((self.capacity, segment), np.float32)

    def __call__(self, z: np.ndarray, steady: np.ndarray | None = None) -> np.ndarray:
        """The frames of ``z``. ``steady`` (a bool per row; default all) marks the rows that
        may come again: the others (a voice's sampled noise) are decoded and never looked up
        or kept, so a piece that never repeats pays nothing for the cache (looking up and
        keeping 512 new rows a block cost 12% of their decode)."""
        z = np.ascontiguousarray(z, dtype=np.float32)
        rows = list(range(len(z))) if steady is None else np.flatnonzero(steady).tolist()
        if not self.capacity or not rows:
            self.misses += len(z)
            return self.decode(z)
        keys = dict(zip(rows, [hash(z[i].tobytes()) for i in rows], strict=True))
        out: np.ndarray | None = None
        hit = np.zeros(len(z), dtype=bool)
        with self._lock:
            slots = self._slots
            if slots:  # (allocated: a frame was kept)
                known = [(i, slot) for i, key in keys.items()
                         if (slot := slots.get(key)) is not None]
                if known:
                    at, where = (np.array(c, dtype=np.intp) for c in zip(*known, strict=True))
                    same = (self._latents[where] == z[at]).all(axis=1)  # not only the hash
                    at, where = at[same], where[same]
                    for i in at.tolist():
                        slots.move_to_end(keys[i])
                    if len(at):  # copied while no other decode can reuse the slots
                        out = np.empty((len(z), self._frames.shape[1]), dtype=np.float32)
                        out[at] = self._frames[where]
                        hit[at] = True
        missing = np.flatnonzero(~hit)
        unique, copies = _repeats(z, missing.tolist(), keys, hit)
        found = int(hit.sum()) + len(copies)
        self.hits += found
        self.misses += len(z) - found
        if out is None and len(unique) == len(z):
            out = np.asarray(self.decode(z), dtype=np.float32)
        else:
            decoded = np.asarray(self.decode(z[unique]), dtype=np.float32) if unique else None
            if out is None:  # (no row was known: the first is in ``unique``)
                out = np.empty((len(z), decoded.shape[1]), dtype=np.float32)
            if decoded is not None:
                out[unique] = decoded
            for i, j in copies:
                out[i] = out[j]
            missing = np.array(unique, dtype=np.intp)
        with self._lock:
            self._keep(z, out, keys, missing.tolist())
        return out

    def _keep(self, z: np.ndarray, out: np.ndarray, keys: dict[int, int],
              missing: list[int]) -> None:
        """Copy the newly decoded steady rows into slots: free ones first, then the oldest."""
        self._allocate(z.shape[1], out.shape[1])
        slots, kept, into = self._slots, [], []
        for i in missing:
            key = keys.get(i)
            if key is None:
                continue
            slot = slots.pop(key, None)  # the same hash: its slot is reused
            if slot is None:
                slot = len(slots) if len(slots) < self.capacity else slots.popitem(last=False)[1]
            slots[key] = slot
            kept.append(i)
            into.append(slot)
        if kept:  # (a slot given twice in one call keeps the last row given it, as ``slots``)
            self._latents[into] = z[kept]
            self._frames[into] = out[kept]

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def hit_rate(self) -> float:
        """The share of rows answered from memory so far (0 before any decode).

        >>> FrameCache(lambda z: z).hit_rate
        0.0
        """
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0

    def clear(self) -> None:
        """Forget every frame (counters too); the slots stay allocated."""
        with self._lock:
            self._slots.clear()
        self.hits = self.misses = 0


def _repeats(z: np.ndarray, missing: list[int], keys: dict[int, int], hit: np.ndarray
             ) -> tuple[list[int], list[tuple[int, int]]]:
    """Of the ``missing`` rows of ``z``, those to decode, and (row, earlier row) pairs of steady
    rows (those with a key) equal to an earlier missing one in the same call: a short sound
    that plays twice in one render batch is decoded once. Only the steady rows are looked at.

    >>> z = np.array([[1.0], [2.0], [1.0], [1.0]], np.float32)
    >>> _repeats(z, [0, 1, 2, 3], {0: 7, 1: 8, 2: 7}, np.zeros(4, bool))
    ([0, 1, 3], [(2, 0)])
    """
    first: dict[int, int] = {}
    copies = []
    for i, key in keys.items():
        if hit[i]:
            continue
        j = first.setdefault(key, i)
        if j != i and np.array_equal(z[i], z[j]):
            copies.append((i, j))
    if not copies:
        return missing, []
    repeated = {i for i, _ in copies}
    return [i for i in missing if i not in repeated], copies
