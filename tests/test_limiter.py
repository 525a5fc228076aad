"""The master limiter: true peak at most -1 dBTP, sound below it untouched, gain that recovers;
the engine's graph limiting as the numpy limiter does, sample for sample; and every example
piece and library pattern rendered through the engine without a sample at full scale.

The numpy limiter is tested here in this process; the graph and the renders run pyo in a
subprocess (pyo can take a process down).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentcode import language
from latentcode.audio.analysis import loudness, rms, true_peak
from latentcode.audio.limiter import CEILING_DB, MARGIN_DB, RELEASE, Limiter, interpolator

ROOT = Path(__file__).resolve().parent.parent
SR = 44100
CEILING = 10 ** (CEILING_DB / 20)
TOLERANCE_DB = 0.1


def limit(x: np.ndarray, block: int = 256, **options: float) -> tuple[np.ndarray, Limiter]:
    """``x`` (2, n) through a fresh limiter, ``block`` samples at a time."""
    lim = Limiter(SR, **options)
    out = np.zeros_like(x)
    for i in range(0, x.shape[1], block):
        lim.process(x[:, i : i + block], out[:, i : i + block])
    return out, lim


def sine(freq: float, seconds: float, amplitude: float, phase: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


# -- the limiter, in numpy --------------------------------------------------------------------


@pytest.mark.parametrize("freq", [60.0, 997.0, 5000.0, 11025.0, 17000.0])
def test_a_12_db_burst_comes_out_below_the_ceiling(freq: float) -> None:
    rng = np.random.default_rng(1)
    x = (0.05 * rng.standard_normal((2, SR))).astype(np.float32)
    burst = sine(freq, 0.25, 4.0)  # +12 dBFS, starting abruptly (a step: its own overshoot)
    x[:, SR // 2 : SR // 2 + len(burst)] += burst
    x[1] *= 0.5  # stereo-linked: the louder channel sets the gain of both
    assert true_peak(x) > 11.0
    out, _ = limit(x)
    assert np.abs(out).max() < CEILING
    assert true_peak(out) <= CEILING_DB + TOLERANCE_DB
    # the gain came down before the burst, not in it: no sample of it escaped at full level
    lim = Limiter(SR)
    assert np.abs(out[:, SR // 2 + lim.delay :]).max() > 0.8 * CEILING  # it is still loud


def test_a_quiet_signal_passes_unchanged_after_the_look_ahead() -> None:
    rng = np.random.default_rng(2)
    x = (0.05 * rng.standard_normal((2, SR))).astype(np.float32)
    out, lim = limit(x)
    assert 0 < lim.delay < 0.005 * SR
    assert np.array_equal(out[:, lim.delay :], x[:, : -lim.delay])
    assert not out[:, : lim.delay].any()


def test_the_gain_recovers_after_the_release() -> None:
    x = np.vstack([sine(440, 2.0, 0.1)] * 2)
    x[:, SR // 2 : SR // 2 + 200] *= 40  # 200 samples at +12 dB over full scale
    out, lim = limit(x)
    ratio = np.abs(out[0, lim.delay :]).reshape(-1)[: 2 * SR - lim.delay]
    ref = np.abs(x[0, : -lim.delay])

    def gain_at(seconds: float) -> float:
        i = int(seconds * SR)
        window = slice(i, i + 441)
        return float(ratio[window].max() / ref[window].max())

    assert gain_at(0.4) == pytest.approx(1.0, abs=1e-6)  # before: untouched
    assert gain_at(0.51) < 0.5  # during and just after: ducked
    assert gain_at(0.8) > 0.9  # recovering (release 70 ms)
    assert gain_at(1.5) == pytest.approx(1.0, abs=1e-3)  # back


def test_the_block_size_does_not_change_the_output() -> None:
    rng = np.random.default_rng(3)
    x = (0.8 * rng.standard_normal((2, SR // 2))).astype(np.float32)
    a, _ = limit(x, block=256)
    b, _ = limit(x, block=64)
    c, _ = limit(x, block=1000)
    assert np.allclose(a, b, atol=1e-6) and np.allclose(a, c, atol=1e-6)


def test_the_release_goes_towards_what_the_signal_still_needs() -> None:
    """After a peak the reduction falls exponentially (``RELEASE``, 70 ms) towards what the
    sound that follows still needs, not towards none: a loud tone after a louder burst comes
    out at the gain the law gives, 10 ms by 10 ms, and settles at the ceiling."""
    burst, tone = sine(440, 0.1, 6.0), sine(440, 0.5, 2.0)
    mono = np.concatenate([burst, tone, np.zeros(SR // 10, np.float32)])
    out, lim = limit(np.stack([mono, mono]))
    after = out[0, lim.delay + len(burst) :][: len(tone)]
    gains = np.abs(after).reshape(-1, 441).max(axis=1) / 2.0  # each 10 ms, the tone's peak 2
    target = CEILING * 10 ** (-MARGIN_DB / 20)
    burst_needs, tone_needs = 1 - target / 6.0, 1 - target / 2.0  # reductions, held at once
    t = (np.arange(len(gains)) * 441 + 441) / SR  # (each window's last sample: its peak)
    law = 1 - tone_needs - (burst_needs - tone_needs) * np.exp(-t / RELEASE)
    assert np.abs(gains - law).max() < 0.01
    assert gains[-1] == pytest.approx(target / 2.0, rel=0.01)  # settled
    assert np.abs(out).max() <= CEILING


def test_the_gain_ramps_down_across_the_look_ahead_before_a_peak() -> None:
    """One sample of 4 in a steady 0.1: the gain comes down over the window before it, step by
    step and never up (no click), is low enough at the peak, and recovers after it."""
    x = np.full((2, 4096), 0.1, np.float32)
    x[:, 2000] = 4.0
    out, lim = limit(x)
    gain = out[0, lim.delay :] / x[0, : -lim.delay]
    d = lim.window
    ramp = gain[2000 - d - 2 : 2001]
    assert np.all(np.diff(ramp) <= 0) and ramp[0] == 1.0  # untouched before the window
    assert gain[2000] * 4.0 <= CEILING
    assert gain[1990] < 0.9 < gain[2000 - d - 20]  # the ramp spans the window
    assert gain[-1] > 2 * gain[2000]  # released


def test_process_takes_pyo_table_channels() -> None:
    """The same limiter all in numpy takes two separate channel buffers, as pyo's tables are."""
    lim = Limiter(SR)
    x = (2.0 * np.random.default_rng(5).standard_normal((2, 4096))).astype(np.float32)
    out_left, out_right = np.zeros(4096, np.float32), np.zeros(4096, np.float32)
    lim.process([x[0], x[1]], [out_left, out_right])
    both, _ = limit(x, block=4096)
    assert np.array_equal(out_left, both[0]) and np.array_equal(out_right, both[1])
    assert np.abs(out_left).max() <= CEILING


