"""Reading audio for the model: any format libsndfile reads, mixed to mono, resampled, framed.

This module is also the one place that says which files are audio (:func:`is_audio_file`): the
bank and training read the same formats.

>>> x = load_audio("bell.flac", 44100)          # doctest: +SKIP
>>> frame(np.zeros(2048, np.float32), segment=1024, hop=128).shape  # a view, no copy
(9, 1024)
"""

from __future__ import annotations

import functools
from math import gcd
from pathlib import Path

import numpy as np

from latentcode.errors import LatentcodeError

# file suffix -> the libsndfile format that reads it. libsndfile reads MP3 since 1.1.0 (the
# soundfile wheels ship 1.2); audio_suffixes() keeps only the formats this libsndfile has.
SUFFIX_FORMATS = {
    ".wav": "WAV", ".wave": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF",
    ".ogg": "OGG", ".oga": "OGG", ".opus": "OGG", ".mp3": "MP3",
}
SILENCE = 1e-4  # peak below this (-80 dBFS) counts as silent

# windowed-sinc resampler: zero crossings each side of the kernel and Kaiser beta
# (16 and 8.6 give a stopband near -80 dB, plenty for 16-bit-ish material).
_HALF_WIDTH = 16
_KAISER_BETA = 8.6
_CHUNK = 1 << 15


@functools.cache
def audio_suffixes() -> tuple[str, ...]:
    """The file suffixes read as audio: those of :data:`SUFFIX_FORMATS` libsndfile reads here.

    >>> {".wav", ".flac", ".aiff", ".ogg"} <= set(audio_suffixes())
    True
    """
    import soundfile as sf

    have = sf.available_formats()
    return tuple(s for s, fmt in SUFFIX_FORMATS.items() if fmt in have)


def is_audio_file(path: str | Path) -> bool:
    """Whether ``path`` names an audio file by its suffix (any case).

    >>> is_audio_file("kick_01.WAV"), is_audio_file("notes.txt")
    (True, False)
    """
    return Path(path).suffix.lower() in audio_suffixes()


def formats_hint() -> str:
    """The formats for an error message, e.g. ``.wav, .flac, .aiff, .ogg or .mp3``."""
    names = list(dict.fromkeys(s for s in audio_suffixes() if s not in (".wave", ".aif", ".oga")))
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def find_audio(folder: str | Path) -> list[Path]:
    """The audio files directly in ``folder`` (sorted), or a one-line error when none.

    >>> find_audio("corpus")[:1]      # doctest: +SKIP
    [PosixPath('corpus/bell_00.wav')]
    """
    d = Path(folder)
    if not d.exists():
        raise LatentcodeError(f"no such folder: {str(d)!r}: give a folder of audio files")
    if not d.is_dir():
        raise LatentcodeError(f"{str(d)!r} is not a folder: give a folder of audio files")
    files = sorted(p for p in d.iterdir() if is_audio_file(p) and p.is_file())
    if not files:
        raise LatentcodeError(
            f"no audio files in {str(d)!r}: give a folder with {formats_hint()} files"
        )
    return files


def to_mono(x: np.ndarray) -> np.ndarray:
    """Average the channels of a (samples, channels) array; 1-D input is returned as is.

    >>> to_mono(np.array([[1.0, 0.0], [0.5, 0.5]], np.float32)).tolist()
    [0.5, 0.5]
    """
    return x if x.ndim == 1 else x.mean(axis=1, dtype=np.float32)


def resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Band-limited resampling of a mono signal (Kaiser-windowed sinc, exact rational clock).

    Output sample n sits at input time n·sr_from/sr_to; its value is the sum of the 2·16
    neighbouring input samples weighted by a sinc whose cutoff is the lower Nyquist frequency.
    Computed in chunks of output samples, vectorised inside each chunk.

    >>> y = resample(np.ones(48000, np.float32), 48000, 44100)
    >>> len(y), round(float(y[1000]), 3)
    (44100, 1.0)
    """
    x = np.asarray(x, dtype=np.float32)
    if sr_from == sr_to or len(x) == 0:
        return x
    g = gcd(int(sr_from), int(sr_to))
    up, down = int(sr_to) // g, int(sr_from) // g
    n_out = -(-len(x) * up // down)
    cutoff = min(1.0, up / down)  # relative to the input Nyquist frequency
    width = int(np.ceil(_HALF_WIDTH / cutoff))
    taps = np.arange(-width + 1, width + 1)
    padded = np.concatenate([np.zeros(width, np.float32), x, np.zeros(width + 1, np.float32)])
    out = np.empty(n_out, np.float32)
    for start in range(0, n_out, _CHUNK):
        n = np.arange(start, min(start + _CHUNK, n_out), dtype=np.int64)
        pos = n * down  # input position times `up`, exact integers
        base = pos // up
        frac = (pos - base * up) / up
        idx = base[:, None] + taps[None, :]
        dist = frac[:, None] - taps[None, :]  # input time minus tap time, in input samples
        w = cutoff * np.sinc(cutoff * dist)
        w *= np.i0(_KAISER_BETA * np.sqrt(np.clip(1 - (dist / (width + 1)) ** 2, 0, 1)))
        w /= np.i0(_KAISER_BETA)
        out[start:start + len(n)] = np.einsum("ij,ij->i", w, padded[idx + width]).astype(np.float32)
    return out


def load_audio(path: str | Path, sample_rate: int = 44100, *, min_samples: int = 1,
               allow_silent: bool = False) -> np.ndarray:
    """Read ``path`` (WAV, FLAC, AIFF, OGG, MP3...) as mono float32 at ``sample_rate``.

    Each problem is one :class:`LatentcodeError` line: missing, unreadable or corrupt file,
    silent audio (unless ``allow_silent``), fewer than ``min_samples`` samples after resampling.

    >>> load_audio("drone.aiff", 44100, min_samples=1024).dtype   # doctest: +SKIP
    dtype('float32')
    """
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise LatentcodeError(f"no such file: {str(p)!r}: check the path")
    if p.is_dir():
        raise LatentcodeError(f"{str(p)!r} is a folder, not an audio file: give a file")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise LatentcodeError(
            f"cannot read audio file {str(p)!r} ({detail}): it is corrupt or not audio; "
            "convert it to WAV or FLAC"
        ) from e
    x = resample(to_mono(np.asarray(data, np.float32)), sr, sample_rate)
    if len(x) == 0:
        raise LatentcodeError(f"{str(p)!r} contains no samples: give a file with sound in it")
    if not np.isfinite(x).all():
        raise LatentcodeError(f"{str(p)!r} contains NaN or infinite samples: re-export it")
    if not allow_silent and float(np.abs(x).max()) < SILENCE:
        raise LatentcodeError(f"{str(p)!r} is silent (peak below -80 dBFS): give a file with "
                              "sound in it")
    if len(x) < min_samples:
        raise LatentcodeError(
            f"{str(p)!r} is too short: {len(x)} samples at {sample_rate} Hz, the model needs at "
            f"least one segment of {min_samples}; use a longer file"
        )
    return np.ascontiguousarray(x)


def n_frames(n_samples: int, segment: int, hop: int, pad_end: bool = False) -> int:
    """How many frames :func:`frame` cuts from ``n_samples``.

    >>> n_frames(1024 + 3 * 128, 1024, 128), n_frames(1100, 1024, 128, pad_end=True)
    (4, 2)
    """
    if n_samples < segment:
        return 1 if pad_end and n_samples > 0 else 0
    extra = n_samples - segment
    return 1 + (-(-extra // hop) if pad_end else extra // hop)


def frame(x: np.ndarray, segment: int = 1024, hop: int = 128, *,
          pad_end: bool = False) -> np.ndarray:
    """Cut ``x`` into windows of ``segment`` samples every ``hop`` samples: (frames, segment).

    Without ``pad_end`` the result is a read-only strided view (no copy) and a tail shorter
    than a window is dropped, as in the paper's training; with it, zeros are appended so the
    last samples are covered too.

    >>> frame(np.arange(10, dtype=np.float32), segment=4, hop=3).tolist()
    [[0.0, 1.0, 2.0, 3.0], [3.0, 4.0, 5.0, 6.0], [6.0, 7.0, 8.0, 9.0]]
    """
    if hop < 1 or segment < 1:
        raise LatentcodeError(f"hop and segment must be positive (got hop {hop}, "
                              f"segment {segment})")
    x = np.asarray(x, np.float32)
    n = n_frames(len(x), segment, hop, pad_end)
    if n == 0:
        raise LatentcodeError(
            f"audio too short: {len(x)} samples, one segment needs {segment}; use a longer file"
        )
    need = segment + (n - 1) * hop
    if need > len(x):
        x = np.concatenate([x, np.zeros(need - len(x), np.float32)])
    windows = np.lib.stride_tricks.sliding_window_view(x, segment)[::hop]
    return windows[:n]


def hann(n: int) -> np.ndarray:
    """The periodic Hann window: shifted copies ``n/4`` apart sum to 2, their squares to 1.5.

    >>> w = hann(8); float(w[0]), float(w[4]), float(w[:4].sum() + w[4:].sum())
    (0.0, 1.0, 4.0)
    """
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def ola_window(segment: int) -> tuple[int, np.ndarray]:
    """The overlap-add that plays decoded frames: (hop, window) with hop ``segment/4`` and a
    periodic Hann halved, because at 75% overlap the Hann windows sum to 2: unit gain.

    >>> hop, w = ola_window(1024); hop, round(float(w.max()), 3)
    (256, 0.5)
    """
    return segment // 4, (0.5 * hann(segment)).astype(np.float32)


def write_wav(path: str | Path, x: np.ndarray, sample_rate: int = 44100) -> Path:
    """Write mono float audio as 16-bit WAV (clipped to [-1, 1]); returns the path."""
    import soundfile as sf

    p = Path(path)
    sf.write(str(p), np.clip(np.asarray(x, np.float32), -1, 1), sample_rate, subtype="PCM_16")
    return p
