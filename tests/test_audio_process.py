"""The live engine plays through an audio process of its own (latentcode/audio/player.py).

Each scenario runs in a subprocess (tests/audio_scripts/audio_process.py) on the "none"
backend, which the audio process paces in real time, and reports what a performer would see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from latentcode.audio.playout import GAPS_KEPT, latest_gaps
from latentcode.audio.ring import AudioRing
from latentcode.audio.shared import PipeWake, SharedArrays, Stamp
from latentcode.audio.stream import Strip

SCRIPT = Path(__file__).parent / "audio_scripts" / "audio_process.py"


def run(mode: str) -> dict:
    done = subprocess.run([sys.executable, str(SCRIPT), mode], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYO_GUI_WX="0"))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads([ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1])


def test_the_audio_plays_on_while_the_performers_process_holds_its_lock():
    """Before, pyo's callback needed the performer's interpreter lock: a C call that held it
    for 0.75 s stopped the clock for all of it (it advanced 0.0 s). Now the audio process
    plays on, from what is queued."""
    out = run("gil")
    assert out["audio_pid"] != out["pid"]
    assert out["held"] > 0.5
    assert out["advanced"] > 0.9 * out["elapsed"], out
    assert out["underruns"] == 0


def test_a_dead_audio_process_is_reported_and_started_again():
    out = run("kill")
    assert out["restarts"] == 1
    assert out["new_pid"] != out["audio_pid"]
    assert any("the audio process stopped" in m and "signal 9" in m for m in out["messages"])
    assert out["after"] > 0.3  # the clock runs again: the new process plays


def test_a_stuck_audio_process_is_ended_and_started_again():
    """Alive but playing nothing (stopped, here): after STALL_SECONDS without a buffer the
    engine ends it and starts another; before, a stuck audio process stayed silent."""
    out = run("stuck")
    assert out["restarts"] == 1
    assert any("played nothing for 2 s" in m for m in out["messages"]), out["messages"]
    assert out["after"] > 0.3
    assert _gone(out["audio_pid"])


def test_a_restarted_audio_process_takes_up_the_track_effects_where_they_stood():
    """A low-pass sent once, with the first block, must still filter after a restart. Before,
    a restarted audio process played every track open until its next voice sent the controls
    again: clicks through a 400 Hz low-pass came back with their full band."""
    out = run("effects")
    assert out["restarts"] == 1
    assert out["before"] < 0.01, out  # the low-pass is on
    assert out["after"] < 2 * out["before"] + 0.001, out


def test_a_jack_server_that_stops_is_named_and_the_audio_comes_back_with_it():
    """jackd killed while playing: before, the engine said the audio process "played nothing"
    and tried to start it again, which cannot help. Now it names the server, waits, and plays
    again once a server of that name is back."""
    out = run("jack_gone")
    gone = [m for m in out["while_gone"] if "JACK server" in m]
    assert gone == [f"the JACK server '{out['server']}' has stopped: start it again, and the "
                    "audio goes on"], out["messages"]
    assert not any("starting it again" in m for m in out["while_gone"]), out["messages"]
    assert "the JACK server is back: starting the audio again" in out["messages"]
    assert out["after"] > 0.3, out  # the clock runs again


def test_a_jack_server_back_at_another_rate_is_refused_until_it_runs_at_the_sessions():
    """Back at 48 kHz, the audio would play 9% fast and sharp (it did, before): the performer
    is told once, nothing plays, and a server back at 44.1 kHz is played again."""
    out = run("jack_rate")
    rate = [m for m in out["messages"] if "48000 Hz" in m]
    assert rate == ["the audio could not be started again: the JACK server now runs at 48000 "
                    "Hz, not at the 44100 Hz the session plays: start it at 44100 Hz again"], \
        out["messages"]
    assert out["advanced"][0] == 0.0  # nothing plays at the wrong rate
    assert out["messages"].count("the audio plays again") == 1, out["messages"]
    assert not any("the audio process stopped" in m for m in out["messages"]), out["messages"]
    assert out["after"] > 0.3, out


def test_while_a_line_is_evaluated_the_producer_keeps_only_the_floor_queued():
    """Session.eval holds the producer (Engine.holding): it makes nothing while more than
    the lookahead's floor is queued, so the line has the core and an immediate change finds
    it between two calls; after the line, the queue is filled again. It never lets the queue
    run below the floor: a hold longer than the lookahead plays on without a gap."""
    out = run("hold")
    assert out["before"] >= out["lookahead"]
    assert out["held"] <= out["before"] - 0.45 * 44100, out  # nothing made for 0.5 s
    assert out["held"] >= out["floor"], out
    assert out["after"] >= out["lookahead"] - 2048, out  # filled again at once
    assert out["lowest"] >= out["floor_short"] - 512, out  # (a buffer read meanwhile)
    assert out["underruns"] == 0, out


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # a zombie waiting for its new parent has stopped


def test_the_audio_process_ends_when_the_performers_process_dies():
    out = run("orphan")
    deadline = time.monotonic() + 10
    while not _gone(out["audio_pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(out["audio_pid"])


def test_two_rings_over_shared_memory_carry_samples_and_payloads_in_order():
    """The producer's ring and the audio side's twin, as two processes have them: samples
    through the shared block, payloads (and an immediate change's edit) as messages."""
    block = SharedArrays({"ring": ((2, 16), "float32"), "pos": ((2,), "int64")})
    twin = SharedArrays(block.layout, fd=block.fd)
    sent: list[tuple] = []
    producer = AudioRing(2, 16, data=block["ring"], pos=block["pos"], send=sent.append)

    def receive() -> list[tuple]:
        got, sent[:] = list(sent), []
        return got

    audio = AudioRing(2, 16, data=twin["ring"], pos=twin["pos"], receive=receive)
    producer.push(np.ones((2, 4), np.float32), payload=(False, [(0, "lpf", 500.0)]))
    producer.push(np.full((2, 4), 2.0, np.float32), payload=(False, [(0, "lpf", 900.0),
                                                                      (1, "gain", 0.5)]))
    producer.edit(4, Strip(0))  # an immediate change on track 0 from sample 4
    outs = [np.zeros(6, np.float32), np.zeros(6, np.float32)]
    got, due = audio.pull(outs, 6)
    assert got == 6 and outs[0].tolist() == [1, 1, 1, 1, 2, 2]
    assert due == [(False, [(0, "lpf", 500.0)]), (False, [(1, "gain", 0.5)])]
    assert producer.read_pos == 6  # the position is shared


def test_a_stamp_is_read_whole_and_a_wake_crosses_a_pipe():
    stamp = Stamp(SharedArrays({"s": ((3,), "int64")})["s"])
    stamp.write(512, 99)
    assert stamp.read() == (512, 99)
    wake = PipeWake()
    assert not wake.wait(0.0)
    for _ in range(100_000):  # more than a pipe holds: set never blocks
        wake.set()
    assert wake.wait(0.0) and not wake.wait(0.0)
    wake.close()


def test_the_latest_gaps_come_back_oldest_first_once_the_ring_wrapped():
    gaps = np.zeros((GAPS_KEPT, 2), np.int64)
    for i in range(GAPS_KEPT + 3):
        gaps[i % GAPS_KEPT] = (i, 1)
    kept = latest_gaps(gaps, GAPS_KEPT + 3)
    assert len(kept) == GAPS_KEPT and kept[0] == (3, 1) and kept[-1] == (GAPS_KEPT + 2, 1)


def test_a_restarted_audio_side_gets_the_controls_of_the_blocks_still_queued():
    block = SharedArrays({"ring": ((1, 16), "float32"), "pos": ((2,), "int64")})
    sent: list[tuple] = []
    producer = AudioRing(1, 16, data=block["ring"], pos=block["pos"], send=sent.append)
    for i in range(3):
        producer.push(np.zeros((1, 4), np.float32), payload=(False, [(0, "lpf", 100.0 * i)]))
    block["pos"][1] = 4  # the first block was played, then the audio process died
    sent.clear()  # (what the dead one had been sent)
    fresh = AudioRing(1, 16, data=block["ring"], pos=block["pos"],
                      receive=lambda: [sent.pop(0) for _ in range(len(sent))])
    producer.resend()
    _got, due = fresh.pull([np.zeros(8, np.float32)], 8)
    assert due == [(False, [(0, "lpf", 100.0)]), (False, [(0, "lpf", 200.0)])]
