"""Play a steady track live through JACK, then throw a heavy or stuck track at it.

Usage: breaker_jack.py CASE [SECONDS]. Track t1 plays short bells four a cycle, alone on the
right channel, the whole time; after 2 s the case starts on the left:

- ``stuck``: t2's query never returns (a Python loop that spins forever);
- ``slow``: every query of t2 spins for 15 ms of CPU (more than half a block);
- ``line``: ``t2 $ "<bell bell*1e12>"``, the issue's line (if the evaluator accepts it);
- ``heavy``: ``t3 $ "bell*4000"`` (``"bell*20000"`` is now refused by the evaluator's cap);
- ``pile``: ``t2 $ "bell*8" # stretch 64`` for 10 s, then ``hush``;
- ``hush``: t2 stuck as in ``stuck``, then ``hush``, ``tempo 0.75``, ``panic`` and a new t2.

Prints {"ready": true} once its JACK client (lc-breaker) is up, then one JSON line with the
engine's stats, the messages, the voices sounding at marks, and the sample positions (engine
clock, the capture's start being about 0) of the marks. Run by tests/test_breaker.py and
benchmarks/breaker.py (figures); it runs against whatever latentcode is importable (the old
code too).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from latentcode.patterns.core import Pattern
from latentcode.session import Session

STEADY = 't1 $ "bell*4" # legato 0.3 # noise 0 # pan 1'


def spinning(seconds: float | None) -> Pattern:
    """A pattern whose every query spins (forever with None) before giving one bell a cycle."""
    from latentcode.language import mini

    bell = mini("bell").fmap(lambda v: {"sound": v, "pan": 0.0})

    def query(span):
        t0 = time.thread_time()
        while seconds is None or time.thread_time() - t0 < seconds:
            pass
        return bell.query_span(span)

    return Pattern(query)


def main() -> int:
    case = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
    session = Session(tracks=4)
    session.eval("tempo 0.5\n" + STEADY)
    session.start("jack", jack_client="lc-breaker")
    print(json.dumps({"ready": True}), flush=True)
    engine = session.engine
    marks: dict[str, int] = {}
    voices: dict[str, int] = {}

    def mark(name: str) -> None:
        marks[name] = engine.position
        voices[name] = len(session.live_scheduler.voices.voices)

    time.sleep(2.0)
    mark("start")
    if case in ("stuck", "hush"):
        session.play("t2", spinning(None), now=True)
    elif case == "slow":
        session.play("t2", spinning(0.015), now=True)
    elif case == "line":
        try:
            session.eval('t2 $ "<bell bell*1e12>" # pan 0')
        except Exception as e:  # noqa: BLE001 - refused at evaluation: say so
            marks["refused"] = 0
            session.messages.append(f"refused: {e}")
    elif case == "heavy":  # the most events a cycle the evaluator accepts (issue: bell*20000)
        session.eval('t3 $ "bell*4000" # pan 0')
    elif case == "pile":
        session.eval('t2 $ "bell*8" # stretch 64 # pan 0')
    if case == "pile":
        time.sleep(10.0)
        mark("before hush")
        session.eval("hush")
        time.sleep(1.5)
        mark("after hush")
        time.sleep(max(0.0, seconds - 13.5))
    elif case == "hush":
        time.sleep(1.0)
        mark("hush")
        session.eval("hush")
        time.sleep(1.0)
        mark("tempo")
        session.eval("tempo 0.75")
        time.sleep(1.0)
        mark("panic")
        session.eval("panic")
        time.sleep(0.5)
        mark("again")
        session.eval(STEADY)
        time.sleep(2.0)
    else:
        time.sleep(max(0.0, seconds - 2.0))
    mark("end")
    stats = dataclasses.asdict(engine.stats)
    scheduler = session.live_scheduler
    stolen = getattr(getattr(scheduler, "cap", None), "stolen", None)
    session.stop()
    print(json.dumps({"stats": stats, "messages": list(session.messages), "marks": marks,
                      "voices": voices, "stolen": stolen}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
