"""The bank: the sounds a pattern can name, as latent sequences.

A sound is the latent sequence (mu, logvar per frame) of an audio file, encoded once at the
model's hop and cached on disk. Sounds are grouped by the part of their file name before the
index: ``bell_03.wav`` is ``bell:3``, the fourth sound of the group ``bell``. A file's sound
knows where it starts (its ``onset``, found when it is encoded: :mod:`latentcode.model.onsets`),
so that voices skip its leading silence and it is heard on its beat, and how to bring the
model's decode of it back to the file's spectrum (its ``match``: :mod:`latentcode.model.match`).
Beyond files the bank offers the names of :data:`SPECIAL`: ``frames:N`` (cluster N of all single
frames of the bank, in corpus order; ``cluster:N`` is the same), ``sounds:N`` (cluster N of the
bank's whole sounds, its member sounds end to end; see :mod:`latentcode.model.clusters`) and
``prior`` / ``prior:K`` (a smooth path drawn from the latent prior; scale it with the ``zscale``
control to set the temperature).

Work that takes long (encoding a file, building clusters) never has to run on the audio path:
``resolve(name, wait=False)`` answers at once, with the sound or with :class:`NotReady` after
handing the work to the bank's one background worker, which has it done in the helper process
(:mod:`latentcode.model.helper`) and then reads the result from the disk caches.
``resolve(name)`` waits and works here (offline renders: the same file every time).

>>> from latentcode.model.bank import split_name
>>> split_name("bell:3"), split_name("drone")
(('bell', 3), ('drone', None))
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model import clusters as clustering
from latentcode.model import gathering, part_cache
from latentcode.model.audiofiles import formats_hint, is_audio_file
from latentcode.model.clusters import FRAME_CLUSTERS, Labelled, kmeans  # noqa: F401 - kmeans: API
from latentcode.model.encode import encode_sound, file_digest
from latentcode.model.helper import Helper
from latentcode.model.jobs import Job, NotReady, stale
from latentcode.model.prior import prior_path
from latentcode.model.sound import Sound
from latentcode.model.worker import Worker

CLUSTERS = FRAME_CLUSTERS
WORKER_BATCH = 256  # frames per encoder call on the worker: short bursts, the decoder goes first
HELPER_BYTES = 8 << 20  # a file larger (about 90 s of 16-bit mono) is encoded in the helper
# seconds of work per second of audio in the bank for frame clusters (measured on two busy
# cores, paced: 229 s of audio took about 11 s), for the "how long" of the waiting message
BUILD_RATE = 0.06
_INDEX = re.compile(r"^(?P<group>.*?)[_\-\s]*(?P<index>\d+)$")
# a name a pattern string can hold (mini-notation's WORD, grammar/mini.lark): a folder group
# such as the default corpus's ``corpus-v2`` cannot be typed, so listings leave it out
_TYPEABLE = re.compile(r"[A-Za-z][A-Za-z0-9_'#]*")

# The names that are not files, with what they are (for :bank, completion and :help).
SPECIAL = {
    "frames": "frames:N, cluster N of the bank's single frames",
    "cluster": "cluster:N, the same as frames:N",
    "sounds": "sounds:N, cluster N of whole sounds, end to end",
    "prior": "prior:N, a path through the latent prior",
    "in": "in, the live audio input, encoded as it comes",
}


def typeable(name: str) -> bool:
    """Whether a pattern string can name ``name`` (listings show only what a user types).

    >>> typeable("bell"), typeable("corpus-v2")
    (True, False)
    """
    return _TYPEABLE.fullmatch(name) is not None


@dataclass(frozen=True)
class Addition:
    """What one :meth:`Bank.add_folder` added: the folder, its sounds and their groups (the
    ones a pattern can name: see :func:`typeable`)."""

    folder: Path
    names: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def untypeable(self) -> tuple[str, ...]:
        """The sounds a pattern cannot name by their own name (``my-loop``): only by index."""
        return tuple(n for n in self.names if not typeable(n))


def split_name(name: str) -> tuple[str, int | None]:
    """Split ``group:index`` into its parts; a bare name has no index."""
    group, sep, index = name.partition(":")
    if not sep:
        return name, None
    try:
        return group, int(float(index))
    except ValueError:
        raise LatentcodeError(f"bad sound index in {name!r}: write NAME:NUMBER, e.g. bell:3",
                              culprit=name) from None


def group_of(stem: str) -> str:
    """The group a file belongs to: its stem without a trailing index.

    >>> group_of("bell_03"), group_of("kick2"), group_of("pad")
    ('bell', 'kick', 'pad')
    """
    m = _INDEX.match(stem)
    return m.group("group") if m and m.group("group") else stem


def audio_files(folder: Path) -> list[Path]:
    """All audio files under ``folder`` (the formats training reads too), sorted, so indices
    are stable across runs. Only names are looked at: nothing is opened."""
    return sorted(p for p in folder.rglob("*") if is_audio_file(p))


class LiveBank:
    """The bank as the live producer sees it: :meth:`resolve` never waits (it raises
    :class:`NotReady` while a sound is prepared); everything else is the bank's."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank

    def resolve(self, name: str) -> Sound:
        return self.bank.resolve(name, wait=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bank, name)


