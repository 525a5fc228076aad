"""Reconstruction quality as a listener hears it: per-file metrics, pooling, and the
reconstruction of a sound through the playback framing.

Every metric compares a reconstruction ``y`` with its original ``x``: mono float arrays at the
same rate (44.1 kHz unless ``sr`` says otherwise), aligned, of the same length.

- :func:`snr_db`: signal-to-noise ratio of the waveform (the paper's figure);
- :func:`log_spectral_distance`: how far the spectra are in dB, on the frames that sound;
- :func:`mr_stft_distance`: spectral convergence plus log-magnitude distance at three
  resolutions (what a multi-resolution STFT loss minimises);
- :func:`high_band_db`: whether the top end survives (energy above 8 kHz, y relative to x);
- :func:`hiss_db`: the hiss floor, energy the model adds above the original's bandwidth.

:func:`measure` takes them all at once and :func:`pool` combines files: SNR and hiss by summing
energies (a quiet file weighs what it weighs in the sum), the others as means.

>>> x = np.random.default_rng(0).standard_normal(44100)
>>> q = measure(x, 0.9 * x)
>>> round(q.snr_db, 1), round(q.lsd_db, 2), round(q.high_db, 2)
(20.0, 0.91, -0.92)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import hann, ola_window
from latentcode.model.match import apply as apply_match

SAMPLE_RATE = 44100
FLOOR_DB = -120.0  # a figure that would be -inf dB (nothing added, nothing left) is shown so
HIGH_HZ = 8000.0
MR_FFTS = (512, 1024, 2048)
_TINY = 1e-30


def _pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """x and y as float64 1-D arrays of one length, or one clear line saying what is wrong."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.ndim != 1 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
        raise LatentcodeError(f"quality metrics need two mono signals of one length, got shapes "
                              f"{x.shape} and {y.shape}: crop the reconstruction to the original")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise LatentcodeError("quality metrics need finite samples: the signal holds NaN or inf")
    return x, y


def _db(ratio: float) -> float:
    """10·log10 of an energy ratio, never below :data:`FLOOR_DB`."""
    return max(FLOOR_DB, 10 * math.log10(max(ratio, _TINY)))


# --------------------------------------------------------------------------- spectra


def _frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Hann-windowed frames ``hop`` apart, zero-padded so every sample of ``x`` is under the
    same number of frames (its first and last samples too): (frames, n_fft)."""
    lead = n_fft - hop
    tail = lead + (-(len(x) + lead) % hop)
    xp = np.concatenate([np.zeros(lead), x, np.zeros(tail)])
    return np.lib.stride_tricks.sliding_window_view(xp, n_fft)[::hop] * hann(n_fft)


def stft_power(x: Any, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """|STFT|² with a periodic Hann window: (frames, n_fft//2 + 1).

    >>> stft_power(np.ones(4096), 2048, 512).shape
    (11, 1025)
    """
    spec = np.fft.rfft(_frames(np.asarray(x, np.float64), n_fft, hop), axis=1)
    return spec.real**2 + spec.imag**2


def energy_spectrum(x: Any, sr: int = SAMPLE_RATE, n_fft: int = 2048
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The long-term energy spectrum: (bin frequencies in Hz, energy per bin), Hann frames at
    hop n_fft/4, scaled so that the energies add up to ``sum(x**2)``.

    >>> x = np.random.default_rng(0).standard_normal(10000)
    >>> f, e = energy_spectrum(x); bool(np.isclose(e.sum(), np.sum(x**2)))
    True
    """
    hop = n_fft // 4
    p = stft_power(x, n_fft, hop).sum(axis=0)
    p[1:-1] *= 2  # one-sided: the negative frequencies carry the same energy
    # Parseval per frame gives sum|X|²/n; the windows' squares add up to sum(w²)/hop everywhere
    p /= n_fft * float(np.sum(hann(n_fft) ** 2)) / hop
    return np.fft.rfftfreq(n_fft, 1 / sr), p


# --------------------------------------------------------------------------- metrics


def snr_db(x: Any, y: Any) -> float:
    """Signal-to-noise ratio of ``y`` against ``x`` in dB: 10·log10(Σx² / Σ(x-y)²), the same
    figure as ``latentcode train`` prints (the error is floored at 1e-20, so an exact copy
    reads about 200 dB or more).

    >>> round(snr_db(np.ones(4), np.ones(4) * 0.9), 1)
    20.0
    """
    x, y = _pair(x, y)
    return float(10 * np.log10(max(np.sum(x**2), _TINY) / max(np.sum((x - y) ** 2), 1e-20)))


def log_spectral_distance(x: Any, y: Any, *, n_fft: int = 2048, hop: int = 512,
                          floor_db: float = -100.0, gate_db: float = 60.0) -> float:
    """Log-spectral distance in dB: per STFT frame, sqrt(mean over bins of
    (10·log10 Px - 10·log10 Py)²), averaged over the frames of ``x`` within ``gate_db`` of its
    loudest frame (silence is not judged). Powers are floored at ``floor_db`` below the power
    of the loudest frame of ``x``, so silence meets silence at 0 dB, never at log(0).

    >>> x = np.random.default_rng(0).standard_normal(8192)
    >>> log_spectral_distance(x, x), round(log_spectral_distance(x, 0.5 * x), 2)
    (0.0, 6.02)
    """
    x, y = _pair(x, y)
    px, py = stft_power(x, n_fft, hop), stft_power(y, n_fft, hop)
    frame_power = px.sum(axis=1)
    peak = max(float(frame_power.max()), _TINY)
    floor = peak * 10 ** (floor_db / 10)
    loud = frame_power >= peak * 10 ** (-gate_db / 10)
    diff = 10 * np.log10(np.maximum(px[loud], floor)) - 10 * np.log10(np.maximum(py[loud], floor))
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=1))))


