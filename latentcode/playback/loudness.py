"""Loudness compensation (the ``norm`` control): a mix brought, frame by frame, to the level
its sounds have there.

Decoding a blend of two latents (``mix`` with ``alpha``, more so outside 0..1) often collapses
or inflates the level: the paper's three strategies played 13 dB apart. A voice with a second
sound is brought to the level of each endpoint's mean decoded on its own, crossfaded by alpha
(clamped to 0..1): see :func:`level_gains`. Silence in a sound stays silent: its clean level
is silence too.

Those "clean" levels are measured lazily, only around the frames voices reach (every
``GRID``-th frame), once per sound: a block that meets new frames decodes them in the same
call as its voices' frames (:func:`unknown`, :func:`latents`, :func:`store`). A call of their
own cost 2.4-3 ms of each live call (two blocks) for the four frames a new mix met there (the
decoder pads a batch to 16 rows and reads all its weights for any), 15% of the call.
They are kept on disk too, under the cache folder, a small file per sound (:func:`kept_file`):
measuring them was 6% of the render of ``coding_the_latent.lc``, paid again in every render,
every fork of a split render and every live session, where it is a decode on the audio's
producer thread.
A kept level is the very one a measurement would give (the decoder gives a row the same bits
in any batch, and a level is summed row by row), so a render is the same bits with the files
there or not. They are read at a sound's first measurement (a file of a few KB) and written
by :func:`flush` when a render or live play ends.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from latentcode.model.encode import cache_dir
from latentcode.model.frame_cache import FrameCache
from latentcode.playback.grains import rows_of

LEVEL_RANGE = 12.0  # dB: the most the compensation raises or lowers a frame
SILENCE = -70.0  # dB: a frame decoded this quiet is never raised (nothing there to bring up)
# Clean levels are measured every GRID latent frames (512 samples) and interpolated between:
# a Hann-weighted level of 1024 samples changes little faster, and it costs a quarter.
GRID = 4
SMOOTHING = 0.5  # one-pole coefficient per output frame: the gain settles in ~3 frames (15 ms)
KEEP = True  # clean levels kept on disk (False: measured in every process, as before)
KEPT_FRAMES = 1 << 15  # the longest sound kept (6.4 min at hop 128; a file of 128 KB)
SAMPLED_ROWS = 256  # latent rows that name a sound's file (evenly spread, and the last)
VERSION = 1  # of the kept files' meaning: a change to how a level is measured raises it

_decoders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # decoder -> its keys
_unsaved: dict[Path, np.ndarray] = {}  # levels measured since the last flush, by file
_lock = threading.Lock()


def levels_db(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The level of each frame (rows) in dB: RMS weighted by ``window``.

    >>> levels_db(np.full((1, 4), 0.5), np.ones(4)).round(2).tolist()
    [-6.02]
    """
    weights = (np.asarray(window, dtype=np.float64) / float(np.sum(window))).astype(np.float32)
    # row by row, never BLAS: a matrix product's rows round differently in batches of other
    # sizes, and a voice must sound the same however its block was dealt out
    power = np.einsum("rn,n->r", np.square(frames, dtype=np.float32), weights)
    return 10 * np.log10(power.astype(np.float64) + 1e-20)


def clean_levels(sound: object, decode: Callable | None = None,
                 window: np.ndarray | None = None) -> np.ndarray:
    """Per latent frame of ``sound``, the level of its mean decoded alone (NaN until measured).

    Kept on the sound itself as an optional attribute, so every voice shares the measurements
    and a sound the bank drops takes them along. Made at the first call that gives the
    ``decode`` and ``window`` it is measured with: those kept on disk for them are read then.
    """
    levels = sound.__dict__.get("_clean_levels")
    if levels is None:
        levels = np.full(sound.frames, np.nan, dtype=np.float32)
        path = kept_file(sound, decode, window) if decode is not None and KEEP else None
        if path is not None:
            levels = _read(path, sound.frames, levels)
        # Sound is frozen: optional caches
        object.__setattr__(sound, "_clean_levels", levels)
        object.__setattr__(sound, "_levels_file", path)
    return levels


