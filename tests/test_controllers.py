"""Controllers coming in, offline: the store and its smoothing, the words cc/ctrl/initially/on,
MIDI bytes, OSC /ctrl on 127.0.0.1, :midi and :learn, and a CC ramp through the voice path."""

from __future__ import annotations

import math
import socket
import time
from fractions import Fraction as F

import numpy as np
import pytest
from pattern_helpers import lc

from latentcode.errors import LanguageError, LatentcodeError
from latentcode.patterns.controllers import (
    CONTROLLERS,
    MAX_NAMES,
    RAMP_SECONDS,
    Controllers,
    FixedClock,
)
from latentcode.ports.midi_in import deliver, open_midi_in, parse
from latentcode.shell.commands import Commands, controller_lines
from latentcode.shell.frontends import Evaluator, describe_error
from latentcode.shell.osc import OscServer, message


@pytest.fixture(autouse=True)
def clean_store():
    """The store is one per process: every test starts and ends with it empty, unclocked."""
    CONTROLLERS.clear()
    CONTROLLERS.attach(None)
    yield
    CONTROLLERS.clear()
    CONTROLLERS.attach(None)
    CONTROLLERS.ramp = RAMP_SECONDS


def first(pattern, t=0):
    return pattern.query(F(t), F(t) + 1)[0].value


# -- the store: smoothing -----------------------------------------------------------------------


def test_a_step_glides_over_the_ramp_and_never_jumps():
    store = Controllers()
    store.attach(FixedClock(cycle=4.0, cps=0.5))
    key = ("cc", 0, 1)
    store.set(key, 1.0)
    ramp = RAMP_SECONDS * 0.5  # cycles
    ts = np.linspace(3.99, 4.0 + 2 * ramp, 2001)
    reads = np.array([store.read(key, t, 0.0) for t in ts])
    assert reads[0] == 0.0 and reads[-1] == 1.0
    assert np.all(np.diff(reads) >= 0), "a glide only rises"
    step = (ts[1] - ts[0]) / ramp
    assert np.max(np.diff(reads)) <= step * 1.0001, "no jump larger than the ramp's slope"
    assert store.read(key, 4.0 + ramp / 2, 0.0) == pytest.approx(0.5)
    assert store.read(key, 4.0 + ramp, 0.0) == 1.0


def test_a_move_during_a_glide_starts_from_where_the_glide_is():
    store = Controllers()
    clock = FixedClock(cycle=10.0, cps=1.0)
    store.attach(clock)
    key = ("ctrl", "x")
    store.set(key, 0.0, at=9.0)
    store.set(key, 1.0)  # glides 10 -> 10.015
    clock.cycle = 10.0075  # half-way: 0.5
    store.set(key, 0.0)
    assert store.read(key, 10.0075, 0.0) == pytest.approx(0.5)
    ts = np.linspace(10.0, 10.03, 601)
    reads = np.array([store.read(key, t, 0.0) for t in ts])
    assert np.max(np.abs(np.diff(reads))) <= (ts[1] - ts[0]) / 0.015 * 1.0001
    assert reads[-1] == 0.0


def test_without_a_clock_a_move_is_at_once_and_the_first_glide_starts_at_the_default():
    store = Controllers()
    store.set(("cc", 0, 7), 0.25)
    assert store.read(("cc", 0, 7), -1e9, 0.9) == 0.25
    store2 = Controllers()
    store2.attach(FixedClock(cycle=1.0, cps=1.0))
    store2.set(("cc", 0, 7), 1.0)
    assert store2.read(("cc", 0, 7), 0.5, 0.8) == 0.8  # before the move: the reader's default
    assert store2.read(("cc", 0, 7), 1.0075, 0.8) == pytest.approx(0.9)


# -- the words ------------------------------------------------------------------------------


def test_an_unmoved_controller_reads_its_default():
    assert first(lc("cc 74")) == 0.0
    assert first(lc("initially 0.5 $ cc 74")) == 0.5
    assert first(lc('initially 3 $ ctrl "cutoff"')) == 3.0
    assert first(lc("range -2 2 $ initially 0.75 $ cc 1")) == pytest.approx(1.0)
    CONTROLLERS.control_change(1, 74, 127)
    assert first(lc("initially 0.5 $ cc 74")) == 1.0


