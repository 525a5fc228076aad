"""How many times faster than real time a 4-track piece renders offline.

Renders the same piece with both framings, through the whole engine (pyo filters, reverb,
delay, limiter on the manual clock) on one process and on one fork per core (``jobs``), and
dry (decoder and mixer only), and prints seconds of audio per second of wall time. Then the
frame cache: the piece with ``# noise 0`` on every track (paths that repeat), dry, with the
cache on and off, and the share of frames it answered. ``--busy`` keeps another process busy
on one core throughout.

    python benchmarks/render.py [--cycles 16] [--busy]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latentcode.model.threads import available_cores
from latentcode.session import Session

PIECE = """
tempo 0.5
t1 $ "drone" # mix "voice" # alpha (slow 4 $ range -0.5 1.4 sine) # gain 0.6 # pan 0.2
t2 $ every 4 (fast 2) $ "bell(3,8)" # stretch 2 # room 0.4 # pan 0.8
t3 $ "pluck*4 [hit hit:2]" # lpf 2400 # delay 0.3 # legato 1
t4 $ "sine2/2" # stretch 8 # gain 0.5 # hpf 200
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=float, default=16)
    ap.add_argument("--busy", action="store_true", help="another process busy on one core")
    args = ap.parse_args()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        measure(args.cycles)
    finally:
        if busy is not None:
            busy.kill()


def measure(cycles: float) -> None:
    print(f"{'framing':8} {'path':12} {'audio s':>8} {'wall s':>7} {'x real time':>12}")
    for framing in ("ola", "concat"):
        session = Session(framing=framing)
        session.eval(PIECE)
        seconds = session.samples_for(cycles) / session.model.sample_rate
        session.render_dry(1)  # warm the bank's encodings and the decoder
        t0 = time.perf_counter()
        session.render_dry(cycles, seed=1)
        times = [("dry", time.perf_counter() - t0)]
        for jobs in (1, available_cores()):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                session.render(cycles, Path(tmp) / "piece.wav", seed=1, jobs=jobs)
                times.append((f"engine, {jobs} job{'s' if jobs > 1 else ''}",
                              time.perf_counter() - t0))
        for name, took in times:
            print(f"{framing:8} {name:12} {seconds:8.1f} {took:7.2f} {seconds / took:12.1f}")
    print("\nthe frame cache, dry, on the piece with # noise 0 on every track:")
    session = Session()
    session.eval("\n".join(line + " # noise 0" if "$" in line else line
                           for line in PIECE.strip().splitlines()))
    session.render_dry(1)
    for capacity in (0, session.frames.capacity):
        session.frames.capacity = capacity
        session.frames.clear()
        t0 = time.perf_counter()
        session.render_dry(cycles, seed=1)
        took = time.perf_counter() - t0
        print(f"cache {'on ' if capacity else 'off'}: {seconds / took:5.1f}x real time, "
              f"{session.frames.hit_rate:.0%} of {session.frames.hits + session.frames.misses} "
              "frames from the cache")


if __name__ == "__main__":
    main()
