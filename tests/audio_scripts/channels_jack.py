"""Play a sound round a ring of 6 speakers live through JACK; print a JSON line when ready.

Usage: channels_jack.py SECONDS. The engine's JACK client is called lc-ring, with 6 output
ports (output_1 .. output_6). One track plays ``bell`` six times a cycle, each at the next
speaker (pan 0, 1/6, 2/6 ...), at tempo 0.5 (one every 1/3 s). Run by tests/test_channels.py.
"""

from __future__ import annotations

import json
import sys
import time

from latentcode.session import Session

PIECE = """tempo 0.5
t1 $ "bell*6" # pan "0 0.16667 0.33333 0.5 0.66667 0.83333" # legato 0.4 # noise 0 # gain 0.8
"""


def main() -> int:
    seconds = float(sys.argv[1])
    session = Session(tracks=1, channels=6)
    session.eval(PIECE)
    session.start("jack", jack_client="lc-ring")
    print(json.dumps({"ready": True, "channels": session.engine.channels}), flush=True)
    time.sleep(seconds)
    stats = {"underruns": session.engine.stats.underruns}
    session.stop()
    print(json.dumps({"stats": stats, "messages": list(session.messages)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