def test_channels_filter_and_any_channel_hears_all():
    CONTROLLERS.control_change(2, 74, 127)
    assert first(lc("cc 74 2")) == 1.0
    assert first(lc("cc 74 3")) == 0.0
    assert first(lc("cc 74")) == 1.0
    CONTROLLERS.control_change(3, 74, 0)
    assert (first(lc("cc 74 2")), first(lc("cc 74 3")), first(lc("cc 74"))) == (1.0, 0.0, 0.0)


def test_ctrl_reads_what_was_sent_as_sent():
    assert CONTROLLERS.control("cutoff", 1200) is None
    assert first(lc('ctrl "cutoff"')) == 1200.0


def test_a_controller_moves_a_control_along_a_sounding_voice():
    value = lc('"drone" # pan (cc 10)').query(0, 1)[0].value["pan"]
    assert hasattr(value, "at") and float(value) == 0.0
    CONTROLLERS.control_change(1, 10, 127)
    assert value.at(F(1, 2)) == 1.0  # the voice reads the store again, frame by frame


@pytest.mark.parametrize(("code", "said"), [
    ("cc 200", "cc: the controller number must be from 0 to 127, not 200"),
    ("cc 74 17", "cc: the channel must be from 1 to 16"),
    ("cc 74 0", "cc: the channel must be from 1 to 16"),
    ("cc 74 2 3", "too many arguments: cc 74 2 takes no more"),
    ('cc 74 "<1 2>"', "cc: the channel must be a number"),
    ('ctrl "two words"', 'ctrl: give one name in quotes, e.g. ctrl "cutoff"'),
    (f'ctrl "{"x" * 40}"', "a name has at most 32"),
    ("initially 0.5 $ sine", "initially gives a controller its value before it moves"),
    ('on 128 $ "hit"', "on: the note must be from 0 to 127"),
])
def test_bad_controllers_are_refused_in_one_line_at_eval(code, said):
    with pytest.raises(LanguageError) as caught:
        lc(code)
    assert said in str(caught.value)
    assert "\n" not in str(caught.value) and "Traceback" not in describe_error(caught.value)


# -- notes -------------------------------------------------------------------------------------


def test_a_note_plays_one_cycle_from_its_start_with_velocity_as_gain():
    CONTROLLERS.attach(FixedClock(cycle=2.25))
    pattern = lc('on 36 $ "hit hit:1" # gain 0.8')
    assert pattern.query(0, 4) == []
    CONTROLLERS.note_on(10, 36, 127)
    CONTROLLERS.note_on(1, 38, 127)  # another note: not this pattern's
    got = [(e.whole.begin, e.value["sound"], e.value["gain"])
           for e in pattern.query(0, 4) if e.has_onset()]
    assert got == [(F(9, 4), "hit", pytest.approx(0.8)), (F(11, 4), "hit:1", pytest.approx(0.8))]
    CONTROLLERS.attach(FixedClock(cycle=3.0))
    CONTROLLERS.note_on(1, 36, 64)
    later = [(e.whole.begin, e.value["gain"]) for e in pattern.query(3, 4) if e.has_onset()]
    assert later == [(3, pytest.approx(0.8 * 64 / 127)), (F(7, 2), pytest.approx(0.8 * 64 / 127))]


def test_offline_no_note_triggers_anything():
    CONTROLLERS.note_on(1, 36, 100)  # no clock: nothing plays live
    assert lc('on 36 $ "hit"').query(0, 16) == []
    assert "36 (channel 1) velocity 100" in "\n".join(controller_lines())


# -- MIDI bytes --------------------------------------------------------------------------------


def test_midi_messages_parse_and_the_rest_is_ignored():
    assert parse(bytes([0xB0, 74, 64])) == ("cc", 1, 74, 64)
    assert parse(bytes([0x9F, 36, 100])) == ("on", 16, 36, 100)
    assert parse(bytes([0x90, 36, 0])) == ("off", 1, 36, 0)
    assert parse(bytes([0x80, 36, 10])) == ("off", 1, 36, 10)
    for other in ([0xE0, 0, 64], [0xC0, 5], [0xF8], [0xF0, 1, 2, 3, 0xF7], []):
        assert parse(bytes(other)) is None
    store = Controllers()
    assert deliver(store, bytes([0xB3, 1, 127]))
    assert not deliver(store, bytes([0xF8]))
    assert store.read(("cc", 4, 1), 0, 0.0) == 1.0 and store.read(("cc", 0, 1), 0, 0.0) == 1.0