Unknown = list[tuple[object, np.ndarray, np.ndarray]]  # (sound, its levels, frames to measure)


def unknown(wanted: Sequence[tuple[object, np.ndarray]], decode, window: np.ndarray) -> Unknown:
    """Of the frames ``wanted`` ((sound, frame indices) pairs), those whose clean levels are
    still unknown, per sound: what :func:`latents` gives to a decode and :func:`store` keeps.
    The first time a sound is met, its kept levels are read (see :func:`clean_levels`)."""
    todo = []
    for sound, frames in wanted:
        levels = clean_levels(sound, decode, window)
        missing = np.unique(frames[np.isnan(levels[frames])])
        if missing.size:
            todo.append((sound, levels, missing))
    return todo


def latents(todo: Unknown) -> np.ndarray:
    """The latent rows whose decode measures ``todo`` (each sound's mean at its frames)."""
    if not todo:
        return np.zeros((0, 0), np.float32)
    return np.concatenate([sound.mu[k] for sound, _, k in todo]).astype(np.float32, copy=False)


def store(todo: Unknown, decoded: np.ndarray, window: np.ndarray) -> None:
    """Keep the levels of ``decoded``, the frames of :func:`latents` of ``todo``, as their
    sounds' clean levels (written to their files at the next :func:`flush`)."""
    if not todo:
        return
    measured = levels_db(np.asarray(decoded, dtype=np.float32), window)
    at = 0
    for sound, levels, k in todo:
        levels[k] = measured[at : at + len(k)]
        at += len(k)
        path = sound.__dict__.get("_levels_file")
        if path is not None:
            with _lock:
                _unsaved[path] = levels


# -- clean levels kept on disk -------------------------------------------------------------------


