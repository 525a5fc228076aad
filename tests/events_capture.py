"""Listen to a live session's events out: audio, JACK MIDI and OSC, each against the clock.

Used by tests/test_events_out.py and benchmarks/control_out.py. :func:`play_and_listen` runs
``audio_scripts/events_out_jack.py`` on a JACK server while a JACK client of this process
captures its audio and receives its MIDI (each cycle's start noted as ``time.monotonic()``),
and two UDP listeners on 127.0.0.1 receive its OSC (bundles, and plain messages sent at the
heard time). Everything is on the loopback.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from jackd import listening

from latentcode.ports.events_out import NTP_EPOCH

SR = 44100
PERIOD = 256
SCRIPT = str(Path(__file__).parent / "audio_scripts" / "events_out_jack.py")


class Listener:
    """A UDP socket on 127.0.0.1 that keeps (arrival time.monotonic(), datagram)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.got: list[tuple[float, bytes]] = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._halt.is_set():
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                continue
            self.got.append((time.monotonic(), data))

    def wait_for(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self._halt.set()
        self._thread.join(timeout=2)
        self.sock.close()


def unbundle(data: bytes) -> tuple[float, bytes]:
    """(unix time of the time tag, the message) of a one-message bundle."""
    assert data[:8] == b"#bundle\0"
    (tag,) = struct.unpack(">Q", data[8:16])
    (size,) = struct.unpack(">i", data[16:20])
    return tag / (1 << 32) - NTP_EPOCH, data[20:20 + size]


def dead_port() -> int:
    """A UDP port on 127.0.0.1 that nobody listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@listening()
def play_and_listen(server: str, seconds: float, *extra: str) -> dict:
    """Play events_out_jack.py for ``seconds`` on JACK server ``server`` (``extra``: its last
    arguments); capture its audio, its MIDI and its OSC."""
    import jack

    bundles, heard = Listener(), Listener()
    dead = dead_port()
    client = jack.Client("lc-listen", servername=server, no_start_server=True)
    ins = [client.inports.register(f"in_{i}") for i in (1, 2)]
    midi_in = client.midi_inports.register("midi_in")
    audio = np.zeros((2, int(SR * (seconds + 20))), np.float32)
    cycles: list[tuple[int, float]] = []  # (capture position, time.monotonic() of it)
    notes: list[tuple[int, bytes]] = []  # (capture position, MIDI bytes)
    xruns: list[float] = []  # time.monotonic() of JACK's xruns
    state = {"pos": 0, "on": False}

    @client.set_xrun_callback
    def xrun(delay: float) -> None:
        xruns.append(time.monotonic())

    @client.set_process_callback
    def process(frames: int) -> None:
        pos = state["pos"]
        if not state["on"] or pos + frames > audio.shape[1]:
            return
        cycles.append((pos, time.monotonic() - client.frames_since_cycle_start / SR))
        audio[0, pos:pos + frames] = ins[0].get_array()
        audio[1, pos:pos + frames] = ins[1].get_array()
        for offset, data in midi_in.incoming_midi_events():
            notes.append((pos + offset, bytes(data)))
        state["pos"] = pos + frames

    env = dict(os.environ, JACK_DEFAULT_SERVER=server, PYO_GUI_WX="0")
    with client:
        state["on"] = True
        proc = subprocess.Popen(
            [sys.executable, SCRIPT, str(seconds), str(bundles.port), str(heard.port),
             str(dead), "lc-listen:midi_in", *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready = json.loads(proc.stdout.readline() or "{}")
            if ready.get("ready"):
                for src, dst in zip(client.get_ports("lc-events", is_output=True,
                                                     is_audio=True), ins, strict=False):
                    client.connect(src, dst)
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        state["on"] = False
    bundles.close()
    heard.close()
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    return {"returncode": proc.returncode, "stderr": err, "result": lines[-1] if lines else {},
            "audio": audio[:, :state["pos"]], "cycles": np.array(cycles), "notes": notes,
            "bundles": bundles.got, "heard": heard.got, "dead": dead, "xruns": xruns}



def capture_time(live: dict, position: np.ndarray) -> np.ndarray:
    """time.monotonic() at which capture positions were heard (from each JACK cycle's start)."""
    cycles = live["cycles"]
    k = np.searchsorted(cycles[:, 0], position, side="right") - 1
    return cycles[k, 1] + (position - cycles[k, 0]) / SR


def stalls(live: dict) -> np.ndarray:
    """When JACK stalled (an xrun, or a cycle that began over 1.5 periods after the last):
    then the sound really comes later than a time tag sent before it said."""
    cycles = live["cycles"]
    late = cycles[1:, 1][np.diff(cycles[:, 1]) > 1.5 * PERIOD / SR]
    return np.concatenate([late, live["xruns"]])


def clear_of_stalls(live: dict, t0: float, t1: float) -> bool:
    """Whether no stall happened from a bundle's sending (up to 0.25 s ahead) to ``t1``."""
    s = stalls(live)
    return not ((s > t0 - 0.25) & (s < t1 + 0.01)).any()


