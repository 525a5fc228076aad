"""Run the engine's graph, limiter and all, on seeded noise with loud bursts; save what it made.

Usage: limiter_graph.py OUT.npz [ring]

One track through the offline graph with stems, buffer by buffer: quiet noise, bursts of it at
+12 dB over full scale, a lone click, then (as after panic) silence, the limiter cleared
(``Mixer.clear_tails``) and quiet noise again. Saves the output: the limited master (columns
0-1) and the stems (the track, the reverb), which are the bus before the limiter, delayed as
the master is, and the sample the limiter was cleared at. Run by tests/test_limiter.py, which
holds the master to the numpy limiter applied to the stems' sum, and to the bus itself once
cleared. With ``ring``: a ring of four speakers (no stems), a burst of 30x on the third only,
quiet noise on the others; saves the input and the output.
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

from latentcode.audio.graph import Graph

SR, BUFFERS = 44100, 500
CLEARED = 400  # the buffer the limiter is cleared at


def signal(n: int) -> np.ndarray:
    """(2, n): noise at -20 dBFS, a burst of 4x full scale, a click of 3, a burst of 1.5."""
    rng = np.random.default_rng(7)
    x = (0.1 * rng.standard_normal((2, n))).astype(np.float32)
    x[:, 30_000:36_000] *= 40.0
    x[0, 60_000] = 3.0
    x[:, 80_000:100_000] *= 15.0
    x[:, 98_000:100_000] *= 4.0  # the loudest at the end: the release still far from done
    x[:, 100_000 : CLEARED * 256] = 0.0  # silence, as panic leaves the bus
    x[1] *= 0.7  # stereo-linked: the louder channel sets the gain of both
    return x


def play(x: np.ndarray, clear_at: int | None = None, **graph_options: object) -> tuple:
    """``x`` (channels, n) through one track of the offline graph, buffer by buffer, the
    limiter cleared at buffer ``clear_at``: (the output (n, outputs), the limiter's latency)."""
    with Graph("offline", tracks=1, sr=SR, buffersize=256, **graph_options) as graph:
        mixer, server, bs = graph.mixer, graph.server, graph.buffersize
        server.start()
        address = ctypes.cast(int(server.getOutputAddr(), 16), ctypes.POINTER(ctypes.c_float))
        output = np.ctypeslib.as_array(address, shape=(bs, graph.channels))
        outs = []
        for step in range(x.shape[1] // bs):
            for i in range(len(mixer.views)):  # (a loop variable would keep a view alive)
                mixer.views[i][:] = x[i, step * bs : (step + 1) * bs]
            mixer.wake_sounding()  # as the server callback does once a buffer is in
            if mixer.jumped:
                mixer.settle()
            if step == clear_at:
                mixer.clear_tails()
            server.process()
            outs.append(output.copy())
        latency = mixer.latency
        # nothing of pyo's may outlive the graph's close (a segfault at exit): not the view
        # into the server's buffer, nor a name for the server or the mixer
        del output, mixer, server
    return np.concatenate(outs), latency


def main() -> None:
    if sys.argv[2:] == ["ring"]:  # four speakers, one of them loud
        x = (0.1 * np.random.default_rng(3).standard_normal((4, 300 * 256))).astype(np.float32)
        x[2, 20_000:40_000] *= 30.0
        out, latency = play(x, channels=4)
        np.savez(sys.argv[1], out=out, x=x.T, latency=latency)
        return
    out, latency = play(signal(BUFFERS * 256), clear_at=CLEARED, stems=True)
    np.savez(sys.argv[1], out=out, latency=latency, cleared=CLEARED * 256)


if __name__ == "__main__":
    main()
