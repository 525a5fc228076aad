"""The VAE, checkpoint loading in every supported layout, and the shipped default model."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.threads import available_cores, one_thread, set_live_threads
from latentcode.model.vae import (
    BATCH_ALIGN,
    VAE,
    LatentModel,
    ModelConfig,
    default_model_path,
    load_model,
    save_checkpoint,
    vae_loss,
)

torch.set_num_threads(1)


def _net_decode(net: VAE, z: np.ndarray) -> np.ndarray:
    """The network's own decode of ``z`` in a batch of whole groups, as LatentModel runs it."""
    whole = -(-len(z) // BATCH_ALIGN) * BATCH_ALIGN
    padded = np.zeros((whole, z.shape[1]), np.float32)
    padded[: len(z)] = z
    return net.decode(torch.from_numpy(padded)).detach().numpy()[: len(z)]


def _small_net(seed: int = 0, segment=64, n_units=32, latent=8) -> VAE:
    torch.manual_seed(seed)
    return VAE(segment, n_units, latent)


def test_paper_architecture_and_parameter_names():
    net = VAE()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes == {
        "fc1.weight": (2048, 1024), "fc1.bias": (2048,),
        "fc21.weight": (256, 2048), "fc21.bias": (256,),
        "fc22.weight": (256, 2048), "fc22.bias": (256,),
        "fc3.weight": (2048, 256), "fc3.bias": (2048,),
        "fc4.weight": (1024, 2048), "fc4.bias": (1024,),
    }
    recon, mu, logvar = net(torch.randn(5, 1024))
    assert recon.shape == (5, 1024) and mu.shape == logvar.shape == (5, 256)
    assert recon.abs().max() <= 1.0


def test_loss_is_mse_plus_beta_kl():
    x = torch.zeros(4, 8)
    recon = torch.full((4, 8), 0.5)
    mu = torch.ones(4, 2)
    logvar = torch.zeros(4, 2)
    total, mse, kl = vae_loss(recon, x, mu, logvar, kl_beta=0.1)
    assert mse.item() == pytest.approx(0.25)
    assert kl.item() == pytest.approx(0.5)  # -0.5 * mean(1 + 0 - 1 - 1)
    assert total.item() == pytest.approx(0.25 + 0.1 * 0.5)


def test_default_model_loads_in_fp32_with_paper_sizes():
    m = load_model()
    assert (m.segment, m.latent_dim, m.sample_rate, m.hop) == (1024, 256, 44100, 128)
    assert m.config.n_units == 2048 and m.config.corpus
    assert all(p.dtype == torch.float32 for p in m.net.parameters())
    # the file is stored in fp16 to stay small
    blob = torch.load(default_model_path(), weights_only=True)
    assert blob["state_dict"]["fc1.weight"].dtype == torch.float16
    assert isinstance(m.fingerprint, str) and len(m.fingerprint) == 16
    assert load_model().fingerprint == m.fingerprint


def test_encode_decode_types_and_ranges():
    m = load_model()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 1024)) * 0.2).astype(np.float32)
    mu, logvar = m.encode(x)
    assert mu.dtype == logvar.dtype == np.float32 and mu.shape == (3, 256)
    mu_t, _ = m.encode(torch.from_numpy(x))
    np.testing.assert_array_equal(mu, mu_t)
    y = m.decode(rng.standard_normal((5, 256)).astype(np.float32) * 3)
    assert y.dtype == np.float32 and y.shape == (5, 1024)
    assert np.abs(y).max() <= 1.0
    np.testing.assert_array_equal(m.decode(torch.from_numpy(mu)), m.decode(mu))


def test_batched_decode_equals_frame_by_frame_and_fills_out():
    m = LatentModel(_small_net(), ModelConfig(segment=64, n_units=32, latent_dim=8),
                    precision="fp32")
    z = np.random.default_rng(1).standard_normal((10, 8)).astype(np.float32)
    one_by_one = np.concatenate([m.decode(z[i:i + 1]) for i in range(10)])
    out = np.full((10, 64), 7.0, np.float32)
    assert m.decode(z, out=out) is out
    np.testing.assert_allclose(out, one_by_one, atol=1e-6)
    ref = m.net.decode(torch.from_numpy(z)).detach().numpy()
    np.testing.assert_allclose(out, ref, atol=1e-6)
    with pytest.raises(LatentcodeError, match="shape"):
        m.decode(z, out=np.empty((3, 64), np.float32))


def test_a_row_decodes_to_the_same_bits_in_any_batch():
    # what the frame cache and split renders rely on: a voice's frames never depend on what
    # else was decoded beside them
    m = load_model()
    z = np.random.default_rng(2).standard_normal((300, m.latent_dim)).astype(np.float32)
    with one_thread():  # as renders decode
        whole = m.decode(z)
        for lo, hi in [(0, 1), (0, 3), (5, 12), (16, 33), (100, 257), (1, 300)]:
            np.testing.assert_array_equal(m.decode(z[lo:hi]), whole[lo:hi])
        out = np.empty((7, m.segment), np.float32)
        np.testing.assert_array_equal(m.decode(z[3:10], out=out), whole[3:10])


def test_wrong_input_width_is_a_clear_error():
    m = LatentModel(_small_net(), ModelConfig(segment=64, n_units=32, latent_dim=8))
    with pytest.raises(LatentcodeError, match=r"\(n, 8\)"):
        m.decode(np.zeros((2, 9), np.float32))
    with pytest.raises(LatentcodeError, match=r"\(n, 64\)"):
        m.encode(np.zeros((2, 63), np.float32))


