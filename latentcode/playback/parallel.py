"""Offline renders on every core: the voices dealt out between this process and forked copies.

A render is one scheduler filling blocks in turn, and its voices never depend on each other's
audio: each draws its own noise (seeded by its track and onset), and the model gives every row
the same bits in any batch. :class:`SplitRender` forks the scheduler, fresh, before its first
block. Every copy runs the whole schedule (patterns, tempo, which voices start and end: cheap,
and the same everywhere) but decodes only the voices of its own *lanes*: voices are dealt out to
:data:`~latentcode.playback.voices.LANES` lanes in turn as they start. The forks send their
lanes here through a pipe, block by block, while this process runs the engine's graph; the
lanes are added in order, as a render in one process adds them. So the file
is bit-identical to a serial render (a test checks it), and faster on two cores or more.
A thread here reads each fork's blocks as they come (:class:`Reader`), so a fork works ahead
while the graph runs, instead of waiting, its block half-sent, until the graph asks for it.

Live playing never forks: the decoder's products run in the producer thread on every core
that other programs leave free (``model.spare_cores``), and the audio process needs little.

>>> SplitRender.shares(4, 2), SplitRender.shares(4, 3)
([[0, 2], [1, 3]], [[0, 3], [1], [2]])
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # (not on Windows)
    fcntl = None

from latentcode.errors import explain
from latentcode.model.threads import available_cores
from latentcode.playback.voices import LANES

# A fork's blocks read ahead and kept here (a block of 32 buffers is ~0.25 MB a sounding track
# and lane). `coding_the_latent.lc`, two forks: 31.5-32.3x real time at 2, 31.4-32.1x at 8.
READ_AHEAD = 2
# What a pipe holds, where the system lets us set it (Linux): a whole block of two sounding
# tracks, so a fork hands it over in one write. With the default 64 KB a block took eight
# handovers between the processes, each a wait: 26-28x for the piece above, 29-31x at 1 MB.
PIPE_BYTES = 1 << 20
# The message that stands for a fork gone without a word (its pipe closed).
GONE = b"Ea render process ended without a word: render with --jobs 1"


def default_jobs() -> int:
    """How many forks a render takes unless told: one per core, busy or not.

    With a core busy, two forks still beat one process on a 2-core Zen 4 (measured with
    :class:`Reader` working ahead: `coding_the_latent.lc` 23.3-23.9x real time against
    20.3-20.4x, the 4-track benchmark piece 6.5x against 5.4x). Taking only the cores the load
    average called idle also counted this user's own last render, a minute's average: a render
    right after another ran on one process: 17x real time for the whole command, 23-25x now.

    >>> default_jobs() == available_cores()
    True
    """
    return available_cores()


class ForkFailed(BaseException):  # noqa: N818 - it ends a render, as SystemExit ends a program
    """A fork of a split render failed: the render stops here (its file is not kept).

    Not an ``Exception``: the engine plays silence for a source that raises one and goes on,
    right for a bug in one block of a live set, but a render missing a process's voices from
    here to its end is no render. :meth:`latentcode.session.Session.render` turns it into
    one line.
    """


class SplitRender:
    """The engine's Source for a render whose voices ``jobs`` forked processes decode.

    Call :meth:`close` when done (also after an error): it ends the forks.
    """

    def __init__(self, scheduler: Any, jobs: int) -> None:
        self.scheduler = scheduler
        self.tracks = scheduler.tracks
        self.channels = scheduler.channels
        # This process runs the graph and writes the file; the forks render every lane. On
        # two cores that is three processes, and the system shares the cores out among them
        # as their work comes: better than guessing how much of it the graph takes.
        self.others = self.shares(LANES, jobs)
        self._workers: list[tuple[Any, Any]] | None = None
        self._next = 0

    @staticmethod
    def shares(lanes: int, jobs: int) -> list[list[int]]:
        """``lanes`` dealt out in turn to ``jobs`` processes (at most one each)."""
        jobs = min(max(1, jobs), lanes)
        return [list(range(i, lanes, jobs)) for i in range(jobs)]

    def fill(self, out: np.ndarray, start: int) -> list[dict]:
        """The Source protocol: every track's samples [start, start+n) into ``out``."""
        return self.fill_steps(out, start, out.shape[2])[0]

    def fill_steps(self, out: np.ndarray, start: int, step: int) -> list[list[dict]]:
        """The scheduler's :meth:`~latentcode.playback.scheduler.Scheduler.fill_steps`, its
        voices decoded by the forks (which fill as many samples at a time, in the same steps)."""
        if self._workers is None:
            try:
                self._fork(start, out.shape[2], step)
            except OSError as e:  # no memory or processes left for a fork
                raise ForkFailed(f"cannot start a render process: {e.strerror or e}") from None
        return self.scheduler.fill_steps(out, start, step)

    def _fork(self, start: int, n: int, step: int) -> None:
        """Start the forks while the scheduler is still fresh: each begins at ``start``."""
        context = multiprocessing.get_context("fork")
        self._workers = []
        for share in self.others:
            here, there = context.Pipe(duplex=False)
            widen(here)
            # the fork closes its copies of this process's ends: while any stays open, a
            # fork would never learn that the render is over
            ours = [here] + [conn for _, conn in self._workers]
            process = context.Process(target=_serve, name="latentcode-render",
                                      args=(there, ours, self.scheduler, share, start, n,
                                            step),
                                      daemon=True)
            process.start()
            there.close()
            self._workers.append((process, here))
        # the threads start once every fork is made: a fork copies no thread, but would copy
        # a lock one of them held
        self._workers = [(process, Reader(here)) for process, here in self._workers]
        self.scheduler.voices.owned = frozenset()  # (every lane is a fork's)
        self.scheduler.voices.exchange = self._gather
        self._next = start

    def _gather(self, start: int, n: int, heard: dict[int, np.ndarray]
                ) -> dict[int, np.ndarray]:
        """The lanes of the ``n`` samples at ``start``: this process's (none) and every
        fork's."""
        if start != self._next:
            raise ForkFailed(f"a split render plays blocks in order: asked for sample "
                             f"{start}, the forks are at {self._next}")
        shape = (self.tracks, self.channels, n)
        for _process, reader in self._workers or ():
            message = reader.next()
            if message[:1] != b"A":
                raise ForkFailed(message[1:].decode("utf-8", "replace"))
            block = _unpack(message, self.tracks, self.channels)
            if block[2] != n:
                raise ForkFailed(f"a render process sent {block[2]} samples where {n} were due")
            for lane, track, row in block[0]:
                if lane not in heard:
                    heard[lane] = np.zeros(shape, dtype=np.float32)
                heard[lane][track] = row
        self._next = start + n
        return heard

    def finished(self) -> None:
        """The render ended: so do the forks (each keeps what it measured), and this process
        keeps what it measured."""
        self.close()
        self.scheduler.finished()

    def close(self) -> None:
        """End the forks (they stop at their next block) and wait for them."""
        for process, reader in self._workers or ():
            if not reader.close(timeout=5):  # a fork that never sends again
                process.kill()
                reader.close(timeout=None)
            process.join()
        self._workers = []


