"""The training losses: the paper's, bit for bit, and what the multi-resolution STFT term adds
(hiss in a silent band and a lost top end cost far more than under the MSE alone)."""

from __future__ import annotations

import math

import pytest
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.losses import TrainingLoss, stft_distance
from latentcode.model.vae import vae_loss

torch.set_num_threads(1)
SR = 44100


def tone(freq: float, amp: float, n: int = 8, segment: int = 1024) -> torch.Tensor:
    """n frames of a sine, each at another phase (float64 for exact comparisons)."""
    t = torch.arange(segment, dtype=torch.float64) / SR
    phase = torch.linspace(0, 2 * math.pi, n + 1, dtype=torch.float64)[:n, None]
    return amp * torch.sin(2 * math.pi * freq * t + phase)


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).pow(2).mean())


def test_paper_loss_is_vae_loss_bit_for_bit():
    g = torch.Generator().manual_seed(1)
    x, recon = torch.randn(16, 1024, generator=g), torch.randn(16, 1024, generator=g)
    mu, logvar = torch.randn(16, 8, generator=g), torch.randn(16, 8, generator=g)
    total, m, kl, stft = TrainingLoss("paper", 3e-4)(recon, x, mu, logvar)
    ref = vae_loss(recon, x, mu, logvar, 3e-4)
    assert stft is None
    assert torch.equal(total, ref[0]) and torch.equal(m, ref[1]) and torch.equal(kl, ref[2])


def test_spectral_loss_adds_the_weighted_stft_distance():
    x = tone(440, 0.5).float()
    recon = x * 0.8 + 0.01 * torch.randn_like(x)
    mu, logvar = torch.zeros(8, 4), torch.zeros(8, 4)
    total, m, _, stft = TrainingLoss("spectral", 1e-4, stft_weight=0.25)(recon, x, mu, logvar)
    paper = vae_loss(recon, x, mu, logvar, 1e-4)[0]
    assert stft is not None and float(stft) > 0
    assert float(total) == pytest.approx(float(paper) + 0.25 * float(stft_distance(recon, x)))


def test_identical_frames_are_at_distance_zero_and_distance_grows_with_the_error():
    x = tone(300, 0.4) + tone(2500, 0.1)
    assert float(stft_distance(x, x)) == 0.0
    d = [float(stft_distance(x * g, x)) for g in (0.95, 0.8, 0.5)]
    assert 0 < d[0] < d[1] < d[2]


def test_hiss_in_a_silent_band_costs_far_more_than_an_equal_mse_level_error():
    x = tone(220, 0.5)  # nothing above a few hundred Hz
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)
    spec = torch.fft.rfft(noise)
    spec[:, : int(10000 / SR * 1024)] = 0  # hiss in 10-22 kHz only
    hiss = torch.fft.irfft(spec, n=1024)
    hiss *= 0.005 / hiss.pow(2).mean().sqrt()  # about -37 dB under the tone
    hissy = x + hiss
    quieter = x * (1 - math.sqrt(mse(hissy, x) / x.pow(2).mean()))  # same MSE, no new band
    assert mse(quieter, x) == pytest.approx(mse(hissy, x), rel=1e-6)
    assert float(stft_distance(hissy, x)) > 5 * float(stft_distance(quieter, x))


def test_a_lost_top_end_costs_far_more_than_an_equal_mse_level_error():
    x = tone(330, 0.5) + tone(12000, 0.01)  # a partial 34 dB down, above 8 kHz
    dull = tone(330, 0.5)
    quieter = x * (1 - math.sqrt(mse(dull, x) / x.pow(2).mean()))
    assert mse(quieter, x) == pytest.approx(mse(dull, x), rel=1e-6)
    assert float(stft_distance(dull, x)) > 5 * float(stft_distance(quieter, x))


def test_a_band_60_db_under_a_quiet_frame_still_counts():
    """In a frame 60 dB under full scale, a band 60 dB under the frame costs as much as it
    would in a full-scale frame (no absolute floor swallows it), and far more than one 100 dB
    under the frame (below the relative floor)."""
    quiet = tone(200, 1e-3)
    near = quiet + tone(9000, 1e-6)
    far = quiet + tone(9000, 1e-8)
    d_near, d_far = float(stft_distance(near, quiet)), float(stft_distance(far, quiet))
    d_loud = float(stft_distance(near * 1000, quiet * 1000))
    assert d_near == pytest.approx(d_loud, rel=0.01)
    assert d_near > 20 * d_far


def test_level_matters_for_the_log_term_not_the_absolute_scale():
    """The same relative error costs the same in a loud and a quiet frame (above the floor)."""
    x = tone(500, 0.5) + tone(5000, 0.05)
    err = tone(14000, 0.0005)
    loud = float(stft_distance(x + err, x))
    soft = float(stft_distance((x + err) * 1e-2, x * 1e-2))
    assert soft == pytest.approx(loud, rel=0.05)


def test_gradients_are_finite_on_silence_and_short_frames():
    for segment in (1024, 64):
        x = torch.zeros(4, segment)
        recon = torch.zeros(4, segment, requires_grad=True)
        d = stft_distance(recon, x)
        d.backward()
        assert float(d.detach()) == 0.0 and torch.isfinite(recon.grad).all()
    x = torch.randn(4, 64)
    recon = (torch.randn(4, 64) * 0.1).requires_grad_()
    stft_distance(recon, x).backward()  # 64-sample frames: one FFT size, the frame itself
    assert torch.isfinite(recon.grad).all() and recon.grad.abs().sum() > 0


def test_bad_loss_settings_are_clear_errors():
    with pytest.raises(LatentcodeError, match="unknown loss 'l1'"):
        TrainingLoss("l1")
    with pytest.raises(LatentcodeError, match="stft-weight"):
        TrainingLoss("spectral", stft_weight=-1.0)
    with pytest.raises(LatentcodeError, match="stft-weight"):
        TrainingLoss("spectral", stft_weight=float("nan"))


def test_settings_are_plain_values_for_the_checkpoint():
    d = TrainingLoss("spectral", 1e-4, 0.5).to_dict()
    assert d["name"] == "spectral" and d["stft_weight"] == 0.5
    assert d["stft_sizes"] == [128, 256, 512, 1024]
    assert all(isinstance(v, str | float | list) for v in d.values())
