"""A busy live producer fills two blocks a call, one while it is idle, more when it has fallen
behind, never more than it can make while the ring plays what it holds, reckoned by its recent
load (``Stream.catch_up``); the blocks it
fills at once are the audio and controls of blocks filled one at a time; a change is given a
call's time (``Stream.call_margin``); the scheduler keeps to one block a call while a pad or the
live input plays (``Scheduler.live_steps``)."""

from __future__ import annotations

import numpy as np

from latentcode.audio.call_size import BATCH_LOAD, CALL_MARGIN, LIVE_STEPS
from latentcode.audio.engine import Engine
from latentcode.patterns.controllers import CONTROLLERS
from latentcode.session import Session

BLOCK = 1024
SR = 44100


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


def loaded(stream, load):
    """``stream`` with a producer that took just over ``load`` of real time lately."""
    source = stream.source
    slow = Slow()
    slow.seconds = load * BLOCK / SR
    stream.attach(slow)
    while not stream.stats().producer_load_recent > 0.95 * load:
        stream.produce(steps=1)
        stream.ring.read_pos = stream.ring.write_pos
    stream.attach(source)
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
    assert stream.stats().producer_load_recent < BATCH_LOAD[0]
    assert stream.usual_steps() == 1 and stream.catch_up() == 1


def test_two_blocks_a_call_while_a_change_waits_no_longer_for_them_or_once_busy():
    # a call of two blocks at a fifth of real time takes 0.4 of a block's time: the wait
    # given for a call of one block covers it
    light = loaded(stream_with(Ramp(), busy=False), 0.2)
    queue(light, 4096 - 256)
    assert light.usual_steps() == 2 and light.catch_up() == 2
    assert light.call_margin == CALL_MARGIN
    # at 0.35 a call of two would take 0.7 of a block's time: one block a call, and a change
    # waits for one
    middle = loaded(light, 0.35)
    queue(middle, 4096 - 256)
    assert middle.usual_steps() == 1 and middle.catch_up() == 1
    assert middle.call_margin == CALL_MARGIN
    # busy (0.6): two blocks a call, and a change waits for both
    busy = stream_with(Ramp())
    queue(busy, 4096 - 256)
    assert busy.usual_steps() == 2 and busy.call_margin == 2 * CALL_MARGIN


