"""A busy live producer fills two blocks a call, one while it is idle, more when it has fallen
behind, never more than the ring holds to play meanwhile (``Stream.catch_up``); the blocks it
fills at once are the audio and controls of blocks filled one at a time; a change is given the
time the producer's calls take lately (``Stream.call_margin``)."""

from __future__ import annotations

import numpy as np

from latentcode.audio.engine import Engine
from latentcode.audio.stream import LIVE_STEPS

BLOCK = 1024


class Ramp:
    """A source whose sample i is i (mod 1000) / 1000 and whose controls name their block;
    ``calls`` notes the samples asked for in each call."""

    tracks = 1

    def __init__(self) -> None:
        self.calls: list[int] = []

    def fill(self, out, start):
        return self.fill_steps(out, start, out.shape[2])[0]

    def fill_steps(self, out, start, step):
        n = out.shape[2]
        self.calls.append(n)
        out[0, :] = ((start + np.arange(n)) % 1000 / 1000).astype(np.float32)
        return [[{"lpf": 100 + (at // BLOCK)}] for at in range(start, start + n, step)]


class Slow(Ramp):
    """A Ramp whose calls take ``seconds`` each."""

    seconds = 0.0

    def fill_steps(self, out, start, step):
        import time

        time.sleep(self.seconds)
        return super().fill_steps(out, start, step)


class Plain:
    """A source without ``fill_steps``."""

    tracks = 1

    def fill(self, out, start):
        return None


def stream_with(source, lookahead=4096, busy=True):
    """A stream playing ``source``; ``busy``: its producer took 0.6 of real time lately."""
    stream = Engine("offline", tracks=1, block=BLOCK, lookahead=lookahead)._stream
    stream.attach(source)
    if busy:
        slow = Slow()
        slow.seconds = 0.6 * BLOCK / 44100
        stream.attach(slow)
        while not stream.stats().producer_load_recent > 0.5:
            stream.produce(steps=1)
            stream.ring.read_pos = stream.ring.write_pos  # played at once
        stream.attach(source)  # (attach forgets what is queued)
    return stream


def queue(stream, samples):
    stream.ring.push(np.zeros((2, samples), np.float32))


def test_a_busy_producer_fills_two_blocks_a_call_an_idle_one_one():
    stream = stream_with(Ramp())
    queue(stream, 4096 - 256)  # the audio thread took a buffer: the producer is woken
    assert stream.catch_up() == LIVE_STEPS[0] == 2
    assert stream_with(Plain()).catch_up() == 1
    idle = stream_with(Ramp(), busy=False)
    queue(idle, 4096 - 256)
    assert idle.catch_up() == 1  # an idle producer keeps a change's wait short
    for _ in range(200):  # quick blocks: the load falls below BATCH_LOAD's low end
        stream.produce(steps=1)
        stream.ring.read_pos = stream.ring.write_pos
    queue(stream, 4096 - 256)
    assert stream.stats().producer_load_recent < 0.4
    assert stream.usual_steps() == 1 and stream.catch_up() == 1


def test_more_blocks_when_behind_but_no_more_than_the_ring_holds():
    stream = stream_with(Ramp(), lookahead=8192)
    queue(stream, 8192 - 3 * BLOCK - 10)  # three blocks and a bit behind, four queued
    assert stream.catch_up() == 3
    stream = stream_with(Ramp(), lookahead=16384)
    queue(stream, 6 * BLOCK)  # ten behind: as many as LIVE_STEPS allows
    assert stream.catch_up() == LIVE_STEPS[1] == 4
    stream = stream_with(Ramp(), lookahead=16384)
    queue(stream, 3 * BLOCK)  # far behind, but three blocks are all that is left to play
    assert stream.catch_up() == 3
    stream = stream_with(Ramp())
    assert stream.catch_up() == 1  # a ring run dry: the next block as soon as can be


def test_blocks_filled_at_once_queue_as_blocks_filled_one_at_a_time():
    together, alone = stream_with(Ramp(), busy=False), stream_with(Ramp(), busy=False)
    together.produce(steps=2)
    alone.produce(steps=1)
    alone.produce(steps=1)
    assert together.source.calls == [2 * BLOCK] and alone.source.calls == [BLOCK, BLOCK]
    outs = {}
    for name, stream in (("together", together), ("alone", alone)):
        views = [np.zeros(2 * BLOCK, np.float32) for _ in range(2)]
        got, due = stream.ring.pull(views, 2 * BLOCK)
        assert got == 2 * BLOCK
        outs[name] = (np.stack(views), [changes for _, changes in due])
    assert np.array_equal(outs["together"][0], outs["alone"][0])
    assert outs["together"][1] == outs["alone"][1] == [[(0, "lpf", 100.0)], [(0, "lpf", 101.0)]]


def test_a_source_may_keep_to_one_block_at_a_time():
    source = Ramp()
    source.live_steps = 1  # as the session's scheduler says with the live input playing
    stream = stream_with(source, lookahead=8192)
    queue(stream, 8192 - 256)
    assert stream.usual_steps() == 1 and stream.catch_up() == 1
    stream.ring.read_pos += 3 * BLOCK + 256  # the audio thread took three blocks more
    assert stream.catch_up() == 3  # behind: it catches up all the same


def test_a_change_is_given_the_time_the_producers_calls_take_lately():
    source = Slow()
    stream = stream_with(source, busy=False)
    quick = stream.call_margin
    source.seconds = 0.03  # 1323 samples a call
    for _ in range(3):
        stream.produce(steps=2)
    assert quick == 512 and stream.call_margin == 512  # a few slow calls of eight: the median
    stream.produce(steps=2)
    assert 1.5 * 1323 <= stream.call_margin < 1.5 * 0.06 * 44100
    engine = Engine("offline", tracks=1, block=BLOCK, buffersize=256)
    engine._stream = stream
    assert engine.soonest_change == 256 + stream.rewind_margin + stream.call_margin
