"""Which overlap-add hop: quality, roughness and cost together.

Every held-out file of the corpus (its first 4 s) goes through the shipped model as a voice at
stretch 1 plays it: 1024-sample frames cut every ``hop`` samples, decoded, Hann-windowed to
unit gain and overlap-added, with the sampling noise off (``noise 0``) and on (``noise 1``,
the default). Against the original it prints the medians of SNR, log-spectral distance,
multi-resolution STFT distance, level above 8 kHz and hiss above the sound's bandwidth (from
``latentcode.model.quality``), and the roughness the framing adds: how much stronger the
envelope's modulation at the frame rate (44100/hop Hz) is than the original's, in dB. The
cost is frames decoded per second of a voice: 44100/hop.

    python benchmarks/hop.py [--hops 128,256,512] [--seconds 4]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from latentcode.model import corpus, quality
from latentcode.model.audiofiles import find_audio, hann, load_audio
from latentcode.model.vae import load_model

SR = 44100


def reconstruct(model, x: np.ndarray, hop: int, noise: float) -> np.ndarray:
    """``x`` decoded frame by frame at ``hop``, padded so every sample is fully covered."""
    seg = model.segment
    window = hann(seg).astype(np.float32) * np.float32(2 * hop / seg)  # unit gain
    lead = seg - hop
    n = max(1, -(-(len(x) + 2 * lead - seg) // hop) + 1)
    padded = np.zeros((n - 1) * hop + seg, np.float32)
    padded[lead : lead + len(x)] = x
    frames = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, seg)[::hop][:n])
    mu, logvar = model.encode(frames)
    z = mu
    if noise:
        eps = np.random.default_rng(0).standard_normal(mu.shape).astype(np.float32)
        z = mu + np.float32(noise) * eps * np.exp(0.5 * logvar)
    out = np.zeros(len(padded), np.float32)
    for k, frame in enumerate(model.decode(z) * window):
        out[k * hop : k * hop + seg] += frame
    return out[lead : lead + len(x)]


def frame_rate_modulation(y: np.ndarray, hop: int) -> float:
    """The envelope's strength at 44100/hop Hz against its mean, in dB."""
    envelope = np.convolve(np.abs(y), np.ones(64) / 64, mode="same")
    spectrum = np.abs(np.fft.rfft(envelope * np.hanning(len(envelope))))
    f = np.fft.rfftfreq(len(envelope), 1 / SR)
    band = np.abs(f - SR / hop) < 2
    return 20 * np.log10(spectrum[band].max() / (spectrum[0] + 1e-12) + 1e-12)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hops", default="128,256,512")
    ap.add_argument("--seconds", type=float, default=4)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model()
    _, held = corpus.training_split(find_audio(corpus.default_corpus_dir()))
    originals = [load_audio(p)[: int(args.seconds * SR)].astype(np.float32) for p in held]
    print(f"{len(originals)} held-out files; medians against the originals")
    print(f"{'hop':>4} {'noise':>5} {'SNR':>6} {'LSD':>6} {'MR-STFT':>8} {'>8k':>6} "
          f"{'hiss':>6} {'rough+':>7} {'frames/s':>9}")
    for hop in (int(h) for h in args.hops.split(",")):
        for noise in (0.0, 1.0):
            rows = []
            for x in originals:
                y = reconstruct(model, x, hop, noise)
                rows.append((quality.snr_db(x, y), quality.log_spectral_distance(x, y),
                             quality.mr_stft_distance(x, y), quality.high_band_db(x, y),
                             quality.hiss_db(x, y),
                             frame_rate_modulation(y, hop) - frame_rate_modulation(x, hop)))
            m = np.nanmedian(np.array(rows, float), axis=0)
            print(f"{hop:4} {noise:5.0f} {m[0]:6.2f} {m[1]:6.2f} {m[2]:8.3f} {m[3]:6.2f} "
                  f"{m[4]:6.1f} {m[5]:7.1f} {SR / hop:9.0f}")


if __name__ == "__main__":
    main()
