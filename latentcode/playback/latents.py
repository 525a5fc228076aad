"""The latent of every frame a block decodes: read from its sound, mixed, sampled and shaped.

A frame's latent is its sound ``a`` at a fractional frame position (neighbours interpolated),
blended towards sound ``b`` by ``alpha`` (a ``mix``), sampled with ``noise`` times the model's
noise and wandered by ``jitter`` (each voice drawing from its own generator), then ``zscale``d
and ``bias``ed in the dimensions ``dim`` chose. A frame with neither noise nor jitter is the
same every time its voice comes round: it is ``steady``, and the frame cache may answer it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentcode.model.bank import Sound
from latentcode.playback.batch import Batch

PerFrame = Callable[[Batch, str], np.ndarray]  # a control's value at every row of a batch


def lerp_frames(sound: Sound, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mu and logvar at fractional frame positions (linear between neighbours)."""
    last = sound.frames - 1
    pos = np.clip(pos, 0, last)
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, last)
    w = (pos - i0).astype(np.float32)[:, None]
    mu = sound.mu[i0] * (1 - w) + sound.mu[i1] * w
    logvar = sound.logvar[i0] * (1 - w) + sound.logvar[i1] * w
    return mu, logvar


def steady_rows(batch: Batch) -> np.ndarray:
    """Per row: whether its latent is the same every time (no noise, no jitter drawn)."""
    steady = [not (v.noise or v.jitter or {"noise", "jitter"} & set(v.moving))
              for v, _ in batch.plan]
    return np.asarray(steady, dtype=bool)[batch.which]


def latents(batch: Batch, pos: np.ndarray, alpha: np.ndarray, per_frame: PerFrame
            ) -> np.ndarray:
    """The latent of every row of ``batch`` (``pos``: its position in sound ``a``, latent
    frames; ``alpha`` per row): interpolated, mixed, sampled and shaped."""
    plan, which = batch.plan, batch.which
    latent = plan[0][0].a.mu.shape[1]
    mu = np.empty((len(pos), latent), dtype=np.float32)
    logvar = np.empty_like(mu)
    for sound, rows in batch.groups(lambda v: v.a):
        mu[rows], logvar[rows] = lerp_frames(sound, pos[rows])
    alpha = alpha.astype(np.float32)
    for sound, rows in batch.groups(lambda v: v.b):
        last_a = batch.column("a_last")[which[rows]]
        mu_b, logvar_b = lerp_frames(sound, pos[rows] / last_a * (sound.frames - 1))
        a = alpha[rows, None]
        # Extrapolating logvar (alpha outside [0, 1]) can ask for a standard deviation
        # of e^13; never let the noise exceed that of the noisier endpoint.
        ceiling = np.maximum(logvar[rows], logvar_b)
        logvar[rows] = np.minimum((1 - a) * logvar[rows] + a * logvar_b, ceiling)
        mu[rows] = (1 - a) * mu[rows] + a * mu_b
    eps = np.zeros_like(mu)
    for i, (v, js) in enumerate(plan):
        # each voice draws its own noise: other tracks never change it
        if v.noise or "noise" in v.moving:
            eps[batch.rows(i)] = v.rng.standard_normal((len(js), latent), dtype=np.float32)
    z = mu + per_frame(batch, "noise")[:, None] * eps * np.exp(0.5 * logvar)
    jitter, zscale, bias = (per_frame(batch, name) if batch.moving else None
                           for name in ("jitter", "zscale", "bias"))
    for i, (v, js) in enumerate(plan):
        rows = batch.rows(i)
        if v.moving:  # per frame (float32 jitter: the same arithmetic as a constant's)
            if v.jitter or "jitter" in v.moving:
                z[rows] += jitter[rows, None].astype(np.float32) * v.rng.standard_normal(
                    (len(js), latent), dtype=np.float32)
            if v.zscale != 1.0 or v.bias != 0.0 or {"zscale", "bias"} & set(v.moving):
                part = z[rows]
                part[:, v.dims] = part[:, v.dims] * zscale[rows, None] + bias[rows, None]
                z[rows] = part
            continue
        if v.jitter:
            z[rows] += v.jitter * v.rng.standard_normal((len(js), latent), dtype=np.float32)
        if v.zscale != 1.0 or v.bias != 0.0:
            part = z[rows]
            part[:, v.dims] = part[:, v.dims] * v.zscale + v.bias
            z[rows] = part
    return z
