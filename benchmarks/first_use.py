"""What the first use of a slow sound does to music already playing, live.

A drone plays hard left on t1 through the ``none`` backend (real time, recorded); then a
statement asks for something slow on t2, hard right: the bank's clusters (k-means over every
frame of the bank on first use; by default ``"cluster:3/2"`` asked in an odd cycle, so that the
producer asks for them, not the check of ``eval``, as with the library's ``"cluster:3/8"``) or,
with ``--files``, four new 20 s files (encoded on first use). Prints the engine's underruns,
the longest gap of the drone, how long ``eval`` took and when t2 was first heard. ``--cold``
removes the cluster cache first (the first session). Run it on a quiet machine: on a busy one
the underruns that the load alone causes are counted too (compare ``--pattern '"drone:1/2"'``).

    python benchmarks/first_use.py [--files] [--cold] [--seconds 40] [--pattern '"cluster:3"']
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def windows_db(x: np.ndarray, sr: int, width: float = 0.05) -> np.ndarray:
    n = int(width * sr)
    m = len(x) // n
    rms = np.sqrt(np.mean(x[: m * n].reshape(m, n) ** 2, axis=1) + 1e-20)
    return 20 * np.log10(rms)


def longest_gap(db: np.ndarray, width: float, floor: float = -60.0) -> float:
    best = run = 0
    for quiet in db < floor:
        run = run + 1 if quiet else 0
        best = max(best, run)
    return best * width


def new_files(folder: Path, sr: int = 44100) -> None:
    rng = np.random.default_rng(int(time.time() * 1000) % 2**32)  # new content: no cache
    t = np.arange(20 * sr) / sr
    for i in range(4):
        f = rng.uniform(80, 800)
        x = 0.3 * np.sin(2 * np.pi * f * t) + 0.05 * rng.standard_normal(len(t))
        sf.write(folder / f"fresh_{i}.wav", x.astype(np.float32), sr)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", action="store_true", help="first use of new files, not clusters")
    ap.add_argument("--cold", action="store_true", help="remove the cluster cache first")
    ap.add_argument("--pattern", default='"cluster:3/2"',
                    help="what t2 plays (default: clusters first asked by the producer)")
    ap.add_argument("--seconds", type=float, default=40.0,
                    help="how long to play after the ask (at most: 5 s after ready)")
    args = ap.parse_args()

    from latentcode.resources import user_data_dir
    from latentcode.session import Session

    if args.cold:
        for p in (user_data_dir() / "cache").glob("clusters-*"):
            p.unlink()
    said: list[tuple[float, str]] = []
    t0 = time.monotonic()
    session = Session(report=lambda m: said.append((time.monotonic() - t0, m)))
    tmp = Path(tempfile.mkdtemp())
    wav = tmp / "out.wav"
    session.start("none")
    engine = session.engine
    engine.record(wav)
    t_rec = time.monotonic() - t0
    session.eval('t1 $ "drone*4" # legato 1.2 # pan 0')
    time.sleep(3.0)
    if args.files:
        (tmp / "fresh").mkdir()
        new_files(tmp / "fresh")
        ask = f'bank "{tmp / "fresh"}"\nt2 $ "fresh:0 fresh:1 fresh:2 fresh:3" # pan 1'
    else:
        ask = f"t2 $ {args.pattern} # pan 1"
    while session.live_scheduler.next_cycle() % 2 == 0:  # "X/2" has no onset in odd cycles
        time.sleep(0.01)
    t_ask = time.monotonic() - t0
    e0 = time.monotonic()
    session.eval(ask)
    eval_s = time.monotonic() - e0
    # the bank says "ready: ..." for each piece of work (the frame clusters, then cluster 3):
    # play on until 5 s after the latest, as the next "X/2" onset is at most 4 s away
    ready_at, readies = None, 0
    while time.monotonic() - t0 - t_ask < args.seconds:
        time.sleep(0.1)
        count = sum(m.startswith("ready:") for _, m in said)
        if count > readies:
            ready_at, readies = time.monotonic(), count
        if ready_at is not None and time.monotonic() - ready_at > 5.0:
            break
    stats = engine.stats
    engine.stop_record()
    session.stop()
    x, sr = sf.read(wav, dtype="float32")
    width = 0.05
    left, right = windows_db(x[:, 0], sr, width), windows_db(x[:, 1], sr, width)
    started = int(np.argmax(left > -40))
    ask_w = int((t_ask - t_rec) / width)
    heard = np.flatnonzero(right[max(ask_w, 0):] > -40)
    gap = longest_gap(left[started + 20:], width)
    print(f"{'files' if args.files else 'clusters'}{' (cold)' if args.cold else ''}: "
          f"underruns {stats.underruns} ({stats.underrun_samples / sr:.1f} s of silence), "
          f"drone's longest gap {gap:.2f} s, eval {eval_s:.2f} s, t2 "
          + (f"first heard {heard[0] * width:.1f} s after the ask" if len(heard) else
             "never heard"))
    for t, m in said:
        print(f"  [{t:6.1f} s] {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