def test_more_blocks_when_behind_but_no_more_than_are_made_while_the_ring_plays():
    stream = stream_with(Ramp(), lookahead=8192)
    queue(stream, 8192 - 3 * BLOCK - 10)  # three blocks and a bit behind, four queued
    assert stream.catch_up() == 3
    stream = stream_with(Ramp(), lookahead=16384)
    queue(stream, 6 * BLOCK)  # ten behind: as many as LIVE_STEPS allows
    assert stream.catch_up() == LIVE_STEPS[1] == 4
    # far behind, two and a half blocks left to play: at a load of about 0.5 four blocks
    # take about two blocks' time; as slow as real time, only two are made in time
    stream = stream_with(Ramp(), lookahead=16384)
    queue(stream, 5 * BLOCK // 2)
    assert stream.stats().producer_load_recent < 0.6 and stream.catch_up() == 4
    stream = loaded(stream_with(Ramp(), lookahead=16384), 1.0)
    queue(stream, 5 * BLOCK // 2)
    assert stream.catch_up() == 2
    stream = stream_with(Ramp())
    assert stream.catch_up() == 1  # a ring run dry: the next block as soon as can be


def test_a_busy_producer_low_on_queue_still_fills_two_blocks_a_call():
    # Counted in blocks, 1,792 samples queued allowed one block a call; a block alone costs
    # more of its length than two together, and a soak's producer fell behind for good.
    stream = stream_with(Ramp())
    queue(stream, 1792)
    assert stream.usual_steps() == 2 and stream.catch_up() == 2
    stream = loaded(stream_with(Ramp()), 1.0)  # as slow as real time: one is all that fits
    queue(stream, 1792)
    assert stream.catch_up() == 1


class Sized(Ramp):
    """A Ramp whose calls take ``load[blocks]`` of the audio's time."""

    load = {1: 1.2, 2: 0.6}

    def fill_steps(self, out, start, step):
        import time

        time.sleep(self.load[out.shape[2] // step] * out.shape[2] / SR)
        return super().fill_steps(out, start, step)


def test_one_stalled_call_does_not_send_a_busy_producer_back_to_single_blocks():
    stream = stream_with(Ramp())
    source = Sized()
    stream.attach(source)
    for steps in (2, 2, 2, 2, 1, 1, 1, 1, 1):  # two blocks cost 0.6 of their time, one 1.2
        stream.produce(steps=steps)
        stream.ring.read_pos = stream.ring.write_pos
    source.load = {2: 3.0}
    stream.produce(steps=2)  # one call stalls: 140 ms for 46 ms
    stream.ring.read_pos = stream.ring.write_pos
    queue(stream, 1792)
    assert stream.catch_up() == 2  # two still take ~0.6 of 2,048 samples' time: they fit
    stream.ring.read_pos = stream.ring.write_pos
    queue(stream, 1024)
    # nothing fits: a gap comes either way, and two blocks at a time, not one, catch up after
    assert stream.catch_up() == 2


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


def test_a_source_may_keep_to_one_block_at_a_time_even_behind():
    source = Ramp()
    source.live_steps = 1  # as the session's scheduler says while a pad or the input plays
    stream = stream_with(source, lookahead=8192)
    queue(stream, 8192 - 256)
    assert stream.usual_steps() == 1 and stream.catch_up() == 1
    stream.ring.read_pos += 3 * BLOCK + 256  # the audio thread took three blocks more
    assert stream.catch_up() == 1  # a call under way would make a note wait longer


def test_a_change_waits_a_call_of_the_blocks_filled_usually():
    idle, busy = stream_with(Ramp(), busy=False), stream_with(Ramp())
    assert idle.call_margin == CALL_MARGIN == 512
    assert busy.call_margin == LIVE_STEPS[0] * CALL_MARGIN
    pads = Ramp()
    pads.live_steps = 1
    assert stream_with(pads).call_margin == CALL_MARGIN  # busy, but a note's wait stays put
    engine = Engine("offline", tracks=1, block=BLOCK, buffersize=256)
    engine._stream = busy
    assert engine.soonest_change == 256 + busy.rewind_margin + 2 * CALL_MARGIN


def test_the_scheduler_asks_for_one_block_a_call_while_a_pad_or_the_input_plays(session_parts):
    model, bank = session_parts
    for name in ("drone", "hit"):
        bank.resolve(name)
    CONTROLLERS.clear()
    session = Session(model, bank, tracks=2)
    session.eval('t1 $ "drone"')
    scheduler = session.scheduler(wait_for_sounds=False)
    out = np.zeros((2, 2, 2 * BLOCK), np.float32)
    scheduler.fill_steps(out, 0, BLOCK)
    assert scheduler.live_steps is None  # the engine's choice
    session.eval('t2 $ on 36 $ "hit"')
    scheduler.fill_steps(out, 2 * BLOCK, BLOCK)  # the pad's pattern is queried
    assert scheduler.live_steps == 1
    session.eval("t2 $ silence")  # no pad plays: two seconds on, the engine may choose again
    at = 4 * BLOCK
    while scheduler.live_steps == 1 and at < 10 * SR:
        scheduler.fill_steps(out, at, BLOCK)
        at += 2 * BLOCK
    assert scheduler.live_steps is None and 2 * SR <= at - 4 * BLOCK <= 2 * SR + 4 * BLOCK
    scheduler.plays_input = True
    assert scheduler.live_steps == 1
    CONTROLLERS.clear()
