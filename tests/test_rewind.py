"""An immediate change (``now``), a pad struck, or a change due at a cycle already queued is
heard from the first sample the producer can still change, not after the audio already queued:
that track's queued audio is made again (playback/rewind.py)."""

import contextlib
import time
from fractions import Fraction

import numpy as np
import pytest

from latentcode.audio.messages import Reporter
from latentcode.audio.stream import Stream
from latentcode.session import Session

SR = 44100
BLOCK, LOOKAHEAD, BUFFER = 1024, 4096, 256
OLD = 't1 $ "bell*8" # lpf 3000\nt2 $ "drone" # noise 0'
NEW = '"hit*64" # lpf 800'


@pytest.fixture
def sessions(session_parts):
    model, bank = session_parts
    for name in ("bell", "drone", "hit"):  # encoded before the clock starts, as on stage
        bank.resolve(name)
    return Session(model, bank, tracks=4), Session(model, bank, tracks=4)


def played(stream: Stream, until: int, heard: list, due: list) -> None:
    """Play buffers as the audio thread does, the producer keeping the ring filled."""
    ring = stream.ring
    views = [np.zeros(BUFFER, np.float32) for _ in range(ring.channels)]
    while ring.read_pos < until:
        at = ring.read_pos
        _, payloads = ring.pull(views, BUFFER)
        heard.append(np.stack(views).copy())
        due.extend((at, changes) for _, changes in payloads)
        while ring.available() < LOOKAHEAD:
            stream.produce()
            stream.amend()


def live_stream(session: Session) -> Stream:
    """A stream fed by the session's live scheduler, as the engine makes one, filled."""
    stream = Stream(tracks=session.slots, block=BLOCK, sr=SR, capacity=1 << 15,
                    lookahead=LOOKAHEAD, reporter=Reporter())
    stream.attach(session.live_scheduler)
    stream._bs = BUFFER  # (what connecting a graph sets)
    stream.prefill()
    return stream


def playing_from_0(session: Session) -> None:
    """The session's pending patterns play from cycle 0, as a live scheduler's first block
    makes them (a reference scheduler then needs no block to take them up)."""
    for track in session.tracks.values():
        track.pattern, track.pending = track.pending[0], None