def widen(conn: Any) -> None:
    """Let the pipe of ``conn`` hold :data:`PIPE_BYTES`, where the system allows (Linux, up to
    ``/proc/sys/fs/pipe-max-size``); elsewhere it stays as it is: only slower.

    >>> a, b = multiprocessing.Pipe(duplex=False)
    >>> widen(a); b.send_bytes(b"x"); a.recv_bytes()
    b'x'
    """
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)  # (None where there is no fcntl)
    if setting is None:
        return
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            most = int(f.read())
    except (OSError, ValueError):
        most = PIPE_BYTES
    try:
        fcntl.fcntl(conn.fileno(), setting, min(PIPE_BYTES, most))
    except OSError:  # the user's pipes hold all the system lets them: keep the default
        pass


class Reader:
    """A fork's messages, read by a thread of this process as they come, :data:`READ_AHEAD`
    kept at most (then the fork waits to send, as before). When the fork's pipe closes, every
    later :meth:`next` is :data:`GONE`, once what was read has been taken.

    >>> a, b = multiprocessing.Pipe(duplex=False)
    >>> reader = Reader(a)
    >>> b.send_bytes(b"A1"); b.close()
    >>> reader.next(), reader.next(), reader.close(timeout=1)
    (b'A1', b'Ea render process ended without a word: render with --jobs 1', True)
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.messages: queue.Queue[bytes] = queue.Queue(maxsize=READ_AHEAD)
        self._stop = False
        self._thread = threading.Thread(target=self._read, name="latentcode-render-reader",
                                        daemon=True)
        self._thread.start()

    def next(self) -> bytes:
        """The fork's next message, waiting for it if it has not come yet."""
        while True:
            try:
                return self.messages.get(timeout=0.1)
            except queue.Empty:
                if not self._thread.is_alive():  # its pipe closed: what it read, then gone
                    try:
                        return self.messages.get_nowait()
                    except queue.Empty:
                        return GONE

    def _read(self) -> None:
        # The pipe is closed here, by this thread, not by close(): a read under way on a
        # closed descriptor fails as no fork error would. A fork learns that the render is
        # over when its next send finds the pipe closed.
        while not self._stop:
            try:
                message = self.conn.recv_bytes()
            except (EOFError, OSError):
                break
            self.messages.put(message)
        self.conn.close()

    def close(self, timeout: float | None) -> bool:
        """Stop reading once the message under way has come (its fork's next send then
        fails: its cue to end), dropping what was read ahead; False if ``timeout`` seconds
        passed first (the fork sends nothing more)."""
        self._stop = True
        end = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            try:  # room for the message under way, whatever waits for it
                while True:
                    self.messages.get_nowait()
            except queue.Empty:
                pass
            if end is not None and time.monotonic() > end:
                return False
            self._thread.join(0.01)
        return True


