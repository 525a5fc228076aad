"""The spectral match: how much of the model's decode of a sound to keep, frequency by frequency.

The paper's decoder rebuilds every sound with a broadband floor about 35 dB under it (a drone
whose file stops at 2 kHz comes back with its 10-20 kHz band filled; a recording of low
bandwidth comes back hissing above it), and it dulls what it keeps of a sound's top end
(hits and noise 20-30 dB too quiet above 8 kHz). Both are the model's, the same wherever a
voice plays the sound, so the bank measures them once per sound and a voice corrects them.

:func:`measure_match` compares two long-term spectra of a sound: its file's, and the model's
decode of the file's own latents. Each is smoothed over a third of an octave (:data:`SMOOTH`),
so that the correction follows the shape of the spectrum, not its single partials: partials
closer than that keep what lies between them (a morph between two sounds makes partials of
its own, which a comb would notch), while a sparse sound, a bell's partials further apart,
loses the model's hiss in the gaps its file leaves empty. The match is the gain that
brings the decode to the file: down as far as it takes (the hiss the model adds where the
sound has nothing), up by at most :data:`MAX_BOOST_DB` (a top end dulled further stays a
little dull: what the model makes there is partly its own floor, and a larger boost raises
that floor in a sound's quiet tail). :func:`apply` multiplies a frame's spectrum by it.

The spectra are taken on FFTs of :func:`fft_size` points, the segment and :data:`PAD` zeros
after it, so that :func:`apply` filters a frame by linear convolution: the match's impulse
response (smooth in frequency, so short in time) lands in the padding, never wraps round onto
the frame's other end.

>>> x = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100).astype(np.float32)
>>> hiss = np.random.default_rng(0).standard_normal(1024).astype(np.float32) * 0.01
>>> g = measure_match(x, np.zeros((340, 2), np.float32), lambda z: np.tile(
...     x[:1024] + hiss, (len(z), 1)), hop=128, segment=1024)
>>> f = np.fft.rfftfreq(fft_size(1024), 1 / 44100)
>>> round(float(g[np.argmin(abs(f - 440))]), 2), bool(g[f > 5000].max() < 0.001)
(1.0, True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentcode.model.audiofiles import hann

PAD = 256  # zero samples after a frame before its FFT: room for the match's impulse response
SMOOTH = 1 / 3  # octaves over which both spectra are averaged before they are compared
SMOOTH_BINS = 2  # the least half-width of that average, in bins (low frequencies)
FLOOR = 1e-4  # the deepest cut (-80 dB)
MAX_BOOST_DB = 12.0  # the most a band the model dulled is raised
# a frame this far under its sound's loudest is half-way to its quiet frames' own match, which
# it takes from none (QUIET_RAMP_DB/2 nearer the loudest) to all (as much further down), in
# STEPS steps; three left an edge in a pluck's spectrogram, and a wider ramp made the quiet
# passages of sustained sounds take the tail's boosts (voice SNR 23 -> 9 dB)
QUIET_DB = 12.0
QUIET_RAMP_DB = 12.0
STEPS = 7
QUIET_TILES = 4  # the fewest quiet tiles a quiet match is measured from
# cached beside each encoding: a match measured by other rules is measured again
RULE = (f"match3 {PAD} {SMOOTH:.4f} {SMOOTH_BINS} {FLOOR} {MAX_BOOST_DB} {QUIET_DB} "
        f"{QUIET_RAMP_DB} {STEPS} {QUIET_TILES}")


def fft_size(segment: int) -> int:
    """The FFT length the match is measured and applied at: a segment and :data:`PAD`.

    >>> fft_size(1024), len(np.fft.rfftfreq(fft_size(1024)))
    (1280, 641)
    """
    return int(segment) + PAD


def smooth(power: np.ndarray, octaves: float = SMOOTH, least: int = SMOOTH_BINS
           ) -> np.ndarray:
    """The mean of ``power`` over ``octaves`` around each bin (half above, half below), and
    over at least ``least`` bins either side.

    >>> smooth(np.array([0.0, 0, 0, 9, 0, 0, 0, 0, 0]), least=1).round(2).tolist()
    [0.0, 0.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0]
    """
    p = np.asarray(power, np.float64)
    k = np.arange(len(p))
    half = 2.0 ** (octaves / 2)
    lo = np.minimum(np.floor(k / half).astype(int), k - least).clip(0, None)
    hi = np.maximum(np.ceil(k * half).astype(int), k + least).clip(None, len(p) - 1)
    total = np.concatenate([[0.0], np.cumsum(p)])
    return (total[hi + 1] - total[lo]) / (hi + 1 - lo)


def gains(original: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """The match from two power spectra on one grid: sqrt(original / decoded) after
    :func:`smooth`, between :data:`FLOOR` and :data:`MAX_BOOST_DB` (1 where the decode is
    silent: nothing to raise).

    >>> g = gains(np.array([1.0] * 8 + [0.0] * 8), np.ones(16))   # nothing above bin 7
    >>> [round(float(v), 3) for v in g[[0, 9, 12]]]
    [1.0, 0.447, 0.0]
    >>> float(gains(np.full(8, 100.0), np.ones(8))[0])           # 20 dB dull: 12 dB up
    3.981...
    """
    sx, sy = smooth(original), smooth(decoded)
    ratio = np.divide(sx, sy, out=np.ones_like(sy), where=sy > 0)
    return np.sqrt(ratio).clip(FLOOR, 10 ** (MAX_BOOST_DB / 20)).astype(np.float32)


def measure_match(x: np.ndarray, mu: np.ndarray, decode: Callable[[np.ndarray], np.ndarray],
                  *, hop: int, segment: int, batch: int = 4096,
                  pace: Callable[[], None] | None = None) -> np.ndarray:
    """The match of the sound of audio ``x`` encoded as ``mu`` (frames ``hop`` apart, each
    decoding to ``segment`` samples): float32, one gain per bin of an rFFT of
    :func:`fft_size` points. The first of :func:`measure_levels`' answers.
    """
    return measure_levels(x, mu, decode, hop=hop, segment=segment, batch=batch, pace=pace)[0]


def frame_quietness(x: np.ndarray, frames: int, hop: int, segment: int) -> np.ndarray:
    """How quiet each of ``frames`` frames of ``x`` (``segment`` samples every ``hop``) is
    against the loudest, as a weight from 0 (within :data:`QUIET_DB` - :data:`QUIET_RAMP_DB`/2
    dB of it) to 1 (:data:`QUIET_RAMP_DB` quieter still).

    >>> x = np.concatenate([np.ones(1024), np.full(1024, 10 ** -0.6), np.full(1024, 0.01)])
    >>> frame_quietness(x, 3, 1024, 1024).round(3).tolist()   # 0, 12 and 40 dB under
    [0.0, 0.5, 1.0]
    """
    power = np.concatenate([[0.0], np.cumsum(np.asarray(x, np.float64) ** 2)])
    starts = np.minimum(np.arange(frames) * int(hop), len(x))
    ends = np.minimum(starts + segment, len(x))
    level = 10 * np.log10(np.maximum(power[ends] - power[starts], 1e-20))
    below = level.max() - level if len(level) else level
    return np.clip((below - (QUIET_DB - QUIET_RAMP_DB / 2)) / QUIET_RAMP_DB, 0.0, 1.0)


def measure_levels(x: np.ndarray, mu: np.ndarray, decode: Callable[[np.ndarray], np.ndarray],
                   *, hop: int, segment: int, batch: int = 4096,
                   pace: Callable[[], None] | None = None
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(match, quiet, steps) of the sound of audio ``x`` encoded as ``mu``.

    ``match`` compares the two long-term spectra over the whole sound. But the model's hiss is
    the same wherever the sound is, while the sound is not: in a bell's or a pluck's quiet tail
    the hiss stands far higher against what is left. So the tiles of the sound whose
    :func:`frame_quietness` is 1 (18 dB or more under its loudest) are also compared on their
    own: ``quiet`` holds :data:`STEPS` - 1 rows of gains, the last the quiet tiles' match (never
    above ``match``), those before it its geometric blends with ``match``; ``steps`` (int8,
    one per frame of ``mu``) says which a frame takes: 0 ``match``, ``s`` ``quiet[s - 1]``.
    Both None when fewer than :data:`QUIET_TILES` tiles are quiet (a drone, a noise bed).

    The spectra come from frames that tile the file, one in every ``segment // hop`` (an
    eighth at hop 128): the decode of each against the same ``segment`` samples of the file,
    both Hann-windowed. ``batch`` frames are decoded at a time and ``pace`` is called after
    each call (see :func:`.encode.encode_audio`).
    """
    n = fft_size(segment)
    window = hann(segment)
    rows = np.arange(0, len(mu), max(1, segment // int(hop)))
    need = (int(rows[-1]) * hop + segment) if len(rows) else 0
    xp = np.zeros(max(need, len(x)), np.float64)
    xp[:len(x)] = x
    quietness = frame_quietness(x, len(mu), hop, segment)
    quiet_rows = quietness[rows] >= 1.0
    sums = {key: np.zeros(n // 2 + 1) for key in ("x", "y", "qx", "qy")}
    for i in range(0, len(rows), max(1, int(batch))):
        chunk = rows[i:i + max(1, int(batch))]
        quiet = quiet_rows[i:i + len(chunk)]
        y = np.asarray(decode(np.ascontiguousarray(mu[chunk])), np.float64)
        cut = xp[chunk[:, None] * hop + np.arange(segment)[None, :]]
        for frames, whole, part in ((cut, "x", "qx"), (y, "y", "qy")):
            spec = np.fft.rfft(frames * window, n=n, axis=1)
            power = spec.real ** 2 + spec.imag ** 2
            sums[whole] += power.sum(axis=0)
            sums[part] += power[quiet].sum(axis=0)
        if pace is not None:
            pace()
    match = gains(sums["x"], sums["y"])
    if quiet_rows.sum() < QUIET_TILES:
        return match, None, None
    # never above the whole sound's: a quiet frame's decode may be quieter than its file in
    # places (the model dulls a tail), but raising it there raised the hiss in the silence
    # before a sound that is played from its first sample (trim 0)
    tail = np.minimum(gains(sums["qx"], sums["qy"]), match)
    t = np.arange(1, STEPS)[:, None] / (STEPS - 1)
    quiet = np.exp((1 - t) * np.log(match) + t * np.log(tail)).astype(np.float32)
    steps = np.rint(quietness * (STEPS - 1)).astype(np.int8)
    return match, quiet, steps


def apply(frames: np.ndarray, match: np.ndarray) -> np.ndarray:
    """``frames`` (rows of one length, at most ``len(match)*2 - 2 - PAD`` samples) with their
    spectra multiplied by ``match`` (one row of gains for all, or one per frame): a
    zero-phase filter by linear convolution, cut to each frame's own length, float32. A
    frame's result does not depend on the others in the call (a split render's processes
    filter different sets of frames and must agree to the bit).

    >>> t = np.arange(1024) / 44100
    >>> frame = (np.sin(2 * np.pi * 500 * t) + np.sin(2 * np.pi * 12000 * t)) * hann(1024)
    >>> f = np.fft.rfftfreq(fft_size(1024), 1 / 44100)
    >>> out = apply(frame[None, :], np.where(f < 4000, 1.0, FLOOR))[0]
    >>> low = np.sin(2 * np.pi * 500 * t) * hann(1024)
    >>> bool(np.abs(out - low)[200:-200].max() < 0.01)
    True
    """
    import torch  # its FFT is twice numpy's speed on one thread, and lets go of the GIL

    frames = torch.from_numpy(np.ascontiguousarray(frames, np.float32))
    n = 2 * (np.shape(match)[-1] - 1)
    spec = torch.fft.rfft(frames, n=n, dim=-1)
    spec *= torch.from_numpy(np.ascontiguousarray(match, np.float32))
    return torch.fft.irfft(spec, n=n, dim=-1)[..., :frames.shape[-1]].numpy()


class RunningMatch:
    """The match of a sound that keeps coming (the live input): its two long-term spectra are
    running sums of tiles (a stretch of input and the model's decode of its frame) that forget
    over ``memory`` seconds, so the correction follows what is being played into it.
    :meth:`gains` is None until ``least`` seconds of tiles have come.

    >>> m = RunningMatch(segment=1024, sr=44100)
    >>> x = np.sin(2 * np.pi * 440 * np.arange(1024) / 44100)[None, :].repeat(40, axis=0)
    >>> y = x + np.random.default_rng(0).standard_normal(x.shape) * 0.01   # the model's hiss
    >>> m.add(x, y); g = m.gains(); f = np.fft.rfftfreq(fft_size(1024), 1 / 44100)
    >>> round(float(g[np.argmin(abs(f - 440))]), 2), bool(g[f > 5000].max() < 0.01)
    (1.0, True)
    """

    def __init__(self, segment: int, sr: int, memory: float = 4.0, least: float = 0.5) -> None:
        self.segment = int(segment)
        self.window = hann(self.segment)
        bins = fft_size(self.segment) // 2 + 1
        self.original = np.zeros(bins)
        self.decoded = np.zeros(bins)
        self.weight = 0.0  # tiles summed, forgetting as the sums do
        self.forget = float(np.exp(-self.segment / (memory * sr)))  # per tile
        self.least = least * sr / self.segment

    def add(self, original: np.ndarray, decoded: np.ndarray) -> None:
        """Tiles (rows of ``segment`` samples) of the sound and of the model's decode of them."""
        n = fft_size(self.segment)
        for frames, into in ((original, self.original), (decoded, self.decoded)):
            spec = np.fft.rfft(np.asarray(frames, np.float64) * self.window, n=n, axis=1)
            power = spec.real ** 2 + spec.imag ** 2
            k = len(power)  # the older tiles forget as many times as tiles came
            ages = self.forget ** np.arange(k - 1, -1, -1)
            into *= self.forget ** k
            into += ages @ power
        k = len(original)
        self.weight = self.weight * self.forget ** k + float(
            (self.forget ** np.arange(k)).sum())

    def gains(self) -> np.ndarray | None:
        """The match now (see :func:`gains`), or None while too little has come."""
        if self.weight < self.least:
            return None
        return gains(self.original, self.decoded)