def kept_file(sound: object, decode: Callable, window: np.ndarray) -> Path | None:
    """The file where the clean levels of ``sound``, decoded by ``decode`` and weighted by
    ``window``, are kept: named by its length, :data:`SAMPLED_ROWS` of its latents and the
    decoder's key. None for a sound longer than :data:`KEPT_FRAMES` (measured lazily, as
    ever), or a decoder that cannot be told apart from another (see :func:`decoder_key`)."""
    frames = sound.frames
    if frames > KEPT_FRAMES:
        return None
    key = decoder_key(decode, sound.mu.shape[1], window)
    if key is None:
        return None
    # a sample of the latents, not all of them: this runs on the producer's thread, and
    # hashing every row of a long sound (a cluster of whole sounds: 211,061 frames, many of
    # them paged in from its file) took 27-485 ms there, and underruns followed
    step = -(-frames // SAMPLED_ROWS)
    h = hashlib.sha1(np.ascontiguousarray(sound.mu[::step], dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(sound.mu[-1], dtype=np.float32).tobytes())
    return cache_dir() / "levels" / f"{h.hexdigest()[:24]}-{frames}-{key}.npy"


def decoder_key(decode: Callable, latent_dim: int, window: np.ndarray) -> str | None:
    """What the clean levels depend on besides the sound, as a short hash: the model's
    fingerprint and precision where it has them, the decoder's output for a fixed probe (its
    weights and arithmetic as they decode), the window and the grid. Worked out once per
    decoder; None for one that cannot be remembered (it is then measured every time).

    >>> def decode(z): return np.repeat(z[:, :1], 4, axis=1)
    >>> key = decoder_key(decode, 2, np.ones(4))
    >>> key == decoder_key(decode, 2, np.ones(4)), key == decoder_key(decode, 2, np.hanning(4))
    (True, False)
    """
    target = decode.decode if isinstance(decode, FrameCache) else decode  # (probe: not cached)
    owner = getattr(target, "__self__", target)
    window = np.ascontiguousarray(window, dtype=np.float32)
    probe_key = (latent_dim, hashlib.sha1(window.tobytes()).hexdigest())
    try:
        known = _decoders.setdefault(owner, {})
    except TypeError:  # (an owner that cannot be weakly referenced)
        return None
    if probe_key not in known:
        probe = np.random.default_rng(0).standard_normal((16, latent_dim)).astype(np.float32)
        h = hashlib.sha1(repr((VERSION, GRID, getattr(owner, "fingerprint", ""),
                               getattr(owner, "precision", ""))).encode())
        h.update(np.ascontiguousarray(target(probe), dtype=np.float32).tobytes())
        h.update(window.tobytes())
        known[probe_key] = h.hexdigest()[:16]
    return known[probe_key]


def flush() -> int:
    """Write the clean levels measured since the last flush to their files (each merged with
    what another process wrote there meanwhile); returns how many files. Called where a render
    or live play ends (:meth:`~latentcode.playback.scheduler.Scheduler.finished`), never while
    audio plays: a file that cannot be written only costs the measurement again."""
    with _lock:
        todo = list(_unsaved.items())
        _unsaved.clear()
    written = 0
    for path, levels in todo:
        merged = _read(path, len(levels), levels.copy())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
            np.save(tmp, merged)
            os.replace(tmp, path)
            written += 1
        except OSError:
            pass
    return written


def _read(path: Path, frames: int, levels: np.ndarray) -> np.ndarray:
    """``levels`` with its unknown frames filled from ``path``, where that file is a sound's
    levels of this length (a missing or damaged file fills nothing)."""
    try:
        kept = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return levels
    if kept.shape == (frames,) and kept.dtype == np.float32:
        unknown = np.isnan(levels)
        levels[unknown] = kept[unknown]
    return levels


Ends = list[tuple[str, object, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def ends(batch: object, voices: Sequence[int], pos: np.ndarray) -> Ends:
    """Where the mixing ``voices`` of a block read their sounds' clean levels: per end ("a",
    "b", and "c" for a ``morphfrom``) and distinct sound there, (end, sound, its rows among
    the voices' rows, the measured frames before and after each row's position, the weight of
    the second). ``pos`` is each row's position in sound ``a`` (latent frames); sounds ``b``
    and ``c`` are read at the same fraction of their length."""
    rows, _, per_row = _rows(batch, voices)
    mixing = [batch.plan[i][0] for i in voices]
    frames_a = np.array([v.a.frames for v in mixing])[per_row]
    p = pos[rows]
    through = p / np.maximum(frames_a - 1, 1)
    at = {"a": p}
    for end in ("b", "c"):  # read as far through as ``a`` (a voice may have one of the two)
        if any(getattr(v, end) is not None for v in mixing):
            frames = np.array([getattr(v, end).frames if getattr(v, end) is not None else 1
                               for v in mixing])[per_row]
            at[end] = through * (frames - 1)
    return _ends(mixing, per_row, at)


def wanted(parts: Ends) -> list[tuple[object, np.ndarray]]:
    """The frames ``parts`` (see :func:`ends`) read, per sound: what :func:`unknown` asks."""
    return [(sound, np.concatenate([i0, i1])) for _, sound, _, i0, i1, _ in parts]


def level_gains(
    audio: np.ndarray, batch: object, voices: Sequence[int], parts: Ends, alpha: np.ndarray,
    window: np.ndarray, morph: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loudness compensation of the mixing ``voices`` of a block: (their rows, a gain per row).

    ``audio`` holds the decoded segments, ``parts`` where they read their clean levels (see
    :func:`ends`, measured by then), ``alpha`` each row's alpha and ``morph`` its morph (None
    when no voice has a ``morphfrom``). Each voice's ``norm`` scales its correction, and
    ``voice.level`` carries its smoothed correction (dB) from one block to the next.
    """
    plan = batch.plan
    rows, counts, per_row = _rows(batch, voices)
    level = {end: np.empty(len(rows)) for end in ("a", "b", "c")}
    for end, sound, k, i0, i1, t in parts:
        clean = np.maximum(clean_levels(sound), SILENCE)
        level[end][k] = (1 - t) * clean[i0] + t * clean[i1]
    level_a, level_b = level["a"], level["b"]
    a = np.clip(alpha[rows], 0.0, 1.0)
    # as loud as a crossfade of the two sounds would be: interpolating in dB instead would let
    # a near-silent endpoint (a cluster of quiet frames) pull the whole morph down
    loudness = 10 ** (level_a / 20)  # (a voice with no ``mix``: its sound's level)
    two = np.array([plan[i][0].b is not None for i in voices], bool)[per_row]
    loudness[two] = (1 - a[two]) * loudness[two] + a[two] * 10 ** (level_b[two] / 20)
    third = np.array([plan[i][0].c is not None for i in voices], bool)[per_row]
    if third.any():  # a morph from a third sound: a crossfade of it and the voice's own
        w = np.clip(morph[rows][third], 0.0, 1.0)
        loudness[third] = (1 - w) * 10 ** (level["c"][third] / 20) + w * loudness[third]
    target = 20 * np.log10(loudness)
    actual = levels_db(audio[rows], window)
    correction = np.clip(target - actual, -LEVEL_RANGE, LEVEL_RANGE)
    correction[(actual < SILENCE) & (correction > 0)] = 0.0
    amount = np.array([plan[i][0].norm for i in voices])[per_row]
    smoothed = _smooth(correction * amount, counts, [plan[i][0] for i in voices])
    return rows, (10 ** (smoothed / 20)).astype(np.float32)


def _rows(batch: object, voices: Sequence[int]) -> tuple[np.ndarray, list[int], np.ndarray]:
    """The batch rows of ``voices`` (voice after voice), each voice's count of them, and the
    index among ``voices`` of each row's voice."""
    counts = [len(batch.plan[i][1]) for i in voices]
    return rows_of(batch, voices), counts, np.repeat(np.arange(len(voices)), counts)


def _ends(mixing: Sequence[object], per_row: np.ndarray, positions: dict[str, np.ndarray]
          ) -> list[tuple[str, object, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per end ("a", "b", "c") and distinct sound there: (end, sound, its rows, the measured
    frames before and after each row's position, the weight of the second)."""
    parts = []
    for end, pos in positions.items():
        sounds = [getattr(v, end) for v in mixing]  # (None: a voice without that end)
        i0, i1, t = _grid(np.array([s.frames if s else 1 for s in sounds])[per_row], pos)
        ids = np.array([id(s) for s in sounds])[per_row]
        for sound in {id(s): s for s in sounds if s is not None}.values():
            k = np.flatnonzero(ids == id(sound))
            parts.append((end, sound, k, i0[k], i1[k], t[k]))
    return parts


def _grid(frames: np.ndarray | int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The measured frames around each position (every ``GRID``-th frame, and the last) and
    the weight of the second: clean levels are interpolated between them.

    >>> [x.tolist() for x in _grid(np.array(10), np.array([0.0, 5.0, 9.0]))]
    [[0, 4, 8], [4, 8, 9], [0.0, 0.25, 1.0]]
    """
    last = frames - 1
    p = np.clip(pos, 0, last)
    i0 = np.minimum(np.floor(p / GRID).astype(np.intp) * GRID, last)
    i1 = np.minimum(i0 + GRID, last)
    return i0, i1, np.where(i1 > i0, (p - i0) / np.maximum(i1 - i0, 1), 0.0)


def _smooth(values: np.ndarray, counts: Sequence[int], voices: Sequence[object]) -> np.ndarray:
    """A one-pole low-pass along each voice's consecutive rows, starting from ``voice.level``
    (None: from the first value, so that a voice starts at its correction, not at 0 dB)."""
    out = np.empty_like(values)
    at = 0
    for v, n in zip(voices, counts, strict=True):
        state = values[at] if v.level is None else v.level
        for k in range(at, at + n):
            state += SMOOTHING * (values[k] - state)
            out[k] = state
        v.level = float(state)
        at += n
    return out