def _pack(heard: dict[int, np.ndarray], n: int) -> bytes:
    """A fork's lanes of one block: the (lane, track) pairs that sound, then their audio."""
    pairs = [(k, t) for k, acc in sorted(heard.items()) for t in range(acc.shape[0])
             if acc[t].any()]  # adding silence changes no bit: it need not travel
    head = np.array([n, len(pairs), *(x for pair in pairs for x in pair)], dtype=np.int32)
    rows = [heard[k][t] for k, t in pairs]
    body = np.ascontiguousarray(np.stack(rows)).tobytes() if rows else b""
    return b"A" + head.tobytes() + body


def _unpack(message: bytes, tracks: int, channels: int
            ) -> tuple[list[tuple[int, int, np.ndarray]], int, int]:
    """What :func:`_pack` made: ([(lane, track, (channels, n) audio)], pairs, n)."""
    n, count = np.frombuffer(message, dtype=np.int32, count=2, offset=1).tolist()
    pairs = np.frombuffer(message, dtype=np.int32, count=2 * count, offset=9).reshape(-1, 2)
    audio = np.frombuffer(message, dtype=np.float32, offset=9 + 8 * count)
    audio = audio.reshape(count, channels, n)
    return [(int(k), int(t), audio[i]) for i, (k, t) in enumerate(pairs)], count, n


def _serve(conn: Any, ours: list[Any], scheduler: Any, share: list[int], start: int,
           n: int, step: int) -> None:
    """A fork's loop: render its lanes block after block until the other end of the pipe
    closes. ``ours`` are the parent's ends, inherited by the fork: it closes them first."""
    import torch

    for inherited in ours:
        inherited.close()
    torch.set_num_threads(1)  # one core each: the render's parallelism is the processes

    def send(_start: int, samples: int, heard: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        conn.send_bytes(_pack(heard, samples))
        return {}

    voices = scheduler.voices
    voices.owned, voices.exchange = frozenset(share), send
    block = np.zeros((scheduler.tracks, scheduler.channels, n), dtype=np.float32)
    try:
        while True:
            block.fill(0.0)
            scheduler.fill_steps(block, start, step)
            start += n
    except (BrokenPipeError, EOFError, ConnectionResetError):
        scheduler.finished()  # the render is done (or gone): keep what this fork measured
    except BaseException as exc:  # noqa: BLE001 - whatever it was, say it, then go
        try:
            conn.send_bytes(b"E" + explain(exc).encode())
        except OSError:
            pass
