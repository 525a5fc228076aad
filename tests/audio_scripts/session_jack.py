"""Play a 4-track session live through JACK; print the engine's stats as JSON on stdout.

Usage: session_jack.py SECONDS. The JACK server comes from $JACK_DEFAULT_SERVER; the engine's
JACK client is called lc-session. Tracks 1-3 play on the left, track 4 (short bells, four a
cycle) alone on the right, so a listener can check the onsets of track 4 on the right channel.
Run by tests/test_realtime.py in a subprocess.

The piece is sized to take well under real time on the slowest host the tests have met (one
that renders the benchmark piece at 2.2x): track 2's bells stop with their events
(``legato 1``). Left to ring at ``stretch 2`` they overlapped 18 deep, and the producer took
0.84-0.91 of real time live, where CI runs had gaps; with them stopped, 0.68-0.76. What the
live engine can carry is measured in benchmarks/realtime.py, not here.

The sounds are encoded before the clock starts, as a performer's are before a set (a first use
while playing is encoded by the bank's helper process, whose CPU a 2-core host shares), and
the engine queues 8192 samples: a fresh-clone CI run with 4096 had gaps at a load of 0.84,
its slowest block at 265% of real time.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from latentcode.session import Session

PIECE = """
tempo 0.5
t1 $ "drone" # mix "voice" # alpha (slow 4 $ sine) # pan 0 # gain 0.5
t2 $ "bell(3,8)" # stretch 2 # legato 1 # pan 0 # gain 0.5
t3 $ "sine2/2" # stretch 8 # pan 0 # lpf 2000 # gain 0.5
t4 $ "bell*4" # legato 0.3 # noise 0 # pan 1
"""


def main() -> int:
    seconds = float(sys.argv[1])
    session = Session(tracks=4)
    for name in ("drone", "voice", "bell", "sine2"):
        session.bank.resolve(name)
    session.eval(PIECE)
    session.start("jack", jack_client="lc-session", lookahead=8192)
    print(json.dumps({"ready": True}), flush=True)
    t0, c0 = time.monotonic(), time.process_time()
    time.sleep(seconds)
    stats = dataclasses.asdict(session.engine.stats)
    cpu = (time.process_time() - c0) / (time.monotonic() - t0)
    session.stop()
    print(json.dumps({"stats": stats, "cpu": cpu, "messages": list(session.messages)}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