def test_reset_forgets_the_past() -> None:
    out, lim = limit(np.full((2, 2048), 3.0, np.float32))
    assert np.abs(out[:, -256:]).max() / 3.0 < 0.3  # a gain held down by the past
    lim.reset()
    quiet = np.full((2, 512), 0.1, np.float32)
    result = np.empty_like(quiet)
    lim.process(quiet, result)
    assert not result[:, : lim.delay].any()  # the delay line emptied too
    assert np.array_equal(result[:, lim.delay :], quiet[:, : -lim.delay])


def test_the_interpolator_finds_the_peak_between_samples() -> None:
    """A sine at a quarter of the rate, sampled 45 degrees off its crests: the samples read
    -3 dB, the interpolated points 0 dB."""
    x = np.cos(np.pi / 2 * np.arange(256) + np.pi / 4)
    fir = interpolator()
    frames = np.lib.stride_tricks.sliding_window_view(x, fir.shape[0])
    est = frames @ fir
    assert np.abs(x).max() == pytest.approx(2**-0.5)
    assert np.abs(est).max() == pytest.approx(1.0, abs=0.01)


def test_the_engines_graph_limits_as_the_numpy_limiter_does(tmp_path: Path) -> None:
    """The graph's limiter (pyo's objects only: true peaks, hold, release, average) gives, sample
    for sample, what :meth:`Limiter.process` gives for the bus, and is late by the look-ahead
    only. Quiet noise, bursts at +12 and +3.5 dB over full scale and a click go through; a
    phase or a delay a sample off would be off by as much as the noise moves in a sample.
    Cleared after panic, it lets the bus through untouched at once, its release not waited for.
    """
    from latentcode.audio.limiter import CONVOLVE_LAG

    saved = tmp_path / "limited.npz"
    done = subprocess.run([sys.executable,
                           str(ROOT / "tests" / "audio_scripts" / "limiter_graph.py"),
                           str(saved)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    data = np.load(saved)
    out, latency, cleared = data["out"], int(data["latency"]), int(data["cleared"])
    lim = Limiter(SR)
    assert latency == lim.delay + CONVOLVE_LAG < 0.004 * SR  # no buffer of waiting
    master = out[:, :2].T
    bus = (out[:, 2:4] + out[:, 4:6]).T  # the stems: the bus, delayed as the master is
    assert np.abs(bus).max() > 10.0 and np.abs(master).max() <= CEILING
    reference, _ = limit(np.ascontiguousarray(bus))  # ``delay`` samples later again
    start = SR // 20  # past the server's fade-in
    graph = master[:, start : cleared]
    numpy = reference[:, start + lim.delay : cleared + lim.delay]
    assert np.abs(graph - numpy).max() < 1e-4
    assert np.abs(graph).max() > 0.8 * CEILING  # it limited, and the reduction was compared
    after = slice(cleared + latency, None)  # the bus as cleared, out of the look-ahead
    assert np.abs(bus[:, after]).max() > 0.2
    assert np.abs(master[:, after] - bus[:, after]).max() < 1e-6
    still = slice(cleared + latency, cleared + latency + 256)  # the numpy limiter, not cleared
    assert np.abs(reference[:, still.start + lim.delay : still.stop + lim.delay]
                  - bus[:, still]).max() > 0.05


def test_a_ring_of_speakers_is_limited_by_its_loudest(tmp_path: Path) -> None:
    """Four speakers, one of them 30x too loud: it comes out under the ceiling and the other
    three are brought down by the same gain (the limiter is linked across every channel)."""
    saved = tmp_path / "ring.npz"
    done = subprocess.run([sys.executable,
                           str(ROOT / "tests" / "audio_scripts" / "limiter_graph.py"),
                           str(saved), "ring"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    data = np.load(saved)
    out, x, latency = data["out"], data["x"], int(data["latency"])
    assert out.shape[1] == 4 and np.abs(out).max() <= CEILING
    assert np.abs(out[:, 2]).max() > 0.9 * CEILING  # the loud one, held at the ceiling

    def gain(span: slice, channel: int) -> float:  # (the track's filters shape the noise:
        heard = out[span.start + latency : span.stop + latency, channel]  # levels, not samples)
        return float(rms(heard) / rms(x[span, channel]))

    for channel in (0, 1, 3):
        before = gain(slice(5_000, 15_000), channel)  # the filters' own, about -0.5 dB
        assert 0.9 < before <= 1.0, channel
        assert gain(slice(25_000, 38_000), channel) < 0.1 * before, channel  # ducked with it


def test_loudness_gates_silence_and_weighs_channels() -> None:
    tone = sine(997, 3.0, 1.0)
    mono = loudness(tone, SR)
    assert mono == pytest.approx(-3.01, abs=0.02)
    both = loudness(np.vstack([tone, tone]), SR)
    assert both == pytest.approx(mono + 3.01, abs=0.02)  # two channels: twice the power
    with_silence = np.concatenate([tone, np.zeros(3 * SR, np.float32)])
    # the silent blocks are gated out (ungated, the mean would be 3 dB lower); only the
    # blocks across the edge, part tone, part silence, count and pull it down a little
    assert loudness(with_silence, SR) == pytest.approx(mono, abs=0.3)
    assert loudness(np.zeros(SR), SR) == -np.inf
    assert loudness(sine(100, 3.0, 1.0), SR) < mono  # K-weighting: low notes count less


# -- every piece and library pattern, rendered through the engine ------------------------------

PIECES = sorted((ROOT / "examples").glob("*.lc"))
LIBRARY = sorted((ROOT / "library").glob("*.lc"))
SECONDS = 1.5  # of each piece: its first sounds (the library stacks are the loud ones)

RENDER = r"""
import json, sys
from pathlib import Path
from latentcode.model.vae import load_model
from latentcode.session import Session

model = load_model(None)
for job in json.loads(sys.argv[1]):
    session = Session(model, tracks=8)
    session.eval(job["text"], base=Path(job["base"]))
    cycles = job["seconds"] * float(session.cps)
    session.render(cycles, job["out"], seed=1)
    print(json.dumps({"name": job["name"], "messages": list(session.messages)}), flush=True)
"""


def library_piece(lib: Path) -> str:
    """Every pattern of a library file on a track of its own, all at once: loud."""
    from latentcode.patterns.core import Pattern
    from latentcode.session import Session

    lines = [f"use {lib.stem}"]
    names = [st.name for st in language.parse(lib.read_text()) if isinstance(st, language.Let)]
    probe = Session(tracks=1)
    probe.eval(f"use {lib.stem}")
    for name in names:
        if name in {"steps", "mesoAlpha"}:  # numbers for alpha, not sounds
            continue
        value = language.evaluate(language.parse_expression(name), probe.env, value=True)
        played = name if isinstance(value, Pattern) else f'{name} $ "bell:2*2"'
        lines.append(f"t{len(lines)} $ {played}")
    return "\n".join(lines[:9])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    from latentcode.shell.render import read_piece

    out = tmp_path_factory.mktemp("limited")
    jobs = [{"name": p.stem, "text": read_piece(p), "base": str(p.parent),
             "seconds": SECONDS, "out": str(out / f"{p.stem}.wav")} for p in PIECES]
    jobs += [{"name": f"library-{lib.stem}", "text": library_piece(lib), "base": str(ROOT),
              "seconds": SECONDS, "out": str(out / f"library-{lib.stem}.wav")}
             for lib in LIBRARY]
    done = subprocess.run([sys.executable, "-c", RENDER, json.dumps(jobs)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    audio = {}
    for job in jobs:
        audio[job["name"]], sr = sf.read(job["out"], dtype="float32")
        assert sr == SR
    return audio


def all_renders() -> list[str]:
    return [p.stem for p in PIECES] + [f"library-{lib.stem}" for lib in LIBRARY]


@pytest.mark.parametrize("name", all_renders())
def test_no_render_reaches_full_scale(rendered: dict[str, np.ndarray], name: str) -> None:
    audio = rendered[name]
    assert rms(audio) > 0.005, f"{name} is silent"
    assert np.abs(audio).max() < 1.0
    assert np.abs(audio).max() <= CEILING
    assert true_peak(audio, SR) <= CEILING_DB + TOLERANCE_DB
