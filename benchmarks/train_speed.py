"""Training speed of ``latentcode train``'s loop: milliseconds per step for each loss, and on a
GPU how many times a step waits for it (host syncs).

The loop reads the loss on the host every ``SYNC_EVERY`` steps only and skips a non-finite
batch inside the fused optimiser step, so a CUDA step should not wait for the GPU. ``--sync``
adds the wait the loop used to have (a host read of every step's finiteness) to measure what
avoiding it is worth. The audio is synthetic (sines and noise, written as WAV files into a
temporary folder), so no corpus is needed; the model is the paper's.

    python benchmarks/train_speed.py [--device cuda] [--minutes 2] [--threads N] [--sync]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import latentcode.model.loop as loop
from latentcode.model.loop import TrainConfig, train
from latentcode.model.vae import ModelConfig

SR = 44100


def write_audio(folder: Path, minutes: float, seed: int = 0) -> list[Path]:
    """Four-second files of a few sines and some noise, ``minutes`` in all."""
    rng = np.random.default_rng(seed)
    t = np.arange(4 * SR) / SR
    paths = []
    for i in range(max(1, int(minutes * 15))):
        f = rng.uniform(60, 2000, 3)
        x = sum(np.sin(2 * np.pi * fk * t) * rng.uniform(0.1, 0.5) for fk in f)
        x = x * np.exp(-t * rng.uniform(0, 2)) + 0.02 * rng.standard_normal(len(t))
        p = folder / f"s_{i:03d}.wav"
        sf.write(p, (0.7 * x / np.abs(x).max()).astype(np.float32), SR)
        paths.append(p)
    return paths


def _syncing_step(opt, fused, ok):
    """The loop's step plus the host read of ``ok`` that every step used to make."""
    if bool(ok):
        opt.step()


def measure(files: list[Path], device: str, loss: str, epochs: int, out: Path) -> tuple:
    """(ms per step, steps, host syncs per step or None on a CPU)."""
    syncs = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if device == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the loop's own lines
                done = train(files, out, ModelConfig(),
                             TrainConfig(epochs=epochs, loss=loss, checkpoint_interval=10**6),
                             device=device, progress=False)
        finally:
            if device == "cuda":
                torch.cuda.set_sync_debug_mode("default")
    steps = done.state["steps_per_epoch"] * epochs
    if device == "cuda":
        syncs = sum("synchroniz" in str(w.message) for w in caught) / steps
    return 1e3 * done.seconds / steps, steps, syncs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--minutes", type=float, default=2.0, help="minutes of training audio")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--sync", action="store_true", help="also time a step that syncs")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        files = write_audio(Path(tmp), args.minutes)
        rows = [(loss, False) for loss in ("paper", "spectral")]
        if args.sync:
            rows += [("paper", True)]
        real_step = loop._step
        print(f"device {args.device}, torch {torch.__version__}, threads "
              f"{torch.get_num_threads()}, {args.minutes:g} min of audio, batch 256")
        for loss, sync in rows:
            loop._step = _syncing_step if sync else real_step
            t0 = time.perf_counter()
            ms, steps, syncs = measure(files, args.device, loss, args.epochs, Path(tmp) / "o")
            loop._step = real_step
            extra = "" if syncs is None else f", {syncs:.3f} host syncs a step"
            print(f"{loss:8s}{' +sync' if sync else '      '}: {ms:7.2f} ms a step over {steps} "
                  f"steps{extra} ({time.perf_counter() - t0:.1f} s with loading)")


if __name__ == "__main__":
    main()
