"""Events out: every voice that starts goes out as OSC (and JACK MIDI), timed to when it is heard.

The unit tests need no audio: encoding, time tags, the heard clock, the scheduler's hook and
the sender against a UDP listener on 127.0.0.1. The live test plays one track through a real
JACK server (dummy driver) for a few seconds with three OSC destinations (a bundle listener,
a "heard" listener, a port nobody listens on) and a JACK MIDI input of the test's own client,
which also captures the audio: the events' heard times line up with the onsets heard.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from events_capture import (
    PERIOD,
    SR,
    Listener,
    capture_time,
    clear_of_stalls,
    dead_port,
    play_and_listen,
    stalls,
    unbundle,
)
from jack_capture import heard_onsets
from jackd import INSTALL_HINT, jackd_path, running_jackd
from sound_helpers import tone

from latentcode.errors import LatentcodeError
from latentcode.patterns.core import Event
from latentcode.patterns.time import Span
from latentcode.ports import events_out
from latentcode.ports.events_out import (
    ADDRESS,
    EventsOut,
    HeardClock,
    Outgoing,
    bundle,
    encode,
    midi_note,
    outgoing,
    parse_destination,
)
from latentcode.ports.osc_codec import parse

STALLS_TO_RETRY = 8  # JACK stalls in 8 s beyond which the live run is played again
# intervals clear of stalls needed to judge timing: a busy CI host stalls JACK (or the capture's
# own Python callback) often, and every interval that can be judged is judged strictly
JUDGED = 3

# -- helpers -------------------------------------------------------------------------------------


class FakeTrack:
    name, slot = "t1", 0


def an_event(begin: Fraction = Fraction(1, 4), value: object = None) -> Event:
    value = value if value is not None else {"sound": "bell:2", "gain": 0.8, "mix": "voice"}
    return Event(Span(begin, begin + Fraction(1, 8)), Span(begin, begin + Fraction(1, 8)),
                 value, ((2, 7, 13),))


# -- the message ---------------------------------------------------------------------------------


def test_the_message_carries_track_sound_timing_controls_and_sources():
    ev = outgoing(FakeTrack(), an_event(), length=11025, sample_rate=SR)
    assert ev == Outgoing("t1", "bell:2", 0.25, 0.125, 0.25, {"gain": 0.8, "mix": "voice"},
                          ((2, 7, 13),))
    [(address, args)] = parse(encode(ev))
    assert address == ADDRESS == "/latentcode/event"
    assert args[:6] == ["t1", "bell:2", 0.25, 0.125, 0.25, 2]
    assert args[6] == "gain" and args[7] == pytest.approx(0.8)
    assert args[8:] == ["mix", "voice", 1, 2, 7, 13]


def test_a_bundle_is_time_tagged_in_ntp():
    when = 1_700_000_000.25
    t, content = unbundle(bundle(b"abcd", when))
    assert content == b"abcd" and t == pytest.approx(when, abs=1e-6)
    assert parse(bundle(encode(Outgoing("a", "b", 0, 1, 1, {}, ())), when)) == \
        [(ADDRESS, ["a", "b", 0.0, 1.0, 1.0, 0, 0])]


def test_midi_notes_follow_slot_sound_number_and_gain():
    assert midi_note(Outgoing("t3", "drone", 0, 1, 1, {}, (), slot=2)) == (2, 60, 100)
    assert midi_note(Outgoing("t", "bell:5", 0, 1, 1, {"gain": 9.0}, (), slot=17)) == \
        (1, 65, 127)


class _Track:
    name, slot = "t1", 0


def test_an_event_goes_out_with_n_applied_to_its_sound():
    e = Event(Span(Fraction(0), Fraction(1)), Span(Fraction(0), Fraction(1)),
              {"sound": "bell", "n": 3.0})
    ev = outgoing(_Track(), e, 44100, 44100)
    assert ev.sound == "bell:3" and midi_note(ev)[1] == 63


def test_destinations_default_to_the_loopback_and_refuse_nonsense():
    assert parse_destination("57120") == ("127.0.0.1", 57120)
    assert parse_destination("localhost:9000") == ("127.0.0.1", 9000)
    for bad in ("", "osc", "127.0.0.1:0", "127.0.0.1:70000", "no.such.host.invalid:9"):
        with pytest.raises(LatentcodeError):
            parse_destination(bad)
    with pytest.raises(LatentcodeError, match=":send osc"):
        EventsOut().command("osc")
    with pytest.raises(LatentcodeError, match="bundle or heard"):
        EventsOut().command("osc 9000 sometimes")


# -- the heard clock -----------------------------------------------------------------------------


def test_the_heard_clock_keeps_the_earliest_stamp_and_follows_a_gap():
    # a buffer of 256 every 5.805 ms; the audio thread runs up to 3 ms late, at random
    rng = np.random.default_rng(1)
    stamps = [(256 * k, 100.0 + 256 * k / SR + rng.uniform(0, 0.003)) for k in range(200)]
    # then a gap: 20 ms of silence (the sample clock stops), stamps on time again
    stamps += [(256 * k, 100.02 + 256 * k / SR) for k in range(200, 260)]
    it = iter(stamps)
    clock = HeardClock(lambda: next(it), SR)
    for _ in range(200):
        clock.observe()
    assert clock.heard(SR) == pytest.approx(101.0, abs=0.0005)
    for _ in range(60):
        clock.observe()
    assert clock.heard(2 * SR) == pytest.approx(102.02, abs=0.0005)


# -- the scheduler's hook and the sender ---------------------------------------------------------


def test_the_hook_only_queues_and_drops_when_full(monkeypatch):
    out = EventsOut()
    out.event(FakeTrack(), an_event(), 0, 100)
    assert not out.queue  # no destination: nothing kept
    out.osc[("127.0.0.1", 9)] = None  # a destination (never used: no sender runs)
    monkeypatch.setattr(events_out, "QUEUE_SIZE", 3)
    for _ in range(5):
        out.event(FakeTrack(), an_event(), 0, 100)
    assert len(out.queue) == 3 and out.dropped == 2
    out.osc.clear()


def test_the_sender_sends_bundles_now_and_plain_messages_at_the_heard_time():
    early, plain = Listener(), Listener()
    out = EventsOut()
    try:
        out.command(f"osc {early.port}")
        out.command(f"osc 127.0.0.1:{plain.port} heard")
        t0 = time.monotonic() + 0.3  # sample 0 is heard 0.3 s from now
        out.attach(lambda: (0, t0), SR)
        sent = time.monotonic()
        for k in range(4):  # every 0.05 s
            out.event(FakeTrack(), an_event(Fraction(k, 8)), onset=k * 2205, length=2205)
        early.wait_for(4)
        plain.wait_for(4)
    finally:
        out.close()
        early.close()
        plain.close()
    offset = time.time() - time.monotonic()
    tags = [unbundle(d)[0] - offset for _, d in early.got]
    assert [parse(unbundle(d)[1])[0][1][2] for _, d in early.got] == [0, 0.125, 0.25, 0.375]
    assert np.allclose(tags, [t0 + k * 0.05 for k in range(4)], atol=0.001)
    assert all(arrival < t0 - 0.1 for arrival, _ in early.got), (sent, early.got)
    arrivals = [a for a, _ in plain.got]
    # a loaded machine may wake the sender late: generous, but never early
    assert all(t0 + k * 0.05 - 0.001 <= a < t0 + k * 0.05 + 0.1 for k, a in enumerate(arrivals))
    assert [parse(d) for _, d in plain.got] == [parse(unbundle(d)[1]) for _, d in early.got]


def test_a_port_nobody_listens_on_is_counted_never_raised():
    out = EventsOut()
    out.command(f"osc {dead_port()}")
    out.attach(lambda: (0, time.monotonic()), SR)
    try:
        for k in range(20):
            out.event(FakeTrack(), an_event(), onset=k, length=10)
            time.sleep(0.01)
        time.sleep(0.05)
        [dest] = out.osc.values()
        # an unconnected socket never hears the ICMP "port unreachable"; any error is counted
        assert dest.sent + dest.failed == 20
        assert out._thread.is_alive()
    finally:
        out.close()


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "sounds"
    d.mkdir()
    tone(d / "tick.wav", 440, seconds=0.2)
    return d


def test_the_scheduler_hands_every_started_voice_with_its_sources(tiny_model, bank):
    from latentcode.session import Session

    session = Session(tiny_model, bank, tracks=2)
    code = 'tempo 1\nt1 $ "tick*2 ~ tick" # gain 0.5'
    session.eval(code)
    sched = session.scheduler(snapshot=True)
    seen = []
    sched.on_start.append(lambda track, e, onset, length: seen.append((track.name, e, onset)))
    buf = np.zeros((2, 2, 1024), np.float32)
    for start in range(0, SR, 1024):
        sched.fill(buf, start)
    column = code.splitlines()[1].index("tick") + 1
    # three steps a cycle at one cycle a second: the first split in two
    assert [(name, onset) for name, _, onset in seen] == [("t1", 0), ("t1", 7350),
                                                         ("t1", 29400), ("t1", 44100)]
    atoms = {0: column, 7350: column, 29400: column + 9, 44100: column}  # which "tick" played
    for _, e, onset in seen:
        ev = outgoing(FakeTrack(), e, 100, SR)
        assert ev.sound == "tick" and ev.controls == {"gain": 0.5}
        assert ev.sources == ((2, atoms[onset], atoms[onset] + 4),)


# -- live, through JACK --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live():
    """Play events_out_jack.py for 8 s; capture its audio, its MIDI (notes and clock) and its
    OSC."""
    if jackd_path() is None:
        pytest.fail(INSTALL_HINT)
    for _ in range(2):
        with running_jackd(period=PERIOD, rate=SR, realtime=True) as server:
            played = play_and_listen(server, 8, "clock")
        # a run whose JACK graph stalled again and again (a busy CI host) cannot judge timing,
        # which is measured between stalls: play once more, and judge the second run whatever
        if len(stalls(played)) <= STALLS_TO_RETRY:
            break
    return played


def test_live_the_session_plays_on_with_every_destination(live):
    assert live["returncode"] == 0, live["stderr"][-3000:]
    result = live["result"]
    assert result["stats"]["underruns"] == 0, result["stats"]
    assert result["messages"] == [], result["messages"]
    assert not any(line.startswith("error") for line in result["said"]), result["said"]
    sent, failed = result["counts"]["osc"][str(live["dead"])]
    assert sent + failed >= 20  # a port nobody listens on: sent, refused, never an exception
    assert result["counts"]["dropped"] == 0


def test_live_osc_contents_match_the_code(live):
    piece = live["result"]["piece"].splitlines()
    line = next(i for i, text in enumerate(piece, 1) if "bell*8" in text)
    column = piece[line - 1].index("bell") + 1
    assert len(live["bundles"]) >= 20, len(live["bundles"])
    cycles = []
    for _, data in live["bundles"]:
        [(address, args)] = parse(unbundle(data)[1])
        assert address == ADDRESS
        track, sound, cycle, cycles_long, seconds, n = args[:6]
        assert (track, sound, n) == ("t1", "bell", 4)
        assert cycles_long == pytest.approx(1 / 8) and seconds == pytest.approx(0.25)
        controls = dict(zip(args[6:14:2], args[7:14:2], strict=True))
        assert controls == pytest.approx({"legato": 0.3, "noise": 0.0, "pan": 1.0, "gain": 0.8})
        assert args[14:] == [1, line, column, column + 4]
        cycles.append(cycle)
    assert np.allclose(np.diff(cycles), 1 / 8)
    offset = time.time() - time.monotonic()
    ahead = [unbundle(d)[0] - offset - arrival for arrival, d in live["bundles"]]
    assert np.median(ahead) > 0.05, ahead  # bundles go out about the engine's latency ahead


def test_live_time_tags_keep_the_spacing_and_match_the_onsets_heard(live):
    offset = time.time() - time.monotonic()
    tags = np.array([unbundle(d)[0] - offset for _, d in live["bundles"]])
    # strict: consecutive heard times 0.25 s apart within a period (5.8 ms), unless JACK
    # stalled in between (then the audio and its time tags really move on later)
    spacing = [b - a for a, b in zip(tags, tags[1:], strict=False) if clear_of_stalls(live, a, b)]
    assert len(spacing) >= JUDGED, (len(spacing), stalls(live))
    assert np.all(np.abs(np.array(spacing) - 0.25) < PERIOD / SR), spacing
    # the onsets captured on the right, as time.monotonic()
    found = heard_onsets(live["audio"][1], threshold=1e-3, gap=4000)
    assert len(found) >= 16, len(found)
    heard = capture_time(live, found)
    nearest = [(t, heard[np.argmin(np.abs(heard - t))]) for t in tags
               if heard[0] - 0.1 < t < heard[-1] + 0.1]
    # clear of stalls up to the later of the tag and the onset: a stall in the onset's own
    # cycle stamps that cycle late, and so the onset after its tag (one onset 27.8 ms late, a
    # stall the window up to the tag alone did not see, on a busy CI host)
    matched = [h - t for t, h in nearest if clear_of_stalls(live, t, max(t, h))]
    assert len(matched) >= JUDGED, (len(matched), stalls(live))
    print("onset heard - time tag (ms):", np.round(np.array(matched) * 1000, 2))
    assert np.all(np.abs(matched) < PERIOD / SR), np.round(np.array(matched) * 1000, 2)


def test_live_plain_messages_arrive_at_the_heard_time(live):
    offset = time.time() - time.monotonic()
    tags = {unbundle(d)[1]: unbundle(d)[0] - offset for _, d in live["bundles"]}
    late = [arrival - tags[data] for arrival, data in live["heard"] if data in tags]
    assert len(late) >= 20
    print("arrival - heard time (ms):", np.round(np.array(late) * 1000, 2))
    # never early; late by the sender's wake-up (generous on a busy 2-core machine)
    assert min(late) > -0.001 and np.median(late) < 0.01 and max(late) < 0.1, late


def test_live_midi_notes_arrive_at_the_pattern_spacing_and_the_heard_time(live):
    ons = [(pos, data) for pos, data in live["notes"] if data[0] >> 4 == 0x9]
    offs = [pos for pos, data in live["notes"] if data[0] >> 4 == 0x8]
    assert len(ons) >= 16 and len(offs) >= 15
    assert all(data == bytes((0x90, 60, 80)) for _, data in ons)
    positions = np.array([pos for pos, _ in ons])
    times = capture_time(live, positions)
    spacing = [b - a for a, b, ta, tb in zip(positions, positions[1:], times, times[1:],
                                             strict=False) if clear_of_stalls(live, ta, tb)]
    print("MIDI note-on spacing (samples):", spacing)
    assert len(spacing) >= JUDGED, spacing
    assert np.all(np.abs(np.array(spacing) - SR // 4) <= PERIOD), spacing
    offset = time.time() - time.monotonic()
    tags = np.array([unbundle(d)[0] - offset for _, d in live["bundles"]])
    diffs = [t - tags[np.argmin(np.abs(tags - t))] for t in times if clear_of_stalls(live, t, t)]
    print("MIDI note-on - time tag (ms):", np.round(np.array(diffs) * 1000, 2))
    assert len(diffs) >= JUDGED and np.all(np.abs(diffs) < PERIOD / SR), diffs


def test_live_midi_clock_ticks_24_a_beat_at_the_tempo_from_a_cycle_start(live):
    ticks = np.array([pos for pos, data in live["notes"] if data == b"\xf8"])
    starts = [pos for pos, data in live["notes"] if data == b"\xfa"]
    assert len(starts) == 1 and len(ticks) > 200, (starts, len(ticks))
    assert ticks[0] == starts[0]  # the first tick is the Start's: bar 1 of a follower
    # Start falls on a cycle start: an onset of bell*8 is heard there
    ons = [pos for pos, data in live["notes"] if data[0] >> 4 == 0x9]
    assert np.min(np.abs(np.array(ons) - starts[0])) <= PERIOD
    # tempo 0.5 = 120 bpm: a tick every 22050 / 24 = 918.75 samples, judged between stalls
    times = capture_time(live, ticks)
    spacing = np.array([b - a for a, b, ta, tb in zip(ticks, ticks[1:], times, times[1:],
                                                      strict=False)
                        if clear_of_stalls(live, ta, tb)])
    print("MIDI clock spacing (samples): median", np.median(spacing), "min", spacing.min(),
          "max", spacing.max())
    assert len(spacing) >= 24 * JUDGED
    # within a few samples as a rule (8 samples, 0.18 ms: finer than the 0.32 ms one MIDI
    # byte takes on a DIN cable), within a period at worst (the JACK MIDI client's own Python
    # callback can be held up by the GIL, as the notes' can: benchmarks/control_out.py)
    deviation = np.abs(spacing - 918.75)
    assert np.median(deviation) <= 8 and np.all(deviation <= PERIOD), spacing
    # and 24 of them make a beat
    beat = [ticks[i + 24] - ticks[i] for i in range(len(ticks) - 24)
            if clear_of_stalls(live, times[i], times[i + 24])]
    assert beat and np.median(np.abs(np.array(beat) - 22050)) <= 8, beat
