"""Clusters of a bank's latent space: of single frames, and of whole sounds.

*Frame clusters* (``frames:N``, also written ``cluster:N``) are k-means over every frame of the
bank: each is a long sound of similar frames from anywhere, in corpus order. *Sound clusters*
(``sounds:N``) group whole sounds, in the spirit of the paper's SOM: each sound is described by
statistics of its latent trajectory (the mean and spread of ``mu`` over its frames and how fast
it moves) and the descriptions are clustered, so a cluster holds sounds that sound alike from
start to end. Cluster labels are cached on disk, keyed by the bank's content (see
:func:`cache_key`), with the number of frames of each file, so a second session has them at
once without reading a file; each cluster, once built, is kept on disk as well
(:mod:`~latentcode.model.part_cache`).

k-means here works in blocks of rows and calls a ``pace`` function between blocks: a background
worker passes one that sleeps (:class:`Pacer`), so the live decoder keeps its CPU.

>>> x = np.array([[0.0], [0.1], [10.0], [10.2]], dtype=np.float32)
>>> labels = kmeans(x, 2)
>>> bool(labels[0] == labels[1] != labels[2] == labels[3])
True
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.encode import cache_dir, write_npz

CLUSTER_VERSION = "clu3"  # bump when the algorithm or the descriptors change
FRAME_CLUSTERS = 32
FIT_ROWS = 20000  # frames the centres of the frame clusters are fitted on (see kmeans)
SOUND_CLUSTERS = 8
SOUND_AXES = 10  # principal axes of the sound descriptions that sound clusters are made on
_BLOCK = 8192  # rows of the distance matrix computed at a time

Pace = Callable[[], None] | None


class Pacer:
    """Called between blocks of work on a background thread: sleeps so that the thread keeps
    at most ``duty`` of the time it runs (0.5: it sleeps as long as it worked).

    >>> p = Pacer(duty=0.5); p(); p.slept >= 0
    True
    """

    def __init__(self, duty: float = 0.5) -> None:
        self.ratio = (1.0 - duty) / duty
        self.slept = 0.0
        self._since = time.monotonic()

    def __call__(self) -> None:
        worked = time.monotonic() - self._since
        rest = min(0.5, worked * self.ratio)
        if rest > 0:
            time.sleep(rest)
            self.slept += rest
        self._since = time.monotonic()


def be_nice(steps: int) -> None:
    """Lower the calling thread's priority by ``steps`` (on Linux niceness is per thread; the
    threads it starts, e.g. torch's, inherit it). Elsewhere, or where refused, nothing happens."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps))
    except (AttributeError, OSError):
        pass


