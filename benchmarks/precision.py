"""Reduced-precision decoding against fp32: what it costs in sound, what it saves in time.

Each default sound is encoded and decoded by overlap-add (as a voice at stretch 1 plays it)
with the decoder's two matrix products in:

- fp32: what latentcode plays;
- bf16: torch's bfloat16 matrix products;
- int8 (per row): weights per output channel and each batch row quantised to int8, products
  summed exactly in int32 (``torch._int_mm``); each row stays independent of the others;
- int8 x3: each layer with its weights and each row of its input split into two int8 parts
  (15 bits), three int8 products summed exactly in int32;
- int8 (dynamic): torch's dynamic quantisation of the two Linear layers (fbgemm), whose
  activation scale is shared by the whole batch, so a voice's sound depends on the others.

Against the fp32 audio of the same sound it prints the SNR, the log-spectral distance, the
change of the level above 8 kHz (from ``latentcode.model.quality``), and how loud the
difference itself is above 8 kHz against the fp32 sound there (where added hiss is heard
first: every variant's error is broadband); how far it moves the level of the bands a listener
hears (``quality.band_change_db``: third-octave bands of each STFT frame within 40 dB of the
frame's loudest, the 99th percentile and the largest |change|; a level step under about 0.5 dB
goes unnoticed); and the decoder's speed on one thread, in frames
a second and in overlap-add voices (172 frames a second each).

With ``--piece FILE.lc`` it renders the piece once per precision instead (``latentcode render
--precision``, ``--cycles`` and ``--jobs`` as given) and prints each render's time, its
loudness, peak and level above 8 kHz, and against the fp32 render: the SNR, the band change
and the difference's level above 8 kHz; ``--png`` draws the fp32 render's spectrogram beside
those of the two differences, on one dB scale.

    python benchmarks/precision.py
    python benchmarks/precision.py --piece examples/coding_the_latent.lc --cycles 24 --png d.png
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from latentcode.model import precision, quality
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


def _shipped(name: str, net):
    """The decoder latentcode ships for ``name`` (``latentcode.model.precision``), z -> frames."""
    decode, scratch = precision.make(name, net), precision.Scratch()

    def frames(z):
        y = torch.empty(z.shape[0], net.segment)
        decode(z, y, scratch)
        return y

    return frames


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
    ap = argparse.ArgumentParser()
    ap.add_argument("--piece", help="render this piece in each precision and compare")
    ap.add_argument("--cycles", type=float, default=16)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--png", help="with --piece: the spectrograms, fp32 and the differences")
    args = ap.parse_args()
    if args.piece:
        renders(args)
    else:
        sounds()


def renders(args: argparse.Namespace) -> None:
    import soundfile as sf

    from latentcode.audio.analysis import loudness, true_peak
    from latentcode.model.precision import PRECISIONS

    audio, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("fp32", *[p for p in PRECISIONS if p != "fp32"]):
            out = Path(tmp) / f"{name}.wav"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "latentcode.shell.cli", "render", args.piece,
                            "-o", str(out), "--cycles", str(args.cycles), "--jobs",
                            str(args.jobs), "--precision", name, "--seed", "1"], check=True,
                           env={**os.environ, "PYO_GUI_WX": "0"}, capture_output=True)
            seconds[name] = time.perf_counter() - t0
            audio[name] = sf.read(out, dtype="float64")[0]
    ref = audio["fp32"]
    length = len(ref) / 44100
    print(f"{args.piece}: {length:.1f} s of audio, --jobs {args.jobs}")
    print(f"{'precision':10} {'render s':>8} {'x real':>6} {'LUFS':>6} {'peak dBTP':>9} "
          f"{'>8k dB':>7} {'SNR dB':>7} {'bands p99':>9} {'max':>5} {'err>8k':>7}")
    for name, y in audio.items():
        m, r = y.mean(axis=1), ref.mean(axis=1)
        f, e = quality.energy_spectrum(m)
        high = 10 * np.log10(e[f >= 8000].sum() / e.sum())
        row = (f"{name:10} {seconds[name]:8.1f} {length / seconds[name]:6.1f} "
               f"{loudness(y.T):6.1f} {true_peak(y.T):9.2f} {high:7.1f}")
        if name != "fp32":
            row += (f" {quality.snr_db(r, m):7.1f} {quality.band_change_db(r, m):9.2f} "
                    f"{quality.band_change_db(r, m, percentile=100):5.2f} "
                    f"{_high_error_db(r, m):7.1f}")
        print(row)
    if args.png:
        _pictures(audio, args.png)


def _pictures(audio: dict, png: str) -> None:
    from latentcode.shell.plot import pyplot

    plt = pyplot()
    ref = audio["fp32"].mean(axis=1)
    panels = [("fp32", ref)] + [(f"{name} - fp32", y.mean(axis=1) - ref)
                                for name, y in audio.items() if name != "fp32"]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.6 * len(panels)), sharex=True)
    for ax, (title, x) in zip(axes, panels, strict=True):
        *_, im = ax.specgram(x, NFFT=2048, Fs=44100, noverlap=1536, vmin=-160, vmax=-20,
                             cmap="magma")
        ax.set_title(title)
        ax.set_ylabel("Hz")
    axes[-1].set_xlabel("s")
    fig.colorbar(im, ax=axes, label="dB")
    fig.savefig(png, dpi=90)
    print(f"wrote {png}")


def sounds() -> None:
    torch.set_num_threads(1)
    model = load_model(precision="fp32")  # the reference
    net = model.net
    session = Session(model)
    variants = {"bf16": _shipped("bf16", net), "int8 (per row)": _int8_rows(net),
                "int8 x3": _shipped("int8x3", net), "int8 (dynamic)": _dynamic(net)}
    print(f"{'variant':16} {'SNR dB':>7} {'LSD dB':>7} {'>8k dB':>7} {'err>8k':>8} "
          f"{'bands p99':>9} {'max':>6}   (median over sounds; against fp32)")
    rows = {name: [] for name in variants}
    for name in SOUNDS:
        sound = session.bank.resolve(name)
        ref = _ola(model.decode(sound.mu))
        for variant, decode in variants.items():
            with torch.inference_mode():
                y = _ola(decode(torch.from_numpy(sound.mu)).numpy())
            rows[variant].append((quality.snr_db(ref, y), quality.log_spectral_distance(ref, y),
                                  quality.high_band_db(ref, y), _high_error_db(ref, y),
                                  quality.band_change_db(ref, y),
                                  quality.band_change_db(ref, y, percentile=100)))
    for variant, values in rows.items():
        med = np.median(np.array(values), axis=0)
        worst = np.array(values)[:, 0].min()
        worst_band = np.array(values)[:, 4].max()
        print(f"{variant:16} {med[0]:7.1f} {med[1]:7.2f} {med[2]:7.2f} {med[3]:8.1f} "
              f"{med[4]:9.2f} {med[5]:6.2f}   (worst SNR {worst:.1f}, worst p99 "
              f"{worst_band:.2f} dB)")
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
