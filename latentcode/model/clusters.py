"""Clusters of a bank's latent space: of single frames, and of whole sounds.

*Frame clusters* (``frames:N``, also written ``cluster:N``) are k-means over the frames of the
bank, by timbre and level (:func:`frame_features`; silent frames join none): each is a long
sound of similar frames from anywhere, in corpus order. *Sound clusters*
(``sounds:N``) group whole sounds, in the spirit of the paper's SOM: each sound is described by
statistics of its latent trajectory (the mean and spread of ``mu`` over its frames and how fast
it moves) and the descriptions are clustered, so a cluster holds sounds that sound alike from
start to end. Cluster labels are cached on disk, keyed by the bank's content (see
:func:`cache_key`), with the number of frames of each file, so a second session has them at
once without reading a file; each cluster, once built, is kept on disk as well
(:mod:`~latentcode.model.part_cache`).

k-means here works in blocks of rows and calls a ``pace`` function between blocks: a background
worker passes one that sleeps (:class:`~latentcode.model.pacing.Pacer`), so the live decoder
keeps its CPU.

>>> x = np.array([[0.0], [0.1], [10.0], [10.2]], dtype=np.float32)
>>> labels = kmeans(x, 2)
>>> bool(labels[0] == labels[1] != labels[2] == labels[3])
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.encode import cache_dir, write_npz

CLUSTER_VERSION = "clu4"  # bump when the algorithm or the descriptors change
FRAME_CLUSTERS = 32
FIT_ROWS = 20000  # frames the centres of the frame clusters are fitted on (see kmeans)
# frame clusters (see frame_features): frames whose estimated level is under this (dBFS) join
# none; a tenth of log10 level (2 dB) counts as much as 0.1 of direction. Chosen on a sample of
# the default bank: -42 leaves out 19% of its frames, decoded at -69 dB (median), and no cluster
# is then quieter than -48 dB (median; -50 left two at -57 and -58 dB);
# level weights 1, 1.5 and 2 gave a spread of 4.4, 2.8 and 1.5 dB within a cluster (median),
# but directions that agreed less and less (mean direction's length 0.46, 0.23, 0.19).
SILENT_DB = -42.0
LEVEL_WEIGHT = 1.0
SOUND_CLUSTERS = 8
SOUND_AXES = 10  # principal axes of the sound descriptions that sound clusters are made on
_BLOCK = 8192  # rows of the distance matrix computed at a time

Pace = Callable[[], None] | None


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
    fitted on ``sample`` (the parts come one at a time: they need not be held together).
    A row of NaN (a silent frame: :func:`frame_features`) gets the label ``k``, in no cluster.

    >>> t = Thinned(8); t.add(np.array([[0.0], [0.1], [5.0]], np.float32))
    >>> labels = label_parts(t, 2, [np.array([[0.2], [np.nan], [4.0]], np.float32)])
    >>> int(labels[1]), bool(labels[0] != labels[2])
    (2, True)
    """
    c = centres(sample.rows(), k, pace=pace)
    labelled = []
    for part in parts:
        audible = _audible(part)
        labels = np.full(len(part), k, np.int64)
        labels[audible] = nearest(part[audible], c, pace)
        labelled.append(labels)
    return np.concatenate(labelled)


def audible_sample(parts: Iterable[np.ndarray]) -> tuple[Thinned, int]:
    """A :class:`Thinned` sample of the rows of ``parts`` (:func:`frame_features`) that are
    not silent, and how many there were; an error when there are none.

    >>> audible_sample([np.array([[1.0], [np.nan]], np.float32)])[1]
    1
    """
    sample, audible = Thinned(FIT_ROWS), 0
    for part in parts:
        part = part[_audible(part)]
        audible += len(part)
        sample.add(part)
    if not audible:
        raise LatentcodeError(f"no frame of the bank is louder than {SILENT_DB:g} dB, so it "
                              "has no frame clusters: add sounds that are heard")
    return sample, audible


def _audible(features: np.ndarray) -> np.ndarray:
    """Which rows of :func:`frame_features` are not silent (a silent row is NaN)."""
    return ~np.isnan(features).any(axis=1)


