"""Play a session live through JACK with MIDI in (a JACK MIDI port) and the OSC port open.

Usage: midi_jack.py SECONDS. The JACK server comes from $JACK_DEFAULT_SERVER; the engine's JACK
client is lc-midi-session. Prints a JSON line {"ready", "midi": the MIDI input port, "osc": the
OSC port, "note_latency": samples from the sample heard to a note's onset}, plays SECONDS, then
prints the engine's stats. Run by tests/test_midi_live.py and benchmarks/control.py.

Track 1, a drone, is panned by CC 10 and silenced by CC 7; track 2, a drone, is panned and
levelled by OSC /ctrl pan and /ctrl level (silent until level arrives); track 3 plays a hit on
each note-on 36. PIECE may be replaced by the file named in $LC_PIECE, the engine's
lookahead (4096 samples) by $LC_LOOKAHEAD.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

from latentcode.session import Session
from latentcode.session.live import change_lead
from latentcode.shell.osc import OscServer

PIECE = """
t1 $ "drone" # pan (cc 10) # gain (initially 1 $ cc 7)
t2 $ "drone" # pan (ctrl "pan") # gain (ctrl "level")
t3 $ on 36 $ "hit" # pan 0.5
"""


def main() -> int:
    seconds = float(sys.argv[1])
    piece = Path(os.environ["LC_PIECE"]).read_text() if os.environ.get("LC_PIECE") else PIECE
    session = Session(tracks=max(1, sum(1 for line in piece.splitlines() if line.strip())))
    session.eval(piece)
    session.start("jack", jack_client="lc-midi-session",
                  lookahead=int(os.environ.get("LC_LOOKAHEAD", "4096")))
    session.start_midi("jack")
    osc = OscServer(0, lambda code: None, lambda line: None).start()
    engine = session.engine
    print(json.dumps({"ready": True, "midi": session.midi.name, "osc": osc.port,
                      "note_latency": change_lead(engine),
                      "latency": engine.latency}), flush=True)
    time.sleep(seconds)
    stats = dataclasses.asdict(engine.stats)
    received = session.midi.received
    osc.close()
    session.stop()
    print(json.dumps({"stats": stats, "midi_received": received, "osc_dropped": osc.dropped,
                      "messages": list(session.messages)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
