"""Play the same buffers through two offline graphs: one whose tracks sleep until their audio
comes (as the server callback wakes them), one with every track awake from the start.

Usage: sleeping_tracks.py OUT.npz — three tracks and their stems: track 0 noise throughout,
track 1 silent for 100 buffers, its reverb and delay sends and a filter set while it sleeps,
then noise; track 2 silent throughout. Saves both outputs and the tracks still asleep at the
end. Run by tests/test_graph.py.
"""

from __future__ import annotations

import ctypes
import sys

import numpy as np

from latentcode.audio.graph import Graph

SR, BUFFERS = 44100, 300


def play(sleep: bool) -> tuple[np.ndarray, list[int], list[int]]:
    rng = np.random.default_rng(3)
    with Graph("offline", tracks=3, sr=SR, buffersize=256, stems=True) as graph:
        mixer, server, bs = graph.mixer, graph.server, graph.buffersize
        before = mixer.sleeping
        if not sleep:
            for track in range(3):
                mixer.wake(track)
        server.start()
        address = ctypes.cast(int(server.getOutputAddr(), 16), ctypes.POINTER(ctypes.c_float))
        output = np.ctypeslib.as_array(address, shape=(bs, graph.channels))
        outs = []
        for step in range(BUFFERS):
            if step == 50:  # controls reach a sleeping track: its glides run meanwhile
                for key, value in (("room", 0.5), ("delay", 0.4), ("lpf", 3000.0)):
                    mixer.set(1, key, value)
            for i in range(len(mixer.views)):  # (a loop variable would keep a view alive)
                sounding = i // 2 == 0 or (i // 2 == 1 and step >= 100)
                noise = 0.1 * rng.standard_normal(bs) if sounding else np.zeros(bs)
                mixer.views[i][:] = noise.astype(np.float32)
            mixer.wake_sounding()  # as the server callback does once a buffer is in
            server.process()
            outs.append(output.copy())
        after = mixer.sleeping
        del output, mixer, server  # nothing of pyo's may outlive the graph's close
    return np.concatenate(outs), before, after


def main() -> None:
    asleep, before, after = play(sleep=True)
    awake, _, _ = play(sleep=False)
    np.savez(sys.argv[1], asleep=asleep, awake=awake, before=before, after=after)


if __name__ == "__main__":
    main()