def test_original_rawaudiovae_checkpoint_round_trips(tmp_path):
    net = _small_net(3)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    net(torch.randn(4, 64))[0].sum().backward()
    opt.step()
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 12, "state_dict": net.state_dict(), "optimizer": opt.state_dict()}, path)
    m = load_model(path, precision="fp32")  # the network's own arithmetic, bit for bit
    assert (m.segment, m.config.n_units, m.latent_dim) == (64, 32, 8)
    z = torch.randn(6, 8)
    np.testing.assert_array_equal(m.decode(z.numpy()), _net_decode(net, z.numpy()))
    mu, logvar = m.encode(torch.ones(2, 64) * 0.1)
    ref_mu, ref_lv = net.encode(torch.ones(2, 64) * 0.1)
    np.testing.assert_array_equal(mu, ref_mu.detach().numpy())
    np.testing.assert_array_equal(logvar, ref_lv.detach().numpy())


def test_bare_state_dict_and_dataparallel_prefix_load(tmp_path):
    net = _small_net(4)
    torch.save(net.state_dict(), tmp_path / "bare.pt")
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, tmp_path / "dp.pt")
    z = np.ones((1, 8), np.float32)
    ref = _net_decode(net, z)
    for name in ("bare.pt", "dp.pt"):
        np.testing.assert_array_equal(load_model(tmp_path / name, precision="fp32").decode(z),
                                      ref)


def test_pickled_whole_model_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(_small_net(), path)
    with pytest.raises(LatentcodeError) as e:
        load_model(path)
    msg = str(e.value)
    assert "torch.save(model.state_dict(), path)" in msg and "\n" not in msg


def test_shape_mismatch_with_config_is_one_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"state_dict": _small_net().state_dict()}, path)
    with pytest.raises(LatentcodeError) as e:
        load_model(path, config=ModelConfig())  # paper sizes vs a 64/32/8 checkpoint
    msg = str(e.value)
    assert "latent_dim 8" in msg and "1024, 2048, 256" in msg and "\n" not in msg


def test_inconsistent_weights_and_foreign_files_are_errors(tmp_path):
    sd = _small_net().state_dict()
    sd["fc4.weight"] = torch.zeros(64, 33)  # does not fit fc3's 32 units
    torch.save(sd, tmp_path / "bad.pt")
    with pytest.raises(LatentcodeError, match="inconsistent shapes"):
        load_model(tmp_path / "bad.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(LatentcodeError, match="fc1"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(LatentcodeError, match="not a PyTorch checkpoint"):
        load_model(tmp_path / "junk.pt")
    with pytest.raises(LatentcodeError, match="no such model file"):
        load_model(tmp_path / "missing.pt")


def test_our_checkpoints_store_config_and_fp16_loads_as_fp32(tmp_path):
    net = _small_net(5)
    cfg = ModelConfig(segment=64, n_units=32, latent_dim=8, sample_rate=22050, hop=16,
                      corpus="abc")
    save_checkpoint(tmp_path / "full.pt", net, cfg, epoch=2)
    save_checkpoint(tmp_path / "half.pt", net, cfg, epoch=2, half=True)
    full, half = load_model(tmp_path / "full.pt"), load_model(tmp_path / "half.pt")
    assert full.config == half.config == cfg
    assert (half.sample_rate, half.hop) == (22050, 16)
    assert half.net.fc1.weight.dtype == torch.float32
    z = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_allclose(half.decode(z), full.decode(z), atol=2e-3)
    assert (tmp_path / "half.pt").stat().st_size < 0.75 * (tmp_path / "full.pt").stat().st_size
    # the original code's loader reads our files too
    blob = torch.load(tmp_path / "full.pt", weights_only=True)
    orig = VAE(64, 32, 8)
    orig.load_state_dict(blob["state_dict"])


def test_sample_noise_zero_is_mu_and_public_exports():
    import latentcode

    assert latentcode.load_model is load_model and latentcode.VAE is VAE
    m = LatentModel(_small_net(), ModelConfig(segment=64, n_units=32, latent_dim=8))
    mu = np.ones((2, 8), np.float32)
    logvar = np.zeros((2, 8), np.float32)
    np.testing.assert_array_equal(m.sample(mu, logvar, noise=0), mu)
    a = m.sample(mu, logvar, rng=np.random.default_rng(1))
    b = m.sample(mu, logvar, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, mu)
    assert set_live_threads(1) == 1 and torch.get_num_threads() == 1


def _cpu_ticks() -> dict[str, int]:
    """CPU ticks (user + system) of each of this process's threads."""
    ticks = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks[tid] = int(fields[11]) + int(fields[12])
    return ticks


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or available_cores() < 2,
                    reason="needs Linux's per-thread CPU times and two cores")
@pytest.mark.parametrize("precision", ["fp32", "int8x3"])
def test_a_thread_started_later_decodes_on_the_threads_torch_was_given(precision):
    # OpenMP keeps a thread count per thread: without follow_threads, a thread started after
    # torch.set_num_threads(1) ran its products on two threads here
    m = load_model(precision=precision)
    z = np.random.default_rng(0).standard_normal((256, m.latent_dim)).astype(np.float32)
    m.decode(z)
    set_live_threads(1)
    spent = {}

    def decode_a_while():
        me = str(threading.get_native_id())
        before = _cpu_ticks()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.6:
            m.decode(z)
        after = _cpu_ticks()
        spent.update({t: after[t] - before.get(t, 0) for t in after if t != me})
        spent["me"] = after[me] - before[me]

    thread = threading.Thread(target=decode_a_while)
    thread.start()
    thread.join()
    others = sum(v for k, v in spent.items() if k != "me")
    assert spent["me"] >= 30 and others <= 0.1 * spent["me"], spent
