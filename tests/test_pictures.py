"""Pictures: the latent map of the default bank, with a piece's trajectory, and render --plot."""

import subprocess
import sys
from pathlib import Path

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


def test_render_plot_writes_a_spectrogram_beside_the_wav(tmp_path):
    wav = tmp_path / "first.wav"
    done = latentcode("render", str(ROOT / "examples" / "first.lc"), "-o", str(wav),
                      "--cycles", "2", "--plot")
    assert done.returncode == 0, done.stderr
    image = Image.open(wav.with_suffix(".png"))
    assert image.format == "PNG" and image.size == (1000, 600)
