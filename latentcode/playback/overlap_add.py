"""Frames added into buffers at their offsets, compiled: the overlap-add of a block's frames.

The 4-track benchmark piece adds about 1,500 frames a second of audio into their lanes, each
at its own offset and track. One numpy slice-add apiece, with the Python around it, took 16 us
a frame, 9% of a dry render on the AVX2-only CPU; :func:`add_rows` makes the same adds in one
call a step and group, compiled by numba (as :mod:`.grain_search` is), which brought that part
to 6%; vectorised, 1.0 -> 0.23 us a frame (see docs/audio-engine.md). The adds keep their
order, each sample's sum taken as numpy took it (float32, one add at a time, no
reassociation), so the buffers hold the same bits as the slice-adds gave. It releases the GIL.
A stretched voice's sound is put together from its decoded segments the same way
(:func:`~latentcode.playback.grains.reconstruct`). A block's mono frames go into their stereo
(or more) lanes through :func:`add_frames`, each at its gains on each channel.

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


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def add_panned(dest: np.ndarray, frames: np.ndarray, gains: np.ndarray, rows: np.ndarray,
               tracks: np.ndarray, at: np.ndarray) -> None:
    """:func:`add_rows` of mono ``frames`` (frames, seg) on each channel at that frame's gain
    (``gains``: frames, channels): ``dest[tracks[i], c, at[i] : at[i] + seg] += frames[rows[i]]
    * gains[rows[i], c]``, each product rounded to float32 before it is added, as numpy's
    ``frames[:, None, :] * gains[:, :, None]`` did. That product was a block's frames on
    every channel, made whole before any was added: 134 MB and 10% of a producer's time with
    128 voices."""
    seg = frames.shape[1]
    for i in range(len(rows)):
        r, t, a = rows[i], tracks[i], at[i]
        row = frames[r]
        for c in range(dest.shape[1]):
            into, g = dest[t, c, a : a + seg], gains[r, c]
            for s in range(seg):
                into[s] += row[s] * g


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def add_ramped(dest: np.ndarray, frames: np.ndarray, gains: np.ndarray, rows: np.ndarray,
               tracks: np.ndarray, at: np.ndarray) -> None:
    """:func:`add_panned` with a gain for every sample of a frame (``gains``: frames,
    channels, seg), where a moving gain or pan ramps across frames that do not overlap. (A
    loop of its own: the far more common constant gain, passed to this one as a broadcast
    view, would be read from memory for every sample instead of held in a register.)"""
    seg = frames.shape[1]
    for i in range(len(rows)):
        r, t, a = rows[i], tracks[i], at[i]
        row = frames[r]
        for c in range(dest.shape[1]):
            into, g = dest[t, c, a : a + seg], gains[r, c]
            for s in range(seg):
                into[s] += row[s] * g[s]


def add_frames(dest: np.ndarray, frames: np.ndarray, gains: np.ndarray, rows: np.ndarray,
               tracks: np.ndarray, at: np.ndarray) -> None:
    """Mono ``frames`` added into ``dest`` at their ``gains``, per frame (frames, channels) or
    per sample (frames, channels, seg): :func:`add_panned` or :func:`add_ramped`.

    >>> dest = np.zeros((1, 2, 6), np.float32)
    >>> add_frames(dest, np.ones((1, 4), np.float32), np.array([[0.5, 2.0]], np.float32),
    ...            np.array([0]), np.array([0]), np.array([1]))
    >>> dest[0].tolist()
    [[0.0, 0.5, 0.5, 0.5, 0.5, 0.0], [0.0, 2.0, 2.0, 2.0, 2.0, 0.0]]
    """
    # (contiguous, as ready() compiled them: another layout would compile on the audio's way)
    frames, gains = np.ascontiguousarray(frames), np.ascontiguousarray(gains, np.float32)
    (add_panned if gains.ndim == 2 else add_ramped)(dest, frames, gains, rows, tracks, at)


def ready() -> None:
    """Compile the adds now (or load them from numba's cache), before live play needs them.

    >>> ready()
    """
    one = np.zeros(1, np.int64)
    add_rows(np.zeros((1, 1, 4), np.float32), np.zeros((1, 1, 2), np.float32), one, one, one)
    for gains in (np.zeros((1, 2), np.float32), np.zeros((1, 2, 2), np.float32)):
        add_frames(np.zeros((1, 2, 4), np.float32), np.zeros((1, 2), np.float32), gains, one,
                   one, one)
