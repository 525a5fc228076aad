"""The engine's pyo graph on its own: the chains of tracks that have not sounded sleep, and
that changes no sample. The graph runs in a subprocess (pyo can take a process down)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def test_a_track_sleeps_until_its_audio_comes_and_the_output_keeps_its_bits(
        tmp_path: Path) -> None:
    """A track's chain (reading, filters, sends, delay line) is stopped until the first buffer
    with audio for it: with zeros in, it gives zeros out, so the mix and every stem are the
    same bits as a graph whose tracks all run, even for a track whose effects were set while
    it slept; a track that never sounds stays asleep."""
    saved = tmp_path / "sleeping.npz"
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "audio_scripts" /
                                                "sleeping_tracks.py"), str(saved)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    data = np.load(saved)
    assert data["before"].tolist() == [0, 1, 2]
    assert data["after"].tolist() == [2]
    asleep, awake = data["asleep"], data["awake"]
    assert np.abs(awake[:, 4:6]).max() > 0.01  # track 1's stem sounds once it plays
    assert np.abs(awake[:, 8:10]).max() > 0.001  # and so does the reverb it sends to
    assert np.array_equal(asleep, awake)
