"""Benchmark the stage: per-track outputs and stems, MIDI clock jitter, Link phase error.

Each figure idle, then with a competing process busy on one core
(``python -c "while True: pass"``), through a private jackd (dummy driver, period 256,
real-time scheduling where allowed):

- **outputs**: an 8-track piece played live for SECONDS in stereo, on a ring of 8 and of 32
  speakers (``--channels``), and with per-track outputs (``--outputs tracks``: 20 channels);
  the producer's load, ring underruns and the player's CPU; and the offline render of 8 cycles
  of the same piece in stereo, with stems, and on 8 and 32 channels (seconds of audio per
  second);
- **MIDI clock**: the ticks of ``:send clock`` received by a JACK MIDI client while a session
  plays (tests/events_capture.py): spacing against 918.75 samples (120 bpm), judged between
  JACK stalls;
- **Link**: two players in a private network namespace (tests/link_rig.py) for LINK seconds:
  how far apart their onsets are heard, and the phase error each measured against Link.

    python benchmarks/stage.py                     # about 5 minutes
    python benchmarks/stage.py --seconds 10 --link 60
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

PIECE = "tempo 0.5\n" + "\n".join(
    f't{i} $ "{s}" # gain 0.12 # pan {i / 8:.3f}' + (" # room 0.2" if i % 2 else " # delay 0.2")
    for i, s in enumerate(["bell*4", "drone", "pluck(3,8)", "voice", "hit*2", "sine2/2",
                           "noise*4", "glass(5,8)"], 1))


def player(outputs: str, seconds: float) -> int:
    """Play PIECE through JACK with ``outputs`` (master, tracks, or ring:N for N channels);
    print its stats as JSON."""
    from latentcode.session import Session

    channels = int(outputs.partition(":")[2] or 2)
    session = Session(tracks=8, channels=channels)
    session.eval(PIECE)
    session.start("jack", jack_client="lc-stage",
                  outputs="tracks" if outputs == "tracks" else "master")
    t0, c0 = time.monotonic(), time.process_time()
    time.sleep(seconds)
    cpu = (time.process_time() - c0) / (time.monotonic() - t0)
    stats = session.engine.stats
    print(json.dumps({"load": stats.producer_load, "peak": stats.producer_load_peak,
                      "underruns": stats.underruns, "cpu": cpu,
                      "channels": session.engine.channels}), flush=True)
    session.stop()
    return 0


def outputs_figures(seconds: float, label: str) -> None:
    import os

    from jackd import running_jackd

    with running_jackd(period=256, realtime=True) as server:
        env = dict(os.environ, JACK_DEFAULT_SERVER=server, PYO_GUI_WX="0")
        for outputs in ("master", "ring:8", "ring:32", "tracks"):
            done = subprocess.run([sys.executable, __file__, "--player", outputs,
                                   str(seconds)], env=env, capture_output=True, text=True)
            lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
            if not lines:
                print(f"{label}: the player failed: {done.stderr[-800:]}")
                continue
            r = json.loads(lines[-1])
            print(f"{label:<5} outputs {outputs:<7} {r['channels']:>2} channels: producer load "
                  f"{r['load']:.3f} (worst block {r['peak']:.2f}), underruns "
                  f"{r['underruns']}, player CPU {r['cpu']:.2f} cores")
    from latentcode.session import Session

    with tempfile.TemporaryDirectory() as d:
        for channels, stems in ((2, None), (2, Path(d) / "stems"), (8, None), (32, None)):
            session = Session(tracks=8, channels=channels)
            session.eval(PIECE)
            audio = session.samples_for(8) / session.model.sample_rate
            t0 = time.perf_counter()
            session.render(8, Path(d) / "mix.wav", stems=stems)
            took = time.perf_counter() - t0
            what = f"{channels} channels" + (" with stems" if stems else "")
            print(f"{label:<5} offline render of {audio:.0f} s, {what:<22}: {took:.1f} s "
                  f"({audio / took:.1f}x real time)")


def clock_figures(seconds: float, label: str) -> None:
    from events_capture import capture_time, clear_of_stalls, play_and_listen
    from jackd import running_jackd

    with running_jackd(period=256, realtime=True) as server:
        live = play_and_listen(server, seconds, "clock")
    ticks = np.array([p for p, data in live["notes"] if data == b"\xf8"])
    if len(ticks) < 2:
        print(f"{label}: no MIDI clock received ({live['stderr'][-500:]})")
        return
    times = capture_time(live, ticks)
    spacing = np.array([b - a for a, b, ta, tb in zip(ticks, ticks[1:], times, times[1:],
                                                      strict=False)
                        if clear_of_stalls(live, ta, tb)])
    dev = np.abs(spacing - 918.75) / 44.1
    print(f"{label:<5} MIDI clock: {len(ticks)} ticks in {seconds:g} s, {len(spacing)} "
          f"spacings judged; |jitter| median {np.median(dev):.3f} ms, p95 "
          f"{np.percentile(dev, 95):.3f} ms, max {dev.max():.3f} ms; JACK xruns "
          f"{len(live['xruns'])}")


def link_figures(seconds: float, label: str) -> None:
    if shutil.which("unshare") is None:
        print(f"{label}: no unshare: Link is measured only in a private network namespace")
        return
    done = subprocess.run(["unshare", "--net", sys.executable, str(ROOT / "tests" /
                           "link_rig.py"), str(seconds)], capture_output=True, text=True,
                          timeout=seconds + 200)
    if done.returncode != 0:
        print(f"{label}: the Link rig failed: {done.stderr[-800:]}")
        return
    played = json.loads(done.stdout.strip().splitlines()[-1])
    a, b = (np.array(x) for x in played["onsets"])
    b = b[b > 2 * 44100]  # B plays its own tempo until it has heard Link
    offsets = np.array([abs(a[np.argmin(np.abs(a - t))] - t) for t in b]) / 44.1
    errors = [abs(np.array(p["result"].get("errors", []))) * 1000 for p in played["players"]]
    print(f"{label:<5} Link over {seconds:g} s: {len(b)} onsets of B (JACK xruns "
          f"{len(played['xruns'])}); A's onset - B's |offset| median {np.median(offsets):.2f} "
          f"ms, p95 {np.percentile(offsets, 95):.2f} ms, max {offsets.max():.2f} ms, within a "
          f"period (5.8 ms) {np.mean(offsets <= 256 / 44.1) * 100:.0f}%; each player's last "
          f"phase errors vs Link, median "
          + ", ".join(f"{np.median(e):.2f} ms" for e in errors if len(e))
          + "; jumps " + ", ".join(str(p["result"].get("jumps")) for p in played["players"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--link", type=float, default=60.0, help="seconds of the Link run")
    parser.add_argument("--player", nargs=2, metavar=("OUTPUTS", "SECONDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.player:
        return player(args.player[0], float(args.player[1]))
    for label in ("idle", "busy"):
        busy = None
        if label == "busy":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            outputs_figures(args.seconds, label)
            clock_figures(args.seconds, label)
            link_figures(args.link, label)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
