"""Boot an engine, play briefly, then exit; the test checks the exit status (no segfault).

Usage: exit_check.py MODE — MODE is "live-close" (close() then exit), "live-forget" (exit
without close(): the atexit hook must shut pyo down safely), "live-panic" (panic, stop, start
again, close), "none" (the device-less backend, paced by the engine), or "offline" (two
renders, then exit). The JACK server comes from
$JACK_DEFAULT_SERVER.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

from sources import Clicks  # noqa: E402

from latentcode.audio.engine import Engine  # noqa: E402


def main() -> int:
    mode = sys.argv[1]
    if mode == "offline":
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(2):
                Engine("offline", tracks=2).render(Clicks(tracks=2, period=4410), 22050,
                                                   os.path.join(tmp, f"{i}.wav"))
        return 0
    engine = Engine("none" if mode == "none" else "jack", tracks=2, jack_client="lc-exit")
    engine.start(Clicks(tracks=2, period=4410))
    time.sleep(0.4)
    if mode == "none":  # no device: the engine's own pacer plays in real time
        assert 0.3 * 44100 < engine.position < 0.6 * 44100, engine.position
    if mode == "live-panic":
        engine.panic()
        time.sleep(0.2)
        engine.stop()
        engine.start(Clicks(tracks=2, period=4410))
        time.sleep(0.3)
        assert engine.stats.dropped > 0, engine.stats
    if mode != "live-forget":
        engine.close()
        engine.close()  # idempotent
    print("exiting", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
