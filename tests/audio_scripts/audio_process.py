"""The live engine's audio process, tried as a performer's machine would try it.

Usage: audio_process.py MODE, printing one JSON line of figures:

- "gil": play, then hold this process's interpreter lock for most of a second (a sort of a
  long list: one C call that never lets the lock go), and report how far the clock went;
- "kill": play, kill the audio process, and report what the engine said and did after;
- "orphan": play, print the audio process's pid, then die without closing anything;
- "stuck": play, stop the audio process (SIGSTOP: alive, but playing nothing), and report what
  the engine said and did after.

The "none" backend (no device, paced by the audio process) needs no server.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from sources import Clicks  # noqa: E402

from latentcode.audio.engine import Engine  # noqa: E402

SR = 44100


def hold_the_lock(seconds: float) -> float:
    """Keep the GIL for about ``seconds``: sort lists (C code that never releases it) under a
    long switch interval; returns how long it was held."""
    sys.setswitchinterval(30.0)
    numbers = [random.random() for _ in range(400_000)]
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        sorted(numbers)
    held = time.monotonic() - t0
    sys.setswitchinterval(0.005)
    return held


def main() -> int:
    mode = sys.argv[1]
    said: list[str] = []
    engine = Engine("none", tracks=2, lookahead=48000, on_message=said.append)
    engine.start(Clicks(tracks=2, period=4410))
    time.sleep(0.5)
    out: dict = {"pid": os.getpid(), "audio_pid": engine.audio_pid}
    if mode == "gil":
        p0, t0 = engine.position, time.monotonic()
        out["held"] = hold_the_lock(0.6)
        p1, t1 = engine.position, time.monotonic()
        out.update(advanced=(p1 - p0) / SR, elapsed=t1 - t0)
        time.sleep(0.3)
        out["underruns"] = engine.stats.underruns
    elif mode in ("kill", "stuck"):
        os.kill(engine.audio_pid, signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
        time.sleep(3.0 if mode == "kill" else 5.0)
        p0 = engine.position
        time.sleep(0.5)
        out.update(after=(engine.position - p0) / SR, restarts=engine.audio_restarts,
                   new_pid=engine.audio_pid, messages=said)
    elif mode == "orphan":
        print(json.dumps(out), flush=True)
        os._exit(0)  # no close, no atexit: the audio process must notice by itself
    engine.close()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
