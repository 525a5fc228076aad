"""What ``speed`` costs: the time each 1024-sample block takes to render, a voice at speed 1
beside the same voice resampled (latentcode/playback/resampled.py).

Going forwards the inner voice is rendered just ahead of each block (speed 2: two blocks' worth
a block); backwards the block a voice starts in renders all of it, the worst block printed.
Run with nothing else on the machine; a block lasts 23.2 ms at 44.1 kHz.

    python benchmarks/speed.py
"""

from __future__ import annotations

import time

import numpy as np

from latentcode.model.bank import Bank
from latentcode.model.vae import load_model
from latentcode.session import Session

PIECES = [
    't1 $ "bell"',
    't1 $ "bell" # speed 2',
    't1 $ "bell" # speed 0.5',
    't1 $ "bell" # speed (-1)',
    't1 $ "drone" # stretch 4',
    't1 $ "drone" # stretch 4 # speed 1.5',
    't1 $ "drone" # stretch 4 # speed (-1.5)',
]


def main() -> None:
    model = load_model()
    bank = Bank(model)
    print(f"{'piece':42s} {'worst block':>12s} {'median':>8s} {'all blocks':>11s}")
    for piece in PIECES:
        session = Session(model, bank, tracks=2)
        session.eval("tempo 0.125\n" + piece)
        sched = session.scheduler(seed=1, snapshot=True)
        buf = np.zeros((session.slots, 2, 1024), dtype=np.float32)
        times = []
        for start in range(0, 44100 * 8, 1024):
            buf[:] = 0
            t0 = time.perf_counter()
            sched.fill(buf, start)
            times.append(time.perf_counter() - t0)
        ms = np.array(times) * 1000
        print(f"{piece:42s} {ms.max():9.1f} ms {np.median(ms):5.1f} ms {ms.sum():8.0f} ms")


if __name__ == "__main__":
    main()
