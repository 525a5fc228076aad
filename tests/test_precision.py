"""The decoder's arithmetic: int8x3 (the default where the CPU has VNNI) is fp32 to the ear,
every precision gives a row the same bits in any batch, and the choice is made by name, flag or
environment."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from latentcode.errors import LatentcodeError
from latentcode.model import precision, quality
from latentcode.model.threads import one_thread
from latentcode.model.vae import load_model


def _sound(seconds: float = 1.0, sr: int = 44100) -> np.ndarray:
    """A bell-like chord and a noise burst: a tone exposes added noise, the burst the top end."""
    t = np.arange(int(seconds * sr)) / sr
    tone = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((440, 660, 1320), 1))
    burst = np.random.default_rng(0).standard_normal(len(t)) * np.exp(-t * 8)
    return (0.3 * tone * np.exp(-t * 2) + 0.2 * burst).astype(np.float32)


@pytest.mark.parametrize("name", precision.PRECISIONS)
def test_a_row_decodes_to_the_same_bits_in_any_batch(name):
    m = load_model(precision=name)
    z = np.random.default_rng(3).standard_normal((200, m.latent_dim)).astype(np.float32)
    with one_thread():  # as renders decode
        whole = m.decode(z)
        for lo, hi in [(0, 1), (5, 12), (16, 33), (100, 200)]:
            np.testing.assert_array_equal(m.decode(z[lo:hi]), whole[lo:hi])
    assert np.abs(whole).max() <= 1.0


def test_int8x3_is_fp32_to_the_ear_and_bf16_is_close():
    x = _sound()
    ref = quality.reconstruct(load_model(precision="fp32"), x)
    exact = quality.reconstruct(load_model(precision="int8x3"), x)
    fast = quality.reconstruct(load_model(precision="bf16"), x)
    assert not np.array_equal(ref, exact)  # it is other arithmetic, not fp32 again
    assert quality.snr_db(ref, exact) > 60
    # no band a listener hears moves by a tenth of the level step one can notice
    assert quality.band_change_db(ref, exact, percentile=100) < 0.05
    assert 40 < quality.snr_db(ref, fast) < 60
    assert quality.band_change_db(ref, fast) < 1.5


def test_int8x3_splits_each_value_into_15_bits_and_sums_its_products_exactly():
    from latentcode.model import int8x3

    rng = np.random.default_rng(5)
    x = (rng.standard_normal((40, 300)) * rng.uniform(0.01, 100, (40, 1))).astype(np.float32)
    scale = np.empty(40, np.float32)
    int8x3.largest(x, scale)
    np.testing.assert_allclose(scale, np.abs(x).max(1) / 127, rtol=1e-6)
    both = np.empty((40, 600), np.int8)
    int8x3.split(x, scale, both)
    high, low = both[:, 300:].astype(np.float64), both[:, :300].astype(np.float64)
    assert np.abs(high).max() == 127
    # high + low/256 is x/scale within half a step of the low part (15 bits of the row's
    # range), or a whole step where the low part is held at ±127 (x/scale near a half)
    err = np.abs(high + low / 256 - x / scale[:, None])
    assert err.max() <= 1 / 256 * 1.001 and np.mean(err <= 0.5 / 256 * 1.001) > 0.99
    # the products and the scaling back: against float64 of the same split values
    w = rng.standard_normal((64, 300)).astype(np.float32)
    bias = rng.standard_normal(64).astype(np.float32)
    layer = int8x3.weights(torch.from_numpy(w))
    y, top = np.empty((40, 64), np.float32), np.empty(40, np.float32)
    int8x3.product(x, scale, layer, bias, y, True, top, precision.Scratch(), "t")
    exact = np.maximum(x.astype(np.float64) @ w.T.astype(np.float64) + bias, 0)
    assert np.abs(y - exact).max() < 1e-4 * np.abs(exact).max()
    np.testing.assert_allclose(top, np.maximum(y.max(1), 1e-30) / 127, rtol=1e-6)


def test_int8x3_products_prepacked_give_int_mm_bits_or_are_not_used(monkeypatch):
    """oneDNN's prepacked products (where torch has them) give torch._int_mm's bits, in a
    whole decode too; a prepacked way that would not is never chosen."""
    from latentcode.model import int8_products as products

    rng = np.random.default_rng(7)
    high, low = (rng.integers(-127, 128, (96, 300), dtype=np.int8) for _ in range(2))
    both = torch.from_numpy(rng.integers(-127, 128, (37, 600), dtype=np.int8))
    both[:4] = 127  # sums past fp32's 24 bits
    made, got, want = products.make(high, low), torch.empty(37, 96), torch.empty(37, 96)
    if products.packs_well() and hasattr(torch.ops.onednn, "qlinear_pointwise"):
        assert isinstance(made, products.Packed)
    # without AMX they are not used: elsewhere they could take seconds, with the right bits
    assert isinstance(products.make(high, low, flags="avx2 avx512_vnni"), products.Plain)
    made(both, got, precision.Scratch(), "t")
    products.Plain(high, low)(both, want, precision.Scratch(), "t")
    np.testing.assert_array_equal(got.numpy().view(np.int32), want.numpy().view(np.int32))
    z = rng.standard_normal((40, load_model().latent_dim)).astype(np.float32)
    with one_thread():
        default = load_model(precision="int8x3").decode(z)
        monkeypatch.setattr(products, "make", products.Plain)
        plain = load_model(precision="int8x3").decode(z)
    np.testing.assert_array_equal(default, plain)
    monkeypatch.undo()
    monkeypatch.setattr(products.Packed, "__call__",
                        lambda self, both, total, scratch, name: total.fill_(1))
    assert isinstance(products.make(high, low, flags="amx_int8"), products.Plain)


def test_int8x3_plain_weights_lie_row_major_and_give_the_bits_of_any_layout():
    """torch._int_mm multiplies a column-major weight matrix on a slower path (a live block's
    16 rows of the second layer up to 3.5x as long on Zen 4): both of Plain's weight matrices
    are kept row-major, and the integer sums are the same bits as the column-major product."""
    from latentcode.model import int8_products as products

    rng = np.random.default_rng(9)
    high, low = (rng.integers(-127, 128, (96, 300), dtype=np.int8) for _ in range(2))
    plain = products.Plain(high, low)
    for w in (plain.high, plain.cross):
        assert w.is_contiguous()
    both = torch.from_numpy(rng.integers(-127, 128, (20, 600), dtype=np.int8))
    column_major = torch.from_numpy(np.concatenate([high.T, low.T]))
    assert not column_major.is_contiguous()  # the layout the products must not take
    got = torch.empty(20, 96)
    plain(both, got, precision.Scratch(), "t")
    want = (torch._int_mm(both, column_major).float()
            + 256 * torch._int_mm(both[:, 300:], torch.from_numpy(high.T.copy())).float())
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_int8x3_plain_products_in_two_threads_at_once_each_get_their_own_sums():
    """The live producer and a dry render may decode at once: torch._int_mm's int32 sums are
    kept in the decoder's scratch, a thread's own, so neither reads the other's."""
    import threading

    from latentcode.model import int8_products as products

    rng = np.random.default_rng(8)
    plain = products.Plain(*(rng.integers(-127, 128, (512, 256), dtype=np.int8)
                             for _ in range(2)))
    inputs = [torch.from_numpy(rng.integers(-127, 128, (64, 512), dtype=np.int8))
              for _ in range(2)]
    scratch, wanted = precision.Scratch(), []  # shared, as the decoder's is
    for x in inputs:
        wanted.append(torch.empty(64, 512))
        plain(x, wanted[-1], scratch, "t")
    wrong = []

    def decode(x: torch.Tensor, want: torch.Tensor) -> None:
        got = torch.empty(64, 512)
        for _ in range(200):
            plain(x, got, scratch, "t")
            if not torch.equal(got, want):
                wrong.append(1)

    threads = [threading.Thread(target=decode, args=(x, want))
               for x, want in zip(inputs, wanted, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong


def test_the_choice_by_name_environment_and_default(monkeypatch):
    monkeypatch.delenv(precision.ENV, raising=False)
    assert precision.chosen(None) == precision.default()
    assert precision.default("sse2 avx2 fma") == "fp32"  # int8 products slow there
    assert precision.default("avx2 avx_vnni") == precision.default("avx512f avx512_vnni") \
        == "int8x3"
    monkeypatch.setenv(precision.ENV, "bf16")
    assert precision.chosen(None) == "bf16"
    assert precision.chosen("fp32") == "fp32"
    assert load_model().precision == "bf16"
    monkeypatch.setenv(precision.ENV, "fp16")
    with pytest.raises(LatentcodeError, match="unknown decoder precision 'fp16': use one of"):
        load_model()


def test_the_flag_sets_the_environment_for_every_process(monkeypatch):
    from latentcode.shell.cli import build_parser
    from latentcode.shell.frontends import apply_model_options

    monkeypatch.delenv(precision.ENV, raising=False)
    args = build_parser("render").parse_args(["render", "piece.lc", "--precision", "fp32"])
    apply_model_options(args)
    assert os.environ[precision.ENV] == "fp32"
    # not monkeypatch.delenv: it would note "fp32" to put back afterwards, and every later
    # test would decode in fp32
    del os.environ[precision.ENV]
    apply_model_options(build_parser("render").parse_args(["render", "piece.lc"]))
    assert precision.ENV not in os.environ
