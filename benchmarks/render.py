"""How many times faster than real time a 4-track piece renders offline.

Renders the same piece with both framings, through the whole engine (pyo filters, reverb,
delay, limiter on the manual clock) and dry (decoder and mixer only), and prints seconds of
audio per second of wall time.

    python benchmarks/render.py [--cycles 16]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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
    args = ap.parse_args()
    print(f"{'framing':8} {'path':7} {'audio s':>8} {'wall s':>7} {'x real time':>12}")
    for framing in ("ola", "concat"):
        session = Session(framing=framing)
        session.eval(PIECE)
        seconds = session.samples_for(args.cycles) / session.model.sample_rate
        session.render_dry(1)  # warm the bank's encodings and the decoder
        t0 = time.perf_counter()
        session.render_dry(args.cycles, seed=1)
        dry = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            session.render(args.cycles, Path(tmp) / "piece.wav", seed=1)
            full = time.perf_counter() - t0
        for name, took in (("dry", dry), ("engine", full)):
            print(f"{framing:8} {name:7} {seconds:8.1f} {took:7.2f} {seconds / took:12.1f}")


if __name__ == "__main__":
    main()
