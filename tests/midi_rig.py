"""Play a latentcode script with a performer's hands: MIDI events written on a JACK MIDI port and
OSC /ctrl messages sent to 127.0.0.1, each at a chosen position of the capture, while the
script's audio output is captured (a listener's view, as tests/jack_capture.py).

One JACK client does both, so the position a MIDI event is written at and the position its
sound is heard at are counted on the same clock: the difference is the latency, to the sample
(give or take the JACK period in which the script's own client reads the event).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np
from jackd import listening

from latentcode.ports.osc_codec import message

SR = 44100


@dataclass
class Played:
    audio: np.ndarray  # (2, n) what the script played, from the capture's position 0
    midi_sent: list[tuple[int, bytes]] = field(default_factory=list)  # (position, bytes)
    osc_sent: list[tuple[int, str, float]] = field(default_factory=list)  # (position, name, v)
    ready: dict = field(default_factory=dict)  # the script's first JSON line
    result: dict = field(default_factory=dict)  # its last JSON line
    xruns: list[int] = field(default_factory=list)
    returncode: int = 0
    stderr: str = ""


@listening()
def play_with_hands(server: str, script: str, args: list[str], *, source: str,
                    midi: list[tuple[int, bytes]] = (), osc: list[tuple[int, str, float]] = (),
                    seconds: float = 20, timeout: float = 120,
                    env: dict | None = None) -> Played:
    """Run ``script`` (it prints a JSON line with "ready", "midi" (its input port) and "osc"
    (its OSC port) once playing), capture JACK client ``source``'s output, and send ``midi``
    and ``osc`` at their capture positions (samples)."""
    import jack

    client = jack.Client("lc-midi-rig", servername=server, no_start_server=True)
    ins = [client.inports.register(f"in_{i}") for i in (1, 2)]
    out = client.midi_outports.register("out")
    buf = np.zeros((2, int(SR * seconds)), np.float32)
    events = sorted(midi)
    state = {"pos": 0, "on": False, "next": 0}
    played = Played(buf[:, :0])

    @client.set_process_callback
    def process(frames: int) -> None:
        out.clear_buffer()
        if not state["on"]:
            return
        pos = state["pos"]
        if pos + frames <= buf.shape[1]:
            buf[0, pos:pos + frames] = ins[0].get_array()
            buf[1, pos:pos + frames] = ins[1].get_array()
        i = state["next"]
        while i < len(events) and events[i][0] < pos + frames:
            offset = max(0, events[i][0] - pos)
            out.write_midi_event(offset, events[i][1])
            played.midi_sent.append((pos + offset, events[i][1]))
            i += 1
        state["next"] = i
        state["pos"] = pos + frames

    @client.set_xrun_callback
    def xrun(delay: float) -> None:
        played.xruns.append(state["pos"])

    env = dict(os.environ, JACK_DEFAULT_SERVER=server, PYO_GUI_WX="0", **(env or {}))
    with client, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        proc = subprocess.Popen([sys.executable, script, *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            played.ready = json.loads(proc.stdout.readline() or "{}")
            if not played.ready.get("ready"):
                proc.kill()
                played.returncode, played.stderr = proc.wait(), proc.stderr.read()
                return played
            for src, dst in zip(client.get_ports(source, is_output=True, is_audio=True), ins,
                                strict=False):
                client.connect(src, dst)
            client.connect(out, played.ready["midi"])
            state["on"] = True
            for at, name, value in sorted(osc):
                while state["pos"] < at and proc.poll() is None:
                    time.sleep(0.001)
                udp.sendto(message("/ctrl", name, float(value)),
                           ("127.0.0.1", played.ready["osc"]))
                played.osc_sent.append((state["pos"], name, float(value)))
            stdout, played.stderr = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        state["on"] = False
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    played.result = lines[-1] if lines else {}
    played.returncode = proc.returncode
    played.audio = buf[:, :min(state["pos"], buf.shape[1])].copy()
    return played


def balance(audio: np.ndarray, begin: int, end: int) -> float:
    """Right's share of the energy in samples [begin, end): 0 all left, 1 all right."""
    left, right = (float(np.sum(audio[c, begin:end].astype(np.float64) ** 2)) for c in (0, 1))
    return right / (left + right) if left + right > 0 else float("nan")


def cc(number: int, value: int, channel: int = 1) -> bytes:
    return bytes([0xB0 | (channel - 1), number, value])


def note_on(note: int, velocity: int = 127, channel: int = 1) -> bytes:
    return bytes([0x90 | (channel - 1), note, velocity])