class Bank:
    """Named latent sequences for a model.

    Files are encoded lazily (the first time a name is resolved) and the encoding is cached on
    disk, so a bank of many files costs nothing until its sounds are played.
    """

    def __init__(self, model, folders: Iterable[str | Path] = (), *, default: bool = True,
                 report: Callable[[str], None] | None = None) -> None:
        self.model = model
        self.report = report or (lambda message: None)
        self._files: dict[str, Path] = {}
        self._groups: dict[str, list[str]] = {}
        self._sounds: dict[str, Sound] = {}
        self.folder_groups: set[str] = set()  # groups named after a whole folder
        self.generation = 0  # bumped by add_folder: clusters are made again
        self.additions: list[Addition] = []  # what each add_folder added, in order
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        # (the report read when it speaks: a session sets its own after the bank is made)
        self._worker = Worker(lambda line: self.report(line),
                              Helper(model) if hasattr(model, "net") else None,
                              "latentcode.model.warming:warm", self._state, self._changed)
        self._pace: Any = None  # the helper's own bank paces what it is asked to wait for
        self.live_input: Any = None  # the input as a sound (``in``), while there is one
        if default:
            from latentcode.model.corpus import default_corpus_dir

            self.add_folder(default_corpus_dir())
        for folder in folders:
            self.add_folder(folder)

    # -- building -----------------------------------------------------------------------------
    def add_folder(self, folder: str | Path) -> list[str]:
        """Add every audio file of ``folder`` (recursively); returns the new sound names.

        Each file is a sound named by its stem, grouped by its stem without a trailing index,
        and the whole folder is also a group named after the folder. Names of audio that are
        not regular files (a FIFO, a device, a folder called ``x.wav``) are left out with a
        message, never opened.
        """
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise LatentcodeError(f"bank: no folder {str(folder)!r}: give a folder of audio files")
        found = audio_files(path)
        files = [f for f in found if f.is_file()]  # stat only: opening a FIFO blocks for good
        odd = [f.name for f in found if f not in files]
        if odd:
            shown = ", ".join(odd[:5]) + (f" and {len(odd) - 5} more" if len(odd) > 5 else "")
            self.report(f"bank: left out {shown}: not regular files (a FIFO, a device or a "
                        "folder named like audio)")
        if not files:
            raise LatentcodeError(
                f"bank: no audio files in {str(folder)!r}: it needs {formats_hint()} files"
            )
        names = []
        with self._lock:
            for f in files:
                if self._files.get(f.stem) is not None:
                    self._sounds.pop(f.stem, None)  # read it again: it may have changed
                    self._jobs.pop(f"encode:{self._files[f.stem]}", None)
                self._files[f.stem] = f
                self._groups.setdefault(group_of(f.stem), [])
                if f.stem not in self._groups[group_of(f.stem)]:
                    self._groups[group_of(f.stem)].append(f.stem)
                names.append(f.stem)
            self._groups[path.name] = sorted(set(self._groups.get(path.name, [])) | set(names))
            self.folder_groups.add(path.name)
            self._changed()
            groups = dict.fromkeys([*(group_of(n) for n in names), path.name])
            self.additions.append(Addition(path, tuple(names),
                                           tuple(g for g in groups if typeable(g))))
        return names

    def _changed(self) -> None:
        """The files changed: the clusters of the bank as it was are built again on their next
        use. The old ones go (a job still running keeps its own until it ends), and names
        resolved before may mean other sounds now (groups grew, clusters change)."""
        with self._lock:  # (re-entered from add_folder: an RLock)
            self.generation += 1
            self._jobs = {key: job for key, job in self._jobs.items() if "@" not in key}
            self._sounds = {n: s for n, s in self._sounds.items() if n in self._files}

    # -- looking up ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every name a pattern may use: sounds, groups and the :data:`SPECIAL` names."""
        return sorted(set(self._files) | set(self._groups) | set(SPECIAL))

    def groups(self) -> dict[str, list[str]]:
        """Group name -> sound names, in index order."""
        return {g: list(v) for g, v in sorted(self._groups.items())}

    def shown_groups(self) -> dict[str, list[str]]:
        """The groups a user can type (see :func:`typeable`), for ``:bank`` and the banner:
        the default corpus's folder group (``corpus-v2``) is left out."""
        return {g: v for g, v in self.groups().items() if typeable(g)}

    def live(self) -> LiveBank:
        """This bank for the live producer: lookups that never wait (see :class:`LiveBank`)."""
        return LiveBank(self)

    def resolve(self, name: str, *, wait: bool = True) -> Sound:
        """The latent sequence a pattern value names.

        ``bell`` is the first of group bell, ``bell:3`` the fourth (indices wrap around, as in
        Tidal), ``bell_03`` the file of that stem, ``frames:5`` (or ``cluster:5``) frame
        cluster 5, ``sounds:2`` sound cluster 2, ``prior:2`` the third prior path. Without
        ``wait``, a sound that needs slow work raises :class:`NotReady` (the work goes on in
        the background); an unknown name raises its error at once either way.
        """
        sound = self._sounds.get(name)
        if sound is not None:
            return sound
        sound = self._resolve(name, wait)
        if not sound.live:  # (the input may be another one next time)
            self._sounds[name] = sound
        return sound

    def _resolve(self, name: str, wait: bool) -> Sound:
        group, index = split_name(name)
        if group in ("cluster", "frames"):  # each cluster is put together on its first use
            labelled = self._need(self._frames_job(CLUSTERS), wait)
            i = (index or 0) % len(labelled.present)
            return self._part("cluster", i, wait, labelled.key,
                              lambda pace: self._frame_cluster(labelled, i, pace))
        if group == "sounds":
            grouped = self._need(self._sounds_job(), wait)
            i = (index or 0) % len(grouped.members)
            return self._part("sounds", i, wait, grouped.key,
                              lambda pace: self._sound_cluster(i, grouped.members[i], pace))
        if group == "prior":
            return self._prior(index or 0)
        if group == "in" and group not in self._files:
            if self.live_input is None:
                raise LatentcodeError("`in` is the live audio input, and there is none: play "
                                      "through JACK (not --input none), or render with --input "
                                      "FILE",
                                      culprit=name)
            return self.live_input.use()
        if index is None and group in self._files:
            return self._encode(group, wait)
        members = self._groups.get(group)
        if not members:
            raise LatentcodeError(self._unknown(name), culprit=name)
        return self._encode(members[(index or 0) % len(members)], wait)

    def _part(self, kind: str, i: int, wait: bool, key: str,
              build: Callable[[Any], Sound | part_cache.Joined]) -> Sound:
        # built once, then read mapped from the disk (model/part_cache.py)
        # (missing from the cache after the helper made it: the files changed, see stale())
        return self._need(self._job(f"{kind}:{i}@{self.generation}",
                                    f"{kind}:{i} is being put together", f"{kind}:{i}",
                                    lambda pace: part_cache.kept(part_cache.path_of(key, i),
                                                                 lambda: (stale(), build(pace))[1],
                                                                 pace),
                                    ("part", f"{kind}:{i}")),
                          wait)

    def _unknown(self, name: str) -> str:
        group = split_name(name)[0]
        close = difflib.get_close_matches(group, self.names(), n=1)
        hint = f": did you mean {close[0]!r}?" if close else ": `:bank` lists the sounds"
        return f"unknown sound {name!r}{hint}"

    def _encode(self, stem: str, wait: bool = True, pace: Any = None) -> Sound:
        cached = self._sounds.get(stem)
        if cached is not None:
            return cached
        path = self._files[stem]

        def run(pace: Any) -> Sound:
            sound = self._load(stem, pace)
            if self._files.get(stem) == path:
                self._sounds[stem] = sound
            return sound

        what = f"{stem} is being loaded (first use: a new file is encoded once, then cached)"
        # one file of a few seconds is encoded in a moment here (the default corpus's are all
        # under 1 MB): a helper started for it would make the sound start seconds later
        job = self._job(f"encode:{path}", what, stem, run,
                        lambda: ("encode", stem) if _size(path) > HELPER_BYTES else None)
        return self._need(job, wait, pace)

    def _load(self, stem: str, pace: Any = None) -> Sound:
        """File ``stem`` encoded (or read from the cache), kept by no one: the clusters read
        every file, and keeping them all held every frame twice (1.2 GB, default bank)."""
        hop = self.model.hop
        batch = WORKER_BATCH if pace is not None else 4096
        e = encode_sound(self._files[stem], self.model, hop=hop, batch=batch, pace=pace)
        return Sound(stem, np.ascontiguousarray(e.mu), np.ascontiguousarray(e.logvar), hop,
                     onset=e.onset / hop, match=e.match, quiet=e.quiet, steps=e.steps)

    def _member(self, stem: str, pace: Any) -> Sound:
        sound = self._sounds.get(stem) or self._load(stem, pace)
        if pace is not None:
            pace()  # between files: the GIL goes round
        return sound

    def preload(self) -> None:
        """Encode every file now (e.g. in a background thread before a performance)."""
        for stem in list(self._files):
            self.resolve(stem)

    # -- background work ----------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Path], dict[str, list[str]]]:
        """What the helper process needs to know of the bank: its files and groups now."""
        with self._lock:
            return dict(self._files), {g: list(m) for g, m in self._groups.items()}

    def _job(self, key: str, what: str | Callable[[], str], ready: str,
             run: Callable[[Any], Any], task: tuple | Callable[[], tuple | None] | None = None
             ) -> Job:
        """The job of ``key``, made the first time (``what`` and ``task``, see :mod:`.warming`,
        may be functions: they are only called then, not on every lookup from the audio path)."""
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.interrupted:
                text = what() if callable(what) else what
                job = self._jobs[key] = Job(key, text, ready, run,
                                            task() if callable(task) else task)
            return job

    def _need(self, job: Job, wait: bool, pace: Any = None) -> Any:
        """The job's result: computed here (or waited for) when ``wait``, else NotReady."""
        if job.done.is_set():
            return job.outcome()
        if wait:
            if job.claim():
                job.execute(pace if pace is not None else self._pace)
            else:
                job.done.wait()
            return job.outcome()
        self._worker.submit(job)
        kind = job.key.partition(":")[0]
        raise NotReady(job.what, key=f"{kind}@{self.generation}", job=job)

    def pace_by(self, pressure: Callable[[], float] | None) -> None:
        """Background work (encoding, clusters) waits while ``pressure()`` is above
        :data:`~latentcode.model.pacing.PRESSED`: a live session passes its producer's load,
        so that the bank's work takes no CPU the music needs; None: it never waits.

        >>> bank = Bank(None, default=False); bank.pace_by(lambda: 0.9); bank.close()
        """
        self._worker.pace_by(pressure)

    def close(self) -> None:
        """Stop the background worker at its next pause, and the helper process; the job it
        was running is dropped (a later request starts it again). Waiting lookups still work.

        >>> bank = Bank(None, default=False); bank.close(); bank.close()
        """
        self._worker.close()

    # -- clusters and the prior ---------------------------------------------------------------
    def clusters(self, k: int = CLUSTERS) -> list[Sound]:
        """k-means clusters of all frames of the bank, each a sound of its frames in order
        (``frames:N``); waits for them."""
        labelled = self._need(self._frames_job(k), True)
        return self._frame_clusters(labelled, list(range(len(labelled.present))), None)

    def sound_clusters(self) -> list[Sound]:
        """Clusters of the bank's whole sounds (``sounds:N``), each its members end to end,
        with their names in ``members``; waits for them."""
        count = len(self._need(self._sounds_job(), True).members)
        return [self.resolve(f"sounds:{i}") for i in range(count)]

    def _frames_job(self, k: int) -> Job:
        def what() -> str:  # the length guessed from the files' sizes (16-bit mono)
            seconds = sum(_size(p) for p in self._files.values()) / (2 * self.model.sample_rate)
            return (f"the bank's frame clusters are being built (first use: up to "
                    f"~{max(1, round(BUILD_RATE * seconds))} s, then cached)")

        return self._job(f"frames:{k}@{self.generation}", what, "frame clusters",
                         lambda pace: self._build_frames(k, pace), ("frames", k))

    def _sounds_job(self) -> Job:
        return self._job(f"sounds@{self.generation}",
                         "the bank's sound clusters are being built (first use)",
                         "sound clusters", self._build_sounds, ("sounds", None))

    def _each_sound(self, pace: Any) -> Iterator[Sound]:
        """Every readable sound of the bank in name order, one at a time (all held together
        took 1.3 GB); a bad file is left out with a message, not the clusters."""
        count = 0
        for stem in sorted(self._files):
            try:
                sound = self._member(stem, pace)
            except LatentcodeError as e:
                self.report(f"clusters leave out {stem}: {e}")
                continue
            count += 1
            yield sound
        if not count:
            raise LatentcodeError("no sound of the bank can be read, so there are no clusters")

    def _key(self, method: str, k: int, names: list[str]) -> str:
        digests = [file_digest(self._files[n]) for n in names]
        return clustering.cache_key(method, k, self.model.fingerprint, self.model.hop, digests)

    def _build_frames(self, k: int, pace: Any) -> Labelled:
        """Which cluster each frame of the bank is in (see :class:`clusters.Labelled`)."""
        def key_of(k: int, names: list[str]) -> str:
            return self._key("heard", k, names)

        names = sorted(self._files)  # stored with its layout: a later session reads no file
        known = clustering.known_layout(lambda: key_of(k, names), names, k)
        if known is not None:
            return known
        stale()
        scale, segment = self.model.heard_scale, self.model.segment
        silence = self.model.encode(np.zeros((1, segment), np.float32))[0][0]
        return clustering.label_frames(
            self._each_sound(pace), lambda stem: self._member(stem, pace),
            lambda mu: clustering.frame_features((mu - silence) * scale, segment), k, key_of,
            pace)

    def _frame_clusters(self, labelled: Labelled, which: list[int], pace: Any) -> list[Sound]:
        """Frame clusters ``which`` (among the non-empty ones), reading each file once."""
        parts = gathering.gather(labelled, which, lambda m: self._member(m, pace))
        return [Sound(f"frames:{i}", mu, logvar, self.model.hop)
                for i, (mu, logvar) in zip(which, parts, strict=True)]

    def _build_sounds(self, pace: Any) -> clustering.Grouped:
        """The members of each sound cluster (put together on first use, as frame clusters)."""
        names = sorted(self._files)  # stored: a later session reads no file
        k = clustering.sound_k(len(names))
        known = clustering.known_grouping(lambda: self._key("sounds", k, names), names, k)
        if known is not None:
            return known
        stale()
        described = {s.name: clustering.describe(s.mu) for s in self._each_sound(pace)}
        names, k = list(described), clustering.sound_k(len(described))
        key = self._key("sounds", k, names)
        labels, _ = clustering.cached_labels(key, len(names), k, lambda: clustering.sound_labels(
            list(described.values()), k, pace=pace))
        return clustering.grouping(key, names, labels, k)

    def _frame_cluster(self, labelled: Labelled, i: int, pace: Any) -> part_cache.Joined:
        """Frame cluster ``i``, put together in the cache a file's frames at a time."""
        hop = self.model.hop
        return part_cache.Joined(f"frames:{i}", hop, (), lambda: gathering.pieces(
            labelled, i, lambda m: self._member(m, pace), hop))

    def _sound_cluster(self, i: int, members: tuple[str, ...], pace: Any) -> part_cache.Joined:
        """Sound cluster ``i``: its ``members`` end to end, put together in the cache a member
        at a time. It starts where its first member does (frame clusters and prior paths have
        no silence of their own to skip), and keeps whatever band any member has."""
        return part_cache.Joined.of(f"sounds:{i}", self.model.hop, members,
                                    lambda m: self._member(m, pace))

    def _prior(self, index: int) -> Sound:
        mu = prior_path(index, self.model.latent_dim)
        logvar = np.full_like(mu, -20.0)  # the path itself is the sample: no extra noise
        return Sound(f"prior:{index}", mu, logvar, self.model.hop)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0

