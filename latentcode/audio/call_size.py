"""How many blocks the live producer fills in its next call (``Stream.catch_up``), reckoned in
time by what calls of each size took lately.

A call of several blocks costs less than its blocks one at a time (one decode for all of
them): with the soak's 4-track piece, 11 ms for one block, 17 ms for two, 27 ms for four.
So the queue is counted in the time a call takes, not in blocks. Counted in blocks, a busy
producer left with 1,792 samples queued (as after a line's hold) was allowed one block a
call; alone, a block cost more than its own length (26 ms for 23 ms) where two cost 0.8 of
theirs, and it never caught up (a soak: 25 underruns in a row).

Each size's load is the median of its latest calls (:data:`RECENT`), so that one stalled call
(100 ms where 35 is usual) does not send the producer back to single blocks.

>>> costs = CallCosts()
>>> for load in (0.7, 0.7, 3.0):  # two-block calls, one of them stalled
...     costs.note(2, load)
>>> costs.note(1, 1.2)  # one block alone costs more than real time
>>> choose(2, 1792, 1024, costs)  # two blocks take 0.7 x 2048 samples' time: they fit
2
>>> choose(2, 1024, 1024, costs)  # neither fits: the blocks that cost least
2

How many blocks a call fills while the producer keeps up, and what a change waits for the call
under way, follow its recent load (:class:`Batching`).
"""

from __future__ import annotations

from collections import deque
from statistics import median

RECENT = 5  # calls of each size whose loads are kept: one stalled call moves no median
LIVE_STEPS = (2, 4)  # blocks a live producer fills at once: usually, and at most (catch_up)
# producer load: two blocks a call stop below, start above, while a call of two is short
# (LONG_CALL). A call of two costs about four fifths of two calls of one (the 4-track benchmark
# piece, a core busy: a load of 0.13-0.15 against 0.17-0.19), and while it takes under half a
# block's time a change waits no longer for it than for one
BATCH_LOAD = (0.1, 0.15)
# producer load: two blocks a call however long, stop below, start above; between this and a
# long call of two, single blocks keep a change's wait at CALL_MARGIN (at a load of 0.4 two
# blocks a call would save a quarter to a third of it, and cost a change 12 ms)
BUSY_LOAD = (0.4, 0.5)
CALL_MARGIN = 512  # samples a change waits for a call of up to half a block's time
# a usual call's length, in blocks' time (its blocks times the load): a change waits
# CALL_MARGIN for each of its blocks from above the second figure until below the first
LONG_CALL = (0.4, 0.5)
# the least load a call is reckoned with: a load that was low a moment ago lets a call take
# at most twice the blocks the queue holds
LEAST_LOAD = 0.5


class CallCosts:
    """The loads (seconds taken per second of audio made) of the latest calls of each size."""

    def __init__(self) -> None:
        self._loads: dict[int, deque[float]] = {}

    def note(self, steps: int, load: float) -> None:
        """A call of ``steps`` blocks took ``load`` of real time."""
        self._loads.setdefault(steps, deque(maxlen=RECENT)).append(load)

    def seen(self, steps: int) -> bool:
        """Whether calls of ``steps`` blocks were made lately."""
        return bool(self._loads.get(steps))

    def load(self, steps: int, fallback: float = 0.0) -> float:
        """What a call of ``steps`` blocks is reckoned to take, per second of audio; a size not
        called lately at ``fallback`` (the producer's recent load over calls of every size).
        (``statistics.median``: a few floats, on the producer's path, where numpy's costs more)"""
        recent = self._loads.get(steps)
        return max(median(recent) if recent else fallback, LEAST_LOAD)


def choose(most: int, queued: int, block: int, costs: CallCosts, fallback: float = 0.0) -> int:
    """The most blocks, up to ``most``, that are made before the ``queued`` samples have
    played (a call of n blocks takes n * ``block`` * ``costs.load(n, fallback)`` samples'
    time). Where none is, a gap comes either way: of the sizes called lately, the one whose
    blocks cost least, the fewest on a tie; one block if none was (a ring run dry gets the
    next block as soon as can be)."""
    sizes = range(1, max(1, most) + 1)
    fits = [n for n in sizes if n * block * costs.load(n, fallback) <= queued]
    if fits:
        return max(fits)
    seen = [n for n in sizes if costs.seen(n)]
    return min(seen, key=lambda n: (costs.load(n), n)) if seen else 1


class Batching:
    """Whether the live producer fills :data:`LIVE_STEPS` blocks a call, and whether such a
    call takes long, from its recent load: two blocks while they cost a change no wait
    (:data:`BATCH_LOAD`, calls short of :data:`LONG_CALL`), or once the producer is busy
    (:data:`BUSY_LOAD`). Each switches on above its higher figure and off below its lower, so
    that a load near one does not make it flap (nor a note's wait with it).

    >>> b = Batching()
    >>> b.note(0.2); b.batching, b.margin(2)  # two blocks take 0.4 of a block's time
    (True, 512)
    >>> b.note(0.3); b.batching  # two would take 0.6: one at a time, a change waits less
    False
    >>> b.note(0.6); b.batching, b.margin(2)  # busy: two, and a change waits for both
    (True, 1024)
    """

    def __init__(self) -> None:
        self.batching = self.busy = self.long_calls = False

    def note(self, load: float) -> None:
        """The producer's recent load (seconds taken per second of audio made) is ``load``."""
        self.busy = load > BUSY_LOAD[0 if self.busy else 1]
        length = LIVE_STEPS[0] * load  # a usual call's, in blocks' time
        self.long_calls = length > LONG_CALL[0 if self.long_calls else 1]
        light = load > BATCH_LOAD[0 if self.batching else 1]
        self.batching = self.busy or (light and not self.long_calls)

    def margin(self, steps: int) -> int:
        """Samples a change waits for a call of ``steps`` blocks under way: :data:`CALL_MARGIN`
        for one, or while calls are short; that for each block while they take long."""
        return CALL_MARGIN * steps if steps > 1 and self.long_calls else CALL_MARGIN