# -- OSC /ctrl -----------------------------------------------------------------------------------


def test_osc_ctrl_on_localhost_sets_values_and_drops_bad_messages_counted():
    said = []
    server = OscServer(0, lambda code: None, said.append).start()
    bad = [
        message("/ctrl", "two words", 1.0),
        message("/ctrl", "x" * 40, 1.0),
        message("/ctrl", "cutoff", "loud"),
        message("/ctrl", "cutoff", math.nan),
        message("/ctrl", "cutoff", math.inf),
        message("/ctrl", "cutoff"),
        message("/ctrl", 3, 1.0),
        message("/ctrl", "\x1b]0;owned\x07", 1.0),
    ]
    try:
        assert server.sock.getsockname()[0] == "127.0.0.1"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for packet in bad:
                udp.sendto(packet, ("127.0.0.1", server.port))
            udp.sendto(message("/ctrl", "cutoff", 0.25), ("127.0.0.1", server.port))
            udp.sendto(message("/ctrl", "level", 3), ("127.0.0.1", server.port))
        deadline = time.monotonic() + 10
        while CONTROLLERS.sent.get(("ctrl", "level")) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.serving
    finally:
        server.close()
    assert first(lc('ctrl "cutoff"')) == 0.25 and first(lc('ctrl "level"')) == 3.0
    assert server.dropped == len(bad)
    assert said[0].startswith("osc: ignored /ctrl")
    assert not any("\x1b" in line or "\x07" in line for line in said)


def test_a_flood_of_new_names_is_refused_past_the_cap():
    for i in range(MAX_NAMES):
        assert CONTROLLERS.control(f"n{i}", i) is None
    assert "more than" in CONTROLLERS.control("one_more", 1)
    assert CONTROLLERS.control("n0", 5) is None  # a known name still moves


# -- :midi and :learn ----------------------------------------------------------------------------


class NoMidi:
    tracks, muted, soloed, engine, midi = {}, set(), set(), None, None
    midi_why = "no JACK MIDI: no JACK server is running (start jackd, or use --midi-in alsa)"

    def start_midi(self, kind, connect=None):
        raise LatentcodeError(self.midi_why)


