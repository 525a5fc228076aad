"""A block's batch: the output frames of every voice sounding in one block, as flat arrays.

Voices are rendered a block at a time with ONE decode call; a batch numbers their frames (rows)
voice after voice, so per-voice values gather to per-row arrays in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

import numpy as np


class Batch:
    """The frames of one block, voice after voice, as flat arrays.

    ``which[k]`` is the index in ``plan`` of the voice of frame ``k``, ``j[k]`` the frame's
    number within its voice. ``plan`` pairs each voice with its frames' numbers: a range, or
    any sequence (the frames at whose time a stretched voice's segments are decoded).
    """

    def __init__(self, plan: list[tuple[Any, range]]) -> None:
        self.plan = plan
        counts = np.fromiter((len(js) for _, js in plan), np.intp, len(plan))
        self.starts = np.cumsum(counts) - counts  # first row of each voice
        self.which = np.repeat(np.arange(len(plan)), counts)
        self.moving = [i for i, (v, _) in enumerate(plan) if v.moving]  # read per frame
        self.j = np.fromiter(chain.from_iterable(js for _, js in plan), np.intp, counts.sum())
        self._columns: dict[str, np.ndarray] = {}

    def column(self, name: str) -> np.ndarray:
        """A per-voice attribute as an array, one entry per voice of the plan."""
        if name not in self._columns:
            self._columns[name] = np.asarray([getattr(v, name) for v, _ in self.plan])
        return self._columns[name]

    def subset(self, voices: list[int]) -> Batch:
        """A batch of some of this one's voices (indices into ``plan``), rows voice after voice.

        >>> class V: moving = ()
        >>> b = Batch([(V(), range(0, 2)), (V(), range(5, 8))]).subset([1])
        >>> b.j.tolist()
        [5, 6, 7]
        """
        return Batch([self.plan[i] for i in voices])

    def rows(self, i: int) -> slice:
        """The rows of voice ``i``."""
        return slice(int(self.starts[i]), int(self.starts[i]) + len(self.plan[i][1]))

    def groups(self, key: Callable[[Any], Any]) -> Iterator[tuple[Any, np.ndarray]]:
        """(sound, rows) for every distinct sound ``key`` picks (None is skipped)."""
        ids: dict[int, int] = {}
        sounds: list[Any] = []
        label = np.empty(len(self.plan), dtype=np.intp)
        for i, (v, _) in enumerate(self.plan):
            sound = key(v)
            if sound is None:
                label[i] = -1
                continue
            label[i] = ids.setdefault(id(sound), len(sounds))
            if label[i] == len(sounds):
                sounds.append(sound)
        per_row = label[self.which]
        for g, sound in enumerate(sounds):
            yield sound, np.flatnonzero(per_row == g)
