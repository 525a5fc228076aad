"""Run the engine's graph on seeded noise and save what its true-peak estimate saw.

Usage: true_peak.py OUT.npz — one track of noise at -20 dBFS (no limiting: the gain table stays
at 1) through the offline graph, buffer by buffer; saves the output (the bus, delayed by the
graph's latency) and the peak table's rows. Run by tests/test_limiter.py, which checks the
peaks against the interpolator.
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

from latentcode.audio.graph import Graph

SR, BUFFERS = 44100, 400


def main() -> None:
    rng = np.random.default_rng(7)
    with Graph("offline", tracks=1, sr=SR, buffersize=256) as graph:
        mixer, server, bs = graph.mixer, graph.server, graph.buffersize
        server.start()
        address = ctypes.cast(int(server.getOutputAddr(), 16), ctypes.POINTER(ctypes.c_float))
        output = np.ctypeslib.as_array(address, shape=(bs, graph.channels))
        outs, peaks = [], []
        for _ in range(BUFFERS):
            for i in range(len(mixer.views)):  # (a loop variable would keep a view alive)
                mixer.views[i][:] = (0.1 * rng.standard_normal(bs)).astype(np.float32)
            mixer.wake_sounding()  # as the server callback does once a buffer is in
            server.process()
            outs.append(output.copy())
            peaks.append(np.stack([np.array(v) for v in mixer.peak_views], axis=1))
        latency = mixer.latency
        # nothing of pyo's may outlive the graph's close (a segfault at exit): not the view
        # into the server's buffer, nor a name for the server or the mixer
        del output, mixer, server
    np.savez(sys.argv[1], out=np.concatenate(outs), peaks=np.concatenate(peaks),
             latency=latency)


if __name__ == "__main__":
    main()