def label_frames(sounds: Iterable[Any], load: Callable[[str], Any],
                 features: Callable[[np.ndarray], np.ndarray], k: int,
                 key_of: Callable[[int, list[str]], str], pace: Pace = None) -> Labelled:
    """Which of ``k`` frame clusters each frame of ``sounds`` is in (each has ``name``,
    ``frames`` and ``mu``): centres fitted on a sample of the :func:`frame_features` of them
    all, then every frame labelled a sound at a time (``load(name)`` gives it again), so the
    bank is never held together. The labels are cached under ``key_of(k, names)``."""
    names: list[str] = []
    frames: list[int] = []

    def each() -> Iterator[np.ndarray]:
        for sound in sounds:
            names.append(sound.name)
            frames.append(sound.frames)
            yield features(sound.mu)

    sample, audible = audible_sample(each())
    k = max(1, min(k, audible))
    key = key_of(k, names)
    labels, _ = cached_labels(key, sum(frames), k, lambda: label_parts(
        sample, k, (features(load(n).mu) for n in names), pace), frames)
    return Labelled.of(names, frames, labels, k, key)


def frame_features(heard: np.ndarray, segment: int) -> np.ndarray:
    """What frame clusters are made on, from latents scaled as heard and measured from the
    latent of silence (``(mu - silence) * heard_scale``: its row norm is about how far the
    decoded frame is from the decode of silence): each frame's direction, and its level as
    :data:`LEVEL_WEIGHT` times the log10 of its estimated RMS over ``segment`` samples. A
    frame whose estimated level is below :data:`SILENT_DB` is a row of NaN: it joins no
    cluster.

    Why not the scaled latents themselves: distance as heard is mostly level, so k-means spent
    31 of 32 clusters on the loudest sixth of the default bank and put everything from -70 to
    -16 dB, 1529 of its 1823 s, in the last one. Direction with a log level gives clusters
    alike in timbre and level, of 8 to 182 s. Measured from the origin instead, silence
    (which the encoder maps to a latent far from it) would look 25 dB louder than it is.

    >>> f = frame_features(np.array([[3.0, 4.0], [0.0, 0.0001]], np.float32), segment=25)
    >>> [round(float(v), 2) for v in f[0]], bool(np.isnan(f[1]).all())
    ([0.6, 0.8, 0.0], True)
    """
    heard = np.asarray(heard, np.float32)
    norm = np.linalg.norm(heard, axis=1)
    rms = norm / np.sqrt(segment)
    audible = rms > 10 ** (SILENT_DB / 20)
    out = np.full((len(heard), heard.shape[1] + 1), np.nan, np.float32)
    out[audible, :-1] = heard[audible] / norm[audible, None]
    out[audible, -1] = LEVEL_WEIGHT * np.log10(rms[audible])
    return out


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
    """The labels stored under ``key`` (each at most ``k``, the label of a frame in no
    cluster) and the frames of each file stored beside them (None where there are none); None
    when nothing sound is stored."""
    try:
        with np.load(cache_dir() / f"clusters-{key}.npz", allow_pickle=False) as z:
            labels = np.asarray(z["labels"], np.int64)
            frames = np.asarray(z["frames"], np.int64) if "frames" in z.files else None
    except Exception:  # noqa: BLE001 - missing or damaged: computed again
        return None
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or labels.max() > k)):
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
    >>> Labelled.of(["a"], [3], np.array([1, 2, 1]), 2).present  # 2 (= k): silent
    (1,)
    """

    stems: tuple[str, ...]
    frames: tuple[int, ...]
    labels: np.ndarray
    present: tuple[int, ...]
    key: str = ""  # the cache key of these labels (and of the clusters built from them)

    @classmethod
    def of(cls, stems: Sequence[str], frames: Sequence[int], labels: Any, k: int,
           key: str = "") -> Labelled:
        # k: a silent frame, in no cluster; one byte a frame where k allows (the default bank's
        # labels go from the helper process to the live one)
        labels = np.asarray(labels).astype(np.min_scalar_type(k), copy=False)
        present = tuple(int(c) for c in np.flatnonzero(np.bincount(labels, minlength=k)[:k]))
        return cls(tuple(stems), tuple(int(n) for n in frames), labels, present, key)


@dataclass(frozen=True)
class Grouped:
    """A bank's sound clusters: the names of each one's ``members``, and the cache ``key`` of
    the clustering."""

    key: str
    members: tuple[tuple[str, ...], ...]
