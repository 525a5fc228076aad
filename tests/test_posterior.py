"""The compiled read and sampling of a block's latents (latentcode.playback.posterior)."""

from __future__ import annotations

import numpy as np
import pytest

from latentcode.model.sound import Sound
from latentcode.playback.posterior import read_into, sample


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_read_into_gives_the_bits_of_sound_lerp(seed):
    rng = np.random.default_rng(seed)
    frames, latent, rows = 37, 16, 200
    sound = Sound("x", rng.standard_normal((frames, latent)).astype(np.float32),
                  rng.standard_normal((frames, latent)).astype(np.float32), 256)
    # inside, on frames, at both ends and beyond them
    pos = np.concatenate([rng.uniform(-3, frames + 3, rows - 4), [0.0, frames - 1.0, -0.5, 99.0]])
    chosen = rng.permutation(rows)[: rows // 2]  # a group's rows, in no order
    mu = np.full((rows, latent), 7.0, np.float32)
    logvar = mu.copy()
    read_into(sound.mu, sound.logvar, pos, chosen, mu, logvar)
    want_mu, want_lv = sound.lerp(pos[chosen])
    assert np.array_equal(mu[chosen], want_mu) and np.array_equal(logvar[chosen], want_lv)
    others = np.setdiff1d(np.arange(rows), chosen)
    assert (mu[others] == 7.0).all() and (logvar[others] == 7.0).all()  # left alone


def test_read_into_reads_a_read_only_sound_and_holds_a_nan_position_at_the_start():
    mu = np.arange(12, dtype=np.float32).reshape(4, 3)
    mu.flags.writeable = False  # as a memory-mapped part of the cache is
    out, out_lv = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
    read_into(mu, mu, np.array([np.nan, 1.5]), np.array([0, 1]), out, out_lv)
    assert out.tolist() == [[0.0, 1.0, 2.0], [4.5, 5.5, 6.5]]


def test_sample_is_the_formula_to_float32_rounding_and_the_mean_without_noise():
    rng = np.random.default_rng(3)
    mu = rng.standard_normal((50, 8)).astype(np.float32)
    logvar = rng.uniform(-6, 2, (50, 8)).astype(np.float32)
    eps = rng.standard_normal((50, 8)).astype(np.float32)
    noise = rng.uniform(0, 2, 50)
    noise[::3] = 0.0
    z = sample(mu, logvar, noise, eps)
    want = (mu.astype(np.float64) + noise[:, None] * eps.astype(np.float64)
            * np.exp(0.5 * logvar.astype(np.float64))).astype(np.float32)
    assert z.dtype == np.float32
    assert np.abs(z.astype(np.float64) - want).max() <= 4 * np.spacing(np.abs(want)).max()
    assert np.array_equal(z[::3], mu[::3])  # bit for bit: the frame cache keys such rows


def test_a_voices_noise_drawn_into_its_rows_is_the_stream_it_drew_before():
    # latents() draws each voice's noise straight into its rows of the block's array
    eps = np.zeros((10, 4), np.float32)
    np.random.default_rng([5, 1, 300]).standard_normal(out=eps[3:7], dtype=np.float32)
    want = np.random.default_rng([5, 1, 300]).standard_normal((4, 4), dtype=np.float32)
    assert np.array_equal(eps[3:7], want) and not eps[:3].any() and not eps[7:].any()
