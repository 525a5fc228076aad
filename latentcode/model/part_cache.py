"""The disk cache of built clusters: a cluster's frames, read back memory-mapped.

A cluster (``cluster:N``, ``sounds:N``) is put together from frames of many files. Built, it
is written once under the key of the clustering it belongs to (the bank's content, the model,
the hop: :func:`latentcode.model.clusters.cache_key`) and then always read back from that file,
memory-mapped:

- a second use in a later session is one file read, not a read of most of the bank's
  encodings (3.2 s for a cluster of the default bank, measured on 2026-12-01);
- the frames live in the OS's page cache, not in the process's own memory: playing every
  cluster of the default bank no longer keeps 2.4 GB of copies in the process, and what the
  OS holds of the files it can drop and read again.

The cache is filled and read in the bank's background worker, which also reads each file
through once (:func:`touch`), so that a voice never waits for the disk on the producer's
path. The cache keeps at most ``LATENTCODE_PART_CACHE_MB`` megabytes (default
:data:`DEFAULT_CAP_MB`, which holds every cluster of the default bank and of a bank as large
beside it): after each write the parts used least recently go (:func:`prune`).

>>> import tempfile, pathlib
>>> from latentcode.model.sound import Sound
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> built = Sound("frames:3", np.ones((5, 2), np.float32), np.zeros((5, 2), np.float32), 128)
>>> s = kept(folder / "part-k-3", lambda: built)
>>> s.name, s.frames, float(s.mu.sum()), s.mu.flags.writeable
('frames:3', 5, 10.0, False)
>>> kept(folder / "part-k-3", lambda: 1 / 0).frames   # from the file: never built again
5
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentcode.model.encode import CACHE_VERSION, cache_dir, write_npz
from latentcode.model.sound import Sound, widest

_TOUCH_BYTES = 1 << 20  # read at a time by touch (the pace goes round between reads)
_WRITE_ROWS = 2048  # frames written at a time by write (the pace goes round between writes)
# MB: the default bank's 32 frame and 8 sound clusters take 2.4 GB together (2026-12-01)
DEFAULT_CAP_MB = 6000


def path_of(key: str, i: int) -> Path:
    """Where cluster ``i`` of the clustering cached under ``key`` is kept (without a suffix):
    under the encodings' version and rules too, as a sound cluster keeps its members' match
    and onset (a change of either makes the cluster again)."""
    from latentcode.model import match, onsets

    rules = hashlib.sha1(f"{CACHE_VERSION}|{onsets.RULE}|{match.RULE}".encode()).hexdigest()
    return cache_dir() / f"part-{key}-{rules[:8]}-{i}"


@dataclass(frozen=True)
class Joined:
    """Pieces played end to end as one sound, not yet put together: :func:`kept` writes them
    into its file one at a time rather than holding them all. A sound cluster's pieces are its
    members (:meth:`of`: about 90 sounds of the default bank, 160 MB of frames, and as much
    again for their copy end to end); a frame cluster's are each file's frames in it
    (:func:`latentcode.model.gathering.pieces`: the largest of the default bank, 119 MB of
    frames, took 232 MB more while it was put together whole, 7 MB this way). It starts where
    its first piece does, keeps whatever band any piece has
    (:func:`latentcode.model.sound.widest`), and names ``members`` (a sound cluster's)."""

    name: str
    hop: int
    members: tuple[str, ...]
    pieces: Callable[[], Iterable[Sound]]

    @classmethod
    def of(cls, name: str, hop: int, members: tuple[str, ...],
           load: Callable[[str], Sound]) -> Joined:
        """The sounds ``members`` end to end, each given by ``load`` when it is written."""
        return cls(name, hop, members, lambda: (load(m) for m in members))

    def sound(self) -> Sound:
        """Put together in memory (when the cache cannot be written)."""
        sounds = list(self.pieces())
        return Sound(self.name, np.concatenate([s.mu for s in sounds]),
                     np.concatenate([s.logvar for s in sounds]), self.hop, self.members,
                     onset=sounds[0].onset, match=widest([s.match for s in sounds]))


def kept(path: Path, build: Callable[[], Sound | Joined],
         pace: Callable[[], None] | None = None) -> Sound:
    """The sound cached at ``path`` (without a suffix), memory-mapped; else ``build()``'s,
    written there first (a cache that cannot be written only leaves it unmapped)."""
    sound = read(path, pace)
    if sound is not None:
        return sound
    built = build()
    if isinstance(built, Joined):
        write_joined(path, built, pace)
    else:
        write(path, built, pace)
    prune(keep=path)
    found = read(path, pace)
    if found is not None:
        return found
    return built.sound() if isinstance(built, Joined) else built


def cap_bytes() -> int:
    """The most the parts may take on disk: ``LATENTCODE_PART_CACHE_MB`` megabytes, else
    :data:`DEFAULT_CAP_MB` (a value that is not a number counts as the default)."""
    raw = os.environ.get("LATENTCODE_PART_CACHE_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_CAP_MB
    except ValueError:
        mb = DEFAULT_CAP_MB
    return max(0, int(mb * 1e6))


def prune(keep: Path | None = None, cap: int | None = None) -> list[Path]:
    """Remove the parts used least recently (by their frames file's time, which :func:`read`
    renews) until those left take at most ``cap`` bytes (default :func:`cap_bytes`); ``keep``
    (without a suffix) stays whatever its size. Returns what went, oldest first.

    A part still mapped by a running session plays on: the OS keeps a removed file's pages
    while they are mapped, and the next session builds it again.
    """
    cap = cap_bytes() if cap is None else cap
    parts = []
    for npy in cache_dir().glob("part-*.npy"):
        if npy.name.endswith(".tmp.npy"):  # being written now
            continue
        npz = npy.with_suffix(".npz")
        try:
            st = npy.stat()
            size = st.st_size + (npz.stat().st_size if npz.exists() else 0)
        except OSError:  # removed meanwhile by another session
            continue
        parts.append((st.st_mtime_ns, npy, size))
    total = sum(size for _t, _p, size in parts)
    gone = []
    for _t, npy, size in sorted(parts):
        if total <= cap:
            break
        if keep is not None and npy == keep.with_suffix(".npy"):
            continue
        try:  # the frames first: a rest file alone is never read
            npy.unlink()
            npy.with_suffix(".npz").unlink(missing_ok=True)
        except OSError:
            continue
        total -= size
        gone.append(npy.with_suffix(""))
    return gone


def write(path: Path, sound: Sound, pace: Callable[[], None] | None = None) -> None:
    """Store ``sound`` as ``path``.npy (its frames: mu and logvar, float32) and ``path``.npz
    (the rest); the frames go last, so a frames file is only ever beside its own rest. They are
    written a block of rows at a time, ``pace`` between blocks: one long copy would hold the
    GIL that the producer needs."""
    _write_rest(path, sound.name, sound.hop, sound.onset, sound.members,
                {f: getattr(sound, f) for f in ("match", "quiet", "steps")})
    _write_frames(path, sound.mu.shape, [sound.mu, sound.logvar], pace)


def write_joined(path: Path, joined: Joined, pace: Callable[[], None] | None = None) -> None:
    """Store ``joined`` as :func:`write` stores its :meth:`Joined.sound`, holding one piece
    at a time: their mu and logvar go to two files beside the part first, then into it."""
    halves = [_private(path, f"{h}.tmp") for h in ("mu", "logvar")]
    frames, width, onset, matches = 0, 0, 0.0, []
    try:
        with open(halves[0], "wb") as mu, open(halves[1], "wb") as logvar:
            # (not enumerate: its tuple would hold each piece until the next one is made)
            for sound in joined.pieces():
                if not matches:  # the first piece: where the whole starts
                    onset = sound.onset
                frames, width = frames + sound.frames, sound.mu.shape[1]
                matches.append(sound.match)
                _write_rows(mu, sound.mu, pace)
                _write_rows(logvar, sound.logvar, pace)
                del sound  # (before the next piece is made: one at a time)
        _write_rest(path, joined.name, joined.hop, onset, joined.members,
                    {"match": widest(matches)})
        _write_frames(path, (frames, width), halves, pace)
    except (OSError, ValueError):  # no room: built again next time
        with contextlib.suppress(OSError):
            path.with_suffix(".npz").unlink(missing_ok=True)
    finally:
        for half in halves:
            with contextlib.suppress(OSError):
                half.unlink(missing_ok=True)


def _write_rest(path: Path, name: str, hop: int, onset: float, members: tuple[str, ...],
                optional: dict[str, np.ndarray | None]) -> None:
    rest: dict[str, np.ndarray] = {
        "name": np.array(name), "hop": np.array(hop), "onset": np.array(onset, np.float64),
        "members": np.array(members, str)}
    rest.update({k: np.asarray(v) for k, v in optional.items() if v is not None})
    write_npz(path.with_suffix(".npz"), **rest)


def _write_frames(path: Path, shape: tuple[int, ...], halves: list[np.ndarray | Path],
                  pace: Callable[[], None] | None) -> None:
    """``path``.npy: the (2, frames, width) float32 of mu and logvar (each an array, or a file
    of its rows, copied with plain reads: a mapping would count in the resident memory),
    through a temporary file (a reader never sees half of it)."""
    npy = path.with_suffix(".npy")
    tmp = _private(path, "tmp.npy")
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
              "fortran_order": False, "shape": (2, *shape)}
    try:
        # plain writes: each lets the GIL go while the OS copies (flushing a mapping
        # would not, and took 100 ms on a cluster of the default bank)
        with open(tmp, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
            for half in halves:
                if isinstance(half, Path):
                    _copy_rows(f, half, _WRITE_ROWS * 4 * shape[-1], pace)
                else:
                    _write_rows(f, half, pace)
        os.replace(tmp, npy)
    except (OSError, ValueError):  # no room, or a frame of another shape: built next time
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _private(path: Path, tail: str) -> Path:
    """A temporary file beside part ``path`` (without a suffix) that no other process or
    thread writing the same part shares."""
    return path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.{tail}")


def _copy_rows(f: Any, path: Path, chunk: int, pace: Callable[[], None] | None) -> None:
    with open(path, "rb") as rows:
        while block := rows.read(chunk):
            f.write(block)
            if pace is not None:
                pace()


def _write_rows(f: Any, rows: np.ndarray, pace: Callable[[], None] | None) -> None:
    for at in range(0, len(rows), _WRITE_ROWS):
        f.write(np.ascontiguousarray(rows[at : at + _WRITE_ROWS], np.float32).data)
        if pace is not None:
            pace()


def read(path: Path, pace: Callable[[], None] | None = None) -> Sound | None:
    """The sound stored as ``path`` (see :func:`write`), its frames memory-mapped (and their
    file read through once: :func:`touch`); None when it is missing or damaged."""
    try:
        frames = np.load(path.with_suffix(".npy"), mmap_mode="r", allow_pickle=False)
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as z:
            rest = {k: z[k] for k in z.files}
        if frames.ndim != 3 or frames.shape[0] != 2 or frames.dtype != np.float32:
            return None
        optional = {k: rest[k] for k in ("match", "quiet", "steps") if k in rest}
        sound = Sound(str(rest["name"]), np.asarray(frames[0]), np.asarray(frames[1]),
                      int(rest["hop"]), tuple(str(m) for m in rest["members"]),
                      onset=float(rest["onset"]), **optional)
        touch(path.with_suffix(".npy"), pace)
    except (OSError, ValueError, KeyError, EOFError):
        return None
    with contextlib.suppress(OSError):  # used now: the last to go (prune); a cache that
        os.utime(path.with_suffix(".npy"))  # cannot be written still reads
    return sound


def touch(path: Path, pace: Callable[[], None] | None = None) -> None:
    """Read a file through, a block at a time, into the OS's page cache: a voice then never
    waits for the disk on the producer's path, and the process maps only the pages it plays
    (reading through the mapping instead would map them all)."""
    scratch = bytearray(_TOUCH_BYTES)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(scratch):
            if pace is not None:
                pace()
