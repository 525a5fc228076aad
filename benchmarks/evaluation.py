"""How long ``Session.eval`` takes for a new line, with nothing playing.

    python benchmarks/evaluation.py [--repeats 21] [--load 1]

Prints, for a few lines a performer types, the median time of ``Session.eval`` (parse,
evaluate, the rehearsal of the cycles to come, commit) and the line's period, which bounds its
rehearsal (``latentcode.playback.rehearsal``; ``-`` where it is not known: the full
``CHECKED_CYCLES``). Live, the eval is part of the time before an immediate change is heard
(``benchmarks/realtime.py`` measures that whole). ``--load N`` keeps N other processes busy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

LINES = [
    't9 $ "bell*128" # gain 0.05 # legato 1',
    't9 $ "bell*16" # alpha sine # gain 0.5',
    't9 $ "<bell drone>*8" # alpha "<0 0.5 1>"',
    't9 $ "bell*<8 16>" # alpha sine',
    't9 $ every 4 (fast 2) $ "bell(3,8) [bell bell:3] <drone bell>" # stretch 8 # pan sine',
    't9 $ ply 2 $ "bell*16 <drone bell>" # alpha sine',
    't9 $ chop 4 $ "bell*8 drone" # stretch 2',
    't9 $ rot "<1 2>" $ "bell*8 [drone bell:3]*4" # gain 0.5',
    't9 $ sometimes (# speed 2) $ "bell*16"',
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--load", type=int, default=0, help="other processes kept busy")
    args = ap.parse_args()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(args.load)]
    try:
        from latentcode.model.bank import Bank
        from latentcode.model.vae import load_model
        from latentcode.session import Session

        model = load_model()
        session = Session(model, Bank(model), tracks=10)
        print(f"{'eval (median)':>14s} {'period':>6s}  line   ({args.load} busy)")
        for line in LINES:
            session.eval(line)  # its sounds made and kept: what is timed is the line's own
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                session.eval(line)
                times.append(time.perf_counter() - t0)
            # (getattr: code from before periods can be timed too, for a comparison)
            period = getattr(session.tracks["t9"].pending[0], "period", None)
            print(f"{statistics.median(times) * 1000:11.2f} ms {period or '-':>6}  {line}")
    finally:
        for p in spinners:
            p.kill()


if __name__ == "__main__":
    main()
