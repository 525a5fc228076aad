"""Decoded frames remembered by their latent, so a path that repeats is decoded once.

A pattern repeats: the same pluck every cycle, a stretched bell three times a bar. When a voice
walks exactly the latent path an earlier one walked (the same sound, positions and controls,
no noise), every frame it asks for has been decoded before. :class:`FrameCache` wraps a
model's batched decode and answers those rows from memory; only the others reach the model,
in one batch as before.

The key is the latent row's exact bytes, so a hit is the very frame the model gave, and a
render is bit-identical with the cache on or off (the model's decode gives each row the same
bits in any batch: see :meth:`latentcode.model.vae.LatentModel.decode`). A voice with noise or
a moving control makes new rows every time and simply misses. The oldest frames are forgotten
first, so memory stays bounded: ``capacity`` frames of ``segment`` samples (8192 frames of
1024 samples: 32 MB, about 48 s of one voice at a hop of 256).

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

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.ascontiguousarray(z, dtype=np.float32)
        if not self.capacity or not len(z):
            self.misses += len(z)
            return self.decode(z)
        keys = [row.tobytes() for row in z]
        found: list[np.ndarray | None] = []
        with self._lock:
            for key in keys:
                frame = self._frames.get(key)
                if frame is not None:
                    self._frames.move_to_end(key)
                found.append(frame)
        missing = [i for i, frame in enumerate(found) if frame is None]
        self.hits += len(z) - len(missing)
        self.misses += len(missing)
        decoded = None
        if missing:
            asked = z if len(missing) == len(z) else z[missing]
            decoded = np.asarray(self.decode(asked), dtype=np.float32)
        if decoded is not None and len(missing) == len(z):
            out = decoded
        else:
            width = (decoded if decoded is not None else found[0]).shape[-1]
            out = np.empty((len(z), width), dtype=np.float32)
            for i, frame in enumerate(found):
                if frame is not None:
                    out[i] = frame
            if decoded is not None:
                out[missing] = decoded
        if decoded is not None:
            with self._lock:
                for k, i in enumerate(missing):
                    # a copy: the caller may write into what it was given
                    self._frames[keys[i]] = decoded[k].copy()
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
