"""Encoding audio to latent sequences, cached on disk.

``encode_file(path, model, hop)`` returns (mu, logvar), float32 (frames, latent_dim): frame i
covers samples ``i*hop .. i*hop+segment`` of the file at the model's rate (the end is padded
with zeros so every sample is covered). :func:`encode_sound` also gives the sound's onset (where
the bank starts playing it, see :mod:`latentcode.model.onsets`). Results are cached under
``user_data_dir()/cache``, keyed by the file's content, the model's fingerprint and the hop, so
renaming a file keeps its cache and retraining the model invalidates it. A damaged cache entry
(or one whose onset was found by other rules) is silently re-encoded. Beside the onset each
entry keeps the sound's spectral match (:mod:`latentcode.model.match`); an entry without one,
or with one measured by other rules, keeps its encoding and gets the match added.

>>> mu, logvar = encode_file("bell.wav", load_model(), hop=128)   # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import hashlib
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentcode.errors import LatentcodeError

CACHE_VERSION = "enc1"  # bump when framing or padding changes, to orphan old entries
_BATCH = 4096  # frames per encoder call: bounds the hidden layer to 4096 x n_units floats


@dataclass
class CacheStats:
    """Counts of cache hits and misses of :func:`encode_file` in this process."""

    hits: int = 0
    misses: int = 0

    def reset(self) -> None:
        self.hits = self.misses = 0


cache_stats = CacheStats()


def encode_audio(x: np.ndarray, model, hop: int = 128, *, batch: int = _BATCH,
                 pace: Callable[[], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Encode mono float32 audio at the model's rate: (mu, logvar), each (frames, latent).

    ``batch`` frames go through the encoder at a time and ``pace`` (if given) is called after
    each batch: a background worker passes small batches and a pace that sleeps, so that the
    decoder of the live audio is never kept from the CPU for long. The result is the same.

    >>> mu, logvar = encode_audio(np.zeros(4096, np.float32) + 0.1, m, hop=1024)  # doctest: +SKIP
    >>> mu.shape                                                                    # doctest: +SKIP
    (4, 256)
    """
    from latentcode.model.audiofiles import frame

    if int(hop) < 1:
        raise LatentcodeError(f"hop must be a positive number of samples, got {hop}")
    frames = frame(np.asarray(x, np.float32), model.segment, int(hop), pad_end=True)
    n = len(frames)
    mu = np.empty((n, model.latent_dim), np.float32)
    logvar = np.empty((n, model.latent_dim), np.float32)
    step = max(1, int(batch))
    for i in range(0, n, step):
        mu[i:i + step], logvar[i:i + step] = model.encode(frames[i:i + step])
        if pace is not None:
            pace()
    return mu, logvar


# path -> ((device, inode, size, mtime_ns), sha1): a bank hashes its files for the encodings
# and again for the key of its clusters; reading 20 MB twice per session is waste.
_digests: dict[str, tuple[tuple[int, int, int, int], str]] = {}
_digests_lock = threading.Lock()


def check_regular(path: str | Path) -> None:
    """Raise one clear line unless ``path`` is a regular file (or a link to one).

    A FIFO, a device or a socket named like audio would block whoever opens it, for good; it
    is refused from its metadata alone, never opened.

    >>> check_regular("/dev/null")
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: '/dev/null' is not a regular file (a device): give ...
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing: the reader says so in its own words
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return  # a folder: the reader has its own line for that too
    what = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device")
    raise LatentcodeError(f"{str(path)!r} is not a regular file ({what}): give an audio file")


def file_digest(path: str | Path) -> str:
    """sha1 of a file's bytes, read in 1 MiB blocks (remembered while the file is unchanged)."""
    check_regular(path)
    st = os.stat(path)
    key = str(Path(path).absolute())
    sig = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _digests_lock:
        known = _digests.get(key)
    if known is not None and known[0] == sig:
        return known[1]
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _digests_lock:
        _digests[key] = (sig, digest)
    return digest


def cache_dir() -> Path:
    """The folder of the caches (encodings, the bank's clusters): ``user_data_dir()/cache``."""
    from latentcode.resources import user_data_dir

    return user_data_dir() / "cache"


def cache_path(path: str | Path, model, hop: int = 128) -> Path:
    """Where the encoding of ``path`` by ``model`` at ``hop`` is cached."""
    key = f"{file_digest(path)[:24]}-{model.fingerprint}-h{int(hop)}-{CACHE_VERSION}"
    return cache_dir() / f"{key}.npz"


