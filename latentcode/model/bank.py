"""The bank: the sounds a pattern can name, as latent sequences.

A sound is the latent sequence (mu, logvar per frame) of an audio file, encoded once at the
model's hop and cached on disk. Sounds are grouped by the part of their file name before the
index: ``bell_03.wav`` is ``bell:3``, the fourth sound of the group ``bell``. Beyond files the
bank offers ``cluster:N`` (the frames of cluster N of all frames of the bank, in corpus order,
as the paper's SOM clusters) and ``prior`` / ``prior:K`` (a smooth path drawn from the latent
prior; scale it with the ``scale`` control to set the temperature).

>>> from latentcode.model.bank import split_name
>>> split_name("bell:3"), split_name("drone")
(('bell', 3), ('drone', None))
"""

from __future__ import annotations

import difflib
import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import formats_hint, is_audio_file

CLUSTERS = 32
PRIOR_FRAMES = 1024
_INDEX = re.compile(r"^(?P<group>.*?)[_\-\s]*(?P<index>\d+)$")


@dataclass(frozen=True)
class Sound:
    """A latent sequence: ``mu`` and ``logvar`` of shape (frames, latent), frames ``hop`` apart."""

    name: str
    mu: np.ndarray
    logvar: np.ndarray
    hop: int

    @property
    def frames(self) -> int:
        return int(self.mu.shape[0])


def split_name(name: str) -> tuple[str, int | None]:
    """Split ``group:index`` into its parts; a bare name has no index."""
    group, sep, index = name.partition(":")
    if not sep:
        return name, None
    try:
        return group, int(float(index))
    except ValueError:
        raise LatentcodeError(
            f"bad sound index in {name!r}: write NAME:NUMBER, e.g. bell:3"
        ) from None


def group_of(stem: str) -> str:
    """The group a file belongs to: its stem without a trailing index.

    >>> group_of("bell_03"), group_of("kick2"), group_of("pad")
    ('bell', 'kick', 'pad')
    """
    m = _INDEX.match(stem)
    return m.group("group") if m and m.group("group") else stem


def audio_files(folder: Path) -> list[Path]:
    """All audio files under ``folder`` (the formats training reads too), sorted, so indices
    are stable across runs."""
    return sorted(p for p in folder.rglob("*") if is_audio_file(p))


