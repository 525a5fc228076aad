"""What pyo's graph costs once its tracks fall silent: numbers too small to be normal.

1. Offline, the graph alone (8 track slots, 4 of them fed noise with room and delay, then
   zeros), microseconds to compute 1,024 samples while they sound and over the following
   minute, computed as an offline render does (flushed to zero: latentcode.audio.denormals)
   and without the flushing.
2. Live, through a private jackd (dummy driver, period 256): four tracks of ``hit`` with room
   and delay play for 5 s, then ``hush``; the audio process's CPU share (1.0 = a core) in each
   10 s of the minute after. ``--load 1`` keeps another process busy on one core.

    python benchmarks/tails.py [--seconds 60] [--load 1] [--offline-only]
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

PIECE = "\n".join(f't{i} $ "hit*4" # room 0.4 # delay 0.3 # gain 0.5' for i in range(1, 5))


def offline(seconds: float, flush: bool) -> list[float]:
    """us per 1,024 samples: while 4 tracks sound, then in each sixth of ``seconds`` after."""
    from latentcode.audio.denormals import Around
    from latentcode.audio.graph import Graph

    bs, sr = 1024, 44100
    with Graph("offline", tracks=8, sr=sr, buffersize=bs) as graph:
        mixer, server = graph.mixer, graph.server
        for t in range(4):
            mixer.set(t, "room", 0.4, glide=False)
            mixer.set(t, "delay", 0.3, glide=False)
            mixer.wake(t)
        server.start()
        around = Around() if flush else None
        noise = np.random.default_rng(0).standard_normal((8, bs)).astype(np.float32) * 0.1

        def run(buffers: int, fed: bool) -> float:
            for i, view in enumerate(mixer.views):
                view[:] = noise[i] if fed and i < 8 else 0.0
            t0 = time.perf_counter()
            for _ in range(buffers):
                if around is not None:
                    around.on()
                server.process()
                if around is not None:
                    around.off()
            return (time.perf_counter() - t0) / buffers * 1e6

        part = max(1, round(seconds * sr / bs / 6))
        return [run(200, True)] + [run(part, False) for _ in range(6)]


def live(seconds: float) -> list[float]:
    """The audio process's CPU share in each 10 s after the tracks stop (in this process)."""
    from latentcode.session import Session

    session = Session()
    session.eval(PIECE)
    session.render_dry(1)
    session.start("jack", buffersize=256, jack_client="lc-tails")
    time.sleep(5)
    session.eval("hush")
    pid, shares = session.engine.audio_pid, []
    for _ in range(int(seconds // 10)):
        c0, t0 = _cpu(pid), time.monotonic()
        time.sleep(10)
        shares.append((_cpu(pid) - c0) / (time.monotonic() - t0))
    session.stop()
    return shares


def _cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="of silence measured (60)")
    ap.add_argument("--load", type=int, default=0, help="other processes kept busy")
    ap.add_argument("--offline-only", action="store_true")
    ap.add_argument("--live", action="store_true", help=argparse.SUPPRESS)  # the live process
    args = ap.parse_args()
    if args.live:
        print(json.dumps(live(args.seconds)))
        return
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.load)]
    try:
        print(f"{args.load} other busy process(es)")
        print("offline, us per 1,024 samples: sounding, then each sixth of the silence")
        for flush in (False, True):
            cost = offline(args.seconds, flush)
            print(f"  {'flushed' if flush else 'not flushed':12}"
                  + " ".join(f"{c:8.0f}" for c in cost), flush=True)
        if args.offline_only:
            return
        from jackd import running_jackd

        with running_jackd(period=256) as server:
            env = {**os.environ, "JACK_DEFAULT_SERVER": server, "PYO_GUI_WX": "0"}
            done = subprocess.run([sys.executable, __file__, "--live", "--seconds",
                                   str(args.seconds)], env=env, capture_output=True,
                                  text=True, timeout=args.seconds + 120)
        lines = [x for x in done.stdout.splitlines() if x.startswith("[")]
        if not lines:
            print(f"live: failed: {done.stderr[-500:]}")
            return
        shares = json.loads(lines[-1])
        print("live, the audio process's CPU share in each 10 s after hush:",
              " ".join(f"{s:.3f}" for s in shares))
    finally:
        for p in busy:
            p.kill()


if __name__ == "__main__":
    main()
