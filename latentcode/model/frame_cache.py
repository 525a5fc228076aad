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
of 256).

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
    rows, for the benchmarks and the toolbar.
    """

    def __init__(self, decode: Callable[[np.ndarray], np.ndarray],
                 capacity: int = DEFAULT_CAPACITY) -> None:
        self.decode = decode
        self.capacity = max(0, int(capacity))
        self.hits = 0
        self.misses = 0
        self._frames: OrderedDict[bytes, np.ndarray] = OrderedDict()
        # the live producer and a dry render may decode at once: one of them at a time
        # touches the order of the frames
        self._lock = threading.Lock()

    def __call__(self, z: np.ndarray, steady: np.ndarray | None = None) -> np.ndarray:
        """The frames of ``z``. ``steady`` (a bool per row; default all) marks the rows that
        may come again: the others (a voice's sampled noise) are decoded and never looked up
        or kept, so a piece that never repeats pays nothing for the cache (looking up and
        keeping 512 new rows a block cost 12% of their decode)."""
        z = np.ascontiguousarray(z, dtype=np.float32)
        rows = range(len(z)) if steady is None else np.flatnonzero(steady).tolist()
        if not self.capacity or not rows:
            self.misses += len(z)
            return self.decode(z)
        keys = {i: z[i].tobytes() for i in rows}
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for i, key in keys.items():
                frame = self._frames.get(key)
                if frame is not None:
                    self._frames.move_to_end(key)
                    found[i] = frame
        self.hits += len(found)
        self.misses += len(z) - len(found)
        if found:
            missing = [i for i in range(len(z)) if i not in found]
            out = np.empty((len(z), next(iter(found.values())).shape[-1]), dtype=np.float32)
            for i, frame in found.items():
                out[i] = frame
            if missing:
                out[missing] = self.decode(z[missing])
        else:
            missing = range(len(z))
            out = np.asarray(self.decode(z), dtype=np.float32)
        with self._lock:
            for i in missing:
                if i in keys:  # a copy: the caller may write into what it was given
                    self._frames[keys[i]] = out[i].copy()
            while len(self._frames) > self.capacity:
                self._frames.popitem(last=False)
        return out

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def hit_rate(self) -> float:
        """The share of rows answered from memory so far (0 before any decode).

        >>> FrameCache(lambda z: z).hit_rate
        0.0
        """
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0

    def clear(self) -> None:
        """Forget every frame (counters too)."""
        with self._lock:
            self._frames.clear()
        self.hits = self.misses = 0
