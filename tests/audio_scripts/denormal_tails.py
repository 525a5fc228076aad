"""The engine's graph as a track falls silent, with and without flushing (test_denormals).

A track of noise, then zeros: the graph's master output, buffer by buffer, computed as an
offline render does (``Around`` on around each buffer) or without it. Saves the count of
output samples too small to be normal (neither zero nor normal) of each. The track's filters
decay below the normal floats within seconds; its sends stay off, since the reverb's tail,
mixed in, would take a minute to get there.
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

from latentcode.audio.denormals import Around
from latentcode.audio.graph import Graph

BUFFER, SILENT = 256, 1000  # buffers of zeros: 5.8 s, in which the filters decay that far


def tail(flush: bool) -> int:
    """Output samples too small to be normal, in SILENT buffers after a second of noise."""
    tiny = np.finfo(np.float32).tiny
    with Graph("offline", tracks=2, sr=44100, buffersize=BUFFER) as graph:
        mixer, server = graph.mixer, graph.server
        mixer.wake(0)
        server.start()
        address = ctypes.cast(int(server.getOutputAddr(), 16), ctypes.POINTER(ctypes.c_float))
        out = np.ctypeslib.as_array(address, shape=(BUFFER, graph.channels))
        around = Around()
        noise = np.random.default_rng(0).standard_normal((172, 2, BUFFER)).astype(np.float32)
        small = 0
        for step in range(len(noise) + SILENT):
            for c in range(2):
                mixer.views[c][:] = noise[step, c] * 0.3 if step < len(noise) else 0.0
            if flush:
                around.on()
            server.process()
            if flush:
                around.off()
            small += int(((out != 0) & (np.abs(out) < tiny)).sum())
        return small


if __name__ == "__main__":
    np.savez(sys.argv[1], without=tail(False), flushed=tail(True))
