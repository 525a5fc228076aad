"""The compiled overlap-add gives the bits of numpy's slice-adds, one frame after another."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latentcode.playback.overlap_add import add_frames, add_rows


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.sampled_from([4, 16, 64]))
def test_add_rows_matches_slice_adds_in_order(seed, count, seg):
    rng = np.random.default_rng(seed)
    src = (rng.standard_normal((count + 3, 2, seg)) * 10.0 ** rng.integers(-6, 6, (count + 3, 1, 1))
           ).astype(np.float32)
    dest = rng.standard_normal((3, 2, 4 * seg)).astype(np.float32)
    # rows repeat and overlap on the same track, so the order of the adds shows in the bits
    rows = rng.integers(0, len(src), count)
    tracks = rng.integers(0, 3, count)
    at = rng.integers(0, 3 * seg + 1, count)
    expected = dest.copy()
    for r, t, a in zip(rows, tracks, at, strict=True):
        expected[t, :, a : a + seg] += src[r]
    add_rows(dest, src, rows, tracks, at)
    assert dest.tobytes() == expected.tobytes()


def test_frames_added_in_another_order_can_round_differently():
    # why the order is kept: float32 sums are not associative
    big, small = np.float32(1e8), np.float32(1.0)
    src = np.array([[[big]], [[small]], [[-big]]], np.float32)
    forward, backward = np.zeros((1, 1, 1), np.float32), np.zeros((1, 1, 1), np.float32)
    zeros = np.zeros(3, np.int64)
    add_rows(forward, src, np.array([0, 1, 2]), zeros, zeros)
    add_rows(backward, src, np.array([0, 2, 1]), zeros, zeros)
    assert forward[0, 0, 0] == 0.0 and backward[0, 0, 0] == 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.sampled_from([4, 16, 64]),
       st.sampled_from([1, 2, 4]), st.booleans())
def test_add_frames_gives_the_bits_of_the_product_then_the_adds(seed, count, seg, channels,
                                                                 ramped):
    # mono frames at their gains: what frames[:, None, :] * gains, added by add_rows, gave
    rng = np.random.default_rng(seed)
    frames = (rng.standard_normal((count + 3, seg))
              * 10.0 ** rng.integers(-6, 6, (count + 3, 1))).astype(np.float32)
    shape = (count + 3, channels, seg) if ramped else (count + 3, channels)
    gains = rng.uniform(-2, 2, shape).astype(np.float32)
    dest = rng.standard_normal((3, channels, 4 * seg)).astype(np.float32)
    rows = rng.integers(0, len(frames), count)
    tracks = rng.integers(0, 3, count)
    at = rng.integers(0, 3 * seg + 1, count)
    expected = dest.copy()
    add_rows(expected, frames[:, None, :] * (gains if ramped else gains[:, :, None]), rows,
             tracks, at)
    add_frames(dest, frames, gains, rows, tracks, at)
    assert dest.tobytes() == expected.tobytes()
