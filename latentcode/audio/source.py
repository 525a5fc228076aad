"""What the engine plays: a :class:`Source` of per-track stereo blocks, and the guard on them.

A source (the session's scheduler, in the real program) writes audio for every track into a
block the engine hands it, and returns the track controls that apply from the block's first
sample. Before pyo sees a block, :func:`sanitize` makes it safe whatever the source did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

# A source sample beyond ±4 (+12 dBFS) is a bug, not music; clipping it before the filters keeps
# every filter, reverb and delay state finite, so one bad block cannot silence a track for good.
SAMPLE_LIMIT = 4.0


class Source(Protocol):
    """What the engine plays: per-track audio, stereo or a ring of speakers, a block at a time.

    ``fill(out, start)`` writes ``out.shape[2]`` samples, the first at absolute sample ``start``
    of the engine clock, into ``out`` (float32, shape ``(tracks, channels, n)``, zeroed by the
    engine; ``channels`` is 2 unless the source has a ``channels`` attribute saying more),
    and returns per track a dict of audio controls that apply from the block's first sample
    (missing keys keep their value; ``None`` instead of a list means no change):

    - ``gain``: track fader, linear, default 1 (the source already applied per-voice gain/pan)
    - ``lpf`` / ``hpf``: cutoff in Hz; ``None`` or 0 opens the filter
    - ``room`` / ``delay``: send level 0–1 to the shared reverb / delay

    The fader is the engine's own; the other four are the ``"track"`` rows of the control table
    (:mod:`latentcode.controls`), see :mod:`latentcode.audio.controls`. ``None`` as a value
    resets that control to its default. Values are clamped to their range; unknown keys and
    non-numbers are ignored and reported once on ``Engine.messages``.

    A source may also have ``fill_steps(out, start, step)``: what ``fill`` would write in
    calls of ``step`` samples each, returning each step's controls. An offline render fills
    several blocks at once through it (see :attr:`latentcode.audio.stream.Stream.steps`), and
    so does the live producer (two while it is busy, more to catch up: see
    :meth:`latentcode.audio.stream.Stream.catch_up`) unless the source's ``live_steps`` says 1.

    >>> class Clicks:
    ...     tracks = 1
    ...     def fill(self, out, start):
    ...         out[0, :, (-start) % 22050 :: 22050] = 0.5   # a click every half second
    ...         return [{"lpf": 2000}]
    """

    tracks: int

    def fill(self, out: np.ndarray, start: int) -> Sequence[dict[str, Any] | None] | None: ...


def sanitize(block: np.ndarray) -> None:
    """Zero non-finite samples and clip to ±SAMPLE_LIMIT, in place, before pyo sees them.

    >>> b = np.array([np.nan, np.inf, -np.inf, 0.5, 9.0], np.float32); sanitize(b); b.tolist()
    [0.0, 0.0, 0.0, 0.5, 4.0]
    """
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is the point of the check
        finite = np.isfinite(block.sum())  # one cheap reduction; the full scan only when needed
    if not finite:
        np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(block, -SAMPLE_LIMIT, SAMPLE_LIMIT, out=block)
