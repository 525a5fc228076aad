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
"""

from __future__ import annotations

from collections import deque
from statistics import median

RECENT = 5  # calls of each size whose loads are kept: one stalled call moves no median
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
