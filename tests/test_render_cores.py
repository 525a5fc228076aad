"""Less arithmetic for the same sound: the frame cache, and renders split over processes.

Both must leave the sound alone to the bit: a render with the cache on or off, on one process
or several, is the same file.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import time

import numpy as np
import pytest
import soundfile as sf

from latentcode.errors import LatentcodeError
from latentcode.model.frame_cache import FrameCache
from latentcode.playback.parallel import PIPE_BYTES, READ_AHEAD, SplitRender
from latentcode.playback.voices import LANES
from latentcode.session import Session

# Every kind of voice: a mix with loudness compensation (its clean levels are measured as the
# voices go), stretched grains, a moving stretch, a resampled speed, noise, a reversed voice,
# a moving pan, jitter (drawn beside the noise) and effects.
PIECE = """tempo 0.6
t1 $ "drone" # mix "voice" # alpha (slow 2 $ range -0.3 1.2 sine) # gain 0.4
t2 $ "bell(3,8)" # stretch 2 # room 0.3 # pan (fast 2 sine) # jitter 0.1
t3 $ "pluck*4 [hit hit:2]" # lpf 2400 # delay 0.3 # legato 1 # noise 0
t4 $ "sine2 ~" # stretch (range 2 6 saw) # speed "1 -1.5" # gain 0.5
"""


def _session(parts, piece: str = PIECE) -> Session:
    model, bank = parts
    session = Session(model, bank, tracks=5)
    session.eval(piece)
    return session


def test_a_split_render_is_the_same_file_as_a_serial_one(session_parts, tmp_path):
    session = _session(session_parts)
    session.render(3, tmp_path / "one.wav", seed=3, jobs=1)
    for jobs in (2, 3):
        session.render(3, tmp_path / f"{jobs}.wav", seed=3, jobs=jobs)
        assert (tmp_path / f"{jobs}.wav").read_bytes() == (tmp_path / "one.wav").read_bytes()
    audio, _ = sf.read(tmp_path / "one.wav", dtype="float32")
    assert np.sqrt(np.mean(audio**2)) > 0.01  # the piece sounds: equality means something
    assert not multiprocessing.active_children()  # every fork has gone


def test_decoding_many_blocks_at_once_is_the_same_file_as_one_at_a_time(session_parts,
                                                                          tmp_path, monkeypatch):
    from latentcode.audio import offline

    session = _session(session_parts, PIECE + 't5 $ "hit*8" # cps "<0.6 0.9>" # gain 0.3\n')
    assert offline.OFFLINE_STEPS > 1
    session.render(4, tmp_path / "many.wav", seed=2, jobs=1)
    session.render(4, tmp_path / "split.wav", seed=2, jobs=2)
    monkeypatch.setattr(offline, "OFFLINE_STEPS", 1)
    session.render(4, tmp_path / "one.wav", seed=2, jobs=1)
    one = (tmp_path / "one.wav").read_bytes()
    assert (tmp_path / "many.wav").read_bytes() == one
    assert (tmp_path / "split.wav").read_bytes() == one
    dry = session.render_dry(4, seed=2)
    monkeypatch.setattr(offline, "OFFLINE_STEPS", 32)
    assert np.array_equal(session.render_dry(4, seed=2), dry)
    assert np.sqrt(np.mean(dry**2)) > 0.01


def test_a_split_render_deals_the_voices_out_evenly(session_parts):
    session = _session(session_parts)
    scheduler = session.scheduler(seed=0, snapshot=True)
    lanes = []
    block = np.zeros((session.slots, 2, 1024), np.float32)
    for start in range(0, session.samples_for(4), 1024):
        block[:] = 0
        scheduler.fill(block, start)
        lanes += [v.lane for v in scheduler.voices.voices if v.start >= start]
    counts = np.bincount(lanes, minlength=LANES)
    assert counts.min() >= 0.5 * counts.max(), counts


def test_the_forks_work_ahead_while_this_process_runs_the_graph(session_parts):
    session = _session(session_parts)
    split = SplitRender(session.scheduler(seed=0, snapshot=True), 2)
    block = np.zeros((session.slots, 2, 1024), np.float32)
    try:
        split.fill_steps(block, 0, 1024)  # the forks start, and send their first block
        workers = list(split._workers)
        # not asked for more, they go on: their next blocks wait here, read
        deadline = time.monotonic() + 60
        while any(reader.messages.qsize() < READ_AHEAD for _, reader in workers):
            assert time.monotonic() < deadline, [r.messages.qsize() for _, r in workers]
            time.sleep(0.05)
        with open("/proc/sys/fs/pipe-max-size") as f:
            widest = min(PIPE_BYTES, int(f.read()))
        for _, reader in workers:  # a block of a sounding track and lane goes in one write
            assert fcntl.fcntl(reader.conn.fileno(), fcntl.F_GETPIPE_SZ) == widest
        block[:] = 0
        split.fill_steps(block, 1024, 1024)  # what was read ahead is the next block
        assert np.abs(block).max() > 0.01
    finally:
        split.close()
    # each fork ended on its own, told by its closed pipe (killed, it would not have kept
    # the levels it measured)
    assert [process.exitcode for process, _ in workers] == [0, 0]
    assert not multiprocessing.active_children()


def test_a_fork_that_fails_is_one_line_and_leaves_no_file(session_parts, tmp_path,
                                                          monkeypatch):
    session = _session(session_parts)
    from latentcode.playback import voices

    real = voices.Voices.render

    def broken(self, out, start, cycle_at, *step):
        if self.owned and 1 in self.owned and start >= 4096:  # a fork's lanes, mid-render
            raise RuntimeError("disk on fire")
        return real(self, out, start, cycle_at, *step)

    monkeypatch.setattr(voices.Voices, "render", broken)
    with pytest.raises(LatentcodeError, match="disk on fire"):
        session.render(2, tmp_path / "x.wav", jobs=2)
    assert not (tmp_path / "x.wav").exists()
    assert not multiprocessing.active_children()


def test_the_frame_cache_answers_a_repeated_path_with_the_same_bits(session_parts):
    piece = 't1 $ "pluck*4 bell:2" # noise 0 # legato 1\nt2 $ "drone" # gain 0.3'
    cached = _session(session_parts, piece)
    plain = _session(session_parts, piece)
    plain.frames.capacity = 0
    a, b = cached.render_dry(3, seed=1), plain.render_dry(3, seed=1)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() > 0.01
    # pluck and bell (noise 0) repeat every cycle; the drone has noise: it always misses
    assert 0.3 < cached.frames.hit_rate < 0.9, cached.frames.hit_rate
    assert plain.frames.hits == 0 and plain.frames.misses > 0


def test_the_frame_cache_decodes_only_what_it_has_not_seen_and_stays_bounded():
    asked = []

    def decode(z):
        asked.append(z.copy())
        return np.tanh(z @ np.ones((2, 3), np.float32))

    cache = FrameCache(decode, capacity=4)
    z = np.arange(12, dtype=np.float32).reshape(6, 2) / 10
    first = cache(z[:3])
    again = cache(z[1:5])  # rows 1, 2 known; 3, 4 new
    np.testing.assert_array_equal(again[:2], first[1:])
    np.testing.assert_array_equal(asked[1], z[3:5])
    assert (cache.hits, cache.misses, len(cache)) == (2, 5, 4)  # row 0 was forgotten
    again[:] = 0  # what a caller does to its frames never reaches the cache
    np.testing.assert_array_equal(cache(z[1:3]), first[1:])
    cache(z[:1])
    assert len(asked) == 3 and len(cache) == 4


def test_a_row_repeated_within_one_call_is_decoded_once():
    asked = []

    def decode(z):
        asked.append(len(z))
        return np.tanh(z @ np.ones((2, 3), np.float32))

    cache = FrameCache(decode)
    z = np.array([[0.1, 0.2], [0.3, 0.4], [0.1, 0.2], [0.5, 0.6], [0.1, 0.2]], np.float32)
    steady = np.array([True, True, False, True, True])  # row 2 is sampled noise: not shared
    out = cache(z, steady)
    assert asked == [4]  # rows 0, 1, 2 and 3; row 4 is row 0's frame
    np.testing.assert_array_equal(out, np.tanh(z @ np.ones((2, 3), np.float32)))
    assert (cache.hits, cache.misses) == (1, 4)
    np.testing.assert_array_equal(cache(z[[1, 1]]), out[[1, 1]])  # known: from memory both
    assert asked == [4] and cache.hits == 3


def test_rows_that_share_a_hash_are_told_apart_and_slots_are_reused(monkeypatch):
    import latentcode.model.frame_cache as fc

    def decode(z):
        return np.repeat(z[:, :1] * 2, 3, axis=1)

    monkeypatch.setattr(fc, "hash", lambda b: 7, raising=False)  # every row collides
    cache = FrameCache(decode, capacity=2)
    z = np.arange(6, dtype=np.float32).reshape(3, 2)
    for row in (0, 1, 0, 2):
        np.testing.assert_array_equal(cache(z[row : row + 1])[:, 0], z[row : row + 1, 0] * 2)
    assert cache.hits == 0 and len(cache) == 1  # never the other row's frame
    monkeypatch.undo()
    cache = FrameCache(decode, capacity=2)
    cache.reserve(2, 3)
    assert cache.nbytes == 2 * 2 * 4 + 2 * 3 * 4 and len(cache) == 0
    for row in (0, 1, 2, 1, 2, 0):  # 0 is forgotten for 2, then comes back in 0's old slot
        np.testing.assert_array_equal(cache(z[row : row + 1])[:, 0], z[row : row + 1, 0] * 2)
    assert (cache.hits, cache.misses, len(cache)) == (2, 4, 2)


def test_rows_that_cannot_come_again_pass_the_cache_by():
    asked = []

    def decode(z):
        asked.append(len(z))
        return np.repeat(z[:, :1], 3, axis=1)

    cache = FrameCache(decode)
    z = np.arange(8, dtype=np.float32).reshape(4, 2)
    steady = np.array([True, False, True, False])
    np.testing.assert_array_equal(cache(z, steady)[:, 0], z[:, 0])
    assert len(cache) == 2  # only the steady rows are kept
    np.testing.assert_array_equal(cache(z, steady)[:, 0], z[:, 0])
    assert asked == [4, 2] and cache.hits == 2  # the others are decoded again, never looked up


def test_a_render_builds_only_the_slots_that_play_and_the_file_is_the_same(
        session_parts, tmp_path, monkeypatch):
    from latentcode.audio import engine as engine_module

    model, bank = session_parts
    session = Session(model, bank, tracks=8)
    two = 't1 $ "bell(3,8)" # room 0.4 # delay 0.3\nt2 $ "drone" # gain 0.3\n'
    session.eval(f'tempo 0.6\n{two}t3 $ "pluck" # gain 0.4')
    session.eval("hush")
    session.eval(two)  # t3 keeps the third slot but plays nothing
    built = []
    real = engine_module.Engine.__init__

    def spy(self, *args, **kwargs):
        built.append(kwargs.get("tracks"))
        real(self, *args, **kwargs)

    monkeypatch.setattr(engine_module.Engine, "__init__", spy)
    session.render(3, tmp_path / "some.wav", seed=1, jobs=1)
    session.render(3, tmp_path / "all.wav", seed=1, jobs=1, stems=tmp_path / "stems")
    assert built == [2, 8]  # t1 and t2's slots; the stems ask for every slot
    audio = (tmp_path / "some.wav").read_bytes()
    assert audio == (tmp_path / "all.wav").read_bytes()
    assert np.sqrt(np.mean(sf.read(tmp_path / "some.wav")[0] ** 2)) > 0.01
