"""Background work that leaves the CPU to the live decoder: a thread that sleeps between blocks
of its work (:class:`Pacer`), runs at a lower priority (:func:`be_nice`) and does its matrix
products on one thread (:func:`one_blas_thread`). The bank's worker uses all three while it
encodes files and builds clusters.

>>> p = Pacer(duty=1.0); p(); p.slept
0.0
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import threading
import time
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np


class Pacer:
    """Called between blocks of work on a background thread: sleeps so that the thread keeps
    at most ``duty`` of the time it runs (0.5: it sleeps as long as it worked).

    >>> p = Pacer(duty=0.5); p(); p.slept >= 0
    True
    """

    def __init__(self, duty: float = 0.5) -> None:
        self.ratio = (1.0 - duty) / duty
        self.slept = 0.0
        self._since = time.monotonic()

    def __call__(self) -> None:
        worked = time.monotonic() - self._since
        rest = min(0.5, worked * self.ratio)
        if rest > 0:
            time.sleep(rest)
            self.slept += rest
        self._since = time.monotonic()


def be_nice(steps: int) -> None:
    """Lower the calling thread's priority by ``steps`` (on Linux niceness is per thread; the
    threads it starts, e.g. torch's, inherit it). Elsewhere, or where refused, nothing happens."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps))
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
