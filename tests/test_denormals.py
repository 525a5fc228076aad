"""Numbers too small to be normal are flushed to zero where pyo's graph computes
(latentcode.audio.denormals), and nowhere else."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from latentcode.audio import denormals
from latentcode.audio.denormals import flushed, flushing

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not denormals.supported(),
                                reason="flushing is set through glibc's fenv on x86-64/aarch64")


def _in_thread() -> bool:
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.append(flushed()))
    thread.start()
    thread.join()
    return seen[0]


def test_flushing_is_the_calling_threads_and_threads_started_meanwhile_inherit_it():
    # (the audio process turns it on before its server starts the JACK thread)
    assert not flushed()
    with flushing():
        assert flushed()
        assert float(np.float32(1e-39) * np.float32(3.0)) == 0.0
        assert _in_thread()  # started while it was on
    assert not flushed() and not _in_thread()
    assert float(np.float32(1e-39) * np.float32(3.0)) > 0.0


def test_a_graph_computed_with_flushing_gives_no_numbers_too_small_to_be_normal(tmp_path):
    # a track falls silent: its filters decay below the normal floats, which the CPU computes
    # tens of times slower; flushed, they are zeros
    saved = tmp_path / "tails.npz"
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "audio_scripts" /
                                                "denormal_tails.py"), str(saved)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = np.load(saved)
    assert counts["without"] > 1000  # what the flushing takes away is there without it
    assert counts["flushed"] == 0


def test_an_offline_render_flushes_while_the_graph_computes_and_decodes_without(tmp_path,
                                                                                monkeypatch):
    from latentcode.audio.playout import Playout
    from latentcode.playback.scheduler import Scheduler
    from latentcode.session import Session

    in_graph: list[bool] = []
    in_decode: list[bool] = []
    on_buffer, fill_steps = Playout.on_buffer, Scheduler.fill_steps

    def heard(self, *args):  # the callback pyo's server makes as it computes a buffer
        in_graph.append(flushed())
        return on_buffer(self, *args)

    def made(self, *args, **kwargs):
        in_decode.append(flushed())
        return fill_steps(self, *args, **kwargs)

    monkeypatch.setattr(Playout, "on_buffer", heard)
    monkeypatch.setattr(Scheduler, "fill_steps", made)
    session = Session()
    session.eval('t1 $ "bell" # room 0.3')
    session.render(1, tmp_path / "bell.wav", jobs=1)
    assert in_graph and all(in_graph)
    assert in_decode and not any(in_decode)
    assert not flushed()
