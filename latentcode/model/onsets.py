"""Where a sound starts: the onset a bank trims its leading silence to.

Loudness is a short moving RMS (:data:`ENVELOPE`, 1 ms), measured against the sound's OWN
loudest point. A sound starts where it first comes within :data:`BELOW` (40 dB) of that peak,
but at most :data:`LEAD` (5 ms) before it first comes within :data:`AUDIBLE` (30 dB), and the
onset is moved back by :data:`PREROLL` (1.5 ms) so that the attack is kept whole.

Why these: 40 dB is about the range a listener hears within one sound (detail further down is
masked by the sound itself and by anything else playing), so a sharp attack keeps everything
one could hear, while room tone, dither, a faint click and the silence after it go (a -50 dB
click before a hit is skipped). A slow fade-in, though, can take tens of milliseconds to climb
from -40 to -30 dB, the point where it is plainly heard: a performer would hear it late on
its beat, so only the last 5 ms of that climb are kept (the fade still starts from near
silence).

The bank finds the onset twice and keeps the later: in the file itself (:func:`find_onset`)
and in what the model makes of it (:func:`decoded_onset`, the decoder's output of the mean
latents). A performer hears the decoder, not the file: a part of the file the model renders
silent is silence (a quiet first hit it cannot reproduce), and energy the model smears ahead of
an attack (up to half a segment) is not the sound's start either.

>>> sr = 44100; x = np.zeros(sr, np.float32); x[sr // 10:] = 0.5   # 100 ms of silence
>>> round(find_onset(x, sr) / sr * 1000, 1)                         # ms, 1.5 ms pre-roll
98.5
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BELOW = 40.0  # dB under the sound's own peak where it starts
AUDIBLE = 30.0  # dB under the peak where it is plainly heard
LEAD = 0.005  # seconds: the most of a slow rise kept before the sound is plainly heard
ENVELOPE = 0.001  # seconds of the moving RMS
PREROLL = 0.0015  # seconds kept before the onset: the attack's first samples stay whole
# cached beside each encoding: an onset found by other rules is found again
RULE = f"onset2 {BELOW} {AUDIBLE} {LEAD} {ENVELOPE} {PREROLL}"


def envelope(x: np.ndarray, width: int) -> np.ndarray:
    """Moving RMS of ``x`` over the ``width`` samples up to and including each sample (the
    first ones average what there is), float64.

    >>> envelope(np.array([0.0, 0.0, 2.0, 2.0]), 2).tolist()
    [0.0, 0.0, 1.4142135623730951, 2.0]
    """
    x = np.asarray(x, np.float64)
    width = max(1, int(width))
    power = np.concatenate([[0.0], np.cumsum(x * x)])
    n = np.arange(1, len(x) + 1)
    lo = np.maximum(n - width, 0)
    mean = (power[n] - power[lo]) / (n - lo)
    return np.sqrt(np.maximum(mean, 0.0))


def _start(env: np.ndarray, peak: float, sample_rate: int, below: float, audible: float,
           lead: float) -> int | None:
    """Where the rule of this module starts a sound of envelope ``env`` and peak ``peak``
    (before the pre-roll); None when it never comes within ``audible`` dB of the peak."""
    loud = env >= peak * 10 ** (-audible / 20)
    if not peak > 0 or not loud.any():
        return None
    first = int(np.argmax(env >= peak * 10 ** (-below / 20)))
    return max(first, int(np.argmax(loud)) - round(lead * sample_rate))


def find_onset(x: np.ndarray, sample_rate: int, *, below: float = BELOW,
               audible: float = AUDIBLE, lead: float = LEAD, preroll: float = PREROLL) -> int:
    """The sample where ``x`` starts: the first whose 1 ms RMS comes within ``below`` dB of
    the loudest 1 ms of ``x`` (or ``lead`` seconds before the first within ``audible`` dB, if
    that is later), less ``preroll`` seconds, never before 0. A silent ``x`` (or an empty one)
    starts at 0.

    >>> sr = 44100; x = np.zeros(sr, np.float32)
    >>> x[1000] = 0.0016; x[20000:] = 0.5     # a click 50 dB under the hit, then silence
    >>> find_onset(x, sr) == 20000 - round(0.0015 * sr)
    True
    >>> find_onset(np.zeros(100), sr)
    0
    """
    env = envelope(x, round(ENVELOPE * sample_rate))
    found = _start(env, float(env.max()) if len(env) else 0.0, sample_rate, below, audible, lead)
    return 0 if found is None else max(0, found - round(preroll * sample_rate))


CHUNK = 64  # frames decoded at a time while looking for the decoded onset


def decoded_onset(mu: np.ndarray, decode: Callable[[np.ndarray], np.ndarray], *, hop: int,
                  segment: int, sample_rate: int, start: int = 0, batch: int = 4096,
                  pace: Callable[[], None] | None = None) -> int:
    """The onset, at ``start`` or later (in samples of the file), of what the decoder makes of
    latents ``mu`` (frames ``hop`` samples apart, each decoding to ``segment`` samples): the
    rule of :func:`find_onset` on the decoded sound, measured against its own peak. ``start``
    itself when the decoded sound comes within 30 dB of its peak before it.

    The peak is read from frames that tile the file (an eighth of them at hop 128). The onset
    is then searched from ``start`` on in frames a quarter segment apart (as overlap-add plays
    them), each giving the middle quarter of its segment, the part a decoder reproduces best:
    pieced together they are the heard sound at the file's own sample positions, to within a
    few samples. Usually a few dozen frames find it. ``batch`` frames are decoded at a time
    and ``pace`` is called after each call (see :func:`.encode.encode_audio`).

    >>> decoded_onset(np.zeros((40, 8), np.float32), lambda z: np.zeros((len(z), 1024)),
    ...               hop=128, segment=1024, sample_rate=44100, start=300)
    300
    """
    width = round(ENVELOPE * sample_rate)
    per_call = max(1, int(batch))
    tiles = _pieces(mu, np.arange(0, len(mu), max(1, segment // hop)), decode, hop, segment,
                    segment, per_call, pace)[0]
    peak = float(envelope(tiles, width).max()) if len(tiles) else 0.0
    stride = max(1, (segment // 4) // hop)
    row = max(0, (start - (segment - min(stride * hop, segment)) // 2) // hop)
    context = np.zeros(0, np.float32)  # the last 1 ms before a chunk, for its envelope
    first = None  # where it first came within 40 dB of its peak (perhaps a chunk before)
    while peak > 0 and row < len(mu):
        rows = np.arange(row, min(len(mu), row + CHUNK * stride), stride)
        piece, origin = _pieces(mu, rows, decode, hop, segment, stride * hop,
                                min(per_call, CHUNK), pace)
        env = envelope(np.concatenate([context, piece]), width)[len(context):]
        near = np.flatnonzero(env >= peak * 10 ** (-BELOW / 20))
        if first is None and near.size:
            first = origin + int(near[0])
        loud = np.flatnonzero(env >= peak * 10 ** (-AUDIBLE / 20))
        if loud.size:
            found = max(first, origin + int(loud[0]) - round(LEAD * sample_rate))
            return max(start, found - round(PREROLL * sample_rate))
        context, row = piece[-width:], int(rows[-1]) + stride
    return start


def _pieces(mu: np.ndarray, rows: np.ndarray, decode: Callable[[np.ndarray], np.ndarray],
            hop: int, segment: int, step: int, batch: int, pace: Callable[[], None] | None
            ) -> tuple[np.ndarray, int]:
    """Decode frames ``rows`` (``step`` samples apart) and piece the middle ``step`` samples of
    each together (all of a frame when ``step`` >= ``segment``, gaps left silent); the
    first frame of the file also gives what lies before its middle. Returns the signal and
    the sample of the file where it begins."""
    width = min(step, segment)
    lead = (segment - width) // 2  # where a frame's middle part starts
    if len(rows) == 0:
        return np.zeros(0, np.float32), 0
    origin = 0 if rows[0] == 0 else int(rows[0]) * hop + lead
    out = np.zeros(int(rows[-1]) * hop + lead + width - origin, np.float32)
    for i in range(0, len(rows), batch):
        frames = np.asarray(decode(np.ascontiguousarray(mu[rows[i:i + batch]])), np.float32)
        if i == 0 and origin == 0:
            out[:lead] = frames[0, :lead]
        at = rows[i:i + batch, None] * hop + lead - origin + np.arange(width)[None, :]
        out[at] = frames[:, lead:lead + width]
        if pace is not None:
            pace()
    return out, origin
