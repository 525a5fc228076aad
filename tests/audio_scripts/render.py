"""Render named scenarios offline (one pyo server after another in this process).

Usage: render.py OUTDIR SCENARIO... — writes OUTDIR/SCENARIO.wav for each and prints one JSON
line per scenario: {"scenario", "messages", "stats", "seconds"}. Run by tests/test_engine.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from sources import Clicks, Failing, Noise, NonFinite, Sweep  # noqa: E402

from latentcode.audio import offline  # noqa: E402
from latentcode.audio.engine import Engine  # noqa: E402

SR = 44100
RENDER_BUFFER = offline.render_buffer
SCENARIOS = {
    # name: (source factory, frames, engine options)
    "clicks": (lambda: Clicks(tracks=4, period=11025), 3 * SR, {"tracks": 4}),
    "clicks8fx": (lambda: Clicks(tracks=8, period=5000, controls=[
        {"lpf": 3000 + 1000 * t, "hpf": 50, "room": 0.3, "delay": 0.2} for t in range(8)]),
        3 * SR, {"tracks": 8}),
    "nonfinite": (lambda: NonFinite(tracks=2, period=4410), 2 * SR, {"tracks": 2}),
    "failing": (lambda: Failing(fail_from=SR // 2, fail_to=SR, tracks=2, period=4410),
                2 * SR, {"tracks": 2}),
    "noise_open": (lambda: Noise(), SR, {"tracks": 1}),
    "noise_lpf": (lambda: Noise({"lpf": 500}), SR, {"tracks": 1}),
    "noise_hpf": (lambda: Noise({"hpf": 5000}), SR, {"tracks": 1}),
    "noise_mute": (lambda: Noise({"gain": 0}), SR, {"tracks": 1}),
    "burst_dry": (lambda: Clicks(tracks=1, period=SR, until=1), 2 * SR, {"tracks": 1}),
    "burst_room": (lambda: Clicks(tracks=1, period=SR, until=1, controls=[{"room": 0.8}]),
                   2 * SR, {"tracks": 1}),
    "burst_delay": (lambda: Clicks(tracks=1, period=SR, until=1, controls=[{"delay": 0.8}]),
                    2 * SR, {"tracks": 1}),
    "bad_controls": (lambda: Clicks(tracks=1, period=SR // 4, controls=[
        {"lpf": float("nan"), "wobble": 3, "room": "lots"}]), SR, {"tracks": 1}),
    # computed in whole blocks (the render's way) and buffer by buffer (the period's)
    "sweep": (Sweep, 3 * SR, {"tracks": 2}),
    "sweep_by_period": (Sweep, 3 * SR, {"tracks": 2, "by_period": True}),
}


def by_period(block: int, buffersize: int) -> int:
    """A render's buffer as live: the period (``buffersize``), whatever the block."""
    return buffersize


def main() -> int:
    outdir, names = sys.argv[1], sys.argv[2:]
    for name in names:
        factory, frames, options = SCENARIOS[name]
        options = dict(options)
        offline.render_buffer = (by_period if options.pop("by_period", False)
                                 else RENDER_BUFFER)
        engine = Engine("offline", **options)
        t0 = time.perf_counter()
        engine.render(factory(), frames, os.path.join(outdir, f"{name}.wav"))
        seconds = time.perf_counter() - t0
        messages = []
        while not engine.messages.empty():
            messages.append(engine.messages.get())
        print(json.dumps({"scenario": name, "messages": messages, "seconds": seconds,
                          "stats": dataclasses.asdict(engine.stats)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
