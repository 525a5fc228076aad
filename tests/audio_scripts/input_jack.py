"""Play the audio input live through the model (``t1 $ "in"``), through JACK.

Usage: input_jack.py SECONDS [sample] [lookahead=SAMPLES] [match=0]. Starts a session with one
input channel (JACK client lc-input, its port lc-input:input_1) and the lookahead given, and
plays the input alone (no noise, on the left; with match=0, as the model decodes it). Prints
{"ready": true}, plays for SECONDS, then prints as JSON the engine's stats, the input's latency
as the session reports it, and its messages. With ``sample``, half a second after "ready" it
also records two cycles (2 s) of the input as ``riff`` and reports what the bank made of it:
its names and groups, where ``"riff"`` is heard when played on a beat, the saved files. Run by
tests/test_live_input.py and benchmarks/live_input.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time

import numpy as np

from latentcode.session import Session

CODE = 't1 $ "in" # noise 0 # pan 0 # match {match}'


def sampled(session: Session) -> dict:
    """What the bank made of the recording ``riff``: waits for it, then plays it on a beat."""
    deadline = time.monotonic() + 20
    while not any("sampled riff" in m for m in session.messages):
        if time.monotonic() > deadline:
            return {"names": [], "groups": [], "onset_ms": None, "saved": []}
        time.sleep(0.1)
    session.bank.resolve("riff")  # encoded (waiting here, not on the audio path)
    session.eval('t1 $ "riff" # noise 0')
    audio = np.abs(session.render_dry(1)).max(axis=0)
    loud = np.flatnonzero(audio > 0.1 * audio.max())
    folder = tempfile.mkdtemp()
    session.save_samples(folder)
    return {"names": session.bank.names(), "groups": list(session.bank.groups()),
            "onset_ms": 1000 * int(loud[0]) / 44100 if len(loud) else None,
            "saved": sorted(os.listdir(folder))}


def main() -> int:
    seconds = float(sys.argv[1])
    sampling = "sample" in sys.argv[2:]
    ahead = [int(a.split("=")[1]) for a in sys.argv[2:] if a.startswith("lookahead=")]
    match = "0" if "match=0" in sys.argv[2:] else "1"
    session = Session(tracks=2)
    session.start("jack", jack_client="lc-input", inputs=1,
                  **({"lookahead": ahead[0]} if ahead else {}))
    session.eval("tempo 1\n" + CODE.format(match=match))
    print(json.dumps({"ready": True}), flush=True)
    report = {}
    if sampling:
        time.sleep(0.5)
        session.sample("riff", 2)
    time.sleep(seconds)
    stats = dataclasses.asdict(session.engine.stats)  # the recording and its encoding included
    if sampling:
        report = sampled(session)
    latency = session.input_latency()
    live = session.live_input
    session.stop()
    print(json.dumps({"stats": stats, "latency": latency, "line": session.input_line(),
                      "encoded": live.encoded, "encode_seconds": live.encode_seconds,
                      "messages": list(session.messages), **report}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
