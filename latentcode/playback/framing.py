"""Framings: how a voice's decoded segments become a stream of audio.

Overlap-add (``ola``) lays Hann-windowed segments a quarter of a segment apart; the paper's
plain concatenation (``concat``, also ``glitch``) lays whole segments end to end, clicks and all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import hann, ola_window

FRAMINGS = ("ola", "concat", "glitch")


@dataclass(frozen=True)
class Framing:
    """How decoded segments become a stream: frames ``hop`` apart, each multiplied by ``window``.
    With ``align``, stretched voices read their grains from a continuous reconstruction of
    their sound, wherever they best continue the previous grain (see :mod:`.grains`).

    ``first``, a voice's first frame's window, adds those of the frames it lacks before it: full
    gain at once, or a trimmed sound's attack would wait for the Hann's rise (768 samples)."""

    name: str
    hop: int
    window: np.ndarray
    align: bool = False
    first: np.ndarray | None = None


def make_framing(name: str, segment: int, *, align: bool = True) -> Framing:
    """``ola`` (Hann windows at segment/4; stretched voices' grains aligned unless ``align`` is
    False) or ``concat``, alias ``glitch`` (the paper: segments end to end, clicks and all).

    >>> f = make_framing("ola", 1024); f.hop, round(float(f.window.max()), 3), f.align
    (256, 0.5, True)
    >>> [round(float(f.first[t]), 3) for t in (0, 255, 512, 1023)]   # full gain at once
    [1.0, 1.0, 0.75, 0.0]
    >>> make_framing("glitch", 1024).hop
    1024
    """
    if name in ("concat", "glitch"):
        return Framing(name, segment, np.ones(segment, dtype=np.float32))
    if name == "ola":
        hop, window = ola_window(segment)
        exact = 0.5 * hann(segment)  # float64: the first frame's sum rounds once, at the end
        first = sum(np.pad(exact[k:], (0, k)) for k in range(0, segment, hop))
        return Framing(name, hop, window, align, first.astype(np.float32))
    raise LatentcodeError(f"unknown framing {name!r}: use 'ola', 'concat' or 'glitch'")
