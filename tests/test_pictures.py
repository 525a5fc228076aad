"""Pictures: the latent map of the default bank, with a piece's trajectory, and render --plot."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def latentcode(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "latentcode.shell.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_map_of_the_default_bank_with_a_trajectory(tmp_path):
    png = tmp_path / "map.png"
    done = latentcode("map", "-o", str(png), "--size", "640x480",
                      "--piece", str(ROOT / "examples" / "first.lc"), "--cycles", "2")
    assert done.returncode == 0, done.stderr
    image = Image.open(png)
    assert image.format == "PNG" and image.size == (640, 480)
    # not a blank canvas: a map has many colours
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 50


def test_map_size_errors_are_one_line(tmp_path):
    done = latentcode("map", "-o", str(tmp_path / "m.png"), "--size", "big")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "WIDTHxHEIGHT" in done.stderr


def test_render_plot_writes_a_spectrogram_and_a_control_panel_beside_the_wav(tmp_path):
    wav = tmp_path / "first.wav"
    done = latentcode("render", str(ROOT / "examples" / "first.lc"), "-o", str(wav),
                      "--cycles", "2", "--plot")
    assert done.returncode == 0, done.stderr
    image = Image.open(wav.with_suffix(".png"))
    # waveform and spectrogram (600 px) and one 90 px lane for each of the piece's 3 tracks
    assert image.format == "PNG" and image.size == (1000, 600 + 3 * 90)
    trace = json.loads(wav.with_suffix(".controls.json").read_text())
    assert set(trace["tracks"]) == {"t1", "t2", "t3"}
    # t3 is "drone/2" # mix "voice" # alpha (slow 4 $ sine): one voice, alpha rising in it
    # (the scheduler may start voices in the blocks it fills past the end: not in the file)
    t3 = [v["sound"] for v in trace["voices"] if v["track"] == "t3" and v["start"] < 4]
    assert t3 == ["drone"]
    alpha = [a for a in trace["tracks"]["t3"]["controls"]["alpha"] if a is not None]
    assert alpha[0] == pytest.approx(0.5, abs=0.01) and max(alpha) > 0.9


@pytest.fixture(scope="module")
def traced():
    """A held drone whose pan follows a sine and a pluck with constant controls, traced."""
    from latentcode.session import Session

    session = Session(tracks=2)
    session.eval('t1 $ "drone" # legato 1 # pan sine # gain 0.5\n'
                 't2 $ "pluck*2" # legato 1 # pan 0.2 # lpf 3000')
    trace = session.trace(interval=0.05)
    session.render_dry(2, seed=1, trace=trace)
    return trace.to_dict()


def test_the_trace_follows_a_pan_that_moves_inside_a_held_sound(traced):
    lane = traced["tracks"]["t1"]
    times = np.array(lane["times"])
    pan = np.array(lane["controls"]["pan"], dtype=float)
    # tempo 0.5: cycle c is at 2c seconds, so the sine is 0.5 + 0.5 sin(pi t)
    assert np.abs(pan - (0.5 + 0.5 * np.sin(np.pi * times))).max() < 0.02
    assert pan.max() > 0.95 and pan.min() < 0.05
    assert set(lane["controls"]["gain"]) == {0.5}
    held = [v for v in traced["voices"] if v["track"] == "t1" and v["start"] < 4]
    assert [(v["sound"], v["start"], v["end"]) for v in held] == [("drone", 0, 2), ("drone", 2, 4)]


def test_the_trace_holds_constant_controls_and_every_voice(traced):
    lane = traced["tracks"]["t2"]
    assert {x for x in lane["controls"]["pan"] if x is not None} == {0.2}
    assert {x for x in lane["controls"]["lpf"] if x is not None} == {3000.0}
    plucks = [v for v in traced["voices"] if v["track"] == "t2" and v["start"] < 4]
    assert [v["start"] for v in plucks] == [0.0, 1.0, 2.0, 3.0]
    assert all(v["end"] - v["start"] == pytest.approx(1.0, abs=0.01) for v in plucks)


def test_the_panel_draws_one_lane_per_track_with_what_moved(traced, tmp_path):
    import soundfile as sf

    from latentcode.shell.plot import plot_audio

    wav = tmp_path / "held.wav"
    tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(44100 * 4) / 44100)
    sf.write(wav, np.stack([tone, tone], axis=1).astype(np.float32), 44100)
    png = plot_audio(wav, controls=traced)
    assert Image.open(png).size == (1000, 600 + 2 * 90)
    plain = plot_audio(wav, tmp_path / "plain.png")
    assert Image.open(plain).size == (1000, 600)


def test_a_scheduler_records_nothing_unless_a_trace_is_attached():
    from latentcode.session import Session

    session = Session(tracks=1)
    session.eval('t1 $ "bell"')
    assert session.scheduler().trace is None