def test_midi_without_jack_says_why_in_one_line(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "lc-test-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(LatentcodeError) as caught:
        open_midi_in("jack", Controllers())
    assert str(caught.value).startswith("no JACK MIDI:") and "\n" not in str(caught.value)
    said = []
    commands = Commands(NoMidi(), Evaluator(NoMidi(), said.append), said.append)
    commands.run(":midi")
    assert said == [f"no MIDI input: {NoMidi.midi_why}\nno controller has moved yet"]
    said.clear()
    commands.run(":midi connect a2j:*")  # tries to open the input first
    assert said == [f"no MIDI input: {NoMidi.midi_why}; playing on without it",
                    f"error: no MIDI input to connect to: {NoMidi.midi_why}"]
    said.clear()
    commands.run(":midi on")
    assert said == [f"no MIDI input: {NoMidi.midi_why}; playing on without it"]


def test_midi_lists_what_each_controller_last_sent():
    CONTROLLERS.control_change(1, 74, 127)
    CONTROLLERS.control("cutoff", 0.5)
    said = []
    Commands(NoMidi(), Evaluator(NoMidi(), said.append), said.append).run(":midi")
    assert "cc 74 1          1" in said[0] and 'ctrl "cutoff"    0.5' in said[0]


def test_learn_names_the_next_knob_that_moves():
    said = []
    commands = Commands(NoMidi(), Evaluator(NoMidi(), said.append), said.append)
    commands.run(":learn")
    assert said[0].startswith("learning: move a controller")
    CONTROLLERS.control_change(1, 21, 64)
    deadline = time.monotonic() + 5
    while len(said) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert said[1] == "learned: cc 21 (channel 1): write cc 21, or cc 21 1 for this channel only"


# -- through the voice path ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def session():
    from latentcode.session import Session

    s = Session(tracks=1)
    yield s
    s.bank.close()


def render_moves(session, seconds, moves, block=256):
    """Render like a live engine would: before each block, deliver the CC moves due in it
    (sample, number, value 0-127); moves glide from the first sample not yet made."""
    from latentcode.playback.scheduler import LiveTime

    sched = session.scheduler(snapshot=True)
    CONTROLLERS.attach(LiveTime(sched, heard=lambda: sched.horizon, latency=lambda: 0))
    total = int(seconds * session.model.sample_rate)
    out = np.zeros((2, total), np.float32)
    buf = np.zeros((session.slots, 2, block), np.float32)
    pending = list(moves)
    for start in range(0, total, block):
        while pending and pending[0][0] < start + block:
            _, number, value = pending.pop(0)
            CONTROLLERS.control_change(1, number, value)
        buf[:] = 0
        sched.fill(buf, start)
        n = min(block, total - start)
        out[:, start:start + n] = buf.sum(axis=0)[:, :n]
    CONTROLLERS.attach(None)
    return out


def test_a_cc_ramp_of_128_steps_sounds_like_the_smooth_ramp(session):
    """No zipper noise: 128 CC steps on the gain of a held tone leave, above 8 kHz, less than
    -70 dB of the smooth signal's energy in the difference (measured: about -93 dB)."""
    sr = session.model.sample_rate
    session.eval('t1 $ "sine2" # gain (cc 7)')
    stepped = render_moves(session, 4.0, [(int(4.0 * k / 128 * sr), 7, k) for k in range(128)])
    session.eval('t1 $ "sine2" # gain (slow 2 $ saw)')  # 0..1 over 4 s at 0.5 cycles a second
    smooth = session.render_dry(2)
    a, b = (x[:, int(0.2 * sr):int(3.8 * sr)].sum(axis=0) for x in (stepped, smooth))
    assert np.sqrt(np.mean(a ** 2)) > 0.05, "the tone is heard"
    diff = np.abs(np.fft.rfft(a - b)) ** 2
    freqs = np.fft.rfftfreq(len(a), 1 / sr)
    above = 10 * np.log10(diff[freqs > 8000].sum() / (np.abs(np.fft.rfft(b)) ** 2).sum())
    assert above < -70, f"{above:.1f} dB above 8 kHz"


def test_a_pad_is_checked_at_eval_as_if_struck_and_only_there(session):
    import threading

    with pytest.raises(LanguageError, match="unknown sound 'nosuchsound'"):
        session.eval('t1 $ on 36 $ "nosuchsound"')
    pad = lc('on 36 $ "hit"')
    seen = {}
    with CONTROLLERS.rehearsal():
        worker = threading.Thread(target=lambda: seen.update(other=pad.query(0, 4)))
        worker.start()
        worker.join()
        seen["here"] = pad.query(0, 4)
    assert len(seen["here"]) == 4 and seen["other"] == [], "another thread hears no rehearsal"
    assert pad.query(0, 4) == []


def test_the_midi_input_opens_when_a_pattern_first_uses_a_midi_word(session):
    from latentcode.patterns.controllers import CONTROLLERS

    opened: list[int] = []
    CONTROLLERS.on_use = lambda: opened.append(1)
    try:
        session.eval('t1 $ "drone" # pan sine')
        assert opened == []  # no MIDI word: nothing opened
        session.eval('t1 $ "drone" # pan (cc 10)')
        session.eval('t1 $ on 36 $ "drone"')
        assert opened == [1]  # once, at the first use
    finally:
        CONTROLLERS.on_use = None
        session.tracks.clear()


def test_auto_midi_opens_nothing_at_start_and_opens_at_first_use():
    import argparse

    from latentcode.shell.connections import start_midi

    class Fake:
        midi, midi_why, asked = None, "", []

        def start_midi(self, kind, connect=None):
            self.asked.append(kind)

    fake, said = Fake(), []
    try:
        start_midi(fake, argparse.Namespace(midi_in="auto", midi_in_connect=None), said.append)
        assert fake.asked == [] and "first uses cc or on" in fake.midi_why
        CONTROLLERS.use()
        CONTROLLERS.use()
        assert fake.asked == ["auto"]  # opened once
        start_midi(fake, argparse.Namespace(midi_in="jack", midi_in_connect=None), said.append)
        assert fake.asked == ["auto", "jack"]  # asked for by name: opened at start
    finally:
        CONTROLLERS.on_use = None
