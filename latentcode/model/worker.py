"""The bank's background worker: one thread that runs the jobs a live lookup could not wait
for, one at a time, each first in the helper process (:mod:`latentcode.model.helper`), then
here, where it finds its work in the disk caches.

What a job computes here (a short file encoded, for which no helper is started; a part read
once the helper made it) runs on a second thread at a lower priority (:class:`Lowered`), paced
(:mod:`.pacing`). The worker's own thread, which waits on the helper and takes its answers,
keeps the process's priority: it takes Python's lock ten times a second while it waits, and a
thread at nice +10 that asks for the lock may hold it while the system keeps it waiting (a
soak caught the producer asleep 37-39 ms on the lock at such a moment: docs/audio-engine.md,
"Nor wait at one"). It says
when a sound that a track waits for is ready (see
:meth:`~latentcode.model.jobs.NotReady.told`), stops the helper when it has had nothing to do
for :data:`IDLE` seconds, and ends when it is closed.

>>> w = Worker(print, None, None, dict); w.close(); w.close()
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from latentcode.model.helper import Helper
from latentcode.model.jobs import Closed, Dropped, Job, Stale
from latentcode.model.pacing import Pacer, be_nice, one_blas_thread

DUTY = 0.5  # share of the time the worker may compute here (it sleeps the rest)
NICE = 10  # the niceness of a job's work here (Linux: per thread): the producer's CPU comes first
IDLE = 30.0  # s without work after which the helper process is stopped (its memory freed)


class Lowered:
    """A thread at :data:`NICE` steps below its starter that runs the functions handed to it
    (:meth:`run`, which waits for each without waking: no lock is taken meanwhile). Started
    with the first function, ended by :meth:`close`.

    >>> low = Lowered(); low.run(lambda: 6 * 7)
    42
    >>> low.close()
    """

    def __init__(self) -> None:
        self._todo: queue.Queue[tuple | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def run(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` on the lowered thread: its result here, or its exception raised here."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="latentcode-bank-work",
                                            daemon=True)
            self._thread.start()
        box: dict[str, Any] = {}
        done = threading.Event()
        self._todo.put((fn, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def close(self) -> None:
        """End the thread once it has run what it was handed."""
        if self._thread is not None:
            self._todo.put(None)
            self._thread = None

    def _loop(self) -> None:
        be_nice(NICE)
        while (item := self._todo.get()) is not None:
            fn, box, done = item
            try:
                box["value"] = fn()
            except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
                box["error"] = e
            finally:
                done.set()


class Worker:
    """Runs :meth:`submit`-ted jobs on its own thread (started with the first).

    ``helper`` does each job's ``task`` first: it calls ``warm(model, pace, report,
    *state(), task)`` there, ``state`` giving what the helper needs to know of the bank now.
    Without a helper (a bank with no model of its own) everything runs here. ``changed`` is
    called when a job found the bank's files changed under it (:class:`~.jobs.Stale`).
    """

    def __init__(self, report: Callable[[str], None], helper: Helper | None,
                 warm: Callable[..., Any] | str | None, state: Callable[[], tuple],
                 changed: Callable[[], None] = lambda: None) -> None:
        self.report, self.helper, self.warm, self.state = report, helper, warm, state
        self.changed = changed  # called when a job finds the files changed under it
        self.pressure: Callable[[], float] | None = None  # the live producer's load (pacing)
        if helper is not None:
            helper.pressure = self._pressure
        self.thread: threading.Thread | None = None
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._closed = threading.Event()
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        """Queue ``job`` (once, however often it is asked for)."""
        with self._lock:
            if not job.queued:
                job.queued = True
                self._queue.put(job)
            if self.thread is None:
                self.thread = threading.Thread(target=self._work, name="latentcode-bank",
                                               daemon=True)
                self.thread.start()

    def close(self) -> None:
        """Stop at the next pause (the job it was running is dropped, a later request starts
        it again), and stop the helper."""
        self._closed.set()
        with self._lock:
            if self.thread is not None:
                self._queue.put(None)
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        if self.helper is not None:
            self.helper.close()

    def pace_by(self, pressure: Callable[[], float] | None) -> None:
        """Wait, here and in the helper, while ``pressure()`` is high (None: never)."""
        self.pressure = pressure

    def _pressure(self) -> float:
        pressure = self.pressure  # (read once: a stopping session sets None meanwhile)
        return pressure() if pressure is not None else 0.0

    def _check(self) -> None:
        if self._closed.is_set():  # checked between blocks of work: close() is prompt
            raise Closed

    def _before(self, job: Job) -> Callable[[], Any] | None:
        """The helper's part of ``job``, or None if it has none."""
        helper, task = self.helper, job.task
        if helper is None or task is None:
            return None
        state = self.state()  # the bank as it is now: the helper opens the same files
        return lambda: helper.call(self.warm, *state, task, report=self.report,
                                   check=self._check)

    def _work(self) -> None:
        lowered = Lowered()  # this thread keeps its priority: see the module
        pacer = Pacer(DUTY, pressure=self._pressure)

        def pace() -> None:
            self._check()
            pacer()

        try:
            while not self._closed.is_set():
                try:
                    job = self._queue.get(timeout=IDLE)
                except queue.Empty:  # nothing to do: the helper's memory goes back to the system
                    if self.helper is not None:
                        self.helper.close()
                    continue
                if job is None:
                    break
                if job.claim():
                    try:
                        with one_blas_thread():
                            job.execute(pace, self._before(job), lowered.run)
                    except Closed:
                        break
                    if isinstance(job.error, Dropped):  # no one asks for a dropped job's error
                        if isinstance(job.error, Stale):
                            self.changed()
                        self.report(str(job.error))
                    elif job.asked and job.error is None:  # a failure speaks when asked again
                        self.report(f"ready: {job.ready} ({job.seconds:.1f} s)")
        finally:
            lowered.close()
