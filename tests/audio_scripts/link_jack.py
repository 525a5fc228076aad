"""One latentcode player in an Ableton Link session, playing through JACK.

Usage: link_jack.py CLIENT TEMPO SECONDS. Plays ``bell*4`` on the right (sharp onsets, four a
cycle) at TEMPO cycles a second, joins Link (quantum 4) and prints a JSON line with "ready";
after SECONDS, one with what Link said (the most peers seen, bpm, the last phase errors,
jumps) and the
engine's underruns. Run by tests/link_rig.py, inside a network namespace of its own.
"""

from __future__ import annotations

import json
import sys
import time

from latentcode.session import Session


def main() -> int:
    client, tempo, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    session = Session(tracks=1)
    session.eval(f'tempo {tempo}\nt1 $ "bell*4" # legato 0.3 # noise 0 # pan 1')
    session.start("jack", jack_client=client)
    said = session.start_link(quantum=4)
    print(json.dumps({"ready": True, "said": said}), flush=True)
    link, peers, end = session.link, 0, time.monotonic() + seconds
    while time.monotonic() < end:  # the most peers seen (the other may leave first)
        peers = max(peers, link.peers)
        time.sleep(0.25)
    result = {"peers": peers, "bpm": link.bpm, "jumps": link.jumps,
              "errors": [e for _, e in link.errors[-100:]],
              "underruns": session.engine.stats.underruns, "messages": list(session.messages),
              "cps": float(session.live_scheduler.clock.cps)}
    session.stop()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
