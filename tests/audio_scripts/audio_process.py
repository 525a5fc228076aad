"""The live engine's audio process, tried as a performer's machine would try it.

Usage: audio_process.py MODE, printing one JSON line of figures:

- "gil": play, then hold this process's interpreter lock for most of a second (a sort of a
  long list: one C call that never lets the lock go), and report how far the clock went;
- "kill": play, kill the audio process, and report what the engine said and did after;
- "orphan": play, print the audio process's pid, then die without closing anything;
- "stuck": play, stop the audio process (SIGSTOP: alive, but playing nothing), and report what
  the engine said and did after;
- "effects": play clicks through a low-pass set once, at the start; record a second, kill the
  audio process, record a second after its restart, and report each take's share of energy
  above 3 kHz;
- "jack_gone": play through a JACK server of its own (dummy driver), kill the server, start it
  again under the same name, and report what the engine said and whether the clock runs;
- "hold": play with a second of lookahead, then report what is queued before, at the end
  of, and after half a second of ``Engine.holding`` (a line being evaluated); then, with
  0.2 s of lookahead, the least queued during a hold of 0.6 s;
- "jack_rate": the same, but the server comes back at 48 kHz first (the session plays at
  44.1), then, killed again, at 44.1 kHz.

The "none" backend (no device, paced by the audio process) needs no server.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import numpy as np
import soundfile

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))

from jackd import jackd_path, wait_for_server  # noqa: E402
from sources import Clicks  # noqa: E402

from latentcode.audio.engine import Engine  # noqa: E402
from latentcode.audio.player import STALL_SECONDS  # noqa: E402

SR = 44100


def hold_the_lock(seconds: float) -> float:
    """Keep the GIL for about ``seconds``: sort lists (C code that never releases it) under a
    long switch interval; returns how long it was held."""
    sys.setswitchinterval(30.0)
    numbers = [random.random() for _ in range(400_000)]
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        sorted(numbers)
    held = time.monotonic() - t0
    sys.setswitchinterval(0.005)
    return held


def high_share(path: str) -> float:
    """The share of a take's energy above 3 kHz."""
    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    spectrum = np.abs(np.fft.rfft(audio[:, 0])) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / sr)
    return float(spectrum[freqs > 3000].sum() / max(spectrum.sum(), 1e-30))


def take(engine: Engine, path: str, seconds: float = 1.0) -> float:
    engine.record(path)
    time.sleep(seconds)
    engine.stop_record()
    return high_share(path)


def jack_gone(rates: tuple[int, ...] = (SR,)) -> dict:
    """Play through a private jackd, kill it, start it again at each of ``rates`` in turn;
    what the performer saw."""
    name = f"lc-test-{uuid.uuid4().hex[:8]}"

    def jackd(rate: int) -> subprocess.Popen:
        return subprocess.Popen([jackd_path(), "-n", name, "-r", "-d", "dummy", "-r", str(rate),
                                 "-p", "256", "-C", "2", "-P", "2"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    servers = [jackd(SR)]
    said: list[str] = []
    try:
        assert wait_for_server(name), "jackd did not start"
        engine = Engine("jack", tracks=2, lookahead=4096, jack_client="lc-gone",
                        jack_server=name, on_message=said.append)
        engine.start(Clicks(tracks=2, period=4410))
        time.sleep(0.5)
        out: dict = {"server": name, "advanced": []}
        for rate in rates:
            servers[-1].kill()
            servers[-1].wait()
            time.sleep(STALL_SECONDS + 1.5)
            out.setdefault("while_gone", list(said))
            servers.append(jackd(rate))
            assert wait_for_server(name), "jackd did not start again"
            time.sleep(3.0)
            p0 = engine.position
            time.sleep(0.5)
            out["advanced"].append((engine.position - p0) / SR)
        out.update(messages=said, after=out["advanced"][-1], restarts=engine.audio_restarts)
        engine.close()
        return out
    finally:  # a server that ends cleanly leaves no entry in JACK's registry of servers (a
        # killed one does, until one of its name starts again; after 8, none can start)
        for server in servers:
            server.terminate()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def main() -> int:
    mode = sys.argv[1]
    if mode in ("jack_gone", "jack_rate"):
        rates = (SR,) if mode == "jack_gone" else (48000, SR)
        print(json.dumps(jack_gone(rates)), flush=True)
        return 0
    said: list[str] = []
    engine = Engine("none", tracks=2, lookahead=48000, on_message=said.append)
    # "effects": each track's low-pass, sent once with the first block and never again
    controls = [{"lpf": 400.0}, {"lpf": 400.0}] if mode == "effects" else None
    engine.start(Clicks(tracks=2, period=4410, controls=controls))
    time.sleep(0.5)
    out: dict = {"pid": os.getpid(), "audio_pid": engine.audio_pid}
    if mode == "gil":
        p0, t0 = engine.position, time.monotonic()
        out["held"] = hold_the_lock(0.6)
        p1, t1 = engine.position, time.monotonic()
        out.update(advanced=(p1 - p0) / SR, elapsed=t1 - t0)
        time.sleep(0.3)
        out["underruns"] = engine.stats.underruns
    elif mode in ("kill", "stuck"):
        os.kill(engine.audio_pid, signal.SIGKILL if mode == "kill" else signal.SIGSTOP)
        time.sleep(3.0 if mode == "kill" else 5.0)
        p0 = engine.position
        time.sleep(0.5)
        out.update(after=(engine.position - p0) / SR, restarts=engine.audio_restarts,
                   new_pid=engine.audio_pid, messages=said)
    elif mode == "effects":
        with tempfile.TemporaryDirectory() as tmp:
            before = take(engine, os.path.join(tmp, "before.wav"))
            os.kill(engine.audio_pid, signal.SIGKILL)
            time.sleep(3.0)
            after = take(engine, os.path.join(tmp, "after.wav"))
        out.update(before=before, after=after, restarts=engine.audio_restarts)
    elif mode == "hold":
        engine.set_lookahead(44100)
        time.sleep(1.5)
        ring = engine._stream.ring
        out["before"] = ring.available()
        with engine.holding():
            out["floor"] = engine.lookahead_floor
            time.sleep(0.5)
            out["held"] = ring.available()
        time.sleep(0.3)
        out.update(after=ring.available(), lookahead=44100)
        engine.set_lookahead(8820)  # then a hold longer than what is queued
        time.sleep(0.5)
        lowest = ring.available()
        with engine.holding():
            out["floor_short"] = engine.lookahead_floor
            t0 = time.monotonic()
            while time.monotonic() - t0 < 0.6:
                lowest = min(lowest, ring.available())
                time.sleep(0.002)
        out.update(lowest=lowest, underruns=engine.stats.underruns)
    elif mode == "orphan":
        print(json.dumps(out), flush=True)
        os._exit(0)  # no close, no atexit: the audio process must notice by itself
    engine.close()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
