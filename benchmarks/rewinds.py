"""How many immediate changes come too late for their first samples (``Stream.rewind_late``).

Live, through a private jackd (dummy driver, period 256), 64 voices of ``prior`` play
(``--voices``) while the performer alternates ``now t9 $ "bell*128"`` and ``now t9 silence``
every 0.15 s; nothing polls the clock meanwhile (a Python thread that does takes the GIL from
the producer and slows every rewind). Printed per run: rewinds, those that came late and the
samples they missed, underruns, and the time a rewind took to make (median and 90th
percentile: the producer's ``Stream.amend`` that decoded audio; an immediate change waits
for it, and half again, besides a buffer); idle, then with a competing process busy on one
core.
``--fixed`` gives every rewind the margin a pad gets (``RewindMargin.fixed``: what rewinds take
lately, and half again, whatever the audio side's phase), as every rewind had before 2026-12,
to compare.

    python benchmarks/rewinds.py                  # 2 runs idle, 2 busy, about 2 minutes
    python benchmarks/rewinds.py --runs 4 --fixed
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the jackd launcher the tests use


def run(fixed: bool, changes: int, voices: int = 64) -> dict:
    """One session in this process: play, change, count."""
    from latentcode.audio import rewind_margin
    from latentcode.session import Session

    if fixed:
        rewind_margin.Schedule.ahead = lambda self, sample, now: None  # no phase: fixed

    took: list[float] = []  # seconds, every rewind that decoded audio
    note = rewind_margin.RewindMargin.note

    def noted(self, seconds: float) -> None:  # (the stream notes each rewind's time here)
        took.append(seconds)
        note(self, seconds)

    rewind_margin.RewindMargin.note = noted
    s = Session(tracks=10)
    s.voice_cap = 512
    for name in ("prior", "bell"):
        s.bank.resolve(name)
    s.eval(f'tempo 0.5\nt1 $ "prior*{voices}" # legato {voices} # gain {1 / voices:.6f}')
    s.start("jack", buffersize=256, jack_client="lc-rewinds", block=1024, lookahead=4096)
    time.sleep(4)
    stream = s.engine._stream
    for _ in range(changes):
        s.eval('now t9 $ "bell*128" # gain 0.05 # legato 1')
        time.sleep(0.15)
        s.eval("now t9 silence")
        time.sleep(0.15)
    out = {"rewinds": stream.rewinds, "late": len(stream.late_rewinds),
           "late_samples": stream.rewind_late, "underruns": s.engine.stats.underruns,
           "late_at_s": [round(at / 44100, 1) for at, _ in stream.late_rewinds],
           "took_ms": [round(1000 * np.median(took), 1),
                       round(1000 * np.percentile(took, 90), 1)] if took else None}
    s.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2, help="runs idle, and as many busy")
    ap.add_argument("--changes", type=int, default=40, help="pairs of changes a run")
    ap.add_argument("--fixed", action="store_true", help="the fixed margin, to compare")
    ap.add_argument("--voices", type=int, default=64,
                    help="voices of prior playing (64; fewer where a CPU has no room for them)")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a run's process
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run(args.fixed, args.changes, args.voices)))
        return
    from jackd import running_jackd

    cmd = [sys.executable, __file__, "--one", "--changes", str(args.changes),
           "--voices", str(args.voices)]
    cmd += ["--fixed"] if args.fixed else []
    print(f"margin: {'fixed' if args.fixed else 'whole buffers, by the phase'}; "
          f"{2 * args.changes} changes a run, {args.voices} voices")
    for busy in (False, True):
        for _ in range(args.runs):
            spinner = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                       if busy else None)
            try:
                with running_jackd(period=256) as server:
                    env = {**os.environ, "JACK_DEFAULT_SERVER": server, "PYO_GUI_WX": "0"}
                    done = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                          timeout=300)
            finally:
                if spinner is not None:
                    spinner.kill()
            lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
            if not lines:
                print(f"{'busy' if busy else 'idle'}: failed: {done.stderr[-300:]}")
                continue
            r = json.loads(lines[-1])
            print(f"{'busy' if busy else 'idle'}: {r['rewinds']} rewinds, {r['late']} late "
                  f"({r['late_samples']} samples, at {r['late_at_s']} s), "
                  f"{r['underruns']} underruns; a rewind took {r['took_ms']} ms (median, 90%)",
                  flush=True)


if __name__ == "__main__":
    main()
