"""Ableton Link: two latentcode players agree on tempo and phase.

Both play through one JACK server (dummy driver) inside a network namespace this test makes
(``unshare --net``: only a loopback, with a multicast route on it), so Link's discovery never
leaves the machine. Where the namespace cannot be made (no privilege for it), the test says so
and skips: Link is never run on the host's network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from jackd import INSTALL_HINT, jackd_path

from latentcode.ports.link import BEATS_PER_CYCLE, phase_error

RIG = str(Path(__file__).parent / "link_rig.py")
SR = 44100
PERIOD = 256


def can_make_a_namespace() -> str | None:
    """Why a private network namespace cannot be made here, or None."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare and ip (util-linux, iproute2) are needed"
    done = subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return f"cannot make a network namespace: {done.stderr.strip()[:200]}"
    return None


@pytest.fixture(scope="module")
def played():
    pytest.importorskip("link", reason='Link needs LinkPython-extern: pip install -e ".[link]"')
    if jackd_path() is None:
        pytest.fail(INSTALL_HINT)
    why = can_make_a_namespace()
    if why is not None:
        pytest.skip(f"Link is tested only inside a private network namespace: {why}")
    for _ in range(2):
        done = subprocess.run(["unshare", "--net", sys.executable, RIG, "10"],
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-3000:]
        played = json.loads(done.stdout.strip().splitlines()[-1])
        # a run whose JACK graph stalled again and again (a busy host) leaves too few onsets
        # to judge: play once more, and judge the second run whatever
        if len(judged(played)) >= 6:
            break
    return played


def judged(played: dict) -> list[int]:
    """B's onsets from 2 s after it started (until it has heard Link it plays its own tempo),
    away from the xruns JACK reported: a lost period shifts one player's sample count against
    the other's, which Link then runs out within a second or so."""
    b = np.array(played["onsets"][1])
    xruns = np.array(played["xruns"] or [-10**9])
    return [int(t) for t in b[b > 2 * SR]
            if not ((xruns > t - 0.75 * SR) & (xruns < t + SR // 4)).any()]


def test_the_phase_error_wraps_round_the_quantum():
    assert phase_error(0.0, 0.99, 1.0) == pytest.approx(-0.01)
    assert phase_error(5.0, 2.01, 1.0) == pytest.approx(0.01)
    assert BEATS_PER_CYCLE == 4


def test_two_players_find_each_other_and_share_the_first_ones_tempo(played):
    a, b = (p["result"] for p in played["players"])
    for p in played["players"]:
        assert p["returncode"] == 0, p["stderr"]
        assert p["result"]["underruns"] == 0 and p["result"]["messages"] == [], p["result"]
    assert a["peers"] == 1 and b["peers"] == 1, (a["peers"], b["peers"])  # the most seen
    # B started at tempo 0.6 and joined A's session: 120 bpm for both
    assert a["bpm"] == pytest.approx(120, abs=0.01) and b["bpm"] == pytest.approx(120, abs=0.01)
    assert a["cps"] == pytest.approx(0.5, rel=0.02) and b["cps"] == pytest.approx(0.5, rel=0.02)


def test_their_onsets_are_heard_together_within_a_period(played):
    a, b = (np.array(x) for x in played["onsets"])
    assert len(a) >= 12 and len(b) >= 12, (len(a), len(b))
    # every onset of B (judged: see judged) has one of A within a JACK period: both play
    # bell*4, four a cycle, at 0.5 cycles a second
    heard = judged(played)
    offsets = [int(a[np.argmin(np.abs(a - t))] - t) for t in heard]
    print("A's onset - B's (samples):", offsets)
    assert len(offsets) >= 4, (offsets, len(played["xruns"]))
    assert np.all(np.abs(offsets) <= PERIOD), offsets
    # and they keep the tempo's grid
    steps = [y - x for x, y in zip(heard, heard[1:], strict=False) if y - x < SR]
    assert steps and np.all(np.abs(np.array(steps) - SR // 2) <= PERIOD), steps
