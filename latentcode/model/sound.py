"""A sound as the bank gives it to voices: a latent sequence, where it starts, and how to
correct the model's decode of it.

>>> s = Sound("x", np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32), 128)
>>> s.frames, s.onset, s.match is None
(4, 0.0, True)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sound:
    """A latent sequence: ``mu`` and ``logvar`` of shape (frames, latent), frames ``hop`` apart.
    A sound cluster also names its ``members``. ``onset`` is where the sound starts, in latent
    frames (fractional): a voice skips the silence before it (the ``trim`` control).
    ``match`` is its spectral match (:mod:`latentcode.model.match`), the gains that bring the
    model's decode of it to its file's spectrum; None for a sound no file stands behind
    (frame clusters, the prior): those play as the model decodes them."""

    name: str
    mu: np.ndarray
    logvar: np.ndarray
    hop: int
    members: tuple[str, ...] = ()
    onset: float = 0.0
    match: np.ndarray | None = None
    # the match of its quieter frames, and which gains each frame takes (0: ``match``, s:
    # ``quiet[s - 1]``; see match.measure_levels); None: ``match`` throughout
    quiet: np.ndarray | None = None
    steps: np.ndarray | None = None

    live = False  # a sound that grows as it plays (the input: model.live_input.LiveSound)

    def step_at(self, pos: np.ndarray) -> np.ndarray:
        """Which of its gains (see ``steps``) the frames at positions ``pos`` take.

        >>> s = Sound("x", np.zeros((3, 1), np.float32), np.zeros((3, 1), np.float32), 1,
        ...           steps=np.array([0, 1, 2], np.int8))
        >>> s.step_at(np.array([0.2, 1.6, 9.0])).tolist()
        [0, 2, 2]
        """
        if self.steps is None:
            return np.zeros(len(pos), np.intp)
        # ("clip": a position past either end takes the end's; a few calls a voice a block,
        # where np.clip's wrapper cost four times the whole lookup)
        return self._step_index.take(np.rint(pos).astype(np.intp), mode="clip")

    @functools.cached_property
    def _step_index(self) -> np.ndarray:
        """``steps`` as indices (stored as int8)."""
        return np.asarray(self.steps, np.intp)

    def gains(self, step: int) -> np.ndarray | None:
        """Its match at ``step`` (0: the whole sound's): the same array every time, as the
        filters' caches know a match by its identity (``matched.on_grid``).

        >>> s = Sound("x", np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float32), 1,
        ...           match=np.ones(2, np.float32), quiet=np.zeros((1, 2), np.float32))
        >>> s.gains(1) is s.gains(1), s.gains(0) is s.match
        (True, True)
        """
        if step == 0 or self.quiet is None:
            return self.match
        # (quiet[step - 1] was a new view each call: the filter's grid was made again for
        # every block, 0.1 ms of a live block of the 4-track piece)
        return self._quiet_rows[step - 1]

    @functools.cached_property
    def _quiet_rows(self) -> tuple[np.ndarray, ...]:
        """The rows of ``quiet``, made once."""
        return tuple(self.quiet)

    @functools.cached_property
    def gain_table(self) -> np.ndarray | None:
        """Its matches of every step, a row each (row s: :meth:`gains` of s), for a lookup of
        many frames' at once; None without a match.

        >>> s = Sound("x", np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float32), 1,
        ...           match=np.ones(2, np.float32), quiet=np.zeros((1, 2), np.float32))
        >>> s.gain_table.tolist()
        [[1.0, 1.0], [0.0, 0.0]]
        """
        if self.match is None:
            return None
        return np.stack([self.match, *(() if self.quiet is None else self.quiet)])

    @property
    def frames(self) -> int:
        return int(self.mu.shape[0])

    def lerp(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """mu and logvar at fractional frame positions (linear between neighbours, held at
        the ends).

        >>> s = Sound("x", np.array([[0.0], [2.0]], np.float32), np.zeros((2, 1), np.float32), 1)
        >>> s.lerp(np.array([0.25, 5.0]))[0].ravel().tolist()
        [0.5, 2.0]
        """
        last = self.frames - 1
        pos = np.clip(pos, 0, last)
        i0 = np.floor(pos).astype(np.intp)
        i1 = np.minimum(i0 + 1, last)
        w = (pos - i0).astype(np.float32)[:, None]
        return (self.mu[i0] * (1 - w) + self.mu[i1] * w,
                self.logvar[i0] * (1 - w) + self.logvar[i1] * w)


def widest(matches: list[np.ndarray | None]) -> np.ndarray | None:
    """One match for sounds played end to end (a sound cluster): the largest gain of any of
    them in each band, so that nothing one member has is taken away; None if one has none.

    >>> widest([np.array([1.0, 0.1], np.float32), np.array([0.5, 0.2], np.float32)]).tolist()
    [1.0, 0.20000000298023224]
    """
    if not matches or any(m is None for m in matches):
        return None
    return np.max(np.stack(matches), axis=0)
