"""Background work that leaves the CPU to the live decoder: a thread that sleeps between blocks
of its work (:class:`Pacer`), and waits while the live producer is pressed for time
(:class:`Gauge`), runs at a lower priority (:func:`be_nice`; the helper process, once the
music plays, on spare CPU only: :func:`be_idle`) and does its matrix products on one thread
(:func:`one_blas_thread`). The bank's worker and its helper process use all of
them while they encode files and build clusters.

>>> p = Pacer(duty=1.0); p(); p.slept
0.0
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import mmap
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np

# The live producer's load (its time to fill a block / the block's length, over about a
# second) above which background work waits: the 4-track piece decodes at 0.45-0.6 here, and
# underruns came with loads past 0.8 (docs/audio-engine.md)
PRESSED = 0.7
HOLD = 2.0  # s: the longest one wait lasts, so that work under a load that stays goes on
STEP = 0.05  # s: how often a wait looks at the load again


class Pacer:
    """Called between blocks of work on a background thread: sleeps so that the thread keeps
    at most ``duty`` of the time it runs (0.5: it sleeps as long as it worked), then, while
    ``pressure()`` (the live producer's load) is above :data:`PRESSED`, waits on, up to
    :data:`HOLD` seconds.

    >>> p = Pacer(duty=0.5); p(); p.slept >= 0
    True
    >>> p = Pacer(duty=1.0, pressure=lambda: 0.9); p(); round(p.held, 1)
    2.0
    """

    def __init__(self, duty: float = 0.5, pressure: Callable[[], float] | None = None) -> None:
        self.ratio = (1.0 - duty) / duty
        self.pressure = pressure
        self.slept = 0.0  # seconds it slept, waits included
        self.held = 0.0  # of which it waited for the producer
        self._since = time.monotonic()

    def __call__(self) -> None:
        worked = time.monotonic() - self._since
        rest = min(0.5, worked * self.ratio)
        if rest > 0:
            time.sleep(rest)
            self.slept += rest
        if self.pressure is not None:
            held = 0.0
            while held < HOLD and self.pressure() > PRESSED:
                time.sleep(STEP)
                held += STEP
            self.held += held
            self.slept += held
        self._since = time.monotonic()


class Gauge:
    """One number that one process writes and others read: the live producer's load, for the
    bank's helper process to pace by. It lives in a small file mapped into memory (a read
    costs nothing and never waits for the writer); ``path`` opens it in another process.

    >>> g = Gauge(); g.value = 0.75; Gauge(g.path).value
    0.75
    >>> g.close()
    """

    _FORMAT = "d"

    def __init__(self, path: str | None = None) -> None:
        self.owner = path is None
        if path is None:  # in memory where the system has it (/dev/shm), else a temp file
            where = "/dev/shm" if os.path.isdir("/dev/shm") else None
            fd, path = tempfile.mkstemp(prefix="latentcode-load-", dir=where)
            os.write(fd, bytes(struct.calcsize(self._FORMAT)))
        else:
            fd = os.open(path, os.O_RDWR)
        self.path = path
        try:
            self._map: mmap.mmap | None = mmap.mmap(fd, struct.calcsize(self._FORMAT))
        finally:
            os.close(fd)

    @property
    def value(self) -> float:
        """The number last written (0.0 at first, and once closed)."""
        return struct.unpack_from(self._FORMAT, self._map)[0] if self._map is not None else 0.0

    @value.setter
    def value(self, number: float) -> None:
        if self._map is not None:
            struct.pack_into(self._FORMAT, self._map, 0, number)

    def close(self) -> None:
        """Unmap it; the process that made it also removes the file."""
        if self._map is not None:
            self._map.close()
            self._map = None
            if self.owner:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)


def be_nice(steps: int) -> None:
    """Lower the calling thread's priority by ``steps`` (on Linux niceness is per thread; the
    threads it starts, e.g. torch's, inherit it). Elsewhere, or where refused, nothing happens."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps))
    except (AttributeError, OSError):
        pass


def be_idle() -> None:
    """Run the calling thread, and the threads it starts, on CPU time nothing else wants
    (Linux's ``SCHED_IDLE``: a weight of 3 against a nice-0 thread's 1024, where nice +10 has
    110). For a process of its own only, never a thread of the live process: there it would
    hold Python's lock while the system keeps it waiting. Elsewhere, or where refused, nothing
    happens."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        pass


@cache
def _openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """numpy's own OpenBLAS (get, set number of threads), or None where it cannot be found."""
    here = os.path.dirname(np.__file__)
    for lib in sorted(glob.glob(os.path.join(here, "..", "numpy.libs", "*openblas*"))
                      + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))):
        try:
            dll = ctypes.CDLL(lib)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(dll, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(dll, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run numpy's matrix products on one thread meanwhile (the background worker's setting).

    OpenBLAS threads spin while they wait: two of them on two busy cores made one product of
    k-means 40 times slower than one thread, and took the CPU from the live decoder. The setting
    is the library's (numpy's, not torch's), restored afterwards; nothing happens where numpy's
    OpenBLAS cannot be found.
    """
    blas = _openblas()
    if blas is None:
        yield
        return
    get, put = blas
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)
