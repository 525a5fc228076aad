"""Controllers: how soon a knob is heard, and what many knobs cost; then events out.

1. Latency, live through a private JACK server (dummy driver): a JACK MIDI client writes CC 10
   steps (0 <-> 127, every half second) into a session playing ``"drone" # pan (cc 10)`` and
   captures its output; the latency of a step is from the sample the event was written at to
   the sample where the drone's balance (the right's share of the energy, over 256 samples)
   crosses the middle on its way to the other side. ``pan`` is decoded into the voice: it moves
   after the audio queued. The same steps into ``"drone" # lpf (range 200 8000 $ cc 10)``, a
   track effect the audio side applies (it moves a rewind after the knob, nothing decoded
   again): to where the level above 1 kHz (about 35 dB apart) crosses the middle, in dB,
   between where it stood and where it goes. Then note-ons into ``on 36 $ "hit"``: from
   the sample each was written at to the hit's onset in the capture.
2. Cost, offline (the producer's own work, no audio device): 16 tracks of held drones whose
   ``pan`` reads one of 16 CCs that all move every block, against the same tracks with
   constant controls and with controls moved by signals (``slow 4 sine``); producer time per
   1024-sample block.

3. Events out: ``benchmarks/control_out.py`` (the cost of sending 64 events a second as OSC and
   MIDI, and their timing), run last unless ``--no-out``.

Each is measured idle and with a competing process busy on one core. Run:
``python benchmarks/control.py`` (about three minutes).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

SR = 44100
SCRIPT = str(Path(__file__).resolve().parent.parent / "tests" / "audio_scripts" / "midi_jack.py")


def busy() -> subprocess.Popen:
    """A process spinning on one core until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


# -- 1. latency ----------------------------------------------------------------------------------


def play_midi(piece: str, midi: list, seconds: float, lookahead: int):
    """Play ``piece`` live through a private jackd for ``seconds`` while a JACK MIDI client
    writes ``midi`` ((sample, bytes) pairs) into it; what was played and captured."""
    from jackd import running_jackd
    from midi_rig import play_with_hands

    with tempfile.NamedTemporaryFile("w", suffix=".lc", delete=False) as file:
        file.write(piece)
    with running_jackd(period=256, rate=SR, realtime=True) as server:
        played = play_with_hands(server, SCRIPT, [str(seconds)], source="lc-midi-session",
                                 midi=midi, seconds=seconds + 10,
                                 env={"LC_PIECE": file.name, "LC_LOOKAHEAD": str(lookahead)})
    Path(file.name).unlink()
    if not played.ready.get("ready"):
        raise SystemExit(f"the session did not start: {played.stderr[-2000:]}")
    return played


def knob_steps(piece: str, steps: int, lookahead: int):
    """``piece`` played while CC 10 jumps between 0 and 127 every half second from 1 s on."""
    from midi_rig import cc

    first, every = int(1.0 * SR), int(0.5 * SR)
    midi = [(int(0.3 * SR), cc(10, 0))]
    midi += [(first + k * every, cc(10, 127 if k % 2 == 0 else 0)) for k in range(steps)]
    return play_midi(piece, midi, (first + steps * every) / SR + 1.5, lookahead)