class Bank:
    """Named latent sequences for a model.

    Files are encoded lazily (the first time a name is resolved) and the encoding is cached on
    disk, so a bank of many files costs nothing until its sounds are played.
    """

    def __init__(
        self,
        model,
        folders: Iterable[str | Path] = (),
        *,
        default: bool = True,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model
        self.report = report or (lambda message: None)
        self._files: dict[str, Path] = {}
        self._groups: dict[str, list[str]] = {}
        self._sounds: dict[str, Sound] = {}
        self._clusters: list[Sound] | None = None
        self.folder_groups: set[str] = set()  # groups named after a whole folder
        self._lock = threading.Lock()
        if default:
            from latentcode.model.corpus import default_corpus_dir

            self.add_folder(default_corpus_dir())
        for folder in folders:
            self.add_folder(folder)

    # -- building -----------------------------------------------------------------------------
    def add_folder(self, folder: str | Path) -> list[str]:
        """Add every audio file of ``folder`` (recursively); returns the new sound names.

        Each file is a sound named by its stem, grouped by its stem without a trailing index,
        and the whole folder is also a group named after the folder.
        """
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise LatentcodeError(f"bank: no folder {str(folder)!r}: give a folder of audio files")
        files = audio_files(path)
        if not files:
            raise LatentcodeError(
                f"bank: no audio files in {str(folder)!r}: it needs {formats_hint()} files"
            )
        names = []
        for f in files:
            self._files[f.stem] = f
            self._groups.setdefault(group_of(f.stem), [])
            if f.stem not in self._groups[group_of(f.stem)]:
                self._groups[group_of(f.stem)].append(f.stem)
            names.append(f.stem)
        self._groups[path.name] = sorted(set(self._groups.get(path.name, [])) | set(names))
        self.folder_groups.add(path.name)
        self._clusters = None
        return names

    # -- looking up ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every name a pattern may use: sounds, groups, ``cluster`` and ``prior``."""
        return sorted(set(self._files) | set(self._groups) | {"cluster", "prior"})

    def groups(self) -> dict[str, list[str]]:
        """Group name -> sound names, in index order."""
        return {g: list(v) for g, v in sorted(self._groups.items())}

    def resolve(self, name: str) -> Sound:
        """The latent sequence a pattern value names.

        ``bell`` is the first of group bell, ``bell:3`` the fourth (indices wrap around, as in
        Tidal), ``bell_03`` the file of that stem, ``cluster:5`` cluster 5, ``prior:2`` the
        third prior path.
        """
        sound = self._sounds.get(name)
        if sound is not None:
            return sound
        with self._lock:
            sound = self._resolve(name)
            self._sounds[name] = sound
        return sound

    def _resolve(self, name: str) -> Sound:
        group, index = split_name(name)
        if group == "cluster":
            clusters = self.clusters()
            return clusters[(index or 0) % len(clusters)]
        if group == "prior":
            return self._prior(index or 0)
        if index is None and group in self._files:
            return self._encode(group)
        members = self._groups.get(group)
        if not members:
            raise LatentcodeError(self._unknown(name))
        return self._encode(members[(index or 0) % len(members)])

    def _unknown(self, name: str) -> str:
        group = split_name(name)[0]
        close = difflib.get_close_matches(group, self.names(), n=1)
        hint = f": did you mean {close[0]!r}?" if close else ": `:bank` lists the sounds"
        return f"unknown sound {name!r}{hint}"

    def _encode(self, stem: str) -> Sound:
        cached = self._sounds.get(stem)
        if cached is not None:
            return cached
        from latentcode.model.encode import encode_file

        mu, logvar = encode_file(self._files[stem], self.model, hop=self.model.hop)[:2]
        sound = Sound(stem, np.ascontiguousarray(mu), np.ascontiguousarray(logvar), self.model.hop)
        self._sounds[stem] = sound
        return sound

    def preload(self) -> None:
        """Encode every file now (e.g. in a background thread before a performance)."""
        for stem in list(self._files):
            self.resolve(stem)

    # -- clusters and the prior ---------------------------------------------------------------
    def clusters(self, k: int = CLUSTERS) -> list[Sound]:
        """k-means clusters of all frames of the bank, each a sound of its frames in order."""
        if self._clusters is None:
            sounds = []
            for stem in sorted(self._files):
                try:
                    sounds.append(self._encode(stem))
                except LatentcodeError as e:  # one bad file must not take the clusters away
                    self.report(f"clusters leave out {stem}: {e}")
            if not sounds:
                raise LatentcodeError("no sound of the bank can be read, so there are no clusters")
            mu = np.concatenate([s.mu for s in sounds])
            logvar = np.concatenate([s.logvar for s in sounds])
            labels = kmeans(mu, k, seed=0)
            self._clusters = [
                Sound(f"cluster:{c}", mu[labels == c], logvar[labels == c], self.model.hop)
                for c in range(k)
                if np.any(labels == c)
            ]
        return self._clusters

    def _prior(self, index: int) -> Sound:
        """A smooth path through the prior N(0, I): Gaussian noise, low-passed along time."""
        rng = np.random.default_rng(int(hashlib.sha1(f"prior{index}".encode()).hexdigest()[:8], 16))
        latent = self.model.latent_dim
        raw = rng.standard_normal((PRIOR_FRAMES + 64, latent))
        kernel = np.hanning(64)
        kernel /= np.sqrt(np.sum(kernel**2))  # unit variance after smoothing
        smooth = np.stack([np.convolve(raw[:, d], kernel, mode="valid") for d in range(latent)], 1)
        mu = smooth[:PRIOR_FRAMES].astype(np.float32)
        logvar = np.full_like(mu, -20.0)  # the path itself is the sample: no extra noise
        return Sound(f"prior:{index}", mu, logvar, self.model.hop)


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iterations: int = 25) -> np.ndarray:
    """Cluster labels of the rows of ``x`` (k-means++ start, Lloyd iterations).

    >>> x = np.array([[0.0], [0.1], [10.0], [10.2]], dtype=np.float32)
    >>> labels = kmeans(x, 2)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    """
    rng = np.random.default_rng(seed)
    k = min(k, len(x))
    centres = [x[rng.integers(len(x))]]
    d2 = np.sum((x - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = d2.sum()
        i = rng.choice(len(x), p=d2 / total) if total > 0 else rng.integers(len(x))
        centres.append(x[i])
        d2 = np.minimum(d2, np.sum((x - x[i]) ** 2, axis=1))
    c = np.stack(centres).astype(np.float64)
    xx = np.sum(x.astype(np.float64) ** 2, axis=1, keepdims=True)
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(iterations):
        dist = xx - 2 * x @ c.T + np.sum(c**2, axis=1)
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            if len(members):
                c[j] = members.mean(axis=0)
    return labels
