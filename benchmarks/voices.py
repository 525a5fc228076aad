"""What the voice cap should be: the producer's time per block against the voices sounding.

Each count of long voices (``stretch 64`` bells, all started in the first eighth of a cycle)
is played with the cap out of the way; the blocks after the onsets are timed (best and median
of ``--blocks``). "load" = median time / the block's duration: the decoder can carry a count
whose load stays well under 1 with room for everything else the machine does (the default cap,
``latentcode.playback.stealing.DEFAULT_VOICE_CAP``, is chosen from this table).

    python benchmarks/voices.py [--counts 8 16 32 64 128] [--blocks 40]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from latentcode.session import Session

BLOCK = 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    parser.add_argument("--blocks", type=int, default=40)
    args = parser.parse_args()
    session = Session(tracks=1)
    sr = session.model.sample_rate
    print(f"{'voices':>6} {'best ms':>8} {'median ms':>9} {'load':>6}   "
          f"(block {BLOCK / sr * 1000:.1f} ms)")
    for count in args.counts:
        session.eval(f't1 $ "[bell*{count}] ~ ~ ~ ~ ~ ~ ~" # stretch 64')
        sched = session.scheduler(seed=0, snapshot=True)
        sched.cap.limit = sched.cap.current = 1 << 20  # measure the decoder, not the cap
        buf = np.zeros((1, 2, BLOCK), np.float32)
        start = 0
        onsets_end = session.samples_for(1 / 8)
        while start < onsets_end + BLOCK:  # let every voice start
            buf[:] = 0
            sched.fill(buf, start)
            start += BLOCK
        times = []
        for _ in range(args.blocks):
            buf[:] = 0
            t = time.perf_counter()
            sched.fill(buf, start)
            times.append(time.perf_counter() - t)
            start += BLOCK
        alive = len(sched.voices.voices)
        median = statistics.median(times)
        print(f"{alive:>6} {1000 * min(times):>8.1f} {1000 * median:>9.1f} "
              f"{median * sr / BLOCK:>6.2f}")


if __name__ == "__main__":
    main()
