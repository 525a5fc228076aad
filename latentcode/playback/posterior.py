"""A block's latents read from their sounds and sampled, compiled: the two passes over every row.

Every frame a block decodes gets its sound's mean and log-variance at a fractional position
(:meth:`~latentcode.model.sound.Sound.lerp`) and, where it has ``noise``, a draw from that
posterior. With 128 voices at hop 256 a call of two blocks has 16,000 rows of 256 values; in
numpy the read (four gathers, six products and sums, each a pass over 16 MB) took 37 ms a call
and the sampling (three more passes, in float64 since ``noise`` is) 29 ms: a sixth of a busy
producer's time, as much as a third of the decode. Here each is one pass, compiled by numba
(as :mod:`.grain_search` is), releasing the GIL; only the exponentials stay numpy's, which
vectorises them.

:func:`read_into` gives the bits :meth:`Sound.lerp` gives (the same float32 products and sums,
in the same order, with no fast-math reordering); :func:`sample` gives a row without noise its
mean, bit for bit (the frame cache answers such rows).

>>> mu = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
>>> out, out_lv = np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32)
>>> read_into(mu, mu, np.array([9.0, 0.0, 0.25]), np.array([2, 0]), out, out_lv)
>>> out.tolist()                      # row 2 a quarter of the way, row 0 held at the end
[[2.0, 3.0], [0.0, 0.0], [0.5, 1.5]]
>>> sample(out, np.zeros_like(out), np.array([0.0, 1.0, 1.0]), np.ones_like(out))[1].tolist()
[1.0, 1.0]
"""

from __future__ import annotations

import math

import numba
import numpy as np

# compiled code kept on disk for the package's own import only (see grain_search.KEEP_COMPILED)
KEEP_COMPILED = __name__.startswith("latentcode.")


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def read_into(mu: np.ndarray, logvar: np.ndarray, pos: np.ndarray, rows: np.ndarray,
              out_mu: np.ndarray, out_logvar: np.ndarray) -> None:
    """``out_mu[r]``, ``out_logvar[r]`` = the sound's ``mu``, ``logvar`` (frames, latent;
    float32) at fractional frame ``pos[r]``, for each row ``r`` in ``rows`` (``pos`` has a
    position for every row of the outputs): linear between neighbours, held at the ends (a
    position that is not a number reads the first frame)."""
    last = mu.shape[0] - 1
    one = np.float32(1.0)
    for k in range(len(rows)):
        r = rows[k]
        p = pos[r]
        if not p > 0.0:  # (NaN too)
            p = 0.0
        elif p > last:
            p = float(last)
        i0 = int(math.floor(p))
        i1 = min(i0 + 1, last)
        w = np.float32(p - i0)
        v = one - w
        a0, a1, b0, b1 = mu[i0], mu[i1], logvar[i0], logvar[i1]
        into_mu, into_lv = out_mu[r], out_logvar[r]
        for d in range(mu.shape[1]):
            into_mu[d] = a0[d] * v + a1[d] * w
            into_lv[d] = b0[d] * v + b1[d] * w


def sample(mu: np.ndarray, logvar: np.ndarray, noise: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Per row and dimension, ``mu + noise[row] * eps * exp(logvar / 2)``, in float32 (in
    float64, the products and the sum took twice as long). ``eps`` is read only where a row's
    noise is not 0. The exponentials are numpy's, on float32 (in the loop below, a scalar call each,
    they took as long as all the rest)."""
    noisy = np.flatnonzero(noise)
    std = np.exp(np.float32(0.5) * logvar[noisy]) if len(noisy) < len(noise) else np.exp(
        np.float32(0.5) * logvar)
    return _sample(mu, std, noise, eps, noisy)


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def _sample(mu: np.ndarray, std: np.ndarray, noise: np.ndarray, eps: np.ndarray,
            noisy: np.ndarray) -> np.ndarray:
    """:func:`sample`, given the standard deviations of the rows ``noisy`` (in order)."""
    z = np.empty_like(mu)
    k = 0
    for r in range(mu.shape[0]):
        into, m = z[r], mu[r]
        if k < len(noisy) and noisy[k] == r:
            n, e, s = np.float32(noise[r]), eps[r], std[k]
            for d in range(mu.shape[1]):
                into[d] = m[d] + n * e[d] * s[d]
            k += 1
        else:
            into[:] = m
    return z


def ready() -> None:
    """Compile both passes now (or load them from numba's cache), before live play needs them:
    for sounds in memory and for sounds memory-mapped read-only, which numba compiles apart.

    >>> ready()
    """
    mu = np.zeros((2, 4), np.float32)
    kept = mu.copy()
    kept.flags.writeable = False  # a sound read from the part cache (memory-mapped) is
    for sound in (mu, kept):
        read_into(sound, sound, np.zeros(2), np.zeros(1, np.int64), mu.copy(), mu.copy())
    sample(mu, mu, np.ones(2), mu)
    sample(mu, mu, np.array([0.0, 1.0]), mu)
