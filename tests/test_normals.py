"""A voice's normal numbers: the same rows however a call batches them, its own stream, and
numbers that are standard normal."""

from __future__ import annotations

import numpy as np
import pytest

from latentcode.playback.normals import Normals


@pytest.mark.parametrize("width", [256, 16, 5, 40])
def test_rows_are_the_same_however_the_calls_batch_them(width):
    rng = np.random.default_rng(width)
    whole = Normals([3, 1, 4410]).draw(97, width)
    stream, parts, left = Normals([3, 1, 4410]), [], 97
    while left:
        n = int(rng.integers(1, 9))
        n = min(n, left)
        out = np.empty((n, width), np.float32)
        stream.fill(out) if n % 2 else parts.append(stream.draw(n, width))
        if n % 2:
            parts.append(out)
        left -= n
    assert np.array_equal(np.concatenate(parts), whole)


def test_fill_takes_rows_of_a_larger_array():
    a, b = Normals([1]), Normals([1])
    big = np.zeros((6, 48), np.float32)
    a.fill(big[2:5, :])  # contiguous rows
    narrow = np.zeros((3, 64), np.float32)
    b.fill(narrow[:, :48])  # not contiguous
    assert np.array_equal(big[2:5], narrow[:, :48])
    assert not big[:2].any() and not big[5:].any() and not narrow[:, 48:].any()


def test_each_seed_its_own_stream():
    draws = [Normals(e).draw(4, 256) for e in ([0, 1, 0], [0, 2, 0], [0, 1, 1], [1, 1, 0])]
    for i in range(len(draws)):
        for j in range(i):
            assert not np.array_equal(draws[i], draws[j])
    assert np.array_equal(Normals([0, 1, 0]).draw(4, 256), draws[0])


def test_the_numbers_are_standard_normal():
    x = Normals([5]).draw(2000, 256).astype(np.float64).ravel()  # 512,000 numbers
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
    # the share within one and two standard deviations, and the tails
    assert abs(np.mean(np.abs(x) < 1) - 0.6827) < 0.003
    assert abs(np.mean(np.abs(x) < 2) - 0.9545) < 0.002
    assert abs(np.mean(np.abs(x) > 3) - 0.0027) < 0.0005
    # neighbours independent: the next number's correlation with this one
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.01
