"""Evaluation under a deadline: code that runs too long, or that Ctrl-C stops, changes nothing.

The caps of :mod:`latentcode.patterns.budget` bound what one query may cost, but code is code:
the front ends still evaluate in a worker thread and wait for it with a deadline. On time out,
or on Ctrl-C in the waiting thread, the worker is interrupted with an asynchronous exception
(CPython's ``PyThreadState_SetAsyncExc``) and the caller hears one line. A :class:`Guard`
keeps the interruption out of the commit, so a block is applied whole or not at all:

>>> import time
>>> run_with_deadline(lambda: 6 * 7, 2.0)
42
>>> run_with_deadline(lambda: time.sleep(5), 0.2)
Traceback (most recent call last):
...
latentcode.shell.deadline.EvalTimeout: evaluation took over 0.2 s: not evaluated; nothing \
changed
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from latentcode.errors import LatentcodeError

EVAL_DEADLINE = 2.0  # seconds a block may take to evaluate
STOP_WAIT = 1.0  # seconds an interrupted worker gets to unwind before it is left behind

T = TypeVar("T")


class EvalTimeout(LatentcodeError):
    """An evaluation went past its deadline and was stopped; nothing changed."""


class EvalInterrupted(LatentcodeError):
    """Ctrl-C stopped an evaluation; nothing changed."""


class Cancelled(BaseException):
    """Raised inside the worker to stop it (a BaseException: user code's ``except Exception``
    must not swallow it)."""


class Guard:
    """Lets a worker enter its commit only when it has not been cancelled, and keeps it from
    being cancelled once inside: ``with guard:`` around the commit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cancelled = False
        self.committing = False

    def __enter__(self) -> Guard:
        with self.lock:
            if self.cancelled:
                raise Cancelled
            self.committing = True
        return self

    def __exit__(self, *exc: Any) -> None:
        with self.lock:
            self.committing = False

    def cancel(self, thread: threading.Thread) -> bool:
        """Interrupt ``thread`` unless it is committing; True when it was (or had ended).

        A commit the worker reaches later is refused either way. Whether it still runs is asked
        of the interpreter, not of ``thread.is_alive()``: a Ctrl-C that lands inside
        ``thread.join()`` leaves the Thread object saying it has stopped while it runs on
        (CPython 3.11's join, after bpo-45274), and the worker must still be stopped.
        """
        with self.lock:
            if self.committing:
                return False
            self.cancelled = True
            if running(thread):
                _raise_in(thread, Cancelled)
            return True


def running(thread: threading.Thread) -> bool:
    """Whether ``thread`` still runs Python code (the interpreter's own list of threads)."""
    return thread.ident is not None and thread.ident in sys._current_frames()


def _raise_in(thread: threading.Thread, exc: type[BaseException]) -> None:
    ident = thread.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc))


def run_with_deadline(work: Callable[[], T], seconds: float = EVAL_DEADLINE,
                      guard: Guard | None = None) -> T:
    """``work()`` in a worker thread; past ``seconds``, or on Ctrl-C here, the worker is
    interrupted (:class:`EvalTimeout`, :class:`EvalInterrupted`). Exceptions of ``work`` are
    raised here. ``guard`` is the one ``work`` enters around its commit (see :class:`Guard`).
    """
    guard = guard if guard is not None else Guard()
    result: list[Any] = []
    error: list[BaseException] = []

    def worker() -> None:
        try:
            result.append(work())
        except Cancelled:
            pass
        except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
            error.append(e)

    thread = threading.Thread(target=worker, name="latentcode-eval", daemon=True)
    thread.start()
    try:
        end = time.monotonic() + seconds
        while thread.is_alive() and time.monotonic() < end:
            thread.join(0.05)  # short waits: a Ctrl-C is seen at once
    except BaseException as e:  # Ctrl-C, or a signal handler's exception: stop the worker
        committing = _stop(thread, guard) is False
        if committing:
            thread.join()  # the block is applied whole
        if not isinstance(e, KeyboardInterrupt):
            raise
        if not committing:
            raise EvalInterrupted("interrupted: not evaluated; nothing changed") from None
    if thread.is_alive() and _stop(thread, guard) is False:
        thread.join()  # it reached its commit meanwhile: let it finish
    if error:
        raise error[0]
    if not result:
        raise EvalTimeout(f"evaluation took over {seconds:g} s: not evaluated; nothing changed")
    return result[0]


def _stop(thread: threading.Thread, guard: Guard) -> bool | None:
    """Interrupt the worker and give it a moment to unwind; None when it was, False when it was
    committing (and so must be let finish)."""
    if not guard.cancel(thread):
        return False if running(thread) else None
    end = time.monotonic() + STOP_WAIT  # a worker stuck in C code is left behind (refused)
    while running(thread) and time.monotonic() < end:
        time.sleep(0.01)
    return None
