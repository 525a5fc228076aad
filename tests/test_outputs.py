"""Per-track outputs through a real JACK server (dummy driver): each track has its own ports,
named after it, that carry only that track, beside the master."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from jack_capture import SR, capture_script
from jackd import INSTALL_HINT, jackd_path, running_jackd

SCRIPT = str(Path(__file__).parent / "audio_scripts" / "outputs_jack.py")
PORTS = ["master_L", "t1_L", "t2_L", "reverb_L"]


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    if jackd_path() is None:
        pytest.fail(INSTALL_HINT)
    folder = tmp_path_factory.mktemp("take") / "stems"
    with running_jackd(period=256, rate=SR) as server:
        played = capture_script(server, SCRIPT, ["8", str(folder)], source="lc-outputs",
                                seconds=20, names=PORTS)
    played.folder = folder
    return played


def test_each_track_has_ports_named_after_it_that_carry_only_that_track(played):
    assert played.returncode == 0, played.stderr[-3000:]
    master, t1, t2, reverb = played.audio
    assert master.shape[0] > 6 * SR
    cycle = 2 * SR  # t1 sounds in the first second of each 2 s cycle, t2 in the second
    # where each track sounds, as the master heard it, the other track's port is silent
    loud1 = np.abs(t1) > 1e-3
    loud2 = np.abs(t2) > 1e-3
    assert loud1.sum() > SR and loud2.sum() > SR
    assert not (loud1 & loud2).any(), "the two tracks' ports overlap: each carries the other"
    # the bells and the drone sit in different halves of the cycle, whatever the phase
    phase1 = np.flatnonzero(loud1) % cycle
    phase2 = np.flatnonzero(loud2) % cycle
    assert abs(np.median(phase1) - np.median(phase2)) > 0.3 * cycle
    assert np.abs(reverb).max() < 1e-6  # no room in this piece
    # the master is the tracks' sum (through the limiter, which leaves this level alone),
    # up to the capture's alignment: compare their energies
    energy = float(np.sum(master**2))
    assert energy == pytest.approx(float(np.sum(t1**2) + np.sum(t2**2)), rel=0.05)


def test_record_a_folder_writes_the_mix_and_a_stem_per_track(played):
    assert played.returncode == 0, played.stderr[-3000:]
    said = played.result["said"]
    assert said[0].startswith("recording to") and said[-1].startswith("wrote"), said
    names = sorted(p.name for p in played.folder.iterdir())
    assert names == ["mix.wav", "reverb.wav", "t1.wav", "t2.wav"], names
    mix, sr = sf.read(played.folder / "mix.wav", dtype="float32")
    stems = {n: sf.read(played.folder / n, dtype="float32")[0] for n in names if n != "mix.wav"}
    assert sr == SR and 3.5 * SR < len(mix) < 5 * SR
    assert all(s.shape == mix.shape for s in stems.values())
    # the limiter leaves this level alone: the stems sum to what was heard
    assert np.abs(mix).max() > 0.05
    assert np.abs(sum(stems.values()) - mix).max() < 1e-5
    assert np.abs(stems["t1.wav"]).max() > 0.01 and np.abs(stems["t2.wav"]).max() > 0.01
