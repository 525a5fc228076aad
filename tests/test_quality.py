"""The listener's metrics of latentcode.model.quality, and reconstruction through the framings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentcode.errors import LatentcodeError
from latentcode.model.quality import (
    FLOOR_DB,
    bandwidth_hz,
    high_band_db,
    hiss_db,
    log_spectral_distance,
    lowpass,
    measure,
    mr_stft_distance,
    pool,
    reconstruct,
    snr_db,
)

SR = 44100


def tone(freq: float = 1000.0, seconds: float = 1.0, fade: float = 0.01) -> np.ndarray:
    """A sine with raised-cosine fades, so its own edges add no broadband click."""
    n = int(seconds * SR)
    x = np.sin(2 * np.pi * freq * np.arange(n) / SR)
    k = int(fade * SR)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
    x[:k] *= ramp
    x[-k:] *= ramp[::-1]
    return x


def noise(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


class Identity:
    """A stub model whose latents are the frames themselves: decode(encode(f)) == f."""

    segment = 1024
    latent_dim = 1024

    def encode(self, frames):
        f = np.asarray(frames, np.float32)
        return f.copy(), np.zeros_like(f)

    def decode(self, z):
        return np.asarray(z, np.float32).copy()


def test_identical_signals_are_perfect():
    x = lowpass(tone(440) + 0.1 * noise(SR), 12000.0)  # bright, yet with a hiss band
    q = measure(x, x.copy())
    assert q.snr_db > 100
    assert q.lsd_db == pytest.approx(0, abs=1e-9)
    assert q.mr_stft == pytest.approx(0, abs=1e-9)
    assert q.high_db == pytest.approx(0, abs=1e-9)
    assert q.hiss_db == FLOOR_DB


def test_white_noise_at_minus_40_db_is_hiss_less_its_in_band_share():
    x = tone(1000)
    bw = bandwidth_hz(x)
    assert 1000 <= bw <= 1300  # a faded 1 kHz sine: its main lobe and a little leakage
    n = noise(len(x), seed=1) * math.sqrt(0.5 * 1e-4)  # -40 dB re the tone's power
    # the band starts at max(1.25 bw, bw + 500) ~ 1.5-1.8 kHz: white noise puts that share
    # of its energy above it
    share = (SR / 2 - 1.5 * 1000 - 100) / (SR / 2)
    expected = 10 * math.log10(np.sum(n**2) * share / np.sum(x**2))
    assert expected == pytest.approx(-40.3, abs=0.2)
    assert hiss_db(x, x + n) == pytest.approx(expected, abs=2)
    # hiss is only what is added: quieter noise reads lower, in step
    assert hiss_db(x, x + 0.1 * n) == pytest.approx(expected - 20, abs=2)


def test_hiss_inside_the_original_band_is_not_hiss():
    x = lowpass(noise(SR), 4000.0)
    louder_inside = x + 0.3 * lowpass(noise(SR, seed=2), 3000.0)
    assert hiss_db(x, louder_inside) < -80


def test_a_lowpassed_copy_of_a_bright_signal_loses_its_top_end():
    x = noise(SR)
    assert high_band_db(x, lowpass(x, 4000.0)) < -20
    assert high_band_db(x, lowpass(x, 12000.0)) == pytest.approx(
        10 * math.log10((12000 - 8000) / (SR / 2 - 8000)), abs=0.5)
    assert high_band_db(x, x) == pytest.approx(0, abs=1e-9)


def test_no_top_end_means_no_figure():
    x = tone(200)
    assert math.isnan(high_band_db(x, x))


def test_lsd_judges_only_the_frames_that_sound():
    x = np.concatenate([noise(SR // 2), np.zeros(SR)])
    hissy = x + np.concatenate([np.zeros(SR // 2), 1e-3 * noise(SR, seed=3)])
    gated = log_spectral_distance(x, hissy)
    assert gated < 1  # the hiss sits in frames more than 60 dB below the loudest
    everywhere = log_spectral_distance(x, hissy, gate_db=math.inf)
    assert everywhere > 5  # judged in every frame, the hiss shows
    assert log_spectral_distance(x, 0.5 * x) == pytest.approx(6.02, abs=0.1)


def test_mr_stft_grows_with_the_error():
    x = noise(SR // 2)
    small = mr_stft_distance(x, x + 0.01 * noise(SR // 2, seed=4))
    large = mr_stft_distance(x, x + 0.3 * noise(SR // 2, seed=4))
    assert 0 < small < large


def test_pooling_weighs_files_by_energy():
    loud = noise(SR)
    quiet = 0.01 * noise(SR, seed=5)
    a = measure(loud, loud + 10 ** (-30 / 20) * noise(SR, seed=6))  # ~30 dB
    b = measure(quiet, np.zeros(SR))  # 0 dB, but 40 dB quieter
    assert a.snr_db == pytest.approx(30, abs=0.2) and b.snr_db == pytest.approx(0, abs=1e-9)
    p = pool([a, b])
    expected = 10 * math.log10((a.signal + b.signal) / (a.error + b.error))
    assert p["snr_db"] == pytest.approx(expected, abs=1e-9)
    assert p["snr_db"] > 29  # a mean of dB would say 15
    assert p["lsd_db"] == pytest.approx((a.lsd_db + b.lsd_db) / 2)
    assert p["files"] == 2


def test_hiss_pools_by_energy_too():
    x1, x2 = lowpass(noise(SR), 4000.0), 0.01 * lowpass(noise(SR, seed=7), 4000.0)
    h = lowpass(noise(SR, seed=8), SR / 2) - lowpass(noise(SR, seed=8), 8000.0)  # 8 kHz up
    a = measure(x1, x1 + 1e-3 * h)
    b = measure(x2, x2 + 1e-3 * h)  # the same hiss on a file 40 dB quieter
    assert b.hiss_db - a.hiss_db == pytest.approx(40, abs=1)
    pooled = pool([a, b])["hiss_db"]
    assert pooled == pytest.approx(10 * math.log10((a.hiss_added + b.hiss_added)
                                                   / (a.hiss_total + b.hiss_total)), abs=1e-6)
    # twice the hiss on (almost) the loud file's energy: 3 dB above it, where a mean of the
    # two figures in dB would read 17 dB higher still
    assert pooled == pytest.approx(a.hiss_db + 3.0, abs=0.5)


def test_identity_model_gives_back_the_original():
    x = (0.3 * noise(20000)).astype(np.float32)
    for framing in ("ola", "concat"):
        for pad in (True, False):
            y = reconstruct(Identity(), x, framing, pad=pad)
            assert y.shape == x.shape
            # without padding the first and last ola frames are under fewer windows
            inner = slice(768, len(x) - 1024) if framing == "ola" and not pad else slice(None)
            np.testing.assert_allclose(y[inner], x[inner], atol=1e-6)
    faded = reconstruct(Identity(), x, "ola", pad=False)
    assert np.max(np.abs(faded[:256])) < 0.5 * np.max(np.abs(x[:256]))  # Hann fade-in


def test_noise_is_seeded_and_shows():
    x = (0.3 * noise(8192)).astype(np.float32)
    a = reconstruct(Identity(), x, noise=0.1, seed=1)
    b = reconstruct(Identity(), x, noise=0.1, seed=1)
    np.testing.assert_array_equal(a, b)
    # logvar 0: noise std 0.1 per frame; the four overlapping halved-Hann windows keep
    # sum(w²) = 0.375 of its power, against 0.09 of signal: about 13.8 dB
    assert snr_db(x, a) == pytest.approx(13.8, abs=1)


def test_the_shipped_model_reconstructs_to_the_original_length():
    from latentcode.model.vae import load_model

    model = load_model()
    x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(5000) / SR)).astype(np.float32)
    for framing in ("ola", "concat"):
        y = reconstruct(model, x, framing)
        assert y.shape == x.shape and np.isfinite(y).all()
        assert snr_db(x, y) > 3  # a plain low tone is well inside what it learned


def test_bad_input_is_one_clear_line():
    with pytest.raises(LatentcodeError, match="same length|one length"):
        measure(np.ones(100), np.ones(99))
    with pytest.raises(LatentcodeError, match="framing"):
        reconstruct(Identity(), np.ones(2048), "wobble")
    with pytest.raises(LatentcodeError, match="nothing to pool"):
        pool([])