def cc_latency(steps: int = 20, lookahead: int = 4096) -> tuple[list[float], dict]:
    """Milliseconds from each CC step written to its change heard; and the script's ready line."""
    played = knob_steps('t1 $ "drone" # pan (cc 10)\n', steps, lookahead)
    hop = 64
    window = np.ones(256)
    energy = [np.convolve(c.astype(np.float64) ** 2, window, "same")[::hop]
              for c in played.audio]
    right = energy[1] / np.maximum(energy[0] + energy[1], 1e-12)
    out = []
    for at, data in played.midi_sent[1:]:
        after = right[at // hop:(at + int(0.45 * SR)) // hop]
        crossed = np.flatnonzero(after > 0.5) if data[2] == 127 else np.flatnonzero(after < 0.5)
        if crossed.size:
            out.append(float(crossed[0] * hop * 1000 / SR))
    return out, played.ready


def effect_latency(steps: int = 20, lookahead: int = 4096) -> tuple[list[float], dict]:
    """Milliseconds from each CC step written to a track filter's move heard (module doc)."""
    played = knob_steps('t1 $ "drone" # legato 1 # lpf (range 200 8000 $ cc 10)\n', steps,
                        lookahead)
    mono = played.audio.astype(np.float64).sum(axis=0)
    spectrum = np.fft.rfft(mono)
    spectrum[np.fft.rfftfreq(len(mono), 1 / SR) < 1000] = 0  # what the filter lets through
    top = np.fft.irfft(spectrum, len(mono))
    hop = 64
    level = 10 * np.log10(np.convolve(top**2, np.ones(256), "same")[::hop] + 1e-20)
    out = []
    for at, _data in played.midi_sent[1:]:
        a = at // hop
        before = np.median(level[a - int(0.1 * SR) // hop:a])
        settled = np.median(level[a + int(0.3 * SR) // hop:a + int(0.45 * SR) // hop])
        middle = (before + settled) / 2
        after = level[a:a + int(0.45 * SR) // hop]
        crossed = np.flatnonzero(after > middle if settled > before else after < middle)
        if crossed.size and abs(settled - before) > 10:  # (a move it can hear)
            out.append(float(crossed[0] * hop * 1000 / SR))
    return out, played.ready


def pad_latency(notes: int = 8, lookahead: int = 4096) -> tuple[list[float], dict]:
    """Milliseconds from each note-on 36 written to the onset of the hit it plays, heard (a
    pad, ``on 36 $ "hit"``, rewinds its track: docs/audio-engine.md); and the ready line."""
    from midi_rig import note_on

    from latentcode.audio.analysis import onsets

    first, every = int(1.0 * SR), int(0.6 * SR)
    midi = [(first + k * every, note_on(36)) for k in range(notes)]
    played = play_midi('t1 $ on 36 $ "hit"\n', midi, (first + notes * every) / SR + 1.0,
                       lookahead)
    heard = onsets(played.audio, threshold=0.01, gap=int(0.4 * SR))
    out = []
    for at, _ in played.midi_sent:
        after = heard[(heard >= at) & (heard < at + int(0.4 * SR))]
        if after.size:
            out.append(float((after[0] - at) * 1000 / SR))
    return out, played.ready


# -- 2. the cost of 16 controllers -------------------------------------------------------------


def producer_costs(blocks: int = 200, tracks: int = 16) -> dict[str, float]:
    """Median producer milliseconds per 1024-sample block for each kind of ``pan``: constant,
    moved by a signal, or read from one of 16 CCs that all move before every block. The kinds
    take turns block by block, so a load that comes and goes weighs on each alike."""
    from latentcode.patterns.controllers import CONTROLLERS
    from latentcode.playback.scheduler import LiveTime
    from latentcode.session import Session

    session = Session(tracks=tracks)
    controls = {"constant": "# pan 0.3", "signal": "# pan (slow 4 sine)", "cc": "# pan (cc {n})"}
    scheds = {}
    for kind, control in controls.items():
        session.eval("\n".join(f't{n} $ "drone" # gain 0.5 ' + control.format(n=n)
                               for n in range(tracks)))
        scheds[kind] = session.scheduler(snapshot=True)
    cc = scheds["cc"]
    CONTROLLERS.attach(LiveTime(cc, heard=lambda: cc.horizon, latency=lambda: 0))
    buf = np.zeros((tracks, 2, 1024), np.float32)
    times: dict[str, list[float]] = {k: [] for k in scheds}
    try:
        for b in range(blocks):
            for kind, sched in scheds.items():
                if kind == "cc":
                    for n in range(tracks):
                        CONTROLLERS.control_change(1, n, (b * 3 + n) % 128)
                buf[:] = 0
                t0 = time.perf_counter()
                sched.fill(buf, b * 1024)
                times[kind].append(time.perf_counter() - t0)
    finally:
        CONTROLLERS.attach(None)
        CONTROLLERS.clear()
        session.bank.close()
    return {k: statistics.median(v[20:]) * 1000 for k, v in times.items()}


def write_cost(n: int = 20000) -> float:
    """Microseconds for one CC to be written into the store (the MIDI thread's whole work)."""
    from latentcode.patterns.controllers import Controllers, FixedClock

    store = Controllers()
    store.attach(FixedClock(cycle=1.0))
    t0 = time.perf_counter()
    for i in range(n):
        store.control_change(1, i % 128, i % 128)
    return (time.perf_counter() - t0) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--blocks", type=int, default=200)
    parser.add_argument("--lookahead", type=int, default=4096,
                        help="the engine's lookahead in samples (:latency sets it live)")
    parser.add_argument("--skip-live", action="store_true", help="only the offline cost")
    parser.add_argument("--no-out", action="store_true", help="leave out events out")
    args = parser.parse_args()
    print(f"one CC written into the store: {write_cost():.1f} us")
    for load in ("idle", "one core busy"):
        spinner = busy() if load != "idle" else None
        try:
            if not args.skip_live:
                ms, ready = cc_latency(args.steps, args.lookahead)
                print(f"[{load}] CC to heard: median {statistics.median(ms):.1f} ms, "
                      f"max {max(ms):.1f} ms, min {min(ms):.1f} ms over {len(ms)} steps "
                      f"(lookahead {args.lookahead}: engine latency "
                      f"{ready['latency'] * 1000:.1f} ms)")
                ms, _ = effect_latency(args.steps, args.lookahead)
                print(f"[{load}] CC to a track filter heard: median {statistics.median(ms):.1f} "
                      f"ms, max {max(ms):.1f} ms, min {min(ms):.1f} ms over {len(ms)} steps")
                ms, ready = pad_latency(lookahead=args.lookahead)
                print(f"[{load}] pad (note-on) to heard: median {statistics.median(ms):.1f} ms, "
                      f"max {max(ms):.1f} ms, min {min(ms):.1f} ms over {len(ms)} notes (the "
                      f"session's note latency {ready['note_latency'] / SR * 1000:.1f} ms)")
            costs = producer_costs(args.blocks)
            budget = 1024 / SR * 1000
            print(f"[{load}] producer per 1024-sample block ({budget:.1f} ms of audio), 16 drones: "
                  + ", ".join(f"{k} {v:.2f} ms" for k, v in costs.items())
                  + f"; 16 CCs moving every block cost {costs['cc'] - costs['constant']:+.2f} ms"
                  f" ({(costs['cc'] / costs['constant'] - 1) * 100:+.0f}%)")
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    if not args.no_out:
        print("events out:", flush=True)
        return subprocess.run([sys.executable, str(Path(__file__).with_name("control_out.py"))],
                              check=False).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
