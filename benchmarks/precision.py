"""Reduced-precision decoding against fp32: what it costs in sound, what it saves in time.

Each default sound is encoded and decoded by overlap-add (as a voice at stretch 1 plays it)
with the decoder's two matrix products in:

- fp32: what latentcode plays;
- bf16: torch's bfloat16 matrix products;
- int8 (per row): weights per output channel and each batch row quantised to int8, products
  summed exactly in int32 (``torch._int_mm``); each row stays independent of the others;
- int8 (dynamic): torch's dynamic quantisation of the two Linear layers (fbgemm), whose
  activation scale is shared by the whole batch, so a voice's sound depends on the others.

Against the fp32 audio of the same sound it prints the SNR, the log-spectral distance, the
change of the level above 8 kHz (from ``latentcode.model.quality``), and how loud the
difference itself is above 8 kHz against the fp32 sound there (where added hiss is heard
first: every variant's error is broadband); and the decoder's speed on one thread, in frames
a second and in overlap-add voices (172 frames a second each).

    python benchmarks/precision.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from latentcode.model import quality
from latentcode.model.vae import load_model
from latentcode.session import Session

SOUNDS = ["bell", "pluck", "hit", "drone", "voice", "noise", "sine2", "glass", "wood"]


def _int8_rows(net):
    def weights(w):
        scale = w.abs().amax(1) / 127
        return torch.round(w / scale[:, None]).to(torch.int8).t().contiguous(), scale

    w3, s3 = weights(net.fc3.weight)
    w4, s4 = weights(net.fc4.weight)

    def rows(x):
        scale = x.abs().amax(1).clamp_min(1e-12) / 127
        return torch.round(x / scale[:, None]).to(torch.int8), scale

    def decode(z):
        q, s = rows(z)
        h = torch._int_mm(q, w3).float() * s[:, None] * s3[None, :] + net.fc3.bias
        q, s = rows(h.relu_())
        return torch.tanh(torch._int_mm(q, w4).float() * s[:, None] * s4[None, :] + net.fc4.bias)

    return decode


def _bf16(net):
    w3, w4 = net.fc3.weight.t().bfloat16(), net.fc4.weight.t().bfloat16()
    b3, b4 = net.fc3.bias.bfloat16(), net.fc4.bias.bfloat16()
    return lambda z: torch.tanh(torch.relu(z.bfloat16() @ w3 + b3) @ w4 + b4).float()


def _dynamic(net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(
            torch.nn.Sequential(net.fc3, torch.nn.ReLU(), net.fc4), {torch.nn.Linear},
            dtype=torch.qint8)
    return lambda z: torch.tanh(q(z))


def _high_error_db(ref: np.ndarray, y: np.ndarray, cutoff: float = 8000.0) -> float:
    """The difference's energy above ``cutoff`` against the reference's there, in dB."""
    f, e_ref = quality.energy_spectrum(ref)
    _, e_err = quality.energy_spectrum(y - ref)
    high = f >= cutoff
    return 10 * np.log10(e_err[high].sum() / max(e_ref[high].sum(), 1e-30))


def _ola(frames: np.ndarray, hop: int = 256) -> np.ndarray:
    """Frames every 2 latent frames (stretch 1 at hop 256), Hann-windowed and overlap-added."""
    frames = frames[::2]
    seg = frames.shape[1]
    window = np.hanning(seg).astype(np.float32)
    out = np.zeros((len(frames) - 1) * hop + seg, np.float32)
    for k, frame in enumerate(frames):
        out[k * hop : k * hop + seg] += frame * window
    return out


def main() -> None:
    torch.set_num_threads(1)
    model = load_model()
    net = model.net
    session = Session(model)
    variants = {"bf16": _bf16(net), "int8 (per row)": _int8_rows(net),
                "int8 (dynamic)": _dynamic(net)}
    print(f"{'variant':16} {'SNR dB':>7} {'LSD dB':>7} {'>8k dB':>7} {'err>8k':>8}   "
          "(median over sounds; against fp32)")
    rows = {name: [] for name in variants}
    for name in SOUNDS:
        sound = session.bank.resolve(name)
        ref = _ola(model.decode(sound.mu))
        for variant, decode in variants.items():
            with torch.inference_mode():
                y = _ola(decode(torch.from_numpy(sound.mu)).numpy())
            rows[variant].append((quality.snr_db(ref, y), quality.log_spectral_distance(ref, y),
                                  quality.high_band_db(ref, y), _high_error_db(ref, y)))
    for variant, values in rows.items():
        med = np.median(np.array(values), axis=0)
        worst = np.array(values)[:, 0].min()
        print(f"{variant:16} {med[0]:7.1f} {med[1]:7.2f} {med[2]:7.2f} {med[3]:8.1f}   "
              f"(worst SNR {worst:.1f})")
    print()
    z = torch.randn(256, model.latent_dim)
    speeds = {"fp32": lambda z: torch.from_numpy(model.decode(z.numpy())), **variants}
    for variant, decode in speeds.items():
        with torch.inference_mode():
            decode(z)
            t0, k = time.perf_counter(), 0
            while time.perf_counter() - t0 < 2:
                decode(z)
                k += 1
        fps = 256 * k / (time.perf_counter() - t0)
        print(f"{variant:16} {fps:8.0f} frames/s on one thread = {fps / 172.3:4.0f} voices")


if __name__ == "__main__":
    main()
