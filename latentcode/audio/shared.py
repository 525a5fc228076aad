"""Numpy arrays in one block of memory that two processes map: the audio process's ring.

The live engine plays through a second process (:mod:`latentcode.audio.player`): the ring's
samples, its positions and the counters of the audio side live in memory both map, so the
producer writes audio where the audio process reads it, with no copy and no message. The
block is an anonymous file (``memfd`` on Linux, else an unlinked temporary file) whose
descriptor the child inherits; nothing is left on disk when both are gone.

Both processes compute the same layout from the same ``{name: (shape, dtype)}``, so only the
descriptor and the layout travel.

>>> block = SharedArrays({"pos": ((2,), "int64"), "data": ((2, 8), "float32")})
>>> block["data"][1, 3] = 0.5
>>> twin = SharedArrays(block.layout, fd=block.fd)   # as the other process maps it
>>> float(twin["data"][1, 3]), twin["pos"].tolist()
(0.5, [0, 0])
"""

from __future__ import annotations

import mmap
import os
import select
import tempfile
from typing import Any

import numpy as np

ALIGN = 64  # bytes: each array starts on its own cache line

Layout = dict[str, tuple[tuple[int, ...], str]]


class SharedArrays:
    """Named arrays laid out in one shared block; ``fd`` maps an existing one (the child)."""

    def __init__(self, layout: Layout, fd: int | None = None) -> None:
        self.layout = {name: (tuple(int(n) for n in shape), str(dtype))
                       for name, (shape, dtype) in layout.items()}
        offsets, size = {}, 0
        for name, (shape, dtype) in self.layout.items():
            offsets[name] = size
            nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            size += -(-max(nbytes, 1) // ALIGN) * ALIGN
        if fd is None:
            fd = _anonymous_file()
            os.ftruncate(fd, size)  # a fresh file reads as zeros
        self.fd = fd
        self._map = mmap.mmap(fd, size)
        self._arrays: dict[str, np.ndarray] = {}
        for name, (shape, dtype) in self.layout.items():
            count = int(np.prod(shape, dtype=np.int64))
            self._arrays[name] = np.frombuffer(self._map, dtype, count,
                                               offsets[name]).reshape(shape)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __contains__(self, name: object) -> bool:
        return name in self._arrays

    def close_fd(self) -> None:
        """Close the descriptor (the mapping stays): once no new process is to map it."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __getstate__(self) -> Any:  # a mapping cannot travel: pass the descriptor instead
        raise TypeError("SharedArrays travels as its descriptor and layout, not pickled")


def _anonymous_file() -> int:
    """A descriptor of a file with no name: freed when the last process closes it."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("latentcode-audio")  # close-on-exec: only pass_fds hands it on
    handle = tempfile.TemporaryFile()
    fd = os.dup(handle.fileno())
    handle.close()
    return fd


class Stamp:
    """A pair of integers one side writes and the other reads whole (a sequence number around
    the pair: a reader that met a write in progress reads again).

    >>> s = Stamp(); s.write(1024, 7); s.read()
    (1024, 7)
    """

    def __init__(self, values: np.ndarray | None = None) -> None:
        self._v = np.zeros(3, np.int64) if values is None else values

    def write(self, a: int, b: int) -> None:
        v = self._v
        v[0] += 1  # odd: being written
        v[1] = a
        v[2] = b
        v[0] += 1

    def read(self) -> tuple[int, int]:
        v = self._v
        while True:
            seq = int(v[0])
            a, b = int(v[1]), int(v[2])
            if seq % 2 == 0 and int(v[0]) == seq:
                return a, b


class PipeWake:
    """A wake-up that crosses processes, with :class:`threading.Event`'s ``set`` and ``wait``:
    a byte written into a pipe. ``set`` never blocks (a full pipe is awake enough), so the
    audio side may call it every buffer.

    >>> w = PipeWake(); w.set(); w.wait(0.0), w.wait(0.0)
    (True, False)
    """

    def __init__(self, fds: tuple[int, int] | None = None) -> None:
        self.read_fd, self.write_fd = os.pipe() if fds is None else fds
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                os.set_blocking(fd, False)

    def set(self) -> None:
        try:
            os.write(self.write_fd, b"\0")
        except (BlockingIOError, BrokenPipeError):
            pass

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a wake; True if one came (all pending are taken)."""
        ready, _, _ = select.select([self.read_fd], [], [], timeout)
        if not ready:
            return False
        try:
            while os.read(self.read_fd, 4096):
                pass
        except BlockingIOError:
            pass
        return True

    def clear(self) -> None:
        """Nothing to do: :meth:`wait` takes the pending wakes."""

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                os.close(fd)
        self.read_fd = self.write_fd = -1
