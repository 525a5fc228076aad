"""Benchmark events out: what sending 64 events a second costs, and how well they are timed.

Live, through a private jackd (dummy driver, period 256): a session plays 64 events a second on
4 tracks (tests/audio_scripts/events_out_jack.py, piece ``dense``) for SECONDS, once sending
nothing and once sending every event as OSC bundles, as plain OSC at the heard time, to a port
nobody listens on, and as JACK MIDI notes; idle, then with a competing process busy on one
core (``python -c "while True: pass"``). Printed per run: the producer's load (mean and worst
block, 1.0 = real time), ring underruns, the player's CPU share; with sending, the events'
timing against their heard time: bundle time tags against the onsets captured from JACK,
plain messages' arrival, MIDI note-ons' frames. Also the cost of one event in the producer
(the scheduler hook only queues) and in the sender thread (encoding and sending).

    python benchmarks/control_out.py                 # 10 s per run, about a minute
    python benchmarks/control_out.py --seconds 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the jackd launcher and the listeners the tests use


def per_event_costs(n: int = 20000) -> tuple[float, float]:
    """Microseconds per event: the producer's hook, and the sender's work for one OSC bundle."""
    from events_capture import Listener

    from latentcode.patterns.core import Event
    from latentcode.patterns.time import Span
    from latentcode.ports.events_out import EventsOut

    class Track:
        name, slot = "t1", 0

    span = Span(Fraction(0), Fraction(1, 64))
    event = Event(span, span, {"sound": "bell:2", "gain": 0.8, "pan": 0.3, "legato": 0.5},
                  ((2, 7, 13),))
    listener = Listener()
    out = EventsOut()
    out.command(f"osc {listener.port}")
    try:
        t0 = time.perf_counter()
        for k in range(n):
            out.event(Track(), event, k, 689)
            if len(out.queue) > 512:
                out.queue.clear()
        hook = (time.perf_counter() - t0) / n * 1e6
        out.queue.clear()
        from latentcode.ports.events_out import HeardClock

        out.clock = HeardClock(lambda: (0, time.monotonic()), 44100)
        t0 = time.perf_counter()
        for k in range(n):
            out._prepare(Track(), event, k, 689)
        sender = (time.perf_counter() - t0) / n * 1e6
    finally:
        out.close()
        listener.close()
    return hook, sender


def timing(live: dict) -> dict[str, tuple[float, float, float, int]]:
    """(median, 95th percentile, max of |error| in ms, count) per kind of event out."""
    from events_capture import capture_time, clear_of_stalls, unbundle

    from latentcode.audio.analysis import onsets

    offset = time.time() - time.monotonic()
    bundles = [(unbundle(d)[0] - offset, unbundle(d)[1]) for _, d in live["bundles"]]
    tags = np.array([t for t, _ in bundles])
    out = {}
    # t1 alone on the right: its onsets, against the nearest time tag
    found = capture_time(live, onsets(live["audio"][1], threshold=1e-3, gap=4000))
    errors = [t - tags[np.argmin(np.abs(tags - t))] for t in found
              if clear_of_stalls(live, t, t)]
    out["time tag vs onset heard"] = errors
    by_content = dict((m, t) for t, m in bundles)
    out["plain message arrival"] = [a - by_content[d] for a, d in live["heard"]
                                    if d in by_content]
    positions = np.array([p for p, data in live["notes"] if data[0] >> 4 == 0x9])
    times = capture_time(live, positions) if len(positions) else np.array([])
    out["MIDI note-on vs time tag"] = [t - tags[np.argmin(np.abs(tags - t))] for t in times
                                       if clear_of_stalls(live, t, t)]
    summary = {}
    for name, values in out.items():
        ms = np.abs(np.array(values)) * 1000
        summary[name] = ((float(np.median(ms)), float(np.percentile(ms, 95)), float(ms.max()),
                          len(ms)) if len(ms) else (np.nan, np.nan, np.nan, 0))
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    from events_capture import play_and_listen
    from jackd import running_jackd

    hook, sender = per_event_costs()
    print(f"per event: producer hook {hook:.2f} us (queue only); sender {sender:.1f} us "
          f"(encode + bundle + sendto); at 64 events/s: {64 * hook / 1e3:.3f} ms/s in the "
          f"producer, {64 * sender / 1e3:.2f} ms/s in the sender")
    for load in ("idle", "busy"):
        busy = None
        if load == "busy":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            with running_jackd(period=256, realtime=True) as server:
                for sending in (False, True):
                    extra = ("dense",) if sending else ("dense", "off")
                    live = play_and_listen(server, args.seconds, *extra)
                    result = live["result"]
                    if live["returncode"] != 0 or not result:
                        print(f"{load}: the player failed: {live['stderr'][-1500:]}")
                        continue
                    stats = result["stats"]
                    events = len(live["bundles"]) / args.seconds if sending else 0
                    print(f"\n{load:<5} {'sending' if sending else 'silent ':<8}"
                          f" producer load {stats['producer_load']:.3f} (worst block "
                          f"{stats['producer_load_peak']:.2f}), underruns {stats['underruns']},"
                          f" player CPU {result['cpu']:.2f} cores, JACK xruns "
                          f"{len(live['xruns'])}"
                          + (f", {events:.1f} events/s out"
                             if sending else ""))
                    if sending:
                        counts = result["counts"]
                        print(f"      dropped {counts['dropped']}, MIDI notes "
                              f"{counts['midi'][0]} ({counts['midi'][1]} late), OSC per "
                              f"destination [sent, failed]: {counts['osc']}")
                        for name, (med, p95, worst, n) in timing(live).items():
                            print(f"      {name:<26} |error| median {med:6.2f} ms, p95 "
                                  f"{p95:6.2f} ms, max {worst:6.2f} ms ({n} events)")
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
