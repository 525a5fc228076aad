"""Rendering the corpus's planned sounds, in a child process: pyo graphs and numpy synthesis.

:mod:`latentcode.model.corpus` draws every random choice with numpy (through the planners of
the family modules, see :data:`FAMILY_SYNTHS`) and hands lists of jobs to child processes;
:func:`render_jobs` renders each job on its own: a pyo graph run block by block on pyo's manual
server, or a numpy function. No job depends on what the server rendered before it (noise comes
from numpy tables, never from pyo's random objects, whose seeding depends on how many were
created before), so a job gives the same samples whichever process renders it, after whichever
jobs.

Every file is then finished the same way (:func:`finish`): one-shots start at their attack (the
render runs a little longer, and what precedes the attack is cut), every file ends on a fade to
zero, and its peak is scaled to the level the plan drew.

>>> from latentcode.model.corpus import plan_corpus
>>> spec = {"out_dir": "sounds", "jobs": plan_corpus(0, ["bell"], files_per_family=1)}
>>> render_jobs(spec)   # in a child process, as build_corpus runs it  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from latentcode.model import synth_grain, synth_hit, synth_modal, synth_struck
from latentcode.model import synth_sustained as sus
from latentcode.model.synth_tools import SAMPLE_RATE, Graph

__all__ = ["SAMPLE_RATE", "FAMILY_SYNTHS", "ONE_SHOTS", "finish", "render_jobs"]

# family -> (planner, how it renders: "pyo" | "numpy" | "grain", builder)
FAMILY_SYNTHS: dict[str, tuple[Callable, str, Callable]] = {
    "drone": (sus.plan_drone, "pyo", sus.build_drone),
    "bell": (synth_struck.plan_bell, "numpy", synth_struck.build_bell),
    "pluck": (synth_struck.plan_pluck, "pyo", synth_struck.build_pluck),
    "noise": (sus.plan_noise, "pyo", sus.build_noise),
    "voice": (sus.plan_voice, "pyo", sus.build_voice),
    "hit": (synth_hit.plan_hit, "pyo", synth_hit.build_hit),
    "sine2": (sus.plan_sine2, "pyo", sus.build_sine2),
    "metal": (synth_modal.plan_metal, "numpy", synth_modal.build_modal),
    "glass": (synth_modal.plan_glass, "numpy", synth_modal.build_modal),
    "wood": (synth_modal.plan_wood, "numpy", synth_modal.build_modal),
    "breath": (sus.plan_breath, "pyo", sus.build_breath),
    "grain": (synth_grain.plan_grain, "grain", synth_grain.build_grain),
}
ONE_SHOTS = ("bell", "pluck", "hit", "metal", "glass", "wood")
PRE_ROLL = 0.06  # s rendered before a one-shot's file starts: room for a late attack
ONSET_DB = -40.0  # a one-shot's file starts just before it first reaches this (re its peak)


def finish(x: np.ndarray, job: dict[str, Any]) -> np.ndarray:
    """A rendered job made into its file's samples: a one-shot starts at its attack, every file
    lasts ``job["dur"]``, ends on a fade to zero and peaks at ``job["peak"]``.

    >>> job = {"dur": 0.01, "peak": 0.5, "oneshot": True}
    >>> x = finish(np.r_[np.zeros(100), np.ones(1000)], job)
    >>> len(x), float(abs(x).max()), float(x[7]), float(x[8])  # 8 samples before the attack
    (441, 0.5, 0.0, 0.5)
    """
    n = int(round(job["dur"] * SAMPLE_RATE))
    x = np.asarray(x, np.float64)
    if not np.isfinite(x).all():  # a diverging filter: a bug in the plan's ranges
        raise ValueError(f"{job.get('name', 'a job')} rendered non-finite samples")
    if job["oneshot"] and len(x):
        peak = np.abs(x).max()
        start = int(np.argmax(np.abs(x) > peak * 10 ** (ONSET_DB / 20))) if peak > 0 else 0
        x = x[max(0, start - 8):]
    x = np.pad(x[:n], (0, max(0, n - len(x))))
    # one-shots may still ring when the file ends: a longer fade keeps the cut from clicking
    fo = min(n // 8, int((0.05 if job["oneshot"] else 0.01) * SAMPLE_RATE))
    if fo > 1:
        x[-fo:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(fo) / (fo - 1))
    peak = np.abs(x).max()
    if peak > 0:
        x *= job["peak"] / peak
    return x.astype(np.float32)


class _Renderer:
    """pyo's one manual server of this process, and the jobs rendered on it."""

    def __init__(self) -> None:
        import ctypes

        import pyo

        self.pyo = pyo
        self.server = pyo.Server(audio="manual", nchnls=1, sr=SAMPLE_RATE, buffersize=256,
                                 duplex=0)
        self.server.setVerbosity(1)
        self.server.boot()
        self.server.start()
        self.bs = self.server.getBufferSize()
        self.view = np.ctypeslib.as_array((ctypes.c_float * self.bs).from_address(
            int(self.server.getOutputAddr(), 16)))
        for _ in range(64):  # run past the server's start fade-in, which only the first job sees
            self.server.process()

    def close(self) -> None:
        del self.view
        self.server.stop()
        self.server.shutdown()

    def _graph(self, build: Callable, p: dict[str, Any], dur: float, n: int) -> np.ndarray:
        g = Graph(self.pyo)
        build(g, p, dur).out()
        blocks = -(-n // self.bs)
        audio = np.empty(blocks * self.bs, np.float32)
        for b in range(blocks):
            self.server.process()
            audio[b * self.bs:(b + 1) * self.bs] = self.view
        g.stop()
        self.server.process()  # let pyo drop the stopped objects before the next job
        return audio[:n]

    def render(self, job: dict[str, Any]) -> np.ndarray:
        """The job's raw samples (a one-shot's run :data:`PRE_ROLL` longer)."""
        p, dur = job["params"], job["dur"]
        n = int(round((dur + (PRE_ROLL if job["oneshot"] else 0.0)) * SAMPLE_RATE))
        _, how, build = FAMILY_SYNTHS[job["family"]]
        if how == "pyo":
            return self._graph(build, p, dur, n)
        if how == "numpy":
            return build(p, n)
        src = finish(self.render(p["source"]), p["source"])
        return build(p, n, src)


def render_jobs(spec: dict[str, Any]) -> None:
    """Render every job of ``spec`` (``{"out_dir": ..., "jobs": [...]}``) to a 16-bit WAV file.
    Run it in a child process: it boots pyo's one server."""
    import soundfile as sf

    out_dir = Path(spec["out_dir"])
    renderer = _Renderer()
    try:
        for job in spec["jobs"]:
            audio = finish(renderer.render(job), job)
            sf.write(out_dir / f"{job['name']}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    finally:
        renderer.close()
