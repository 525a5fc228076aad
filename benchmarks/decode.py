"""Decode throughput of the shipped model: one batched call versus a per-frame loop.

A voice needs sr/hop decoded frames per second (hop 128: 344.5 frames/s, the paper's
encoding hop played back frame by frame; hop 1024: 43.1 frames/s, plain concatenation). Each
measurement decodes one block of 1024 output samples for every voice, i.e. voices·1024/hop
frames, either in ONE ``model.decode`` call (what the engine does) or in one call per frame
(the naive loop). "x real time" = frames decoded per second / frames needed per second: above
1 the voices can play live on this machine with these threads.

    python benchmarks/decode.py [--threads N] [--model PATH] [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from latentcode.model.threads import available_cores, live_threads
from latentcode.model.vae import load_model

VOICES = (1, 8, 64, 128)
HOPS = (128, 1024)
BLOCK = 1024  # output samples produced per decode call


def _rate(fn, frames: int, seconds: float) -> float:
    """Frames per second of ``fn`` (which decodes ``frames`` frames), best of repeated runs."""
    fn()  # warm-up: first call allocates buffers
    best, spent = float("inf"), 0.0
    while spent < seconds:
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
    return frames / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=live_threads() or available_cores(),
                    help="torch threads (default: LATENTCODE_THREADS, else every core)")
    ap.add_argument("--model", help="checkpoint (default: the shipped model)")
    ap.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    m = load_model(args.model)
    sr = m.sample_rate
    rng = np.random.default_rng(0)
    print(f"model {m.fingerprint}: latent {m.latent_dim}, n_units {m.config.n_units}, segment "
          f"{m.segment}; torch {torch.__version__}, {args.threads} thread(s), "
          f"{os.cpu_count()} cpu(s)")
    print(f"{'hop':>5} {'voices':>6} {'frames/call':>11} {'need f/s':>9} | "
          f"{'batched f/s':>11} {'x real time':>11} | {'naive f/s':>9} {'x real time':>11}")
    for hop in HOPS:
        for v in VOICES:
            n = v * BLOCK // hop
            z = rng.standard_normal((n, m.latent_dim)).astype(np.float32)
            out = np.empty((n, m.segment), np.float32)
            rows = [z[i:i + 1] for i in range(n)]
            need = v * sr / hop
            batched = _rate(lambda z=z, out=out: m.decode(z, out=out), n, args.seconds)
            naive = _rate(lambda rows=rows: [m.decode(r) for r in rows], n, args.seconds)
            print(f"{hop:>5} {v:>6} {n:>11} {need:>9.0f} | {batched:>11.0f} "
                  f"{batched / need:>11.2f} | {naive:>9.0f} {naive / need:>11.2f}")


if __name__ == "__main__":
    main()
