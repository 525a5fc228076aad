"""A frame cluster's frames, gathered from the bank's files.

A frame cluster (``cluster:N``) is the frames of the whole bank that k-means put in cluster N
(:class:`latentcode.model.clusters.Labelled`), in the bank's order. :func:`gather` puts
clusters together in memory, reading each file once; :func:`pieces` hands one cluster over a
file at a time, for the part cache to write without holding it whole
(:class:`latentcode.model.part_cache.Joined`).

>>> lab = Labelled.of(["a"], [3], np.array([0, 1, 0]), 2)
>>> class S:
...     mu = logvar = np.arange(3, dtype=np.float32)[:, None]
>>> [m.ravel().tolist() for m, _ in gather(lab, [0], lambda stem: S)]
[[0.0, 2.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from latentcode.model.clusters import Labelled
from latentcode.model.sound import Sound


def gather(labelled: Labelled, which: Sequence[int], load: Callable[[str], Any]
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """(mu, logvar) of the clusters ``which`` (indices into ``labelled.present``), each its
    frames in the bank's order; ``load(stem)`` gives a file's sound (``mu``, ``logvar``), and
    only files holding some of those frames are loaded, each once.

    >>> class S:
    ...     def __init__(self, v): self.mu = self.logvar = np.array(v, np.float32)[:, None]
    >>> lab = Labelled.of(["a", "b"], [2, 2], np.array([1, 0, 1, 1]), 2)
    >>> files = {"a": S([1, 2]), "b": S([3, 4])}
    >>> [m.ravel().tolist() for m, _ in gather(lab, [1], files.get)]
    [[1.0, 3.0, 4.0]]
    """
    wanted = [labelled.present[i] for i in which]
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {c: [] for c in wanted}
    for c, mu, logvar in _rows(labelled, wanted, load):
        parts[c].append((mu, logvar))
    return [(np.concatenate([m for m, _ in parts[c]]), np.concatenate([v for _, v in parts[c]]))
            for c in wanted]


def pieces(labelled: Labelled, which: int, load: Callable[[str], Any], hop: int
           ) -> Iterator[Sound]:
    """Cluster ``which``'s frames a file at a time, as sounds to be written end to end (a
    :class:`latentcode.model.part_cache.Joined`): what :func:`gather` gives for it, without
    ever holding more than one file's frames.

    >>> class S:
    ...     def __init__(self, v): self.mu = self.logvar = np.array(v, np.float32)[:, None]
    >>> lab = Labelled.of(["a", "b"], [2, 2], np.array([1, 0, 1, 1]), 2)
    >>> files = {"a": S([1, 2]), "b": S([3, 4])}
    >>> [s.mu.ravel().tolist() for s in pieces(lab, 1, files.get, 128)]
    [[1.0], [3.0, 4.0]]
    """
    name = f"frames:{which}"
    for _c, mu, logvar in _rows(labelled, [labelled.present[which]], load):
        yield Sound(name, mu, logvar, hop)
        del mu, logvar  # (the writer is done with them: not held while the next is made)


def _rows(labelled: Labelled, wanted: Sequence[int], load: Callable[[str], Any]
          ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(cluster, mu, logvar) of each file's frames in each of the clusters ``wanted`` (labels),
    file by file in the bank's order; only files holding some are loaded, each once."""
    at = 0
    for stem, n in zip(labelled.stems, labelled.frames, strict=True):
        mine = labelled.labels[at : at + n]
        at += n
        if not np.isin(mine, wanted).any():
            continue
        sound = load(stem)
        for c in wanted:
            rows = np.flatnonzero(mine == c)
            if rows.size:
                yield c, sound.mu[rows], sound.logvar[rows]
        del sound  # (before the next file is read: one file's frames at a time)
