"""How many threads the live decoder takes: every core while other programs leave them free,
one fewer for each core they keep busy.

A second decoder thread makes a call of many voices about 1.5 times as fast on an idle 2-core
machine, but with another program busy on a core it queues behind that program, and the
producer's products wait for their slowest thread: on a 2-core AVX2 CPU, 6-minute soaks with a
core busy had 10 and 26 underruns on two threads, none on one (0 and 8 with the choice made
here; 10-minute ones with it, 2 and 73, the 73 the producer's own CPU on its one thread as a
line brought new voices), while idle the second thread raised the voices that play without a
gap from 64 to 96 (docs/audio-engine.md). So the live
decoder follows the machine: once a second it reads how much CPU time the cores it may use
spent on other processes (``/proc/stat`` less this process's own time) and keeps as many
threads as the cores those processes leave free.

It gives up a thread as soon as one second shows the others taking more than 0.6 of the core
that thread needs, and takes one back only after :data:`GROW_AFTER` seconds in a row with them
under 0.3 of it (on two cores: others over 0.6 of a core, under 0.3); in between it keeps its
count, so a load near either does not make it flap. Slow to grow, quick to give up: an
underrun costs more than a few seconds of a little less capacity.

>>> s = SpareCores(most=2, read=lambda: None)  # no /proc: every core
>>> s.threads()
2
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

THREADS_ENV = "LATENTCODE_THREADS"  # a fixed count instead (``--threads N``; threads.live_threads)
WINDOW = 1.0  # s: how often the share is looked at again (a read costs about 0.03 ms)
KEEP = 0.6  # a thread is kept while the cores others leave free, plus this, reach it
GROW = 0.3  # ... and taken back when they do with this
GROW_AFTER = 3  # windows in a row that allow another thread before it is taken


def read_usage(cpus: frozenset[int] | None = None) -> tuple[float, float] | None:
    """(CPU seconds the cores ``cpus`` (default: those this process may use) have spent
    busy since boot, CPU seconds this process has used), or None without ``/proc/stat``.

    >>> usage = read_usage()
    >>> usage is None or usage[0] >= usage[1] * 0.5
    True
    """
    if cpus is None:
        cpus = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    try:
        with open("/proc/stat", "rb") as f:
            text = f.read(1 << 16)
    except OSError:
        return None
    busy = 0
    for line in text.split(b"\n"):
        if not line.startswith(b"cpu") or line[3:4] == b" ":  # the machine's total: per core
            continue
        name, *fields = line.split()
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        # user nice system idle iowait irq softirq steal: all but idle and iowait are busy
        values = [int(v) for v in fields[:8]]
        busy += sum(values) - values[3] - values[4]
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


class SpareCores:
    """The decoder's thread count, at most ``most``, following how busy other programs keep
    the cores: :meth:`threads` is called before each decode and reads the machine at most
    once a :data:`WINDOW`.

    ``read`` gives (busy CPU seconds of the cores, this process's CPU seconds), as
    :func:`read_usage`, or None where it cannot tell (then every core); ``clock`` the time.

    >>> t, readings = [0.0], iter([(0, 0), (1.9, 1.0), (2.2, 1.3)])
    >>> s = SpareCores(most=2, read=lambda: next(readings), clock=lambda: t[0])
    >>> s.threads()  # the first reading only starts the count
    2
    >>> t[0] = 1.0; s.threads()  # others took 0.9 of a core in that second: one thread
    1
    >>> t[0] = 2.0; s.threads(), round(s.others, 2)  # nothing else ran: one more for now
    (1, 0.0)
    """

    def __init__(self, most: int, read: Callable[[], tuple[float, float] | None] = read_usage,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.most = max(1, int(most))
        self.others = 0.0  # cores other programs kept busy in the last window
        self.changes = 0  # how often the count changed
        self.fewer = 0.0  # seconds decoded on fewer than ``most`` threads
        self._read, self._clock = read, clock
        self._n = self.most
        self._looked = -math.inf  # when the machine was last read (or found unreadable)
        self._last: tuple[float, float, float] | None = None  # (time, busy, own) of that read
        self._grow_votes = 0

    def threads(self) -> int:
        """The threads to decode on now."""
        now = self._clock()
        if now - self._looked < WINDOW:  # the decoder's every call: a clock and a compare
            return self._n
        self._looked = now
        usage = self._read()
        if usage is None:  # no /proc: look again a window later, not on every decode
            self._last = None
            return self._n
        if self._last is not None:
            t0, busy0, own0 = self._last
            span = now - t0
            self.others = max(0.0, (usage[0] - busy0) - (usage[1] - own0)) / span
            self.fewer += span if self._n < self.most else 0.0
            before = self._n
            self._update(self.most - self.others)
            self.changes += self._n != before
        self._last = (now, *usage)
        return self._n

    def _update(self, free: float) -> None:
        """A new count from the cores other programs left free, with hysteresis."""
        keep = max(1, min(self.most, math.floor(free + KEEP)))
        grow = max(1, min(self.most, math.floor(free + GROW)))
        if self._n > keep:
            self._n, self._grow_votes = keep, 0
        elif self._n < grow:
            self._grow_votes += 1
            if self._grow_votes >= GROW_AFTER:
                self._n, self._grow_votes = self._n + 1, 0
        else:
            self._grow_votes = 0