@dataclass(frozen=True)
class Encoding:
    """A file's latent sequence, ``mu`` and ``logvar`` (frames, latent), its ``onset``: the
    sample (at the model's rate) where the sound starts, and its spectral ``match`` (see
    :mod:`latentcode.model.match`); ``cached``: read from the cache."""

    mu: np.ndarray
    logvar: np.ndarray
    onset: int
    cached: bool
    match: np.ndarray | None = None
    quiet: np.ndarray | None = None  # the match of its quieter frames (match.measure_levels)
    steps: np.ndarray | None = None  # which gains each frame takes


def _read_cache(p: Path, latent_dim: int, segment: int, hop: int) -> Encoding | None:
    """The cached entry, or None when missing or unusable (any damage, or an entry without an
    onset, means re-encode); its ``match`` is None when the entry has none by today's rules."""
    from latentcode.model import match as spectral
    from latentcode.model.onsets import RULE

    try:
        with np.load(p, allow_pickle=False) as z:
            mu, logvar, onset = z["mu"], z["logvar"], z["onset"]
            if str(z["onset_rule"]) != RULE:
                return None
            match = (z["match"] if "match" in z and str(z["match_rule"]) == spectral.RULE
                     else None)
            quiet = z["quiet"] if match is not None and "quiet" in z else None
            steps = z["steps"] if quiet is not None and "steps" in z else None
    except Exception:
        return None
    ok = (mu.ndim == 2 and mu.shape == logvar.shape and mu.shape[1] == latent_dim
          and len(mu) > 0 and mu.dtype == np.float32 and logvar.dtype == np.float32
          and np.isfinite(mu).all() and np.isfinite(logvar).all()
          and onset.shape == () and onset.dtype.kind == "i"
          and 0 <= onset < (len(mu) - 1) * hop + segment)
    bins = spectral.fft_size(segment) // 2 + 1
    if match is not None and (match.shape != (bins,) or match.dtype != np.float32
                              or not np.isfinite(match).all()):
        match = None
    if quiet is not None and (quiet.shape != (spectral.STEPS - 1, bins) or steps is None
                              or steps.shape != (len(mu),) or not np.isfinite(quiet).all()
                              or steps.min() < 0 or steps.max() >= spectral.STEPS):
        match = None  # measured again, whole
    if match is None or quiet is None:
        quiet = steps = None
    return (Encoding(mu, logvar, int(onset), cached=True, match=match, quiet=quiet, steps=steps)
            if ok else None)


def write_npz(p: Path, **arrays: np.ndarray) -> None:
    """Write a cache entry atomically (a reader never sees half a file); a cache that cannot
    be written only costs the work again later."""
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f"{p.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, p)
    except OSError:
        pass


def sound_onset(x: np.ndarray, mu: np.ndarray, model, hop: int, *, batch: int = _BATCH,
                pace: Callable[[], None] | None = None) -> int:
    """Where the sound of audio ``x`` (encoded as ``mu`` at ``hop``) starts, in samples: the
    later of the file's own onset and the onset of what the model decodes from it (see
    :mod:`latentcode.model.onsets` for why both).

    >>> sound_onset(x, encode_audio(x, model, 128)[0], model, 128)   # doctest: +SKIP
    4344
    """
    from latentcode.model.onsets import decoded_onset, find_onset

    return decoded_onset(mu, model.decode, hop=int(hop), segment=model.segment,
                         sample_rate=model.sample_rate, start=find_onset(x, model.sample_rate),
                         batch=batch, pace=pace)


