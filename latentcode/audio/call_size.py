"""How many blocks the live producer fills in its next call (``Stream.catch_up``), reckoned in
time by what calls of each size took lately.

A call of several blocks costs less than its blocks one at a time (one decode for all of
them, and each voice's fixed work once): with the soak's 4-track piece, 0.52 of real time a
block alone, 0.37 two at a time, 0.30 four at a time (the median; a core busy). So the queue
is counted in the time a call takes, not in blocks. Counted in blocks, a busy producer left
with 1,792 samples queued (as after a line's hold) was allowed one block a call; alone, a
block cost more than its own length (26 ms for 23 ms) where two cost 0.8 of theirs, and it
never caught up (a soak: 25 underruns in a row).

Each size's load is the median of its latest calls (:data:`RECENT`), so that one stalled call
(100 ms where 35 is usual) does not send the producer back to single blocks. A size not made
for a while is reckoned as the music is now, not as it was: its median is scaled by how the
size made last has changed since (:meth:`CallCosts.load`), and a smaller call never costs
less a block than a larger one made last. Reckoned as it was, a soak's producer in a dense
moment (two blocks: 1.05 of real time) took one-block calls, made last in a light moment, to
cost 0.6; they cost 1.35-1.8, and eleven underruns came.

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

LIVE_STEPS = (2, 4)  # blocks a live producer fills at once: usually, and at most (catch_up)
BATCH_LOAD = (0.4, 0.5)  # producer load: two blocks a call stop below, start above
RECENT = 5  # calls of each size whose loads are kept: one stalled call moves no median
# the least load a call is reckoned with (choose): a load that was low a moment ago lets a
# call take at most twice the blocks the queue holds
LEAST_LOAD = 0.5
# a size not made lately: the load of the size made last times (its blocks / this size's) to
# this power; twice the blocks cost 0.81 of the load (the soak's piece: 0.37 for two blocks a
# call, 0.30 for four, the median; 0.64 at its densest, so this errs on the costly side)
SCALING = 0.3


class CallCosts:
    """The loads (seconds taken per second of audio made) of the latest calls of each size.

    >>> costs = CallCosts()
    >>> for steps, load in ((2, 0.5), (2, 0.5), (1, 0.6), (2, 1.0), (2, 1.0), (2, 1.0)):
    ...     costs.note(steps, load)   # one block in a light moment, then two as it got dense
    >>> costs.load(2), costs.load(1)  # one block: 0.6 then, scaled as two blocks' cost since
    (1.0, 1.2)
    """

    def __init__(self) -> None:
        self._loads: dict[int, deque[float]] = {}
        self._last = 0  # the size made last
        # (n, m): the median of size m when size n was made last; m's since then scales n's
        self._anchors: dict[tuple[int, int], float] = {}

    def note(self, steps: int, load: float) -> None:
        """A call of ``steps`` blocks took ``load`` of real time."""
        self._loads.setdefault(steps, deque(maxlen=RECENT)).append(load)
        self._last = steps
        for size, recent in self._loads.items():
            if size != steps:
                self._anchors[steps, size] = median(recent)

    def seen(self, steps: int) -> bool:
        """Whether calls of ``steps`` blocks were made lately."""
        return bool(self._loads.get(steps))

    def load(self, steps: int, fallback: float = 0.0) -> float:
        """What a call of ``steps`` blocks is reckoned to take, per second of audio: the
        median of its latest; a size other than the one made last, that times the change in
        the last one's since (``_anchors``), no less than that one's for fewer blocks, no more
        for more; a size not made lately, from the last one's (:data:`SCALING`); ``fallback``
        (the producer's recent load over calls of every size) before any call.
        (``statistics.median``: a few floats, on the producer's path, where numpy's costs more)"""
        recent, last = self._loads.get(steps), self._last
        if not recent:  # as the size made last, a block costing less in a larger call
            return median(self._loads[last]) * (last / steps) ** SCALING if last else fallback
        load = median(recent)
        if last != steps:
            now = median(self._loads[last])
            anchor = self._anchors.get((steps, last))
            if anchor:
                load *= now / anchor
            load = max(load, now) if steps < last else min(load, now)
        return load


def choose(most: int, queued: int, block: int, costs: CallCosts, fallback: float = 0.0) -> int:
    """The most blocks, up to ``most``, that are made before the ``queued`` samples have
    played (a call of n blocks takes n * ``block`` * ``costs.load(n, fallback)`` samples'
    time) while making more than they take (a load under 1). A size that fits but makes less
    than real time only puts a gap off and makes it longer; where no size both fits and
    gains, a gap comes either way: of the sizes called lately, the one whose blocks cost
    least, the fewest on a tie; one block if none was (a ring run dry gets the next block as
    soon as can be).

    >>> costs = CallCosts()
    >>> for steps, load in ((1, 1.4), (2, 1.05), (4, 0.8)):  # a dense moment
    ...     costs.note(steps, load)
    >>> choose(4, 2048, 1024, costs)  # one or two fit but lose ground: four
    4
    """
    sizes = range(1, max(1, most) + 1)
    loads = {n: max(costs.load(n, fallback), LEAST_LOAD) for n in sizes}
    gaining = [n for n in sizes if n * block * loads[n] <= queued and loads[n] < 1.0]
    if gaining:
        return max(gaining)
    seen = [n for n in sizes if costs.seen(n)]
    return min(seen, key=lambda n: (loads[n], n)) if seen else 1


def usual(now: int, recent: float) -> int:
    """The blocks a live producer fills a call while it keeps up (``Stream.usual_steps``),
    after one made ``now`` a call: one while it takes less than :data:`BATCH_LOAD` of real
    time lately (``recent``), else two.

    >>> usual(1, 0.45), usual(2, 0.45), usual(2, 0.3)   # busy is above 0.5, idle below 0.4
    (1, 2, 1)
    """
    return 1 if recent <= BATCH_LOAD[0 if now > 1 else 1] else LIVE_STEPS[0]
