"""The latent of every frame a block decodes: read from its sound, mixed, sampled and shaped.

A frame's latent is its sound ``a`` at a fractional frame position (neighbours interpolated),
blended towards sound ``b`` by ``alpha`` (a ``mix``) and from a third sound ``c`` by ``morph``
(a ``morphfrom``: where a morph of ``xfade`` starts), sampled with ``noise`` times the model's
noise and wandered by ``jitter`` (each voice drawing from its own generator), then ``zscale``d
and ``bias``ed in the dimensions ``dim`` chose. A frame with neither noise nor jitter is the
same every time its voice comes round: it is ``steady``, and the frame cache may answer it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentcode.model.bank import Sound
from latentcode.playback.batch import Batch
from latentcode.playback.posterior import read_into, sample

PerFrame = Callable[[Batch, str], np.ndarray]  # a control's value at every row of a batch


def mixed_positions(batch: Batch, b: Sound, rows: np.ndarray, pos: np.ndarray,
                    end: str = "b") -> np.ndarray:
    """Where in sound ``b`` (a ``mix``, or with ``end`` "c" a ``morphfrom``) the ``rows``
    read: as far through it as they are through sound ``a``; when either is the live input,
    which has no end, ``b`` is read at its own pace from the voice's onset (the input live,
    another sound looping)."""
    which = batch.which[rows]
    through = pos[rows] / batch.column("a_last")[which] * (b.frames - 1)
    b_at = batch.column(f"{end}_at")[which]  # (first position, step) per row; NaN: ``through``
    if not np.isfinite(b_at[:, 0]).any():
        return through
    at = b_at[:, 0] + batch.j[rows] * b_at[:, 1]
    if not b.live:
        at = np.mod(at, max(b.frames - 1, 1))
    return np.where(np.isfinite(b_at[:, 0]), at, through)


def steady_rows(batch: Batch) -> np.ndarray:
    """Per row: whether its latent is the same every time (no noise, no jitter drawn)."""
    steady = [not (v.noise or v.jitter or {"noise", "jitter"} & set(v.moving))
              for v, _ in batch.plan]
    return np.asarray(steady, dtype=bool)[batch.which]


def latents(batch: Batch, pos: np.ndarray, alpha: np.ndarray, morph: np.ndarray | None,
            per_frame: PerFrame) -> np.ndarray:
    """The latent of every row of ``batch`` (``pos``: its position in sound ``a``, latent
    frames; ``alpha`` and ``morph`` per row, ``morph`` None when no voice has a
    ``morphfrom``): interpolated, mixed, sampled and shaped."""
    plan = batch.plan
    latent = plan[0][0].a.mu.shape[1]
    mu = np.empty((len(pos), latent), dtype=np.float32)
    logvar = np.empty_like(mu)
    pos = np.ascontiguousarray(pos, dtype=np.float64)
    for sound, rows in batch.groups(lambda v: v.a):  # (Sound.lerp's bits, in one pass)
        read_into(sound.mu, sound.logvar, pos, rows, mu, logvar)
    alpha = alpha.astype(np.float32)
    for sound, rows in batch.groups(lambda v: v.b):
        mu_b, logvar_b = sound.lerp(mixed_positions(batch, sound, rows, pos))
        a = alpha[rows, None]
        # Extrapolating logvar (alpha outside [0, 1]) can ask for a standard deviation
        # of e^13; never let the noise exceed that of the noisier endpoint.
        ceiling = np.maximum(logvar[rows], logvar_b)
        logvar[rows] = np.minimum((1 - a) * logvar[rows] + a * logvar_b, ceiling)
        mu[rows] = (1 - a) * mu[rows] + a * mu_b
    for sound, rows in batch.groups(lambda v: v.c):  # from a third sound to the voice's own
        mu_c, logvar_c = sound.lerp(mixed_positions(batch, sound, rows, pos, "c"))
        w = morph[rows, None].astype(np.float32)
        ceiling = np.maximum(logvar[rows], logvar_c)
        logvar[rows] = np.minimum((1 - w) * logvar_c + w * logvar[rows], ceiling)
        mu[rows] = (1 - w) * mu_c + w * mu[rows]
    eps = np.zeros_like(mu)
    for i, (v, _) in enumerate(plan):
        # each voice draws its own noise: other tracks never change it
        if v.noise or "noise" in v.moving:
            v.rng.fill(eps[batch.rows(i)])
    z = sample(mu, logvar, np.ascontiguousarray(per_frame(batch, "noise"), np.float64), eps)
    jitter, zscale, bias = (per_frame(batch, name) if batch.moving else None
                           for name in ("jitter", "zscale", "bias"))
    if batch.moving:  # float32, as a constant's arithmetic with the float32 latents is
        zscale, bias = zscale.astype(np.float32), bias.astype(np.float32)
    for i, (v, js) in enumerate(plan):
        rows = batch.rows(i)
        if v.moving:  # per frame (float32 jitter: the same arithmetic as a constant's)
            if v.jitter or "jitter" in v.moving:
                draws = v.jitter_rng.draw(len(js), latent)
                z[rows] += jitter[rows, None].astype(np.float32) * draws
            if v.zscale != 1.0 or v.bias != 0.0 or {"zscale", "bias"} & set(v.moving):
                part = z[rows]
                part[:, v.dims] = part[:, v.dims] * zscale[rows, None] + bias[rows, None]
                z[rows] = part
            continue
        if v.jitter:
            z[rows] += v.jitter * v.jitter_rng.draw(len(js), latent)
        if v.zscale != 1.0 or v.bias != 0.0:
            part = z[rows]
            part[:, v.dims] = part[:, v.dims] * v.zscale + v.bias
            z[rows] = part
    return z