def made(scheduler, slots: int, length: int) -> np.ndarray:
    """What ``scheduler`` makes block by block from sample 0, playing no ahead: (rows, n)."""
    want = np.zeros((slots, 2, -(-length // BLOCK) * BLOCK), np.float32)
    for start in range(0, want.shape[2], BLOCK):
        scheduler.fill(want[:, :, start : start + BLOCK], start)
    return want.reshape(-1, want.shape[2])[:, :length]


def switched(reference: Session, cycle: Fraction | int, length: int) -> np.ndarray:
    """What a scheduler that plays no ahead makes of OLD changed to NEW at ``cycle``."""
    reference.eval(OLD)
    playing_from_0(reference)
    scheduler = reference.live_scheduler = reference.scheduler(wait_for_sounds=False)
    reference.eval(f"t1 $ {NEW}")
    t1 = reference.tracks["t1"]
    t1.pending = (t1.pending[0], cycle, None)
    return made(scheduler, reference.slots, length)


def test_now_is_heard_from_the_first_sample_that_can_change(sessions):
    live, reference = sessions
    live.eval(OLD)
    live.tracks["t1"].log = []  # where each change lands (what benchmarks/soak.py replays)
    live.live_scheduler = live.scheduler(wait_for_sounds=False)
    starts = []  # (track slot, onset sample) of every voice started
    live.live_scheduler.on_start.append(
        lambda track, e, onset, n: starts.append((track.slot, onset)))
    stream = live_stream(live)
    heard, due = [], []
    played(stream, SR, heard, due)
    queued_until = stream.ring.write_pos  # where the change would start without a rewind
    at = stream.ring.read_pos + BUFFER + stream.rewind_margin
    live.eval(f"now t1 $ {NEW}")
    stream.amend()  # what the woken producer does first
    assert stream.rewinds == 1 and stream.rewind_late == 0
    played(stream, 2 * SR, heard, due)
    got = np.concatenate(heard, axis=1)

    # the same change, made to start on sample ``at`` in a scheduler that plays no ahead
    want = switched(reference, live.live_scheduler.clock.cycle_at(at), got.shape[1])
    # the track's log: the piece's pattern from cycle 0, the new one from ``at``'s cycle
    log = live.tracks["t1"].log
    assert [(c, xfade) for c, _, xfade in log] == [
        (0, None), (live.live_scheduler.clock.cycle_at(at), None)]
    assert log[1][1] is live.tracks["t1"].pattern

    new = [onset for track, onset in starts if track == 0 and onset >= at]
    assert new and min(new) < queued_until  # heard before the audio queued ran out
    np.testing.assert_array_equal(got[2:4], want[2:4])  # another track: not touched
    np.testing.assert_array_equal(got[:2, :at], want[:2, :at])  # before ``at``: as it was
    peak = np.abs(want[:2]).max()
    # the same audio, to float rounding (the old voices' audio taken out is added back in
    # another order), and once the frames that reach past the rewound span have played (one
    # segment), the very same bits
    assert np.abs(got[:2, at:] - want[:2, at:]).max() < 1e-6 * peak
    after = queued_until + live.model.segment
    np.testing.assert_array_equal(got[:, after:], want[:, after:])
    # the old pattern's rest is gone, the new one sounds in the span that was queued
    assert np.abs(want[:2, at:queued_until]).max() > 0.01 * peak
    # the track's filter follows its latest voice: the new one's from the block of its first
    # onset, never the old pattern's again
    lpf = [(pos, v) for pos, changes in due for track, key, v in changes
           if track == 0 and key == "lpf"]
    first_800 = min(pos for pos, v in lpf if v == 800)
    assert at <= first_800 <= min(new) < first_800 + BLOCK
    assert all(v == 800 for pos, v in lpf if pos >= first_800)


@pytest.mark.parametrize("ahead, buffers", [(0.009, 0), (0.003, 1), (-0.001, 2)])
def test_a_rewind_starts_as_many_buffers_on_as_the_audio_side_may_take_meanwhile(
        sessions, ahead, buffers):
    """A rewind given 6 ms (rewinds took 4, and half again) starts right at the first sample
    it may write when the audio side's next callback is 9 ms away; a buffer on when it is 3 ms
    away (the callback after it comes in 8.8); two when it is overdue."""
    live, _ = sessions
    live.eval(OLD)
    live.live_scheduler = live.scheduler(wait_for_sounds=False)
    stream = live_stream(live)
    played(stream, SR // 2, [], [])
    for _ in range(5):
        stream._rewind_times.note(0.004)
    live.eval(f"now t1 $ {NEW}")
    # the audio side took the buffer before read_pos ``ahead`` - a period from now: the
    # next is due ``ahead`` from now
    rp = stream.ring.read_pos
    stream._stamp.write(rp - BUFFER, time.monotonic_ns() + round((ahead - BUFFER / SR) * 1e9))
    stream.amend()
    assert stream.rewinds == 1 and stream.rewound_at == rp + BUFFER + buffers * BUFFER


def test_which_changes_ask_for_a_rewind(sessions):
    live, _ = sessions
    live.eval(OLD)
    live.live_scheduler = live.scheduler(wait_for_sounds=False)
    live.eval(f"t1 $ {NEW}")  # at the next cycle (0: nothing is made yet), made again if
    assert list(live.live_scheduler.rewinds) == [("t1", 0)]  # that is queued already
    live.eval(f"now t1 $ {NEW}")
    live.eval(f"quant 0\nt1 $ {NEW}")  # at once, as with ``now``
    assert list(live.live_scheduler.rewinds)[1:] == [("t1", None)] * 2
    live.eval(f"xfadeIn t1 2 $ {NEW}")  # a transition at once: from the first sample not queued
    assert len(live.live_scheduler.rewinds) == 3


class Heard:
    """What a session asks its engine when it places a change: the stream, played by hand."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    @property
    def position(self) -> int:
        return self.stream.ring.read_pos

    @property
    def soonest_change(self) -> int:
        return BUFFER + self.stream.rewind_margin + self.stream.call_margin

    def holding(self):  # (no producer thread to hold: the test plays the stream by hand)
        return contextlib.nullcontext()


def test_a_change_at_a_cycle_already_queued_lands_on_that_cycle(sessions):
    live, reference = sessions
    live.eval(OLD)
    scheduler = live.live_scheduler = live.scheduler(wait_for_sounds=False)
    stream = live_stream(live)
    heard, due = [], []
    cycle = scheduler.clock.sample_at(1)  # 88200 samples at 0.5 cycles a second
    played(stream, cycle - 2800, heard, due)
    assert stream.ring.write_pos > cycle  # the cycle's first samples are queued already
    live.engine = Heard(stream)
    try:
        live.eval(f"t1 $ {NEW}")
    finally:
        live.engine = None
    assert live.tracks["t1"].latest() is not None and stream.rewinds == 0
    stream.amend()
    assert stream.rewinds == 1 and stream.rewound_at == cycle and stream.rewind_late == 0
    played(stream, cycle + SR, heard, due)
    got = np.concatenate(heard, axis=1)

    want = switched(reference, 1, got.shape[1])  # at cycle 1, in a scheduler that plays no ahead
    # The bell taken out at the cycle had its first frames filtered together with those of
    # the bell before it (the spectral match groups a sound's frames in a block when there
    # are enough: playback/matched.py). It is made again grouped as it was, so it cancels;
    # the bell before it, which rings on, stays filtered as that group, where a scheduler
    # that switched at the cycle filters it alone: measured 0.068% of the peak (-63 dB) over
    # the first 64 ms, against 0.21% (-53 dB) when the bell was made again alone.
    peak, trace = np.abs(want[:2]).max(), np.abs(got[:2] - want[:2])
    np.testing.assert_array_equal(got[:, : cycle - 1024], want[:, : cycle - 1024])
    assert trace.max() < 0.0015 * peak
    assert trace[:, cycle + 4096 :].max() < 1e-6 * peak


def test_the_live_engine_rewinds_at_once(sessions):
    live, _ = sessions
    live.eval(OLD)
    live.start("none")
    try:
        time.sleep(0.5)
        engine, starts = live.engine, []
        live.live_scheduler.on_start.append(
            lambda track, e, onset, n: starts.append((track.slot, e.value["sound"], onset)))
        heard = engine.position
        live.eval(f"now t1 $ {NEW}")
        deadline = time.monotonic() + 2
        while engine._stream.rewinds == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert engine._stream.rewinds == 1
        time.sleep(0.2)
        hits = [onset for slot, sound, onset in starts if slot == 0 and sound == "hit"]
        # the first hit within the lookahead of what was heard when the change was made
        assert hits and min(hits) < heard + engine.lookahead
    finally:
        live.stop()


def test_a_pad_is_heard_a_rewind_after_it_is_struck_not_after_the_queue(sessions):
    from latentcode.patterns.controllers import CONTROLLERS
    from latentcode.playback.scheduler import LiveTime

    live, reference = sessions
    piece = 't1 $ on 36 $ "hit"\nt2 $ "drone" # noise 0'
    live.eval(piece)
    scheduler = live.live_scheduler = live.scheduler(wait_for_sounds=False)
    starts = []
    scheduler.on_start.append(lambda track, e, onset, n: starts.append((track.slot, onset)))
    stream = live_stream(live)
    heard, due = [], []
    try:
        played(stream, SR, heard, due)
        latency = BUFFER + stream.rewind_margin + 300
        CONTROLLERS.attach(LiveTime(scheduler, heard=lambda: stream.ring.read_pos,
                                    latency=lambda: latency))
        struck, queued_until = stream.ring.read_pos, stream.ring.write_pos
        CONTROLLERS.note_on(1, 36, 127)
        CONTROLLERS.attach(None)
        stream.amend()
        played(stream, 2 * SR, heard, due)
        got = np.concatenate(heard, axis=1)

        # the same note, in the store from the start, for a scheduler that plays no ahead
        reference.eval(piece)
        playing_from_0(reference)
        want = made(reference.scheduler(wait_for_sounds=False), reference.slots, got.shape[1])
    finally:
        CONTROLLERS.attach(None)
        CONTROLLERS.clear()
    pads = [onset for slot, onset in starts if slot == 0]
    assert len(pads) == 1 and abs(pads[0] - (struck + latency)) <= 1  # (a cycle rounds)
    assert pads[0] < queued_until and stream.rewind_late == 0
    np.testing.assert_array_equal(got[2:4], want[2:4])
    assert np.abs(got[:2, pads[0] - 64 : pads[0] + 2048]).max() > 0.05  # the hit is heard
    assert np.abs(got[:2] - want[:2]).max() < 1e-6 * np.abs(want[:2]).max()


def test_a_knob_moves_a_track_effect_a_rewind_after_it_turns_decoding_nothing(sessions):
    """``# lpf (cc 74)``: the filter is the audio side's, so a move is sent for the blocks
    already queued, from the note time on, without decoding them again; a voice control
    reading the same knob (``pan``) still takes it from the first sample not made."""
    from latentcode.patterns.controllers import CONTROLLERS
    from latentcode.playback.scheduler import LiveTime

    live, _ = sessions
    live.eval('t1 $ "drone" # noise 0 # lpf (range 200 4000 $ cc 74) # pan (cc 74)')
    scheduler = live.live_scheduler = live.scheduler(wait_for_sounds=False)
    stream = live_stream(live)
    heard, due = [], []
    try:
        played(stream, SR // 2, heard, due)
        latency = BUFFER + stream.rewind_margin + 300
        CONTROLLERS.attach(LiveTime(scheduler, heard=lambda: stream.ring.read_pos,
                                    latency=lambda: latency))
        moved, queued_until = stream.ring.read_pos, stream.ring.write_pos
        queued = stream.ring.data.copy()
        CONTROLLERS.control_change(1, 74, 127)
        stream.amend()
        assert stream.rewinds == 1
        np.testing.assert_array_equal(stream.ring.data, queued)  # nothing decoded again
        played(stream, SR, heard, due)
    finally:
        CONTROLLERS.attach(None)
        CONTROLLERS.clear()
    lpf = [(pos, v) for pos, changes in due for track, key, v in changes
           if track == 0 and key == "lpf"]
    at = moved + latency
    assert all(v == 200 for pos, v in lpf if pos < at)  # before the move: where it stood
    first_open = min(pos for pos, v in lpf if v == 4000)
    # fully open within a block and the glide (15 ms) of the note time: long before the audio
    # queued at the move has played
    assert at <= first_open <= at + BLOCK + 700 < queued_until
    assert all(v == 4000 for pos, v in lpf if pos > first_open)
    # pan is decoded into the voice: its move starts where the queue ended
    got = np.concatenate(heard, axis=1)
    left, right = np.abs(got[0]), np.abs(got[1])
    before = slice(moved, queued_until - 64)
    assert right[before].max() < 0.5 * left[before].max()  # still at the left
    after = slice(queued_until + 2048, queued_until + 8192)
    assert left[after].max() < 0.5 * right[after].max()  # then at the right


def test_a_live_run_played_again_offline_is_the_same_audio(sessions):
    """Each track logs where its changes landed (a change at a cycle on it, ``now`` where its
    rewind began); a fresh session replaying those switches block by block makes what the
    live stream played, bit for bit (latentcode/session/replay.py)."""
    from latentcode.session.replay import Replay, logs

    live, again = sessions
    live.eval(OLD)
    for track in live.tracks.values():
        track.log = []
    live.live_scheduler = live.scheduler(wait_for_sounds=False)
    stream = live_stream(live)
    heard, due = [], []
    live.engine = Heard(stream)
    try:
        for seconds, text in [(0, f"t1 $ {NEW}"), (1, 'now t2 $ "bell*4" # noise 0.5'),
                              (2.5, 'xfade 1 t1 $ "drone" # alpha 0.3'),
                              (4.5, 'now t1 $ "hit*8"')]:
            played(stream, int(seconds * SR), heard, due)
            live.eval(text)
            stream.amend()
        played(stream, 7 * SR, heard, due)
    finally:
        live.engine = None
    assert stream.rewinds == 2 and stream.rewind_late == 0
    got = np.concatenate(heard, axis=1)
    switched = logs(live)
    assert len(switched["t1"]) == 4 and switched["t1"][2][2] == 1  # the crossfade's cycles

    again.eval(OLD)
    replay = Replay(again, switched, voice_cap=live.voice_cap)
    want = np.zeros((again.slots, 2, -(-got.shape[1] // BLOCK) * BLOCK), np.float32)
    for start in range(0, want.shape[2], BLOCK):
        replay.fill(want[:, :, start : start + BLOCK], start)
    assert np.abs(got).max() > 0.05
    np.testing.assert_array_equal(got, want.reshape(-1, want.shape[2])[:, : got.shape[1]])
