"""Each voice's frames through its sounds' spectral match (:mod:`latentcode.model.match`): the
model's hiss above a sound's own spectrum taken away, its dulled top end partly restored.

A voice of one sound uses that sound's match. A voice moving between two (``mix``) takes, at
each frame, the larger of the two matches, each weighed by how near ``alpha`` is to its sound:
fully from its own end to the middle, fading to nothing at the other end (alpha clamped to
0..1). So ``alpha 0`` and ``alpha 1`` sound exactly as the two sounds do alone, and a morph
between them keeps every band either sound has: a plain crossfade of the two matches would
cut a drone-to-bell morph's bell band by 8 dB at alpha 0.4, where the morph sounds in it.
A sound with no match of its own (frame clusters, the prior) counts as one that keeps
everything. The
``match`` control scales the correction in dB: 1 as measured, 0 the model's raw decode (no
filtering at all: bit for bit the frames as decoded).

Frames are filtered after they are windowed, so that their overlap-add is the whole voice
through one filter (see :func:`latentcode.model.match.apply`).
"""

from __future__ import annotations

import numpy as np

from latentcode.model.match import apply, fft_size
from latentcode.playback.batch import Batch


def match_frames(audio: np.ndarray, batch: Batch, alpha: np.ndarray) -> None:
    """Filter in place the rows of ``audio`` (windowed frames of ``batch``) whose voices have
    a match to apply; ``alpha`` is each row's interpolation position.

    >>> class V: moving = ()
    >>> v = V(); v.a, v.b, v.match = V(), None, 1.0
    >>> v.a.match = np.where(np.arange(641) < 100, 1.0, 0.0).astype(np.float32)  # < 3.4 kHz
    >>> t = np.arange(1024) / 44100; w = np.hanning(1024)
    >>> audio = np.stack([np.sin(6283 * t) * w, np.sin(62832 * t) * w]).astype(np.float32)
    >>> match_frames(audio, Batch([(v, range(2))]), np.zeros(2))
    >>> [round(float(np.abs(a).max()), 2) for a in audio]     # 1 kHz passes, 10 kHz goes
    [1.0, 0.0]
    """
    # one row of gains per distinct plain sound, gathered for its rows (voices of one sound
    # are the common case: a per-voice loop of array work cost more than the FFT)
    table: dict[int, int] = {}
    masks: list[np.ndarray] = []
    label = np.full(len(batch.plan), -1, dtype=np.intp)
    blended: list[int] = []  # voices whose gains change per row: a mix, or a partial match
    for i, (v, _) in enumerate(batch.plan):
        ga = v.a.match
        gb = v.b.match if v.b is not None else None
        if v.match == 0.0 or (ga is None and gb is None):
            continue
        if v.b is None and v.match == 1.0:
            label[i] = table.setdefault(id(ga), len(masks))
            if label[i] == len(masks):
                masks.append(ga)
        else:
            label[i] = len(batch.plan)  # marked; its rows get their own gains below
            blended.append(i)
    per_row = label[batch.which]
    rows = np.flatnonzero(per_row >= 0)
    if not len(rows):
        return
    gains = np.empty((len(rows), fft_size_of(audio)), np.float32)
    plain = per_row[rows] < len(batch.plan)
    if plain.any():
        gains[plain] = np.stack(masks)[per_row[rows[plain]]]
    at = np.empty(len(audio), dtype=np.intp)
    at[rows] = np.arange(len(rows))
    for i in blended:
        v = batch.plan[i][0]
        r = np.arange(len(audio))[batch.rows(i)]
        ga = v.a.match
        gb = v.b.match if v.b is not None else None
        if v.b is None:
            g = np.broadcast_to(ga, (len(r), len(ga)))
        else:
            ones = np.ones_like(ga if ga is not None else gb)
            t = np.clip(alpha[r], 0.0, 1.0).astype(np.float32)[:, None]
            g = np.maximum(np.minimum(1, 2 - 2 * t) * (ones if ga is None else ga),
                           np.minimum(1, 2 * t) * (ones if gb is None else gb))
        gains[at[r]] = g if v.match == 1.0 else g ** np.float32(v.match)
    if len(rows) == len(audio):
        audio[:] = apply(audio, gains)
    else:
        audio[rows] = apply(audio[rows], gains)


def fft_size_of(audio: np.ndarray) -> int:
    """Bins of the match's FFT for frames of ``audio``'s length."""
    return fft_size(audio.shape[-1]) // 2 + 1
