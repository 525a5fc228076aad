"""The lowest ``:latency`` is measured: the producer's slowest block lately sets it."""

from __future__ import annotations

import time

from latentcode.audio import stream as stream_module
from latentcode.audio.engine import SWITCH_INTERVAL, Engine


class Slow:
    """A source whose blocks take ``seconds`` each to fill."""

    tracks = 1

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def fill(self, out, start):
        time.sleep(self.seconds)
        out[0, :, 0] = 0.1


def test_the_floor_follows_the_slowest_block_and_forgets_it(monkeypatch):
    monkeypatch.setattr(stream_module, "WORST_WINDOW", 1024 * 4 / 44100)  # 4 blocks a window
    engine = Engine("offline", tracks=1, buffersize=256, block=1024)
    stream = engine._stream
    bare = engine.lookahead_floor
    assert bare == 256 + round((SWITCH_INTERVAL + 0.002) * 44100 + 0.5)
    source = Slow(0.03)
    stream.attach(source)
    stream.produce()
    assert 0.03 <= engine.worst_fill < 0.06
    # a block of 30 ms needs at least 30 ms more queued than an instant one
    assert engine.lookahead_floor >= bare + 0.03 * 44100
    source.seconds = 0.0
    for _ in range(3):
        stream.produce()
    assert engine.worst_fill >= 0.03  # still within this window
    for _ in range(8):  # two windows of quick blocks later, the slow one is forgotten
        stream.produce()
    assert engine.worst_fill < 0.01
    assert engine.lookahead_floor < bare + 0.01 * 44100


def test_the_producer_thread_alone_gets_its_priority():
    import os
    import threading

    from latentcode.audio.priority import raise_priority

    main = os.getpriority(os.PRIO_PROCESS, 0)
    got = []
    # a nicer (higher) value is always allowed; the engine asks for a lower one, which needs
    # the right to, and then it is the producer's thread alone that runs first
    thread = threading.Thread(target=lambda: got.append(raise_priority(main + 5)))
    thread.start()
    thread.join()
    assert got == [main + 5]
    assert os.getpriority(os.PRIO_PROCESS, 0) == main
