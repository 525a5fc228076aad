"""Play two tracks live through JACK with per-track outputs; print a JSON line when ready.

Usage: outputs_jack.py SECONDS FOLDER. The engine's JACK client is called lc-outputs; its ports
are master_L/R, t1_L/R, t2_L/R and reverb_L/R. t1 plays bells on the first half of each cycle,
t2 a drone on the second half. Meanwhile ``:record FOLDER/`` records stems for 4 seconds. Run by
tests/test_outputs.py in a subprocess.
"""

from __future__ import annotations

import json
import sys
import time

from latentcode.session import Session
from latentcode.shell.commands import Commands
from latentcode.shell.frontends import Evaluator

PIECE = """
tempo 0.5
t1 $ "bell ~" # legato 0.5 # gain 0.5
t2 $ "~ drone" # legato 0.5 # gain 0.5
"""


def main() -> int:
    seconds, folder = float(sys.argv[1]), sys.argv[2]
    said: list[str] = []
    session = Session(tracks=2)
    session.eval(PIECE)
    session.start("jack", jack_client="lc-outputs", outputs="tracks")
    commands = Commands(session, Evaluator(session, said.append), said.append)
    time.sleep(0.5)  # the ports are renamed after the tracks as they start
    print(json.dumps({"ready": True}), flush=True)
    commands.run(f":record {folder}/")
    time.sleep(4)
    commands.run(":stop")
    time.sleep(max(0.0, seconds - 4))
    for _ in range(100):  # the take is split in a thread of its own
        if any(line.startswith("wrote") for line in said):
            break
        time.sleep(0.1)
    stats = {"underruns": session.engine.stats.underruns}
    session.stop()
    print(json.dumps({"stats": stats, "messages": list(session.messages), "said": said}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
