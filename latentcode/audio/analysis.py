"""Measuring audio: levels, loudness, true peak, onsets, spectra and clicks at frame boundaries.

Used by the tests (is a render silent? do its onsets line up with the pattern? does anything
clip?) and by the benchmarks (which framing clicks less?). Plain numpy.
"""

from __future__ import annotations

import math

import numpy as np

from latentcode.audio.limiter import interpolator

# ITU-R BS.1770-4 K-weighting, as libebur128 derives it for any rate from the 48 kHz
# coefficients of the recommendation: a high shelf (+4 dB above ~1.7 kHz, the head) and a
# high-pass at ~38 Hz (RLB weighting).
_SHELF_F0, _SHELF_GAIN_DB, _SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
_HIGHPASS_F0, _HIGHPASS_Q = 38.13547087602444, 0.5003270373238773
GATE_ABSOLUTE = -70.0  # LUFS
GATE_RELATIVE = -10.0  # LU below the loudness of the blocks above the absolute gate


def rms(x: np.ndarray) -> float:
    """Root mean square of all samples.

    >>> rms(np.ones(4))
    1.0
    """
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x**2))) if x.size else 0.0


def mono(x: np.ndarray) -> np.ndarray:
    """Mix (channels, n), (n, channels) or (n,) audio down to (n,); channels: the short axis."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return x
    return x.mean(axis=0) if x.shape[0] < x.shape[1] else x.mean(axis=1)


def onsets(x: np.ndarray, *, threshold: float = 0.01, gap: int = 2048) -> np.ndarray:
    """Sample indices where the signal rises above ``threshold`` after ``gap`` samples below it.

    >>> x = np.zeros(10000); x[3000:3100] = 0.5; x[8000:8100] = 0.5
    >>> onsets(x).tolist()
    [3000, 8000]
    """
    loud = np.abs(mono(x)) > threshold
    idx = np.flatnonzero(loud)
    if not idx.size:
        return idx
    starts = [idx[0]]
    starts += [b for a, b in zip(idx[:-1], idx[1:], strict=True) if b - a > gap]
    return np.asarray(starts)


def spectrum(x: np.ndarray, *, size: int = 4096) -> np.ndarray:
    """Average magnitude spectrum (Hann windows of ``size``, half overlapped), normalised."""
    x = mono(x)
    if len(x) < size:
        x = np.pad(x, (0, size - len(x)))
    hop = size // 2
    frames = np.lib.stride_tricks.sliding_window_view(x, size)[::hop]
    mag = np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)).mean(axis=0)
    total = mag.sum()
    return mag / total if total > 0 else mag


def centroid(x: np.ndarray, sample_rate: int = 44100) -> float:
    """Spectral centroid in Hz: where the energy of the spectrum balances."""
    s = spectrum(x)
    freqs = np.linspace(0, sample_rate / 2, len(s))
    return float(np.sum(freqs * s))


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two sounds' log spectra (0 = same colour); scale-free."""
    sa, sb = spectrum(a), spectrum(b)
    return float(np.mean(np.abs(np.log(sa + 1e-9) - np.log(sb + 1e-9))))


def boundary_discontinuity(x: np.ndarray, start: int, hop: int) -> float:
    """How much larger the sample-to-sample jump is at frame boundaries than elsewhere.

    Frames start at ``start + k*hop``. 1 means boundaries are like any other point; a plain
    concatenation of independently decoded frames clicks and gives much more.

    >>> x = np.sin(np.arange(8192) / 20); x[4096:] += 0.5
    >>> boundary_discontinuity(x, 0, 4096) > 100
    True
    """
    d = np.diff(mono(x)) ** 2
    joins = np.arange(start + hop, len(d) + 1, hop) - 1
    joins = joins[(joins >= 0) & (joins < len(d))]
    if not joins.size or d.mean() == 0:
        return 0.0
    return float(d[joins].mean() / d.mean())


