"""Shared helpers for tests of the bank's background work: waiting for it, and tasks for its
helper process (which imports them by name)."""

from __future__ import annotations

import os
import time


def long_work(model, pace, report, *args) -> None:
    """Says where it runs, then works for a minute, pausing often (as the real work does)."""
    report(f"working in {os.getpid()}")
    for _ in range(6000):
        pace()
        time.sleep(0.01)


def where(model, pace, report, *args) -> tuple[int, str]:
    """The helper's pid and its model's fingerprint."""
    return os.getpid(), model.fingerprint


def paced(model, pace, report, *args) -> float:
    """Seconds a call of ``pace`` takes in the helper (the work before it is a few ms)."""
    pace()
    t0 = time.monotonic()
    pace()
    return time.monotonic() - t0


def policy(model, pace, report, *args) -> int:
    """The helper's scheduling policy after a call of ``pace`` (``os.SCHED_*``)."""
    pace()
    return os.sched_getscheduler(0)


def wait_until(condition, timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds (failing the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
