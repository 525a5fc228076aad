"""MIDI and OSC controllers heard live, through a real JACK server (dummy driver).

One run of tests/audio_scripts/midi_jack.py (about 10 s) while this test's own JACK client
writes MIDI on the script's MIDI input and sends OSC /ctrl to 127.0.0.1, capturing what it
plays: a CC ramp pans a drone, two note-ons fire two hits a constant latency after they were
sent, an OSC ramp pans another drone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jackd import INSTALL_HINT, jackd_path, running_jackd
from midi_rig import SR, balance, cc, note_on, play_with_hands

from latentcode.audio.analysis import onsets

SCRIPT = str(Path(__file__).parent / "audio_scripts" / "midi_jack.py")
S = SR  # samples a second
CC_RAMP = (int(0.5 * S), int(2.5 * S))  # CC 10 from 0 to 127 in 128 steps
NOTES = (int(3.5 * S), int(4.7 * S))  # note-on 36, twice
OSC_RAMP = (int(6.0 * S), int(8.0 * S))  # /ctrl pan from 0 to 1 in 41 steps


def ramp_value(t: int, span: tuple[int, int]) -> float:
    return min(1.0, max(0.0, (t - span[0]) / (span[1] - span[0])))


@pytest.fixture(scope="module")
def played():
    if jackd_path() is None:
        pytest.fail(INSTALL_HINT)
    midi = [(int(0.2 * S), cc(7, 127)), (int(0.2 * S), cc(10, 0))]
    midi += [(CC_RAMP[0] + (CC_RAMP[1] - CC_RAMP[0]) * k // 127, cc(10, k)) for k in range(128)]
    # drone 1 falls silent for the notes (twice: an event in a period lost to a JACK xrun
    # is lost, as with any JACK client)
    midi += [(int(2.9 * S), cc(7, 0)), (int(3.0 * S), cc(7, 0))]
    midi += [(at, note_on(36)) for at in NOTES]
    osc = [(int(5.6 * S), "pan", 0.0), (int(5.6 * S), "level", 1.0)]
    osc += [(OSC_RAMP[0] + (OSC_RAMP[1] - OSC_RAMP[0]) * k // 40, "pan", k / 40)
            for k in range(41)]
    with running_jackd(period=256, rate=SR, realtime=True) as server:
        return play_with_hands(server, SCRIPT, ["10"], source="lc-midi-session", midi=midi,
                               osc=osc, seconds=30)


def test_the_session_played_and_heard_every_midi_event(played):
    assert played.returncode == 0 and played.ready.get("ready"), played.stderr[-3000:]
    assert played.audio.shape[1] > 8.5 * S, f"captured {played.audio.shape[1] / S:.1f} s"
    assert len(played.midi_sent) == 134
    lost = len(played.midi_sent) - played.result["midi_received"]
    # every event arrives, except around a JACK xrun, where one can be lost or read twice
    assert abs(lost) <= len(played.xruns), f"{lost} MIDI events lost, {len(played.xruns)} xruns"
    assert played.result["osc_dropped"] == 0
    # a loaded machine may gap the audio (the engine says so); nothing else may be said
    said = [m for m in played.result["messages"] if not m.startswith("audio gaps")]
    assert said == [], said
    assert np.all(np.isfinite(played.audio))


def windows(span: tuple[int, int], delay: int, size: int = S // 10) -> list[int]:
    return list(range(span[0] + delay, span[1] + delay - size, size))


def test_a_cc_ramp_pans_the_drone_along_with_it(played):
    """Equal-power pan: the right's share of the energy is sin²(pan·π/2) of the CC's value."""
    delay = int(played.ready["latency"] * S)
    starts = windows(CC_RAMP, delay)
    heard = np.array([balance(played.audio, t, t + S // 10) for t in starts])
    wanted = np.sin(np.array([ramp_value(t + S // 20 - delay, CC_RAMP) for t in starts])
                    * np.pi / 2) ** 2
    assert np.corrcoef(heard, wanted)[0, 1] > 0.9, np.round(heard, 2).tolist()
    assert heard[0] < 0.15 and heard[-1] > 0.85, np.round(heard, 2).tolist()
    assert np.mean(np.diff(heard) > -0.02) > 0.9, "the balance rises all along"


def test_two_note_ons_fire_two_hits_a_constant_latency_after_them(played):
    audio = played.audio[:, int(3.2 * S):int(5.5 * S)]
    found = onsets(audio, threshold=0.01, gap=int(0.6 * S)) + int(3.2 * S)
    assert len(found) == 2, f"onsets heard at {(found / S).round(3).tolist()} s"
    sent = [at for at, data in played.midi_sent if data[0] == 0x90]
    latency = found - np.array(sent)
    expected = played.ready["note_latency"]
    # from the sample heard when the note arrived: the queue, the limiter, JACK's periods
    assert all(expected - 512 <= d <= expected + 4096 for d in latency), latency.tolist()
    assert abs(latency[1] - latency[0]) <= 1024 + 256, f"jitter {latency.tolist()} samples"


def test_osc_ctrl_pans_the_other_drone(played):
    sent = played.osc_sent
    span = (next(at for at, name, v in sent if name == "pan" and v > 0),
            sent[-1][0])
    delay = int(played.ready["latency"] * S)
    starts = windows(span, delay)
    heard = np.array([balance(played.audio, t, t + S // 10) for t in starts])
    wanted = np.sin(np.array([ramp_value(t + S // 20 - delay, span) for t in starts])
                    * np.pi / 2) ** 2
    assert np.corrcoef(heard, wanted)[0, 1] > 0.9, np.round(heard, 2).tolist()
    assert heard[-1] > 0.85, np.round(heard, 2).tolist()


def test_midi_in_connects_by_glob_lists_its_sources_and_reads_events():
    """The JACK MIDI input alone, in this process: `:midi connect` by a glob, `:midi`'s lines,
    and a CC written by another client landing in the store."""
    import time

    import jack

    from latentcode.errors import LatentcodeError
    from latentcode.patterns.controllers import Controllers
    from latentcode.ports.midi_in import JackMidiIn

    if jackd_path() is None:
        pytest.fail(INSTALL_HINT)
    with running_jackd(period=256, rate=SR) as server:
        keys = jack.Client("lc-keys", servername=server, no_start_server=True)
        out = keys.midi_outports.register("out")
        pending: list[bytes] = []

        @keys.set_process_callback
        def process(frames: int) -> None:
            out.clear_buffer()
            if pending:
                out.write_midi_event(0, pending.pop())

        store = Controllers()
        with keys:
            midi = JackMidiIn(store, server=server)
            try:
                with pytest.raises(LatentcodeError, match="no JACK MIDI output matches"):
                    midi.connect("nothing:*")
                assert midi.connect("lc-keys:*") == ["lc-keys:out"]
                assert midi.connections() == ["lc-keys:out"]
                pending.append(cc(21, 127, channel=3))
                deadline = time.monotonic() + 5
                while store.read(("cc", 3, 21), 0, 0.0) != 1.0 and time.monotonic() < deadline:
                    time.sleep(0.01)
                lines, name = midi.describe(), midi.name
            finally:
                midi.close()
    assert store.read(("cc", 3, 21), 0, 0.0) == 1.0 and store.read(("cc", 1, 21), 0, 0.0) == 0
    assert lines[0].startswith(f"MIDI in: JACK port {name}, fed by lc-keys:out; 1 events")
    assert "lc-keys:out" in lines[1]