@cache
def _openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """numpy's own OpenBLAS (get, set number of threads), or None where it cannot be found."""
    here = os.path.dirname(np.__file__)
    for lib in sorted(glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*"))
                      + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))):
        try:
            dll = ctypes.CDLL(lib)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(dll, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(dll, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run numpy's matrix products on one thread meanwhile (the background worker's setting).

    OpenBLAS threads spin while they wait: two of them on two busy cores made one product of
    k-means 40 times slower than one thread, and took the CPU from the live decoder. The setting
    is the library's (numpy's, not torch's), restored afterwards; nothing happens where numpy's
    OpenBLAS cannot be found.
    """
    blas = _openblas()
    if blas is None:
        yield
        return
    get, put = blas
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iterations: int = 25,
           fit_rows: int | None = None, pace: Pace = None) -> np.ndarray:
    """Cluster labels of the rows of ``x`` (k-means++ start, Lloyd iterations, float32).

    With ``fit_rows``, the centres are found on an even subsample of at most that many rows
    (see :class:`Thinned`) and every row then goes to its nearest centre: the bank's 80 000
    frames cluster as well from a quarter of them, in a quarter of the time. ``pace`` is called
    between blocks of rows (see :class:`Pacer`); it does not change the result.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not fit_rows:
        return nearest(x, centres(x, k, seed=seed, iterations=iterations, pace=pace), pace)
    sample = Thinned(fit_rows)
    sample.add(x)
    return nearest(x, centres(sample.rows(), k, seed=seed, iterations=iterations, pace=pace),
                   pace)


def centres(x: np.ndarray, k: int, *, seed: int = 0, iterations: int = 25,
            pace: Pace = None) -> np.ndarray:
    """The k-means centres of the rows of ``x`` (at most ``len(x)`` of them)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return _lloyd(x, _start(x, max(1, min(k, len(x))), seed, pace), iterations, pace)


def label_parts(sample: Thinned, k: int, parts: Iterable[np.ndarray], pace: Pace = None
                ) -> np.ndarray:
    """The labels of the rows of ``parts`` end to end, each row's nearest of the ``k`` centres
    fitted on ``sample`` (the parts come one at a time: they need not be held together)."""
    c = centres(sample.rows(), k, pace=pace)
    return np.concatenate([nearest(part, c, pace) for part in parts])


class Thinned:
    """An even subsample of rows that arrive a part at a time, never more than ``limit``:
    every ``stride``-th row of all of them, the stride doubling whenever more would be kept.
    A bank's frames are fitted on it without ever being held together (the default bank's
    would take 650 MB).

    >>> t = Thinned(4)
    >>> t.add(np.arange(5.0)[:, None]); t.add(np.arange(5.0, 9.0)[:, None])
    >>> t.stride, t.rows()[:, 0].tolist()
    (4, [0.0, 4.0, 8.0])
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self.stride = 1
        self.seen = 0  # rows added so far
        self._kept: list[tuple[int, np.ndarray]] = []  # (index of the first row, rows)

    def add(self, part: np.ndarray) -> None:
        """Take the rows of ``part`` that fall on the stride (copies: the part may go)."""
        first = (-self.seen) % self.stride
        rows = np.array(part[first :: self.stride], np.float32)
        if len(rows):
            self._kept.append((self.seen + first, rows))
        self.seen += len(part)
        while sum(len(r) for _, r in self._kept) > self.limit:
            self.stride *= 2  # keep the rows whose index falls on the doubled stride
            half = self.stride // 2
            self._kept = [(at + half * (at // half % 2), r[at // half % 2 :: 2])
                          for at, r in self._kept]
            self._kept = [(at, r) for at, r in self._kept if len(r)]

    def rows(self) -> np.ndarray:
        """The rows kept, in order."""
        if not self._kept:
            return np.zeros((0, 0), np.float32)
        return np.concatenate([r for _, r in self._kept])


def _start(x: np.ndarray, k: int, seed: int, pace: Pace) -> np.ndarray:
    """k-means++: each next centre drawn with probability growing with its squared distance."""
    rng = np.random.default_rng(seed)
    n = len(x)
    k = min(k, n)
    centres = [x[rng.integers(n)]]
    d2 = np.sum((x - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = float(d2.sum())
        i = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
        centres.append(x[i])
        d2 = np.minimum(d2, np.sum((x - x[i]) ** 2, axis=1))
        if pace is not None:
            pace()
    return np.stack(centres).astype(np.float32)


def _lloyd(x: np.ndarray, c: np.ndarray, iterations: int, pace: Pace) -> np.ndarray:
    """Move the centres ``c`` to the means of their rows until no row changes cluster."""
    k, n = len(c), len(x)
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(iterations):
        sums = np.zeros((k, x.shape[1]), np.float64)
        counts = np.zeros(k, np.int64)
        changed = False
        for a in range(0, n, _BLOCK):
            block = x[a:a + _BLOCK]
            new = _nearest_block(block, c)
            changed |= not np.array_equal(new, labels[a:a + _BLOCK])
            labels[a:a + _BLOCK] = new
            onehot = np.zeros((k, len(block)), np.float32)
            onehot[new, np.arange(len(block))] = 1.0
            sums += onehot @ block
            counts += np.bincount(new, minlength=k)
            if pace is not None:
                pace()
        if not changed:
            break
        full = counts > 0  # an empty cluster keeps its centre
        c = c.copy()
        c[full] = (sums[full] / counts[full, None]).astype(np.float32)
    return c


def _nearest_block(block: np.ndarray, c: np.ndarray) -> np.ndarray:
    cc = np.sum(c.astype(np.float64) ** 2, axis=1).astype(np.float32)
    return np.argmin(cc - 2 * block @ c.T, axis=1)  # |x|^2 is the same for every centre


def nearest(x: np.ndarray, centres: np.ndarray, pace: Pace = None) -> np.ndarray:
    """The index of the nearest centre of every row of ``x``.

    >>> nearest(np.array([[0.0], [9.0]], np.float32), np.array([[10.0], [1.0]], np.float32))
    array([1, 0])
    """
    x = np.asarray(x, np.float32)
    labels = np.empty(len(x), dtype=np.int64)
    for a in range(0, len(x), _BLOCK):
        labels[a:a + _BLOCK] = _nearest_block(x[a:a + _BLOCK], np.asarray(centres, np.float32))
        if pace is not None:
            pace()
    return labels


def describe(mu: np.ndarray) -> np.ndarray:
    """What a whole sound is, from its latent frames: per dimension the mean, the spread and
    the mean step from frame to frame (how fast it moves).

    >>> describe(np.zeros((10, 4), np.float32)).shape
    (12,)
    """
    mu = np.asarray(mu, np.float64)
    step = np.abs(np.diff(mu, axis=0)).mean(axis=0) if len(mu) > 1 else np.zeros(mu.shape[1])
    return np.concatenate([mu.mean(axis=0), mu.std(axis=0), step])


def sound_k(sounds: int, k: int = SOUND_CLUSTERS) -> int:
    """How many sound clusters a bank of ``sounds`` sounds gets: about the square root, at
    most ``k``, fewer than sounds.

    >>> sound_k(59), sound_k(3), sound_k(1)
    (8, 2, 1)
    """
    return max(1, min(k, round(np.sqrt(sounds)), sounds))


def sound_labels(descriptions: Sequence[np.ndarray], k: int, *, seed: int = 0,
                 restarts: int = 10, pace: Pace = None) -> np.ndarray:
    """Cluster whole sounds (one label per sound) from their :func:`describe` vectors (made a
    sound at a time: the sounds need not be held together).

    Each feature is standardised over the bank, so no dimension rules by its scale, and the
    descriptions are reduced to their :data:`SOUND_AXES` main axes; the best of ``restarts``
    k-means runs is kept. Labels are numbered in the order their first sound
    appears, so ``sounds:0`` holds the first sound of the bank.

    >>> a = [np.full((20, 2), v, np.float32) for v in (0.0, 0.1, 5.0, 5.1)]
    >>> sound_labels([describe(m) for m in a], 2).tolist()
    [0, 0, 1, 1]
    """
    d = np.stack(descriptions)
    spread = d.std(axis=0)
    d = (d - d.mean(axis=0)) / np.where(spread > 1e-9, spread, 1.0)
    # the main axes only: 768 features of 59 sounds are mostly noise (families were more
    # often kept together on 10 axes than on all: 49% of the default corpus against 46%)
    _, _, axes = np.linalg.svd(d, full_matrices=False)
    d = d @ axes[:SOUND_AXES].T
    best, best_cost = None, np.inf
    for r in range(restarts):
        labels = kmeans(d, k, seed=seed + r, pace=pace)
        cost = sum(float(np.sum((d[labels == j] - d[labels == j].mean(axis=0)) ** 2))
                   for j in set(labels.tolist()))
        if cost < best_cost - 1e-9:
            best, best_cost = labels, cost
    order = {old: new for new, old in enumerate(dict.fromkeys(best.tolist()))}
    return np.array([order[label] for label in best.tolist()], dtype=np.int64)


def cache_key(method: str, k: int, model_id: str, hop: int, digests: Sequence[str]) -> str:
    """The key of a bank's clusters: the method, k, the model, the hop and the content of
    every file in the order the frames are laid end to end.

    >>> key = cache_key("frames", 32, "model", 128, ["a", "b"])
    >>> key != cache_key("frames", 32, "model", 128, ["b", "a"]), len(key)
    (True, 24)
    """
    text = "|".join([CLUSTER_VERSION, method, str(int(k)), model_id, str(int(hop)), *digests])
    return hashlib.sha1(text.encode()).hexdigest()[:24]


def cached_labels(key: str, n: int, k: int, compute: Callable[[], np.ndarray],
                  frames: Sequence[int] | None = None) -> tuple[np.ndarray, bool]:
    """The labels stored under ``key`` (when they fit ``n`` rows and ``k`` clusters), or
    ``compute()``'s, then stored; also whether they came from the cache. A frame clustering
    gives the ``frames`` of each file too, stored beside the labels, so that a later session
    knows its layout without reading every file (:func:`known_layout`)."""
    found = stored(key, k)
    if found is not None and found[0].shape == (n,):
        if frames is not None and found[1] is None:  # stored before the layout was
            _store(key, found[0], k, frames)
        return found[0], True
    labels = compute()
    _store(key, labels, k, frames)
    return labels, False


def stored(key: str, k: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The labels stored under ``key`` (each below ``k``) and the frames of each file stored
    beside them (None where there are none); None when nothing sound is stored."""
    try:
        with np.load(cache_dir() / f"clusters-{key}.npz", allow_pickle=False) as z:
            labels = np.asarray(z["labels"], np.int64)
            frames = np.asarray(z["frames"], np.int64) if "frames" in z.files else None
    except Exception:  # noqa: BLE001 - missing or damaged: computed again
        return None
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or labels.max() >= k)):
        return None
    return labels, frames


def _store(key: str, labels: np.ndarray, k: int, frames: Sequence[int] | None) -> None:
    more = {} if frames is None else {"frames": np.asarray(frames, np.int64)}
    write_npz(cache_dir() / f"clusters-{key}.npz",
              labels=labels.astype(np.int16 if k < 2**15 else np.int64), **more)


def _key_or_none(key_of: Callable[[], str]) -> str | None:
    try:
        return key_of()
    except (OSError, LatentcodeError):  # a file gone or unreadable: the slow way says which
        return None


def known_layout(key_of: Callable[[], str], names: Sequence[str], k: int) -> Labelled | None:
    """The frame clustering of the files ``names`` stored under the key ``key_of()`` gives,
    with the layout it was stored with (a later session: no file is read); None when it is
    not stored so, or a file cannot be read."""
    key = _key_or_none(key_of)
    found = None if key is None else stored(key, k)
    if key is None or found is None or found[1] is None:
        return None
    labels, frames = found
    if len(frames) != len(names) or int(frames.sum()) != labels.size:
        return None
    return Labelled.of(names, frames.tolist(), labels, k, key)


def known_grouping(key_of: Callable[[], str], names: Sequence[str], k: int
                   ) -> Grouped | None:
    """The sound clustering of ``names`` stored under the key ``key_of()`` gives; None when
    it is not stored, or a file cannot be read."""
    key = _key_or_none(key_of)
    found = None if key is None else stored(key, k)
    if key is None or found is None or found[0].shape != (len(names),):
        return None
    return grouping(key, names, found[0], k)


def grouping(key: str, names: Sequence[str], labels: Sequence[int], k: int) -> Grouped:
    """The sounds ``names`` grouped by their ``labels``, empty clusters left out.

    >>> grouping("key", ["a", "b", "c"], [2, 0, 2], 3).members
    (('b',), ('a', 'c'))
    """
    found = [tuple(n for n, label in zip(names, labels, strict=True) if label == c)
             for c in range(k)]
    return Grouped(key, tuple(members for members in found if members))


@dataclass(frozen=True)
class Labelled:
    """A bank's frames labelled by cluster: its files in order (``stems``, and how many
    ``frames`` each), a label per frame, and the labels that have frames (``frames:N`` is the
    N-th of them). A few MB for the default bank, where the frames themselves are 1.2 GB: a
    cluster's frames are gathered (:func:`gather`) when it is first played.

    >>> Labelled.of(["a", "b"], [2, 1], np.array([3, 0, 3]), 4).present
    (0, 3)
    """

    stems: tuple[str, ...]
    frames: tuple[int, ...]
    labels: np.ndarray
    present: tuple[int, ...]
    key: str = ""  # the cache key of these labels (and of the clusters built from them)

    @classmethod
    def of(cls, stems: Sequence[str], frames: Sequence[int], labels: Any, k: int,
           key: str = "") -> Labelled:
        labels = np.asarray(labels)
        present = tuple(int(c) for c in np.flatnonzero(np.bincount(labels, minlength=k)))
        return cls(tuple(stems), tuple(int(n) for n in frames), labels, present, key)


@dataclass(frozen=True)
class Grouped:
    """A bank's sound clusters: the names of each one's ``members``, and the cache ``key`` of
    the clustering."""

    key: str
    members: tuple[tuple[str, ...], ...]


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
                parts[c].append((sound.mu[rows], sound.logvar[rows]))
    return [(np.concatenate([m for m, _ in parts[c]]), np.concatenate([v for _, v in parts[c]]))
            for c in wanted]
