"""Play one track live through JACK and send its events out as OSC and JACK MIDI.

Usage: events_out_jack.py SECONDS BUNDLE_PORT HEARD_PORT DEAD_PORT MIDI_PORT [WORD...].
The destinations are set with the REPL's own ``:send`` commands; DEAD_PORT is one nobody
listens on. Words: ``dense`` plays 64 events a second on 4 tracks (benchmarks/control_out.py),
``off`` sends nothing (the same piece, for comparison), ``clock`` also sends MIDI clock on the
MIDI port (``:send clock``). The JACK
server comes from $JACK_DEFAULT_SERVER; the engine's client is lc-events. Prints a JSON line
with "ready" once playing, then one with the engine's stats, the messages, the clock offset
between time.time() and time.monotonic(), and what :send says. Run by tests/test_events_out.py.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from latentcode.session import Session
from latentcode.shell.commands import Commands
from latentcode.shell.frontends import Evaluator

PIECE = """tempo 0.5
t1 $ "bell*8" # legato 0.3 # noise 0 # pan 1 # gain 0.8
"""
# 64 events a second: t1 alone on the right, where its onsets can be heard apart
DENSE = """tempo 1
t1 $ "bell*4" # legato 0.3 # noise 0 # pan 1 # gain 0.8
t2 $ "bell*20" # legato 0.5 # pan 0 # gain 0.3
t3 $ "drone*20" # legato 0.5 # pan 0 # gain 0.3
t4 $ "voice*20" # legato 0.5 # pan 0 # gain 0.3
"""


def main() -> int:
    seconds = float(sys.argv[1])
    bundle_port, heard_port, dead_port, midi_port = sys.argv[2:6]
    words = sys.argv[6:]
    piece = DENSE if "dense" in words else PIECE
    said: list[str] = []
    session = Session(tracks=4)
    session.eval(piece)
    commands = Commands(session, Evaluator(session, said.append), said.append)
    if "off" not in words:
        for line in (f":send osc {bundle_port}", f":send osc 127.0.0.1:{heard_port} heard",
                     f":send osc localhost:{dead_port}", f":send midi {midi_port}"):
            commands.run(line)
    if "clock" in words:
        commands.run(":send clock")
    session.start("jack", jack_client="lc-events")
    print(json.dumps({"ready": True}), flush=True)
    t0, c0 = time.monotonic(), time.process_time()
    time.sleep(seconds)
    cpu = (time.process_time() - c0) / (time.monotonic() - t0)
    commands.run(":send")
    stats = dataclasses.asdict(session.engine.stats)
    out = session.events_out
    counts = {"dropped": out.dropped, "late": out.late,
              "osc": {str(port): [o.sent, o.failed] for (_, port), o in out.osc.items()},
              "midi": [out.midi.sent, out.midi.late] if out.midi else None}
    session.stop()
    session.events_out.close()
    print(json.dumps({"stats": stats, "messages": list(session.messages), "said": said,
                      "counts": counts, "wall_minus_monotonic": time.time() - time.monotonic(),
                      "piece": piece, "cpu": cpu}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
