"""A bank's slow work (encoding a file, building clusters): each piece is a :class:`Job`, run
once by whoever claims it first, the bank's background worker or a caller that waits for it;
a lookup that must not wait gets :class:`NotReady` instead.

>>> job = Job("encode:x", "x is being loaded", "x", lambda pace: 42)
>>> job.claim(), job.claim()
(True, False)
>>> job.execute(None); job.outcome()
42
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from latentcode.errors import LatentcodeError


class NotReady(LatentcodeError):
    """A sound that is being prepared in the background (``resolve(name, wait=False)``);
    ``key`` names the work, e.g. ``frames@0`` (the same for everything waiting on it)."""

    def __init__(self, message: str, key: str, job: Any = None) -> None:
        super().__init__(message)
        self.key = key
        self._job = job

    def told(self) -> None:
        """The performer was told to wait: the bank will say when the sound is ready."""
        if self._job is not None:
            self._job.asked = True


class Dropped(LatentcodeError):
    """Work that was dropped before it ended (the helper process died): the job's next
    request starts it again."""


class Stale(Dropped):
    """Dropped because the bank's files changed under the work (see :func:`stale`)."""


_here = threading.local()  # ``warmed``: the job this thread runs was done by the helper first


def stale() -> None:
    """Called where a job would do its slow work itself: refused (:class:`Stale`) when the helper
    process did that work just before, as it then lies in the caches, and its absence means
    the bank's files changed meanwhile. The playing process must not do it instead.

    >>> stale()  # not after the helper: the work is done here
    """
    if getattr(_here, "warmed", False):
        raise Stale("the bank's files changed while its helper process worked on them; the "
                    "work starts again when the sound is asked for again")


class Closed(BaseException):
    """Raised in the worker's pauses once the bank is closed: unwinds the job it runs."""


def give_back_memory() -> None:
    """Hand the memory the C heap holds free back to the system (glibc only; else nothing).

    A cluster build reads every frame of the bank (1.8 GB at its peak for the default bank)
    and frees it; glibc keeps most of it, so a live session stayed at 1.5 GB resident with
    5 MB in use. ``malloc_trim`` returns it (to 0.27 GB). A C call: the GIL is let go.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


class Job:
    """One piece of slow work, run once by whoever claims it first (the worker, or a caller
    that waits); everyone else waits for it."""

    def __init__(self, key: str, what: str, ready: str, run: Callable[[Any], Any],
                 task: tuple | None = None) -> None:
        self.key, self.what, self.ready, self.run = key, what, ready, run
        # what the helper process does first, so that ``run`` here finds it all in the caches
        # (:mod:`latentcode.model.helper`); None: the work is light and runs where it is asked
        self.task = task
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.asked = False  # someone was told to wait: say when it is ready
        self.queued = False
        # Ctrl-C in a caller that waited, or work dropped: a later call starts again
        self.interrupted = False
        self.seconds = 0.0
        self._claimed = False
        self._lock = threading.Lock()

    def claim(self) -> bool:
        """True for the first caller only: that one runs the job."""
        with self._lock:
            first, self._claimed = not self._claimed, True
            return first

    def execute(self, pace: Any, before: Callable[[], Any] | None = None,
                elsewhere: Callable[[Callable[[], Any]], Any] | None = None) -> None:
        """Run the job (``pace`` is called in its pauses), keeping its result or error;
        ``before`` (the helper's part of the work) runs first: its error is the job's, and its
        result, when not None, is the job's result as it is. ``elsewhere(fn)``, where given,
        runs the job's own work (``fn``) on another thread and returns what it returns."""
        t0 = time.monotonic()
        warmed = before is not None

        def own() -> Any:
            _here.warmed = warmed  # (per thread: set where the work runs)
            try:
                return self.run(pace)
            finally:
                _here.warmed = False

        try:
            made = None if before is None else before()
            self.result = made if made is not None else (
                own() if elsewhere is None else elsewhere(own))
        except Exception as e:  # noqa: BLE001 - handed to whoever asks for the result
            self.error = e
            self.interrupted = isinstance(e, Dropped)
        except BaseException:
            self.error = LatentcodeError(f"interrupted: {self.what}")
            self.interrupted = True
            raise
        finally:
            self.seconds = time.monotonic() - t0
            give_back_memory()
            self.done.set()

    def outcome(self) -> Any:
        """The result, or the job's error raised here."""
        if self.error is not None:
            raise self.error
        return self.result
