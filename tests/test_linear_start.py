"""``train --init pca``: the network starts as the whitened principal components of the
training frames, exactly, and a run from there starts where that linear code is."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.linear_start import start_linear
from latentcode.model.vae import VAE
from latentcode.shell import cli

torch.set_num_threads(1)


def _frames(n: int, seg: int, seed: int = 0) -> torch.Tensor:
    """Frames with a falling spectrum of spreads, like audio: a few directions dominate."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((seg, seg)) * np.geomspace(1.0, 1e-3, seg)
    return torch.tensor(0.02 * rng.standard_normal((n, seg)) @ mix.T + 0.01, dtype=torch.float32)


def test_the_start_is_the_principal_components_code_whitened():
    seg, k = 32, 6
    x = _frames(4000, seg)
    net = VAE(seg, 64, k)
    start_linear(net, x)
    with torch.no_grad():
        mu, logvar = net.encode(x)
        before_tanh = net.fc4(torch.relu(net.fc3(mu)))
    # what numpy's SVD says the best rank-k reconstruction is
    xd = x.double().numpy()
    mean = xd.mean(0)
    _, _, vt = np.linalg.svd(xd - mean, full_matrices=False)
    best = (xd - mean) @ vt[:k].T @ vt[:k] + mean
    assert np.abs(before_tanh.double().numpy() - best).max() < 1e-5 * np.abs(xd).max()
    cov = np.cov(mu.double().numpy().T)
    assert np.allclose(cov, np.eye(k), atol=2e-3)  # unit variance, uncorrelated: the prior's
    assert torch.allclose(net.decode(mu), torch.tanh(before_tanh))  # the paper's decoder
    assert torch.allclose(logvar, torch.full_like(logvar, -9.2))


def test_the_spare_units_are_left_for_training_and_read_by_nothing():
    seg, k, units = 32, 6, 64
    x = _frames(1000, seg)
    net = VAE(seg, units, k)
    torch.manual_seed(1)
    spare = net.fc1.weight[2 * k:].clone()
    start_linear(net, x)
    assert torch.equal(net.fc1.weight[2 * k:], spare)  # their random start, as PyTorch made it
    with torch.no_grad():
        mu, _ = net.encode(x)
        out = net.decode(mu)
        net.fc1.weight[2 * k:].normal_()
        net.fc3.weight[2 * k:].normal_()
        assert torch.equal(net.encode(x)[0], mu) and torch.equal(net.decode(mu), out)


def test_too_few_units_for_the_code_is_one_clear_error():
    with pytest.raises(LatentcodeError, match="twice as many units as latent dimensions.*"
                                              "--n-units 8"):
        start_linear(VAE(32, 6, 4), _frames(100, 32))


def _snr(text: str) -> float:
    return float(re.search(r"held-out reconstruction SNR (-?[\d.]+) dB", text).group(1))


def test_train_init_pca_starts_from_the_linear_code(tmp_path, capsys):
    """Two quiet tones a file (two fixed frequencies, each file its own amplitudes and
    phases; quiet, so the decoder's tanh hardly bends them): four numbers a frame hold them.
    A run of one epoch at a vanishing learning rate from the PCA start reconstructs the
    held-out file nearly exactly; the same run from PyTorch's random start does not
    reconstruct it at all."""
    folder = tmp_path / "tones"
    folder.mkdir()
    t = np.arange(44100) / 44100
    for i in range(8):
        x = (0.1 + 0.01 * i) * np.sin(2 * np.pi * 441 * t + i) \
            + (0.08 - 0.005 * i) * np.sin(2 * np.pi * 1323 * t + 2 * i)
        sf.write(folder / f"tone_{i:02d}.wav", x.astype(np.float32), 44100)
    common = ["--epochs", "1", "--lr", "1e-9", "--n-units", "16", "--latent-dim", "4",
              "--hop", "256", "--batch-size", "32", "--threads", "1", "--no-progress"]
    assert cli.main(["train", str(folder), "-o", str(tmp_path / "pca"), "--init", "pca",
                     *common]) == 0
    from_pca = _snr(capsys.readouterr().out)
    assert cli.main(["train", str(folder), "-o", str(tmp_path / "random"), *common]) == 0
    from_random = _snr(capsys.readouterr().out)
    assert from_pca > 30 and from_random < 3, (from_pca, from_random)


def test_train_init_pca_with_too_few_units_is_one_line(tmp_path, capsys):
    folder = tmp_path / "one"
    folder.mkdir()
    sf.write(folder / "a.wav", np.sin(np.arange(8192) / 9.0).astype(np.float32), 44100)
    rc = cli.main(["train", str(folder), "-o", str(tmp_path / "o"), "--init", "pca",
                   "--n-units", "6", "--latent-dim", "4", "--threads", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--n-units 8" in err and "Traceback" not in err


def test_heard_scale_is_how_far_each_dimension_moves_the_decoded_frame():
    """The bank clusters frames on latents times ``heard_scale``: for the linear start that is
    twice each component's spread (both units of a pair are counted), so a weak component
    weighs as little as it sounds, not as much as the strongest."""
    from latentcode.model.linear_start import principal_components
    from latentcode.model.vae import LatentModel, ModelConfig

    seg, k = 32, 6
    x = _frames(4000, seg)
    net = VAE(seg, 64, k)
    start_linear(net, x)
    scale = LatentModel(net, ModelConfig(segment=seg, n_units=64, latent_dim=k)).heard_scale
    spread = principal_components(x, k)[2].numpy()
    assert np.allclose(scale, 2 * spread, rtol=1e-5)
    assert scale[0] > 2 * scale[-1]  # the spreads fall, as in audio
