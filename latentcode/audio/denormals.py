"""Numbers too small to be normal, flushed to zero in the threads that run pyo's graph.

When a track goes quiet, its filters, delay line and the reverb decay towards zero, and after a
second or so their states fall below the smallest normal float (1.2e-38). The CPU then works
on every such number in microcode, tens of times slower. Measured on the 2-core Xeon with pyo's
graph of 8 tracks, 4 of them fed noise, room and delay on: 261-283 us to compute 1,024 samples
while they sound, 2.0-2.2 ms the moment they fall silent, 9.0-9.3 ms a minute later. Live, the
audio process then took a third of a core, and pyo 7.3 of the 14.2 s that rendering
``coding_the_latent.lc`` took on one process (``benchmarks/tails.py``).

The CPU can instead treat such numbers as zero, read or written (x86's FTZ and DAZ bits of
MXCSR; ARM's FZ bit of FPCR). That is a setting of the thread: :func:`flush` turns it on for
the calling thread, and threads it starts later inherit it. The audio process turns it on
before it boots its server (the JACK thread that computes the graph is started from it); an
offline render turns it on only while the graph computes a buffer (:class:`Around`), so that
the decoder and the voices, which run on the same thread, keep their arithmetic, and a render
split across processes stays the same bits. What it changes in the sound is below 1e-38 of
full scale: nothing anyone hears.

>>> import numpy as np
>>> with flushing():
...     tiny = np.float32(1e-39) * np.float32(1.0)
>>> float(tiny) == 0.0 or not supported()   # flushed where the CPU and C library allow it
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from collections.abc import Iterator
from contextlib import contextmanager

# where the control bits sit in glibc's fenv_t, and which bits flush: x86-64 keeps MXCSR at
# byte 28 of 32 (FTZ is bit 15, DAZ bit 6); aarch64 keeps FPCR first (FZ is bit 24)
_LAYOUTS = {"x86_64": (32, 28, 0x8040), "AMD64": (32, 28, 0x8040),
            "aarch64": (8, 0, 1 << 24), "arm64": (8, 0, 1 << 24)}


def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("m")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBM = _library()
_LAYOUT = _LAYOUTS.get(platform.machine())


def supported() -> bool:
    """Whether this machine's flushing can be set here (x86-64 or aarch64, with a C library
    that has ``fegetenv``)."""
    return _LIBM is not None and _LAYOUT is not None and hasattr(_LIBM, "fegetenv")


def _env() -> ctypes.Array:
    env = (ctypes.c_uint8 * 64)()  # (room to spare: fegetenv writes the size above)
    _LIBM.fegetenv(env)
    return env


def _bits(env: ctypes.Array) -> int:
    at = _LAYOUT[1]
    return int.from_bytes(bytes(env[at : at + 4]), "little")


def _flushing(env: ctypes.Array) -> ctypes.Array:
    """A copy of the environment ``env`` with flushing on."""
    on = (ctypes.c_uint8 * len(env)).from_buffer_copy(env)
    _, at, mask = _LAYOUT
    on[at : at + 4] = list((_bits(env) | mask).to_bytes(4, "little"))
    return on


def flush() -> bool:
    """Turn flushing to zero on for the calling thread (and the threads it starts from now
    on); False where it cannot be set (:func:`supported`), which changes nothing."""
    if supported():
        _LIBM.fesetenv(_flushing(_env()))
    return supported()


def flushed() -> bool:
    """Whether the calling thread flushes numbers too small to be normal to zero."""
    return supported() and _bits(_env()) & _LAYOUT[2] == _LAYOUT[2]


class Around:
    """Flushing turned on and off again quickly, around each buffer that an offline render's
    graph computes (one C call each way, with both environments made once): off means as the
    thread was when this was made.

    >>> around = Around()
    >>> around.on(); now = flushed(); around.off()
    >>> now == supported() and not flushed()
    True
    """

    def __init__(self) -> None:
        self._off = _env() if supported() else None
        self._on = _flushing(self._off) if self._off is not None else None

    def on(self) -> None:
        if self._on is not None:
            _LIBM.fesetenv(self._on)

    def off(self) -> None:
        if self._off is not None:
            _LIBM.fesetenv(self._off)


@contextmanager
def flushing() -> Iterator[None]:
    """Flush to zero within the block, on this thread; as it was before, after."""
    around = Around()
    around.on()
    try:
        yield
    finally:
        around.off()
