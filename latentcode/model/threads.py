"""The decoder's threads: how many torch's products run on, live and in renders.

Live, every core that other programs leave free (:mod:`latentcode.model.spare_cores`), or the
count chosen with ``--threads N``; in a render one per process (:func:`one_thread`), so that a
render is the same file in one process or several. OpenMP keeps a count per thread, so the
thread that decodes sets its own before each decode (:func:`follow_threads`).

>>> with one_thread(): torch.get_num_threads()
1
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from latentcode.errors import LatentcodeError
from latentcode.model.spare_cores import THREADS_ENV, SpareCores


def available_cores() -> int:
    """The cores this process may run on (at least 1).

    >>> available_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def live_threads() -> int | None:
    """The live decoder's thread count if one was chosen (``--threads N``, which sets the
    environment variable :data:`THREADS_ENV`), else None: every core that other programs leave
    free (:mod:`latentcode.model.spare_cores`).

    >>> os.environ[THREADS_ENV] = "1"; live_threads()
    1
    >>> del os.environ[THREADS_ENV]; live_threads() is None
    True
    """
    chosen = os.environ.get(THREADS_ENV, "").strip()
    if not chosen:
        return None
    try:
        n = int(chosen)
    except ValueError:
        raise LatentcodeError(f"{THREADS_ENV} must be a number of threads such as 1, "
                              f"not {chosen[:20]!r}") from None
    if n < 1:
        raise LatentcodeError(f"{THREADS_ENV} must be at least 1, not {n}")
    return n


_SPARE: SpareCores | None = None  # while set, live decoding follows the machine (set_live_threads)


def set_live_threads(n: int | None = None) -> int:
    """Decode on ``n`` threads from now on; without ``n``, on :func:`live_threads`' count if
    one was chosen, else on every core others leave free, looked at again each second (the
    live default). Every thread that decodes follows from its next decode, except inside
    :func:`one_thread`. Returns the count decoding starts with.

    >>> set_live_threads(1), torch.get_num_threads()
    (1, 1)
    """
    global _SPARE
    n = live_threads() if n is None else max(1, int(n))
    _SPARE = SpareCores(available_cores()) if n is None else None
    n = available_cores() if n is None else n
    torch.set_num_threads(n)
    return n


def spare_cores() -> SpareCores | None:
    """What the live decoder follows after a plain :func:`set_live_threads` (its
    ``changes`` and ``fewer`` seconds say what it did), else None: a count was fixed.

    >>> set_live_threads(1); spare_cores() is None
    1
    True
    """
    return _SPARE


_THREADS = threading.local()  # .n: the thread count this thread last gave its OpenMP; .pinned


def follow_threads() -> None:
    """Give the calling thread the decoder's thread count: one inside :func:`one_thread`, the
    machine's spare cores after a plain :func:`set_live_threads`, else ``torch.get_num_threads()``.

    OpenMP keeps a count per thread: ``torch.set_num_threads`` sets the caller's, and a thread
    started later runs its products on OpenMP's default (every core) whatever torch's count
    says, until it sets its own. The decoder calls this before each decode, so the producer
    thread decodes on the threads chosen, not on those the library happened to start with.

    >>> set_live_threads(1); follow_threads(); _THREADS.n   # a count fixed: it, not the spare cores
    1
    1
    """
    if getattr(_THREADS, "pinned", False):
        n = 1
    elif _SPARE is not None:
        n = _SPARE.threads()
    else:
        n = torch.get_num_threads()
    if getattr(_THREADS, "n", None) != n:
        torch.set_num_threads(n)
        _THREADS.n = n


@contextmanager
def one_thread() -> Iterator[None]:
    """Decode on one thread inside the block, then as before.

    Renders decode this way: BLAS on two threads gives small batches other bits than on one,
    and a render must be the same file whether it runs in one process or several (each of
    which has one core: see :mod:`latentcode.playback.parallel`).
    """
    before, pinned = torch.get_num_threads(), getattr(_THREADS, "pinned", False)
    torch.set_num_threads(1)
    _THREADS.pinned, _THREADS.n = True, 1
    try:
        yield
    finally:
        _THREADS.pinned = pinned
        torch.set_num_threads(before)
        _THREADS.n = before
