"""Benchmark the audio engine alone (a trivial source, so decoding is not measured).

Live: for each JACK period (256, 128) a private jackd (dummy driver) runs; for each lookahead
(1024, 2048, 4096) the engine plays 8 tracks with filters, reverb and delay for SECONDS in a
child process, while this process watches JACK's xruns with its own client. Reported: ring
underruns (the engine's own gaps), JACK xruns (any client late, including for reasons outside
the engine), CPU share of the engine process (process_time / wall; 1.0 = one core) and producer
load. Offline: render speed of the same graph, in multiples of real time.

    python benchmarks/engine.py            # 30 s per live configuration (about 3.5 minutes)
    python benchmarks/engine.py --seconds 5 --periods 256 --lookaheads 4096
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the jackd launcher the tests use

TRACKS = 8


class Tones:
    """8 tracks of steady tones from a precomputed table; controls open every effect."""

    def __init__(self, tracks: int = TRACKS, sr: int = 44100) -> None:
        self.tracks = tracks
        t = np.arange(sr, dtype=np.float64) / sr  # one second, 1 Hz-periodic: loops cleanly
        freqs = 110 * (1 + np.arange(tracks))
        self.table = (0.05 * np.sin(2 * np.pi * freqs[:, None] * t)).astype(np.float32)
        self.sr = sr
        self.controls = [{"lpf": 2000 + 500 * i, "hpf": 80, "room": 0.3, "delay": 0.2}
                         for i in range(tracks)]

    def fill(self, out: np.ndarray, start: int) -> list[dict] | None:
        n = out.shape[2]
        idx = (start + np.arange(n)) % self.sr
        out[:, 0] = self.table[:, idx]
        out[:, 1] = out[:, 0]
        return self.controls if start == 0 else None


def child(seconds: float, buffersize: int, lookahead: int) -> None:
    """Play live for ``seconds``; print stats as JSON."""
    from latentcode.audio.engine import Engine

    engine = Engine("jack", tracks=TRACKS, buffersize=buffersize, lookahead=lookahead,
                    jack_client="lc-bench")
    wall0, cpu0 = time.monotonic(), time.process_time()
    engine.start(Tones(sr=engine.sample_rate))
    time.sleep(seconds)
    stats = engine.stats
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    engine.close()
    print(json.dumps({"stats": dataclasses.asdict(stats), "cpu": cpu / wall,
                      "buffersize": engine.buffersize}), flush=True)


def live(seconds: float, period: int, lookahead: int, server: str) -> dict:
    """One live configuration in a child process; JACK xruns counted from here."""
    import jack

    xruns = []
    watcher = jack.Client("lc-xrun-watch", servername=server, no_start_server=True)
    watcher.set_xrun_callback(lambda delay: xruns.append(delay))
    with watcher:
        env = dict(os.environ, JACK_DEFAULT_SERVER=server, PYO_GUI_WX="0")
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(seconds), str(period), str(lookahead)],
            env=env, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise SystemExit(f"engine child failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["xruns"] = len(xruns)
    return result


def idle(seconds: float, server: str) -> int:
    """JACK xruns over ``seconds`` with only the watcher connected: the machine's own share."""
    import jack

    xruns = []
    watcher = jack.Client("lc-xrun-watch", servername=server, no_start_server=True)
    watcher.set_xrun_callback(lambda delay: xruns.append(delay))
    with watcher:
        time.sleep(seconds)
    return len(xruns)


def offline(seconds: float) -> float:
    """Render ``seconds`` of the 8-track source; return the speed in multiples of real time."""
    from latentcode.audio.engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        Engine("offline", tracks=TRACKS).render(Tones(), 44100, Path(tmp) / "warm.wav")
        t0 = time.perf_counter()
        Engine("offline", tracks=TRACKS).render(Tones(), int(seconds * 44100),
                                                Path(tmp) / "bench.wav")
        return seconds / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--periods", type=int, nargs="+", default=[256, 128])
    ap.add_argument("--lookaheads", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--offline-seconds", type=float, default=60.0)
    ap.add_argument("--realtime", action="store_true", help="jackd -R -P 70 (where allowed)")
    ap.add_argument("--baseline", action="store_true",
                    help="also count JACK xruns with no engine running (the machine's share)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(float(args.child[0]), int(args.child[1]), int(args.child[2]))
        return 0

    from jackd import running_jackd

    print(f"engine benchmark: {TRACKS} tracks, filters + reverb + delay, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    mode = "real-time" if args.realtime else "not real-time"
    print(f"\nlive through jackd (dummy driver, 44.1 kHz, {mode}), {args.seconds:g} s each")
    header = (f"{'period':>6} {'lookahead':>9} {'underruns':>9} {'jack xruns':>10} "
              f"{'cpu':>6} {'load':>7} {'peak':>7} {'latency ms':>10}")
    print(header)
    print("-" * len(header))
    for period in args.periods:
        with running_jackd(period=period, realtime=args.realtime) as server:
            if args.baseline:
                print(f"{period:>6} {'no engine':>9} {'':>9} {idle(args.seconds, server):>10}",
                      flush=True)
            for lookahead in args.lookaheads:
                r = live(args.seconds, period, lookahead, server)
                s = r["stats"]
                latency = (lookahead + 1024 + 2 * period) / 44.1 + 5.0
                print(f"{r['buffersize']:>6} {lookahead:>9} {s['underruns']:>9} "
                      f"{r['xruns']:>10} {r['cpu']:>6.1%} {s['producer_load']:>7.2%} "
                      f"{s['producer_load_peak']:>7.1%} {latency:>10.1f}", flush=True)
    speed = offline(args.offline_seconds)
    print(f"\noffline render, {args.offline_seconds:g} s of audio: {speed:.0f}x real time")
    print("\ncpu: engine process time / wall (1.0 = one core); load: time in fill / audio time;"
          "\npeak: worst single block; latency: lookahead + block + JACK periods + limiter")
    return 0


if __name__ == "__main__":
    sys.exit(main())