def true_peak(x: np.ndarray, sr: int = 44100) -> float:
    """The true peak in dBTP: the highest sample after 4x oversampling (ITU-R BS.1770-4,
    annex 2), over all channels; -inf for silence. Points between samples are interpolated
    where the filter has its whole support: the two ends of a file are not read as a step into
    silence. ``sr`` is only checked (the measure is relative to the sample rate).

    A full-scale sine at a quarter of the rate whose samples miss its crests by 45 degrees
    peaks 3 dB above its highest sample:

    >>> x = np.cos(np.pi / 2 * np.arange(4096) + np.pi / 4)
    >>> float(round(20 * np.log10(np.abs(x).max()), 2)), abs(round(true_peak(x), 2))
    (-3.01, 0.0)
    """
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, not {sr}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    elif x.shape[0] > x.shape[1]:
        x = x.T  # (n, channels) -> (channels, n)
    if not x.size:
        return -math.inf
    fir = interpolator(taps=32, beta=5.0)  # within 0.04 dB up to 0.45 x sr
    peak = float(np.abs(x).max())
    for channel in x:
        for phase in range(1, fir.shape[1]):
            between = np.convolve(channel, fir[::-1, phase], mode="valid")
            if between.size:
                peak = max(peak, float(np.abs(between).max()))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _biquad_response(b: tuple[float, ...], a: tuple[float, ...], n: int) -> np.ndarray:
    """The frequency response of a biquad at the ``n // 2 + 1`` bins of a real FFT of size n."""
    z = np.exp(-2j * np.pi * np.arange(n // 2 + 1) / n)
    return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)


def k_weighting(sr: int) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """The two biquads (b, a) of BS.1770's K-weighting at ``sr``.

    >>> [round(c, 8) for c in k_weighting(48000)[0][0]]   # the recommendation's table 1
    [1.53512486, -2.69169619, 1.19839281]
    """
    k = math.tan(math.pi * _SHELF_F0 / sr)
    vh = 10 ** (_SHELF_GAIN_DB / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / _SHELF_Q + k * k
    shelf = ((vh + vb * k / _SHELF_Q + k * k) / a0, 2 * (k * k - vh) / a0,
             (vh - vb * k / _SHELF_Q + k * k) / a0), (1.0, 2 * (k * k - 1) / a0,
                                                       (1 - k / _SHELF_Q + k * k) / a0)
    k = math.tan(math.pi * _HIGHPASS_F0 / sr)
    a0 = 1 + k / _HIGHPASS_Q + k * k
    highpass = (1.0, -2.0, 1.0), (1.0, 2 * (k * k - 1) / a0, (1 - k / _HIGHPASS_Q + k * k) / a0)
    return [shelf, highpass]


def loudness(x: np.ndarray, sr: int = 44100) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4): K-weighted, in 400 ms blocks overlapping
    by 75 %, gated at -70 LUFS and then 10 LU below the mean; every channel weighs 1 (mono or
    stereo). -inf when nothing passes the gates (silence, or shorter than one block).

    The recommendation's check: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS.

    >>> t = np.arange(48000 * 3) / 48000
    >>> left = np.sin(2 * np.pi * 997 * t)
    >>> round(loudness(np.vstack([left, 0 * left]), 48000), 2)
    -3.01
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    elif x.shape[0] > x.shape[1]:
        x = x.T
    block, step = round(0.4 * sr), round(0.1 * sr)
    n = x.shape[1]
    if n < block:
        return -math.inf
    # The IIR filters applied in the frequency domain: exact but for the part of their
    # response beyond a second of padding, which has decayed below float precision.
    size = 1 << math.ceil(math.log2(n + sr))
    response = np.ones(size // 2 + 1, complex)
    for b, a in k_weighting(sr):
        response *= _biquad_response(b, a, size)
    weighted = np.fft.irfft(np.fft.rfft(x, size) * response, size)[:, :n]
    # mean square per block, from a running sum of squares
    power = np.concatenate([np.zeros((len(x), 1)), np.cumsum(weighted**2, axis=1)], axis=1)
    starts = np.arange(0, n - block + 1, step)
    z = (power[:, starts + block] - power[:, starts]) / block  # (channels, blocks)
    blocks = z.sum(axis=0)
    with np.errstate(divide="ignore"):
        level = -0.691 + 10 * np.log10(blocks)
    gated = level > GATE_ABSOLUTE
    if not gated.any():
        return -math.inf
    relative = -0.691 + 10 * math.log10(blocks[gated].mean()) + GATE_RELATIVE
    gated &= level > relative
    return -0.691 + 10 * math.log10(blocks[gated].mean())


def envelope(x: np.ndarray) -> np.ndarray:
    """The amplitude envelope: the magnitude of the analytic signal (FFT Hilbert transform).

    >>> t = np.arange(4096); e = envelope(0.5 * np.sin(2 * np.pi * t / 64))
    >>> round(float(e[1000:3000].min()), 3), round(float(e[1000:3000].max()), 3)
    (0.5, 0.5)
    """
    x = mono(x)
    n = len(x)
    h = np.zeros(n)
    h[0] = 1.0
    h[1 : (n + 1) // 2] = 2.0
    if n % 2 == 0:
        h[n // 2] = 1.0
    return np.abs(np.fft.ifft(np.fft.fft(x) * h))


def modulation_at(x: np.ndarray, rate: float, *, sr: int = 44100, harmonics: int = 3,
                  width: float = 4.0) -> tuple[float, float]:
    """How much the envelope of ``x`` moves at ``rate`` Hz and its first ``harmonics``: the
    envelope's power within ±``width`` Hz of them, relative to its mean squared, in dB; and
    the same power over the power beside them (12-40 Hz away, 0 dB = no peak there).

    Overlap-add at a hop of 256 samples roughs a sound up at 44100/256 = 172 Hz when its
    grains do not line up.

    >>> t = np.arange(44100) / 44100
    >>> tone = np.sin(2 * np.pi * 1000 * t)
    >>> rough = (1 + 0.5 * np.sin(2 * np.pi * 172.27 * t)) * tone
    >>> round(modulation_at(rough, 172.27)[0]), modulation_at(tone, 172.27)[0] < -100
    (-9, True)
    """
    e = envelope(x)
    window = np.hanning(len(e))
    power = np.abs(np.fft.rfft((e - e.mean()) * window)) ** 2 / (np.sum(window**2) * len(e) / 2)
    f = np.fft.rfftfreq(len(e), 1 / sr)
    peak = side = level = 0.0
    for k in range(1, harmonics + 1):
        d = np.abs(f - k * rate)
        level += power[d < width].sum()
        peak += power[d < width].mean()
        side += power[(d > 12) & (d < 40)].mean()
    mean_square = float(e.mean()) ** 2 + 1e-30
    return 10 * math.log10(level / mean_square + 1e-30), 10 * math.log10(peak / (side + 1e-30)
                                                                           + 1e-30)


def purity(x: np.ndarray, *, size: int = 8192, bins: int = 3) -> float:
    """The share of the energy in the strongest spectral peak (±``bins`` bins of a ``size``
    FFT), averaged over half-overlapping windows: 1 for a pure sine.

    >>> t = np.arange(44100); round(purity(np.sin(2 * np.pi * 440 * t / 44100)), 3)
    1.0
    """
    x = mono(x)
    window = np.hanning(size)
    shares = []
    for i in range(0, max(len(x) - size, 0) + 1, size // 2):
        p = np.abs(np.fft.rfft(np.pad(x[i : i + size], (0, max(0, size - len(x)))) * window)) ** 2
        k = int(p.argmax())
        shares.append(p[max(0, k - bins) : k + bins + 1].sum() / (p.sum() + 1e-30))
    return float(np.mean(shares))