def mr_stft_distance(x: Any, y: Any, ffts: tuple[int, ...] = MR_FFTS,
                     floor_db: float = -100.0) -> float:
    """Multi-resolution STFT distance: at each FFT size (hop a quarter of it), spectral
    convergence ‖|Y|-|X|‖/‖|X|‖ plus the mean |log10|Y| - log10|X||, averaged over the sizes.
    Magnitudes are floored ``floor_db`` below the largest of ``x``. 0 for a perfect copy.

    >>> x = np.random.default_rng(0).standard_normal(8192)
    >>> mr_stft_distance(x, x), round(mr_stft_distance(x, 0.5 * x), 3)
    (0.0, 0.801)
    """
    x, y = _pair(x, y)
    total = 0.0
    for n in ffts:
        mx, my = np.sqrt(stft_power(x, n, n // 4)), np.sqrt(stft_power(y, n, n // 4))
        floor = max(float(mx.max()), _TINY) * 10 ** (floor_db / 20)
        sc = np.linalg.norm(my - mx) / max(float(np.linalg.norm(mx)), _TINY)
        mag = np.mean(np.abs(np.log10(np.maximum(my, floor)) - np.log10(np.maximum(mx, floor))))
        total += float(sc + mag)
    return total / len(ffts)


def high_band_db(x: Any, y: Any, sr: int = SAMPLE_RATE, cutoff: float = HIGH_HZ,
                 min_share_db: float = -60.0) -> float:
    """Energy of ``y`` above ``cutoff`` relative to that of ``x``, in dB (0: the top end is
    kept, -20: it comes back 20 dB too quiet). NaN when less than ``min_share_db`` of the
    energy of ``x`` lies above ``cutoff``: there is no top end to keep.

    >>> x = np.random.default_rng(0).standard_normal(8192)
    >>> hum = np.sin(2 * np.pi * 100 * np.arange(8192) / 44100) * hann(8192)
    >>> round(high_band_db(x, 0.1 * x), 1), high_band_db(hum, hum)
    (-20.0, nan)
    """
    x, y = _pair(x, y)
    f, ex = energy_spectrum(x, sr)
    _, ey = energy_spectrum(y, sr)
    band = f >= cutoff
    high = float(ex[band].sum())
    if high < float(ex.sum()) * 10 ** (min_share_db / 10) or high <= 0:
        return float("nan")
    return _db(float(ey[band].sum()) / high)


def third_octaves(sr: int = SAMPLE_RATE, n_fft: int = 2048) -> np.ndarray:
    """Which third-octave band (centres 1000·2^(k/3) Hz, from 50 Hz up) each STFT bin falls
    in, -1 for bins below the first band or above 20 kHz.

    >>> b = third_octaves(); int(b[0]), int(b[47]), int(b.max())   # 0 Hz, 1012 Hz, top
    (-1, 13, 26)
    """
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    k = np.floor(3 * np.log2(np.maximum(f, 1e-9) / 1000.0) + 0.5) + 13  # 50 Hz → band 0
    return np.where((f >= 50 * 2 ** (-1 / 6)) & (f <= 20000), k, -1).astype(int)


def band_change_db(x: Any, y: Any, *, within_db: float = 40.0, percentile: float = 99.0
                   ) -> float:
    """How far ``y`` moves the level of the bands a listener hears in ``x``, in dB: the
    ``percentile`` of |10·log10(Ey/Ex)| over every third-octave band of every STFT frame
    (2048 points, hop 512) that lies within ``within_db`` of that frame's loudest band, in
    frames within 60 dB of the loudest frame. Quieter bands are masked by the loud ones, and
    silence is not judged. A level step under about 0.5 dB goes unnoticed (the just
    noticeable difference of level is 0.5-1 dB).

    >>> x = np.random.default_rng(0).standard_normal(8192)
    >>> band_change_db(x, x), round(band_change_db(x, 0.9 * x), 2)
    (0.0, 0.92)
    """
    x, y = _pair(x, y)
    band = third_octaves()
    keep = band >= 0
    n = int(band.max()) + 1

    def levels(s: np.ndarray) -> np.ndarray:
        p = stft_power(s)[:, keep]
        out = np.zeros((p.shape[0], n))
        np.add.at(out.T, band[keep], p.T)
        return out

    ex, ey = levels(x), levels(y)
    frame = ex.sum(axis=1)
    loud = frame >= max(float(frame.max()), _TINY) * 1e-6
    heard = (ex >= ex.max(axis=1, keepdims=True) * 10 ** (-within_db / 10)) & (ex > 0)
    heard &= loud[:, None]
    if not heard.any():
        return 0.0
    change = np.abs(10 * np.log10(np.maximum(ey[heard], _TINY) / ex[heard]))
    return float(np.percentile(change, percentile))


def bandwidth_hz(x: Any, sr: int = SAMPLE_RATE, share: float = 0.9999) -> float:
    """The lowest frequency under which ``share`` of the energy of ``x`` lies (long-term
    spectrum, 2048-point Hann frames: 21.5 Hz bins at 44.1 kHz; the upper edge of the bin).

    >>> round(bandwidth_hz(np.sin(2 * np.pi * 1000 * np.arange(44100) / 44100) * hann(44100)))
    1066
    """
    return _bandwidth(*energy_spectrum(x, sr), share, sr)


def _bandwidth(f: np.ndarray, e: np.ndarray, share: float, sr: int) -> float:
    """:func:`bandwidth_hz` from an energy spectrum already computed."""
    total = float(e.sum())
    if total <= 0:
        return 0.0
    k = int(np.searchsorted(np.cumsum(e), share * total))
    return float(min(f[min(k, len(f) - 1)] + (f[1] - f[0]) / 2, sr / 2))


def hiss_edge_hz(bandwidth: float) -> float:
    """Where the hiss band starts for an original of ``bandwidth`` Hz: max(1.25·bw, bw + 500).

    >>> hiss_edge_hz(1000.0), hiss_edge_hz(8000.0)
    (1500.0, 10000.0)
    """
    return max(1.25 * bandwidth, bandwidth + 500.0)


def _hiss_parts(x: np.ndarray, y: np.ndarray, sr: int) -> tuple[float, float, float]:
    """(added energy above the hiss edge, total energy of x, bandwidth of x in Hz); the two
    energies are 0 when the edge is at or above Nyquist (no band to listen to)."""
    f, ex = energy_spectrum(x, sr)
    _, ey = energy_spectrum(y, sr)
    bw = _bandwidth(f, ex, 0.9999, sr)
    band = f >= hiss_edge_hz(bw)
    if hiss_edge_hz(bw) >= sr / 2 or not band.any():
        return 0.0, 0.0, bw
    added = max(0.0, float(ey[band].sum()) - float(ex[band].sum()))
    return added, float(ex.sum()), bw


def hiss_db(x: Any, y: Any, sr: int = SAMPLE_RATE) -> float:
    """The hiss floor: energy ``y`` adds above the original's bandwidth, relative to the
    original's total energy, in dB.

    The bandwidth is :func:`bandwidth_hz` (99.99% of the energy of ``x`` lies below it); the
    band starts at :func:`hiss_edge_hz` (a margin, so the edge of the original's own content
    is not counted) and ends at Nyquist. Added = energy of ``y`` there minus energy of ``x``
    there, floored at 0; nothing added reads :data:`FLOOR_DB` (-120 dB). NaN when the band
    is empty (the original fills the spectrum up to 17.6 kHz or more): nothing to measure.

    >>> t = np.arange(44100) / 44100; x = np.sin(2 * np.pi * 1000 * t)
    >>> hiss_db(x, x)
    -120.0
    >>> noisy = x + 0.1 * np.sin(2 * np.pi * 15000 * t)   # 1% of the energy of x, at 15 kHz
    >>> round(hiss_db(x, noisy), 1)
    -20.0
    >>> noise = np.random.default_rng(0).standard_normal(44100)
    >>> hiss_db(noise, noise)
    nan
    """
    x, y = _pair(x, y)
    added, total, _ = _hiss_parts(x, y, sr)
    return _db(added / total) if total > 0 else float("nan")


def lowpass(x: Any, cutoff: float = 4000.0, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A brick-wall low-pass of the whole signal (one FFT, bins above ``cutoff`` zeroed): the
    plain baseline a reconstruction should beat.

    >>> t = np.arange(4410) / 44100
    >>> y = lowpass(np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 9000 * t))
    >>> bool(np.allclose(y, np.sin(2 * np.pi * 1000 * t)))
    True
    """
    x = np.asarray(x, np.float64)
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1 / sr) > cutoff] = 0
    return np.fft.irfft(spec, len(x))


# --------------------------------------------------------------------------- files and pooling


@dataclass(frozen=True)
class FileQuality:
    """All metrics of one reconstruction, and the energies that :func:`pool` sums."""

    snr_db: float
    lsd_db: float
    mr_stft: float
    high_db: float  # NaN when the original has no top end
    hiss_db: float  # NaN when the original leaves no band above its bandwidth
    bandwidth_hz: float
    signal: float  # Σx²
    error: float  # Σ(x-y)²
    hiss_added: float  # energy added above the hiss edge (same scale as hiss_total)
    hiss_total: float  # energy of x in the long-term spectrum; 0 when there is no hiss band


def measure(x: Any, y: Any, sr: int = SAMPLE_RATE) -> FileQuality:
    """Every metric of ``y`` against ``x``.

    >>> x = np.random.default_rng(0).standard_normal(8192)
    >>> q = measure(x, x); q.snr_db > 200, q.lsd_db, q.mr_stft, q.high_db, q.hiss_db
    (True, 0.0, 0.0, 0.0, nan)
    """
    x, y = _pair(x, y)
    added, total, bw = _hiss_parts(x, y, sr)
    return FileQuality(
        snr_db=snr_db(x, y),
        lsd_db=log_spectral_distance(x, y),
        mr_stft=mr_stft_distance(x, y),
        high_db=high_band_db(x, y, sr),
        hiss_db=_db(added / total) if total > 0 else float("nan"),
        bandwidth_hz=bw,
        signal=float(np.sum(x**2)),
        error=float(np.sum((x - y) ** 2)),
        hiss_added=added,
        hiss_total=total,
    )


METRICS = ("snr_db", "lsd_db", "mr_stft", "high_db", "hiss_db")


def pool(files: list[FileQuality]) -> dict[str, float]:
    """The metrics of several files together: SNR from the summed signal and error energies,
    hiss from the summed added and total energies of the files that have a hiss band, LSD,
    MR-STFT and the >8 kHz figure as means (the last over the files that have a top end).
    A figure no file can give (no top end, no hiss band anywhere) is NaN.

    >>> a = measure(np.ones(4096), np.ones(4096) * 0.9)        # 20 dB
    >>> b = measure(np.ones(4096) * 0.01, np.zeros(4096))      # 0 dB, but 40 dB quieter
    >>> round(pool([a, b])["snr_db"], 2)
    19.96
    """
    if not files:
        raise LatentcodeError("nothing to pool: give at least one measured file")
    highs = [q.high_db for q in files if not math.isnan(q.high_db)]
    signal, error = sum(q.signal for q in files), sum(q.error for q in files)
    hiss_total = sum(q.hiss_total for q in files)
    return {
        "snr_db": float(10 * math.log10(max(signal, _TINY) / max(error, 1e-20))),
        "lsd_db": float(np.mean([q.lsd_db for q in files])),
        "mr_stft": float(np.mean([q.mr_stft for q in files])),
        "high_db": float(np.mean(highs)) if highs else float("nan"),
        "hiss_db": _db(sum(q.hiss_added for q in files) / hiss_total) if hiss_total > 0
        else float("nan"),
        "files": len(files),
    }


# --------------------------------------------------------------------------- reconstruction

FRAMINGS = ("ola", "concat")
_BATCH = 2048  # frames per encode/decode call: bounds memory on long files


def reconstruct(model: Any, x: Any, framing: str = "ola", *, noise: float = 0.0,
                seed: int = 0, pad: bool = True, match: np.ndarray | None = None,
                levels: tuple[np.ndarray, np.ndarray, int] | None = None) -> np.ndarray:
    """``x`` through ``model`` as a voice plays it at stretch 1: frames ``segment`` long cut
    every hop, decoded from mu (plus ``noise`` times the model's noise, seeded), windowed and
    overlap-added; the result has the length of ``x``.

    ``framing`` is "ola" (the default playback:
    :func:`~latentcode.model.audiofiles.ola_window`, which ``playback.framing.make_framing``
    uses too) or "concat" (the paper's
    non-overlapping frames, what ``latentcode train`` reports). A voice's frame k starts k·hop
    after its onset and decodes the latent frame whose audio starts k·hop into the sound, so
    frame k here is cut at k·hop. With ``pad`` (for measuring the model, not the framing) "ola"
    puts segment - hop zeros before and after ``x``, so that every sample is under four
    windows; without it the first segment - hop samples fade in as a voice's first frame does.

    With ``match`` (:func:`~latentcode.model.match.measure_match`), each windowed frame is
    filtered by it, as a voice plays a sound of the bank; with ``levels``, (quiet, steps, the
    hop of steps) from :func:`~latentcode.model.match.measure_levels`, each frame by the gains
    its step says, as a voice does.

    ``model`` needs ``segment``, ``encode(frames) -> (mu, logvar)`` and ``decode(z)``: a
    :class:`~latentcode.model.vae.LatentModel`.

    >>> reconstruct(load_model(), np.zeros(4096, np.float32)).shape  # doctest: +SKIP
    (4096,)
    """
    if framing not in FRAMINGS:
        raise LatentcodeError(f"unknown framing {framing!r}: use 'ola' or 'concat'")
    segment = int(model.segment)
    x = np.asarray(x, np.float32)
    if x.ndim != 1 or len(x) == 0:
        raise LatentcodeError(f"reconstruct needs mono audio, got shape {x.shape}")
    if framing == "ola":
        hop, window = ola_window(segment)
    else:
        hop, window = segment, np.ones(segment, np.float32)
    lead = segment - hop if pad else 0
    n = max(1, -(-(len(x) + 2 * lead - segment) // hop) + 1)  # frames covering x and pads
    xp = np.zeros((n - 1) * hop + segment, np.float32)
    xp[lead:lead + len(x)] = x
    frames = np.lib.stride_tricks.sliding_window_view(xp, segment)[::hop][:n]
    rng = np.random.default_rng(seed)
    out = np.zeros(len(xp), np.float64)
    for i in range(0, n, _BATCH):
        mu, logvar = model.encode(np.ascontiguousarray(frames[i:i + _BATCH]))
        z = np.asarray(mu, np.float32)
        if noise:
            eps = rng.standard_normal(z.shape).astype(np.float32)
            z = z + np.float32(noise) * eps * np.exp(0.5 * np.asarray(logvar, np.float32))
        audio = np.asarray(model.decode(z), np.float32) * window
        if match is not None and levels is not None and levels[0] is not None:
            quiet, steps, at = levels
            rows = np.vstack([match[None], quiet])
            where = (np.arange(i, i + len(audio)) * hop - lead) // at
            audio = apply_match(audio, rows[steps[np.clip(where, 0, len(steps) - 1)]])
        elif match is not None:
            audio = apply_match(audio, match)
        for k, frame_audio in enumerate(audio):
            start = (i + k) * hop
            out[start:start + segment] += frame_audio
    return out[lead:lead + len(x)].astype(np.float32)
