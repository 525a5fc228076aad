"""Play clicks live through JACK for a while; print the engine's stats as JSON on stdout.

Usage: live_jack.py SECONDS [--tracks N] [--period P] [--record PATH] [--panic-at SECONDS]
                    [--mute-at SAMPLE] [--slow SECONDS]
The JACK server comes from $JACK_DEFAULT_SERVER. Run by tests/test_engine.py in a subprocess.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from sources import Clicks  # noqa: E402

from latentcode.audio.engine import Engine  # noqa: E402


class MuteAt:
    """Wraps a source: returns gain 0 for all tracks with the block that starts at ``at``."""

    def __init__(self, inner: Clicks, at: int) -> None:
        self.inner, self.at, self.tracks = inner, at, inner.tracks

    def fill(self, out: np.ndarray, start: int) -> list[dict] | None:
        self.inner.fill(out, start)
        return [{"gain": 0.0}] * self.tracks if start == self.at else None


class Slow:
    """Wraps a source: every fill takes ``seconds`` longer."""

    def __init__(self, inner: Clicks, seconds: float) -> None:
        self.inner, self.seconds, self.tracks = inner, seconds, inner.tracks

    def fill(self, out: np.ndarray, start: int) -> list[dict] | None:
        time.sleep(self.seconds)
        return self.inner.fill(out, start)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("seconds", type=float)
    ap.add_argument("--tracks", type=int, default=4)
    ap.add_argument("--period", type=int, default=11025)
    ap.add_argument("--buffersize", type=int, default=256)
    ap.add_argument("--lookahead", type=int, default=4096)
    ap.add_argument("--record")
    ap.add_argument("--panic-at", type=float)
    ap.add_argument("--mute-at", type=int, help="gain 0 on every track from this block start")
    ap.add_argument("--slow", type=float, help="seconds each fill sleeps (a too-slow decoder)")
    args = ap.parse_args()
    engine = Engine("jack", tracks=args.tracks, buffersize=args.buffersize,
                    lookahead=args.lookahead, jack_client="lc-engine")
    print(json.dumps({"ready": True, "sr": engine.sample_rate, "buffersize": engine.buffersize}),
          flush=True)
    source = Clicks(tracks=args.tracks, period=args.period)
    if args.mute_at is not None:
        source = MuteAt(source, args.mute_at)
    if args.slow is not None:
        source = Slow(source, args.slow)
    if args.record:
        engine.record(args.record)
    t0, c0 = time.monotonic(), time.process_time()
    engine.start(source)
    if args.panic_at is not None:
        time.sleep(args.panic_at)
        engine.panic()
        time.sleep(args.seconds - args.panic_at)
    else:
        time.sleep(args.seconds)
    stats = engine.stats
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    engine.stop_record()
    engine.close()
    messages = []
    while not engine.messages.empty():
        messages.append(engine.messages.get())
    print(json.dumps({"stats": dataclasses.asdict(stats), "cpu": cpu / wall,
                      "messages": messages}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