def sound_levels(x: np.ndarray, mu: np.ndarray, model, hop: int, *, batch: int = _BATCH,
                 pace: Callable[[], None] | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(match, quiet, steps) of the sound of audio ``x`` (encoded as ``mu`` at ``hop``): see
    :func:`.match.measure_levels`.

    >>> x = load_audio("drone.wav"); m = load_model()                  # doctest: +SKIP
    >>> sound_levels(x, encode_audio(x, m, m.segment)[0], m, m.segment)[0].shape  # doctest: +SKIP
    (641,)
    """
    from latentcode.model.match import measure_levels

    return measure_levels(x, mu, model.decode, hop=int(hop), segment=model.segment,
                          batch=batch, pace=pace)


def encode_sound(path: str | Path, model, hop: int = 128, *, cache: bool = True,
                 batch: int = _BATCH, pace: Callable[[], None] | None = None) -> Encoding:
    """Encode an audio file, find its onset (:func:`sound_onset`) and measure its spectral
    match (:func:`.match.measure_levels`), all cached on disk (``batch`` and ``pace``: see
    :func:`encode_audio`; they also pace the decodes of the onset and the match).

    >>> e = encode_sound("bell.wav", load_model()); e.onset / 44100    # doctest: +SKIP
    0.0785
    """
    from latentcode.model import match as spectral
    from latentcode.model.audiofiles import load_audio
    from latentcode.model.onsets import RULE

    p = Path(path)
    if not p.is_file():
        check_regular(p)  # a FIFO must never be opened: it would block here for good
        load_audio(p)  # raises the one-line error for a missing path or a folder
    cp = cache_path(p, model, hop) if cache else None
    hit = (_read_cache(cp, model.latent_dim, model.segment, int(hop))
           if cp is not None and cp.exists() else None)
    if hit is not None and hit.match is not None:
        cache_stats.hits += 1
        return hit
    x = load_audio(p, model.sample_rate, min_samples=model.segment)
    if hit is not None:  # encoded before matches were kept: only the match is new
        mu, logvar, onset = hit.mu, hit.logvar, hit.onset
    else:
        mu, logvar = encode_audio(x, model, hop, batch=batch, pace=pace)
        onset = sound_onset(x, mu, model, hop, batch=batch, pace=pace)
    match, quiet, steps = sound_levels(x, mu, model, hop, batch=batch, pace=pace)
    cache_stats.misses += 1
    if cp is not None:
        extra = {"quiet": quiet, "steps": steps} if quiet is not None else {}
        write_npz(cp, mu=mu, logvar=logvar, onset=np.int64(onset), onset_rule=np.str_(RULE),
                  match=match, match_rule=np.str_(spectral.RULE), **extra)
    return Encoding(mu, logvar, onset, cached=False, match=match, quiet=quiet, steps=steps)


def encode_file_info(path: str | Path, model, hop: int = 128, *, cache: bool = True,
                     batch: int = _BATCH, pace: Callable[[], None] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Like :func:`encode_file` and also says whether the result came from the cache
    (``batch`` and ``pace``: see :func:`encode_audio`)."""
    e = encode_sound(path, model, hop, cache=cache, batch=batch, pace=pace)
    return e.mu, e.logvar, e.cached


def encode_file(path: str | Path, model, hop: int = 128, *, cache: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """Encode an audio file: (mu, logvar), float32 (frames, latent_dim), cached on disk.

    >>> mu, logvar = encode_file("bell.wav", load_model())    # doctest: +SKIP
    """
    mu, logvar, _ = encode_file_info(path, model, hop, cache=cache)
    return mu, logvar


# --------------------------------------------------------------------------- command line


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Flags of ``latentcode encode``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files to encode")
    parser.add_argument("--hop", type=int, default=128, help="frame hop in samples (128)")
    parser.add_argument("--model", metavar="PATH", help="checkpoint (default: the shipped one)")
    parser.add_argument("-o", "--out", metavar="DIR",
                        help="write STEM.npz (mu, logvar, onset, hop, sample_rate) per file here")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write cache")


def run(args: argparse.Namespace) -> int:
    """``latentcode encode FILES... [--hop N] [--model PATH] [-o DIR]``."""
    from latentcode.model.vae import load_model

    if args.hop < 1:
        raise LatentcodeError(f"--hop must be a positive number of samples, got {args.hop}")
    model = load_model(args.model)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    for f in args.files:
        e = encode_sound(f, model, args.hop, cache=not args.no_cache)
        mu = e.mu
        note = "cached" if e.cached else "encoded"
        line = (f"{f}: {len(mu)} frames x {mu.shape[1]} (hop {args.hop}), starts at "
                f"{1000 * e.onset / model.sample_rate:.1f} ms, {note}")
        if out is not None:
            dst = out / f"{Path(f).stem}.npz"
            np.savez(dst, mu=mu, logvar=e.logvar, onset=e.onset, hop=args.hop,
                     sample_rate=model.sample_rate, model=model.fingerprint)
            line += f" -> {dst}"
        print(line)
    return 0
