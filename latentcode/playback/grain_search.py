"""The grains' search, compiled: where each grain of a stretched voice best continues the last.

A stretched voice places its grains one after another, each where it best continues the one
before (see :mod:`.grains`), so the search is a chain of small steps that cannot be batched
along a voice. In numpy each step was some thirty calls of a few microseconds on arrays of a
few hundred samples, and a whole render spent a third of its time there. Here one call walks
all of a voice's grains in a block (:func:`walk`), and one call reconstructs and walks all the
stretched voices of a block (:func:`read_voices`), compiled by numba, the compiler librosa
uses for the same reason; it releases the GIL, so the REPL's thread runs meanwhile.

The first call compiles (a few seconds, once per machine: numba keeps the result in the
package's ``__pycache__`` or, if that is read-only, in the user's cache); :func:`ready` does it
before live play, so never on the way to the audio. Every sum is taken in one fixed order, with
no fast-math reassociation, so a grain's place depends only on its samples: live and offline,
a block at a time or many, serial or split, choose the same.

>>> x = np.random.default_rng(0).standard_normal(300).astype(np.float32)
>>> best_offset(x, x[137:237].copy(), np.zeros(201), 4)    # where the tail came from
137
"""

from __future__ import annotations

import numba
import numpy as np

# Offsets the fine search scores side by side: a fixed count the compiler turns into two
# vector registers, where the 2·coarse + 1 it needs (9) stayed a scalar loop, 2-4x slower
LANES = 16
# numba keeps the compiled code only for the package's own import. Run as a file of its own
# (``python -m doctest`` on it), the module is named ``grain_search``, and an entry kept under
# that name broke the package's next import ("No module named 'grain_search'") until removed.
KEEP_COMPILED = __name__.startswith("latentcode.")


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def best_offset(head: np.ndarray, tail: np.ndarray, pull: np.ndarray, coarse: int) -> int:
    """The offset in [0, room] (``room = len(pull) - 1``) where ``head`` (``room`` + the
    tail's length samples) best matches ``tail`` by normalised cross-correlation, less
    ``pull`` at that offset (what a grain loses for moving from its own place).

    Coarse to fine: every ``coarse``-th offset scored on the signals summed over ``coarse``
    samples (a crude low-pass: matching a waveform's shape needs no more), then the offsets
    around the best of those in full. The correlations of all the offsets accumulate together,
    sample after sample, which the compiler vectorises without reordering any sum.
    """
    return _best_offset(head, tail, pull, coarse,
                        _workspace(len(head), len(tail), len(pull) - 1, coarse))


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def _workspace(length: int, compare: int, room: int, coarse: int) -> tuple:
    """The search's working arrays for a head of ``length`` samples and a tail of ``compare``:
    made once for all the grains of a walk, not seven small arrays a grain."""
    m, n, lags = length // coarse, compare // coarse, room // coarse + 1
    return (np.empty(m, np.float32), np.empty(n, np.float32), np.empty(lags, np.float32),
            np.empty(m, np.float64), np.empty(compare + LANES, np.float32),
            np.empty(LANES, np.float32), np.empty(LANES, np.float32))


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def _best_offset(head: np.ndarray, tail: np.ndarray, pull: np.ndarray, coarse: int,
                 work: tuple) -> int:
    """:func:`best_offset` in the working arrays of :func:`_workspace`."""
    short, short_tail, corr, square, window, fine, power = work
    corr[:] = 0.0  # the sums start from zero
    room = len(pull) - 1
    compare = len(tail)
    m, n, lags = len(head) // coarse, compare // coarse, room // coarse + 1
    _coarse_sums(head, coarse, short, m)
    _coarse_sums(tail, coarse, short_tail, n)
    tail_power = 0.0
    for i in range(n):
        tail_power += np.float64(short_tail[i]) * short_tail[i]
    # Four of the tail's samples a pass over the lags: each lag's sum still adds them one at a
    # time, in the same order (the same bits as one a pass), but keeps its running sum in a
    # register across the four, where one a pass loads and stores it for every product.
    j = 0
    while j + 4 <= n:
        s0, s1, s2, s3 = short_tail[j], short_tail[j + 1], short_tail[j + 2], short_tail[j + 3]
        for lag in range(lags):
            c = corr[lag]
            c += short[lag + j] * s0
            c += short[lag + j + 1] * s1
            c += short[lag + j + 2] * s2
            c += short[lag + j + 3] * s3
            corr[lag] = c
        j += 4
    while j < n:
        s = short_tail[j]
        for lag in range(lags):
            corr[lag] += short[lag + j] * s
        j += 1
    for i in range(m):
        square[i] = np.float64(short[i]) * short[i]
    energy = 0.0
    for j in range(n):
        energy += square[j]
    found, best = 0, -np.inf
    for lag in range(lags):
        if lag > 0:  # a running sum: the window moves one coarse sample
            energy += square[lag + n - 1] - square[lag - 1]
        score = corr[lag] / (np.sqrt(max(energy, 0.0) * tail_power) + 1e-12) - pull[lag * coarse]
        if score > best:
            found, best = lag, score
    # the offsets around the coarse best, as one run of neighbours (clamped to [0, room]); each
    # scored in full, LANES at a time from a copy of the head zero-padded past its end
    lo, hi = max(found * coarse - coarse, 0), min(found * coarse + coarse, room)
    offset, best = lo, -np.inf
    for first in range(lo, hi + 1, LANES):
        tail_power = _fine(head, tail, first, window, fine, power)
        for d in range(min(LANES, hi + 1 - first)):
            norm = np.sqrt(max(np.float64(power[d]), 0.0) * tail_power) + 1e-12
            score = fine[d] / norm - pull[first + d]
            if score > best:
                offset, best = first + d, score
    return offset


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def _coarse_sums(x: np.ndarray, coarse: int, out: np.ndarray, count: int) -> None:
    """Into ``out[:count]``: the sums of ``x`` over ``coarse`` samples, each added from zero
    in the samples' order. Written out for the usual 4, the loop vectorises (0.25 µs for a
    head of 2,048 samples, against 1.1 as one pass per sample of the four)."""
    if coarse == 4:
        for i in range(count):
            out[i] = (((np.float32(0.0) + x[4 * i]) + x[4 * i + 1]) + x[4 * i + 2]) + x[4 * i + 3]
        return
    for i in range(count):
        s = np.float32(0.0)
        for k in range(coarse):
            s += x[i * coarse + k]
        out[i] = s


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def _fine(head: np.ndarray, tail: np.ndarray, first: int, window: np.ndarray,
          fine: np.ndarray, power: np.ndarray) -> float:
    """Into ``fine`` and ``power``: for each of the LANES offsets from ``first``, the products
    of the head there with the tail, and the head's power, each summed in the tail's order
    (so an offset's sums are the same bits in any lane). Four of the tail's samples a pass
    keep each lane's sums in registers, as the coarse search does. Returns the tail's power,
    summed alongside: in a loop of its own, its chain of dependent adds cost 0.3-0.9 µs a
    grain more (9.6-9.9 µs against 9.0-9.6 in a render's walks)."""
    compare = len(tail)
    n = min(len(head) - first, compare + LANES)
    window[:n] = head[first : first + n]
    window[n:] = 0.0  # lanes past the head's end score zeros, and are not looked at
    fine[:] = 0.0
    power[:] = 0.0
    tail_power = 0.0
    j = 0
    while j + 4 <= compare:
        t0, t1, t2, t3 = tail[j], tail[j + 1], tail[j + 2], tail[j + 3]
        tail_power += np.float64(t0) * t0
        tail_power += np.float64(t1) * t1
        tail_power += np.float64(t2) * t2
        tail_power += np.float64(t3) * t3
        for d in range(LANES):
            f, p = fine[d], power[d]
            h = window[d + j]
            f += h * t0
            p += h * h
            h = window[d + j + 1]
            f += h * t1
            p += h * h
            h = window[d + j + 2]
            f += h * t2
            p += h * h
            h = window[d + j + 3]
            f += h * t3
            p += h * h
            fine[d], power[d] = f, p
        j += 4
    while j < compare:
        t = tail[j]
        tail_power += np.float64(t) * t
        for d in range(LANES):
            h = window[d + j]
            fine[d] += h * t
            power[d] += h * h
        j += 1
    return tail_power


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def walk(buffer: np.ndarray, bases: np.ndarray, tail: np.ndarray, known: bool,
         pull: np.ndarray, coarse: int, hop: int, skip: int, out: np.ndarray) -> bool:
    """Read a voice's grains from ``buffer`` (its reconstruction), one per row of ``out``:
    grain ``r`` starts within ``±room/2`` of ``bases[r] + room/2``, where it best continues
    the previous grain, whose continuation ``tail`` holds (``known``: a previous grain exists;
    the first of a voice takes its own place). ``tail`` is updated in place, for the next
    block; returns whether it is now known. ``skip``: where in the overlap the comparison
    starts; ``hop``: the output hop, by which the next grain overlaps this one's start.
    """
    room = len(pull) - 1
    compare = len(tail)
    segment = out.shape[1]
    work = _workspace(room + compare, compare, room, coarse)
    for r in range(len(bases)):
        base = bases[r]
        offset = room // 2
        if known:
            offset = _best_offset(buffer[base + skip : base + skip + room + compare], tail,
                                  pull, coarse, work)
        at = base + offset
        out[r, :] = buffer[at : at + segment]
        tail[:] = buffer[at + hop + skip : at + hop + skip + compare]
        known = True
    return known


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def overlap(parts: np.ndarray, at: np.ndarray, lo: int, out: np.ndarray) -> None:
    """Into ``out``: samples [lo, lo + len(out)) of the rows of ``parts`` each placed at sample
    ``at[p]`` and added, row after row, from zero (zero where none reaches).

    >>> out = np.empty(6, np.float32)    # samples 1..6 of two rows at 0 and 2
    >>> overlap(np.ones((2, 4), np.float32), np.array([0, 2]), 1, out); out.tolist()
    [1.0, 2.0, 2.0, 1.0, 1.0, 0.0]
    """
    out[:] = 0.0
    hi = lo + len(out)
    length = parts.shape[1]
    for p in range(len(parts)):
        a, b = max(at[p], lo), min(at[p] + length, hi)
        if a >= b:
            continue
        # through 1-D views from 0, so that the adds vectorise (see overlap_add.add_rows)
        into, row = out[a - lo : b - lo], parts[p, a - at[p] : b - at[p]]
        for s in range(b - a):
            into[s] += row[s]


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def read_voices(parts: np.ndarray, at: np.ndarray, part_from: np.ndarray, lo: np.ndarray,
                hi: np.ndarray, bases: np.ndarray, base_from: np.ndarray, tails: np.ndarray,
                known: np.ndarray, pull: np.ndarray, coarse: int, hop: int, skip: int,
                out: np.ndarray) -> None:
    """The grains of many voices in one call: voice ``v`` overlap-adds its segments
    ``parts[part_from[v] : part_from[v + 1]]`` (each at its ``at``, see :func:`overlap`) into
    its sound's samples [lo[v], hi[v]), then :func:`walk` reads its grains ``bases[base_from[v]
    : base_from[v + 1]]`` (from ``lo[v]``) from that, into the same rows of ``out``, its tail
    ``tails[v]`` (``known[v]``: it has one) updated in place. Per voice, the same bits as the
    two steps called apart; at a live block's size, some fifteen numpy calls a voice fewer."""
    buffer = np.empty(max(0, (hi - lo).max()), np.float32)
    for v in range(len(lo)):
        mine = buffer[: hi[v] - lo[v]]
        p0, p1 = part_from[v], part_from[v + 1]
        overlap(parts[p0:p1], at[p0:p1], lo[v], mine)
        b0, b1 = base_from[v], base_from[v + 1]
        walk(mine, bases[b0:b1], tails[v], known[v], pull, coarse, hop, skip, out[b0:b1])


def ready() -> None:
    """Compile the search now (or load it from numba's cache), so that the first stretched
    voice of a live set does not wait for the compiler.

    >>> ready()
    """
    segment, hop, room = 16, 4, 8
    buffer = np.zeros(64, np.float32)
    walk(buffer, np.zeros(2, np.int64), np.zeros(8, np.float32), False, np.zeros(room + 1),
         4, hop, 2, np.zeros((2, segment), np.float32))
    read_voices(np.zeros((1, segment), np.float32), np.zeros(1, np.int64),
                np.array([0, 1]), np.zeros(1, np.int64), np.full(1, 64), np.zeros(2, np.int64),
                np.array([0, 2]), np.zeros((1, 8), np.float32), np.zeros(1, bool),
                np.zeros(room + 1), 4, hop, 2, np.zeros((2, segment), np.float32))
