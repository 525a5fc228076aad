"""A 4-track session played live through a real JACK server (dummy driver) for 20 seconds.

What a listener on the JACK graph hears: not silence, no ring underrun, and the onsets of the
track panned right on the pattern's grid (four a cycle at 0.5 cycles a second: every 22050
samples, exact to 2 samples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from jack_capture import (
    SR,
    capture_script,
    heard_onsets,
    off_the_grid,
    spacings_clear_of_xruns,
)
from jackd import INSTALL_HINT, jackd_path, running_jackd

from latentcode.audio.analysis import rms

SCRIPT = str(Path(__file__).parent / "audio_scripts" / "session_jack.py")


@pytest.fixture(scope="module")
def played():
    if jackd_path() is None:
        pytest.fail(INSTALL_HINT)
    # real-time scheduling where allowed, as a performer runs jackd: without it the dummy
    # driver itself misses periods on a busy machine (JACK xruns that no client caused)
    with running_jackd(period=256, rate=SR, realtime=True) as server:
        return capture_script(server, SCRIPT, ["20"], source="lc-session", seconds=40)


def test_four_tracks_play_live_with_no_underrun(played):
    assert played.returncode == 0, played.stderr[-3000:]
    stats = played.result["stats"]
    assert stats["underruns"] == 0, stats
    assert stats["fill_errors"] == 0 and played.result["messages"] == [], played.result
    assert played.audio.shape[1] > 15 * SR, f"captured {played.audio.shape[1] / SR:.1f} s"
    left, right = played.audio
    assert rms(left) > 0.02 and rms(right) > 0.02, "the capture is silent"


def test_onsets_heard_line_up_with_the_pattern(played):
    right = played.audio[1]
    found = heard_onsets(right, threshold=1e-4, gap=4000)
    assert len(found) >= 30, f"{len(found)} onsets heard on the right in 20 s"
    clean = spacings_clear_of_xruns(found, played.xruns)
    assert len(clean) >= 20, f"only {len(clean)} spacings free of JACK xruns"
    off = off_the_grid(clean, SR // 2)
    assert not off, f"onset spacings off the grid of 22050: {off}"
    assert np.all(np.isfinite(played.audio))
