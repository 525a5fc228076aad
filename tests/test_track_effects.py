"""Track effects follow continuous patterns: a filter sweeps inside a held sound, each track has
its own delay time and feedback, and constants work as before.

The rules (which voice a track effect follows, what is sent when) are tested on
:class:`~latentcode.playback.effects.TrackEffects` directly; the sound through the engine,
with pyo in a subprocess (one model load for all the renders).
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from latentcode.audio.analysis import centroid, rms
from latentcode.patterns.sampled import Sampled
from latentcode.playback.effects import KEEP_ENDED, TrackEffects

ROOT = Path(__file__).resolve().parent.parent
SR = 44100


# -- which value a track takes, and when it is sent (no pyo) -----------------------------------


def Wave(fn) -> Sampled:
    """A continuous control value: ``fn(0)`` at the onset, ``.at(cycle)`` anywhere."""
    return Sampled.derived(fn(0), fn)


def voice(start: int, length: int, track: int = 0, **controls) -> SimpleNamespace:
    return SimpleNamespace(track=track, start=start, length=length, controls=controls)


def block(fx: TrackEffects, begin: int, n: int = 1000, track: int = 0) -> dict:
    sent: dict = {}
    fx.sample(track, sent, begin, begin + n, cycle_at=lambda s: Fraction(s, 1000))
    return sent


def test_a_continuous_value_is_read_every_block_a_constant_once() -> None:
    fx = TrackEffects()
    onset: dict = {}
    fx.start(voice(0, 10_000, lpf=Wave(lambda c: 100.0 * float(c)), room=0.5), onset)
    assert onset == {"lpf": 0.0, "room": 0.5}  # at the onset, as always
    # read at the middle of each block (cycle = sample / 1000 here)
    assert block(fx, 0) == {"lpf": 50.0}
    assert block(fx, 1000) == {"lpf": 150.0}
    assert block(fx, 2000) == {"lpf": 250.0}  # room, a constant, is not sent again


def test_the_latest_sounding_voice_wins_and_values_stay_after_the_last_ends() -> None:
    fx = TrackEffects()
    fx.start(voice(0, 5000, lpf=400.0, room=0.2), {})
    onset: dict = {}
    fx.start(voice(1000, 1500, lpf=2000.0), onset)
    assert onset == {"lpf": 2000.0}
    assert block(fx, 1000) == {}  # nothing changed
    # the second voice has ended: the first, still sounding, sets lpf again; room never moved
    assert block(fx, 3000) == {"lpf": 400.0}
    assert block(fx, 6000) == {} and block(fx, 7000) == {}  # all ended: the values stay
    assert len(fx.sounding[0]) == 2  # remembered while the audio after them may be remade
    assert block(fx, 5000 + KEEP_ENDED) == {} and not fx.sounding[0]  # then forgotten


def test_tracks_are_independent_and_a_failing_signal_keeps_its_onset_value() -> None:
    fx = TrackEffects()

    def broken(cycle):
        if cycle > 0:
            raise ValueError("no")
        return 0.3

    fx.start(voice(0, 5000, track=1, delay=Wave(broken)), {})
    fx.start(voice(0, 5000, track=2, delaytime=Wave(lambda c: 0.1 + float(c))), {})
    assert block(fx, 1000, track=1) == {}
    assert block(fx, 1000, track=2) == {"delaytime": pytest.approx(1.6)}
    assert block(fx, 1000, track=0) == {}


# -- through the engine ------------------------------------------------------------------------

SWEEP = "slow 2 $ range 300 8000 sine"
PIECES = {
    # one held breath for two cycles (2 s), its low-pass swept by a sine: breath has energy
    # across the swept band (a drone is dark, little above a few kHz, so no filter moves it)
    "sweep": (f'tempo 1\nt1 $ "breath/2" # legato 1 # lpf ({SWEEP})', 2.0),
    "unswept": ('tempo 1\nt1 $ "breath/2" # legato 1 # lpf 8000', 2.0),
    # breath again: a drone is dark (its centroid near 240 Hz), so a 500 Hz low-pass barely
    # moves it: only the model's hiss above it, which the spectral match takes away, did
    "open": ('tempo 1\nt1 $ "breath/2" # legato 1', 1.0),
    "closed": ('tempo 1\nt1 $ "breath/2" # legato 1 # lpf 500', 1.0),
    # one hit on each side; left echoes after 0.1 s, right once after 0.5 s (no feedback)
    "echoes": ('tempo 0.5\nt1 $ "hit ~ ~ ~" # pan 0 # gain 0.3 # delay 0.8 # delaytime 0.1\n'
               't2 $ "hit ~ ~ ~" # pan 1 # gain 0.3 # delay 0.8 # delaytime 0.5 '
               '# delayfeedback 0', 2.0),
    "dry": ('tempo 0.5\nt1 $ "hit ~ ~ ~" # pan 0 # gain 0.3\n'
            't2 $ "hit ~ ~ ~" # pan 1 # gain 0.3', 2.0),
}
RENDER = r"""
import json, sys
from latentcode.model.vae import load_model
from latentcode.session import Session

