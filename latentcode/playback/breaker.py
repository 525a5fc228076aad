"""The circuit breaker: a per-track time budget for the live producer's pattern work.

Every block, the producer asks each track's pattern for its onsets; that is the user's code,
and it may be slow (``every 2 (fast 1e12) $ ...``) or never end (``"<bell bell*1e12>"``). The
breaker measures each track's work in CPU time of the producer thread (a busy machine that
pre-empts the producer is not the track's fault) and trips in two ways:

- **at once**, when one query runs past :data:`HARD_BLOCKS` blocks' worth of CPU: a watchdog
  thread raises :class:`OverBudget` inside the producer thread (an asynchronous exception,
  delivered between two bytecodes of the pattern's Python code), so the producer comes back
  within about a block and the other tracks' audio, queued ahead in the engine's ring, never
  runs dry;
- **on average**, when a track's work over about the last :data:`MEMORY` exceeds :data:`SHARE`
  of each block's duration: a single slow block does not trip it, a track that keeps the
  producer late does.

A tripped track is muted with one message; its pattern is no longer queried. Evaluating a new
pattern on the track (or :meth:`Breaker.reset`) lets it try again. Offline renders have no
breaker: they are synchronous and deterministic, however slow.

A query stuck inside one long C call (a huge numpy allocation) only sees the exception when that
call returns; the evaluator's own size checks keep such patterns out.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SHARE = 0.3  # of each block's duration, on average: three such tracks and nothing else plays
HARD_BLOCKS = 1.0  # one query may take this many blocks' duration of CPU, no more
WATCH_EVERY = 0.01  # s between the watchdog's looks (each takes the GIL for a moment)
MEMORY = 0.25  # s: the average's memory


class OverBudget(BaseException):
    """Raised in the producer by the watchdog. A BaseException, so that a pattern's own
    ``except Exception`` cannot swallow it."""


def _cpu_clock(ident: int) -> Callable[[], float]:
    """A function that reads thread ``ident``'s CPU time (its wall time where the platform
    cannot tell a thread's CPU time)."""
    try:
        clock = time.pthread_getcpuclockid(ident)
        time.clock_gettime(clock)
    except (AttributeError, OSError):
        return time.perf_counter
    return lambda: time.clock_gettime(clock)


def _raise_in(ident: int, exc: type[BaseException] | None) -> None:
    """Schedule ``exc`` in thread ``ident`` (None cancels one scheduled and not yet raised)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc) if exc is not None else None)


class Breaker:
    """Per-track time budgets for the pattern work of a live producer.

    ``report`` gets the one-line messages. Use :meth:`watch` around a track's query and
    :meth:`spent` after its work; :meth:`close` stops the watchdog.

    >>> b = Breaker(report=print)
    >>> with b.watch("t1", 0.023):
    ...     pass
    >>> b.spent("t1", 0.001, 0.023, pattern="p"), b.tripped
    (False, {})
    >>> b.close()
    """

    def __init__(self, *, report: Callable[[str], None] = print, share: float = SHARE,
                 hard_blocks: float = HARD_BLOCKS) -> None:
        self.report = report
        self.share = share
        self.hard_blocks = hard_blocks
        self.tripped: dict[str, Any] = {}  # track name -> the pattern that tripped it
        self.average: dict[str, float] = {}  # s of CPU per block, over about MEMORY
        self.trips = 0
        self._lock = threading.Lock()
        self._busy: tuple[int, str, float, float, Callable[[], float]] | None = None
        self._stop = threading.Event()
        self._fired = False
        self._watchdog = threading.Thread(target=self._watch_loop, name="latentcode-breaker",
                                          daemon=True)
        self._watchdog.start()

    def reset(self, name: str | None = None) -> None:
        """Let track ``name`` (every track: None) try again."""
        for n in [name] if name is not None else list(self.tripped):
            self.tripped.pop(n, None)
            self.average.pop(n, None)

    @contextmanager
    def watch(self, name: str, block_seconds: float) -> Iterator[None]:
        """Around one track's query: past ``hard_blocks`` blocks of CPU, :class:`OverBudget`
        is raised inside it."""
        ident = threading.get_ident()
        clock = _cpu_clock(ident)  # not cached: a thread id may be reused by a later thread
        with self._lock:
            self._busy = (ident, name, clock(), self.hard_blocks * block_seconds, clock)
            self._fired = False
        try:
            yield
        finally:
            with self._lock:
                self._busy = None
                if self._fired:  # raised too late to land inside: cancel it
                    _raise_in(ident, None)
                    self._fired = False

    def spent(self, name: str, seconds: float, block_seconds: float, *, pattern: Any,
              interrupted: bool = False) -> bool:
        """Count ``seconds`` of CPU that track ``name`` took in a block of ``block_seconds``;
        True (and the track is muted, with a message) when it is over its budget."""
        average = self.average.get(name, 0.0)
        # about MEMORY seconds of memory: short enough to trip before the ring runs dry
        average += min(1.0, block_seconds / MEMORY) * (seconds - average)
        self.average[name] = average
        if not interrupted and average <= self.share * block_seconds:
            return False
        self.tripped[name] = pattern
        self.trips += 1
        what = (f"one block's query took over {1000 * self.hard_blocks * block_seconds:.0f} ms"
                if interrupted else f"{1000 * average:.1f} ms per block on average")
        self.report(f"{name}: over its time budget ({what}; a block lasts "
                    f"{1000 * block_seconds:.0f} ms); muted: re-evaluate {name} to try again")
        return True

    def close(self) -> None:
        """Stop the watchdog (idempotent)."""
        self._stop.set()
        if self._watchdog is not threading.current_thread():
            self._watchdog.join(timeout=1.0)

    def _watch_loop(self) -> None:
        while not self._stop.wait(WATCH_EVERY):
            with self._lock:
                busy = self._busy
                if busy is None or self._fired:
                    continue
                ident, _name, cpu0, limit, clock = busy
                if clock() - cpu0 > limit:
                    _raise_in(ident, OverBudget)
                    self._fired = True
