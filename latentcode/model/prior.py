"""Paths through the VAE's prior: ``prior:N``, a sound that no file made.

Each is Gaussian noise N(0, I) in every latent dimension, low-passed along time by a 64-frame
Hann kernel scaled to keep unit variance: a slow walk through the region the decoder was
trained to expect, seeded by its number so that ``prior:2`` is the same path in every session.

>>> mu = prior_path(2, latent=8)
>>> mu.shape, bool(np.array_equal(mu, prior_path(2, latent=8)))
((1024, 8), True)
"""

from __future__ import annotations

import hashlib

import numpy as np

PRIOR_FRAMES = 1024  # latent frames of a path: about 3 s at a hop of 128
KERNEL = 64


def prior_path(index: int, latent: int, frames: int = PRIOR_FRAMES) -> np.ndarray:
    """The mu of path ``index``: (frames, latent) float32."""
    rng = np.random.default_rng(int(hashlib.sha1(f"prior{index}".encode()).hexdigest()[:8], 16))
    raw = rng.standard_normal((frames + KERNEL, latent))
    kernel = np.hanning(KERNEL)
    kernel /= np.sqrt(np.sum(kernel**2))  # unit variance after smoothing
    smooth = np.stack([np.convolve(raw[:, d], kernel, mode="valid") for d in range(latent)], 1)
    return smooth[:frames].astype(np.float32)