model = load_model(None)
outdir, pieces = sys.argv[1], json.loads(sys.argv[2])
for name, (text, seconds) in pieces.items():
    session = Session(model, tracks=2)
    session.eval(text)
    session.render(seconds * float(session.cps), f"{outdir}/{name}.wav", seed=1)
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("effects")
    done = subprocess.run([sys.executable, "-c", RENDER, str(out), json.dumps(PIECES)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    audio = {}
    for name in PIECES:
        audio[name], sr = sf.read(out / f"{name}.wav", dtype="float32")
        assert sr == SR
    return audio


def centroids(x: np.ndarray, size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Spectral centroid per window of ``size`` samples, and each window's middle (s)."""
    mono = x.mean(axis=1)
    starts = np.arange(0, len(mono) - size + 1, size)
    return (np.array([centroid(mono[i : i + size], SR) for i in starts]),
            (starts + size / 2) / SR)


def test_a_filter_sweeps_inside_a_held_sound(rendered: dict[str, np.ndarray]) -> None:
    """Within the one voice the centroid follows the sine (the cutoff, on a log scale). The
    breath changes colour by itself too, so the swept render is compared with the same breath
    under a constant cutoff: their ratio is the filter's doing alone."""
    swept, t = centroids(rendered["sweep"])
    unswept, _ = centroids(rendered["unswept"])
    cutoff = 300 + 7700 * (np.sin(2 * np.pi * t / 2) + 1) / 2  # tempo 1: cycle = second
    ratio = np.log(swept / unswept)
    assert np.corrcoef(ratio, np.log(cutoff))[0, 1] > 0.9
    assert ratio.max() - ratio.min() > np.log(3)  # it really moves: x3 and more
    assert rms(rendered["sweep"]) > 0.01


def test_a_constant_filter_still_works(rendered: dict[str, np.ndarray]) -> None:
    open_, closed = rendered["open"], rendered["closed"]
    assert centroid(closed.mean(axis=1), SR) < 0.5 * centroid(open_.mean(axis=1), SR)
    assert rms(closed) > 0.005


def lag_and_rest(wet: np.ndarray, dry: np.ndarray) -> tuple[float, float]:
    """The lag (s) at which ``wet`` looks most like ``dry``, and how much of ``wet`` is left
    once that one scaled copy is taken out (0: one echo and nothing else)."""
    n = len(wet) + len(dry)
    xcorr = np.fft.irfft(np.fft.rfft(wet, n) * np.conj(np.fft.rfft(dry, n)), n)[: len(wet)]
    lag = int(np.argmax(xcorr))
    copy = np.zeros_like(wet)
    copy[lag:] = dry[: len(wet) - lag]
    scale = float(wet @ copy / (copy @ copy))
    return lag / SR, rms(wet - scale * copy) / rms(wet)


def test_each_track_has_its_own_delay_time_and_feedback(rendered: dict[str, np.ndarray]) -> None:
    """The wet render minus the dry one is the echoes alone: on the left (t1, delaytime 0.1)
    they follow the hit by 0.1 s, and repeat (feedback 0.4, the default); on the right (t2,
    delaytime 0.5, delayfeedback 0) there is one echo, 0.5 s late, and nothing else."""
    dry = rendered["dry"]
    wet = rendered["echoes"] - dry
    left_lag, left_rest = lag_and_rest(wet[:, 0], dry[:, 0])
    right_lag, right_rest = lag_and_rest(wet[:, 1], dry[:, 1])
    assert left_lag == pytest.approx(0.1, abs=1 / SR)
    assert right_lag == pytest.approx(0.5, abs=1 / SR)
    assert right_rest < 0.05, right_rest  # one echo: no feedback
    assert left_rest > 0.2, left_rest  # the repeats
