"""Frames added into buffers at their offsets, compiled: the overlap-add of a block's frames.

The 4-track benchmark piece adds about 1,500 frames a second of audio into their lanes, each
at its own offset and track. One numpy slice-add apiece, with the Python around it, took 16 us
a frame, 9% of a dry render on the AVX2-only CPU; :func:`add_rows` makes the same adds in one
call a step and group, compiled by numba (as :mod:`.grain_search` is), which brought that part
to 6%; vectorised, 1.0 -> 0.23 us a frame (see docs/audio-engine.md). The adds keep their
order, each sample's sum taken as numpy took it (float32, one add at a time, no
reassociation), so the buffers hold the same bits as the slice-adds gave. It releases the GIL.
A stretched voice's sound is put together from its decoded segments the same way
(:func:`~latentcode.playback.grains.reconstruct`).

>>> dest = np.zeros((2, 1, 8), np.float32)
>>> src = np.ones((3, 1, 4), np.float32)
>>> add_rows(dest, src, np.array([0, 2]), np.array([1, 0]), np.array([4, 2]))
>>> dest[:, 0].tolist()
[[0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import numba
import numpy as np

# compiled code kept on disk for the package's own import only (see grain_search.KEEP_COMPILED)
KEEP_COMPILED = __name__.startswith("latentcode.")


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def add_rows(dest: np.ndarray, src: np.ndarray, rows: np.ndarray, tracks: np.ndarray,
             at: np.ndarray) -> None:
    """``dest[tracks[i], :, at[i] : at[i] + seg] += src[rows[i]]`` for each i in order
    (``dest``: tracks, channels, samples; ``src``: frames, channels, seg; float32 both; each
    ``at[i]`` within ``[0, samples - seg]``)."""
    channels, seg = src.shape[1], src.shape[2]
    for i in range(len(rows)):
        r, t, a = rows[i], tracks[i], at[i]
        for c in range(channels):
            # through 1-D views indexed from 0 the compiler vectorises the adds (each sample
            # still gets its rows one at a time, in order); indexed as dest[t, c, a + s] its
            # machine code added every sample alone (no packed adds), 4-5x slower
            into, row = dest[t, c, a : a + seg], src[r, c]
            for s in range(seg):
                into[s] += row[s]


def ready() -> None:
    """Compile :func:`add_rows` now (or load it from numba's cache), before live play needs it.

    >>> ready()
    """
    add_rows(np.zeros((1, 1, 4), np.float32), np.zeros((1, 1, 2), np.float32),
             np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64))
