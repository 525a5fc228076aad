"""The builtin corpus: layout, one-shots that start on their attack with one event each, sound
checks, determinism (per seed, per subset, whatever the number of processes), the splits, the
manifest, the cached default build and the command line."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from latentcode.errors import LatentcodeError
from latentcode.model import corpus
from latentcode.model.corpus import (
    FAMILIES,
    FILES_PER_FAMILY,
    ONE_SHOTS,
    RECORDINGS,
    SUSTAINED,
    SYNTH_FAMILIES,
    build_corpus,
    default_corpus_dir,
    family_of,
    held_out,
    plan_corpus,
    training_split,
)

SR = 44100
ONSET_DB = -30.0  # a sound is heard once it is within 30 dB of its own peak


def onset(x: np.ndarray) -> int:
    """The first sample whose magnitude is within 30 dB of the file's peak."""
    a = np.abs(x)
    return int(np.argmax(a > a.max() * 10 ** (ONSET_DB / 20)))


def later_rise_db(x: np.ndarray) -> float:
    """How far the level climbs again after the sound's loudest moment: 0 for one event that
    only decays; about the level of a second strike above the first one's tail otherwise.

    The 10 ms RMS envelope is peak-held over 60 ms (so partials beating faster than ~17 Hz do
    not count as new events); after its maximum (and after the first 50 ms), each frame is
    compared with the lowest level reached before it. Frames 45 dB below the peak are ignored:
    they are the tail's noise floor."""
    w = SR // 100
    m = len(x) // w
    env = 20 * np.log10(np.sqrt((x[:m * w].reshape(m, w) ** 2).mean(1)) + 1e-9)
    held = np.array([env[max(0, i - 3):i + 3].max() for i in range(m)])
    start = max(5, int(np.argmax(held)))
    floor = np.minimum.accumulate(held[start:])
    loud = held[start:] > held.max() - 45
    return float(((held[start:] - floor) * loud).max()) if m > start else 0.0


def by_family(folder) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in sorted(folder.glob("*.wav")):
        out.setdefault(family_of(f), []).append(f)
    return out


def test_default_layout_and_size(corpus_dir):
    groups = by_family(corpus_dir)
    assert set(groups) == set(FAMILIES)
    for fam in SYNTH_FAMILIES:
        assert len(groups[fam]) == FILES_PER_FAMILY[fam], fam
        assert [f.name for f in groups[fam]] == [f"{fam}_{i:02d}.wav"
                                                 for i in range(FILES_PER_FAMILY[fam])]
    assert len(groups["pyo"]) == len(corpus._pyo_sound_files()) >= 3
    files = [f for g in groups.values() for f in g]
    assert all(re.fullmatch(r"[a-z0-9]+_\d\d+\.wav", f.name) for f in files)
    infos = [sf.info(f) for f in files]
    assert all(i.samplerate == SR and i.channels == 1 for i in infos)
    total = sum(i.duration for i in infos)
    assert 25 * 60 <= total <= 40 * 60, f"corpus holds {total / 60:.1f} min"
    # one-shots are short, sustained sounds 3-6 s
    for fam in ONE_SHOTS:
        assert all(0.2 <= sf.info(f).duration <= 5.5 for f in groups[fam]), fam
    for fam in SUSTAINED:
        assert all(2.9 <= sf.info(f).duration <= 6.1 for f in groups[fam]), fam


def test_every_file_is_sound_peaking_below_full_scale_without_dc(corpus_dir):
    for f in sorted(corpus_dir.glob("*.wav")):
        x = sf.read(f)[0]
        peak = np.abs(x).max()
        assert 0.3 < peak <= 1.0, f.name
        assert abs(x.mean()) < 0.01 * peak, f.name
        if family_of(f) not in RECORDINGS:
            assert np.abs(x[-20:]).max() < 0.05 * peak, f"{f.name} ends on a cut"


def test_one_shots_start_on_their_attack_and_sustained_sounds_within_15_ms(corpus_dir):
    groups = by_family(corpus_dir)
    for fam in ONE_SHOTS:
        late = {f.name: onset(sf.read(f)[0]) for f in groups[fam]}
        assert max(late.values()) < 0.005 * SR, {k: v for k, v in late.items() if v >= 220}
    for fam in SUSTAINED:
        late = {f.name: onset(sf.read(f)[0]) for f in groups[fam]}
        assert max(late.values()) < 0.015 * SR, {k: v for k, v in late.items() if v >= 661}


def test_the_one_event_check_tells_one_strike_from_two():
    t = np.arange(2 * SR) / SR
    strike = np.sin(2 * np.pi * 440 * t) * np.exp(-3 * t)
    beating = strike * (1 + 0.5 * np.sin(2 * np.pi * 25 * t))  # partials beating at 25 Hz
    second = strike + 0.4 * np.roll(strike, SR * 4 // 5) * (t >= 0.8)  # struck again
    assert later_rise_db(strike) < 1
    assert later_rise_db(beating) < 6
    assert later_rise_db(second) > 12


def test_one_shots_hold_one_event_each(corpus_dir):
    groups = by_family(corpus_dir)
    for fam in ONE_SHOTS:
        rises = {f.name: later_rise_db(sf.read(f)[0]) for f in groups[fam]}
        assert max(rises.values()) < 6, {k: round(v, 1) for k, v in rises.items() if v >= 6}


def test_every_family_varies_in_brightness_and_length(corpus_dir):
    for fam, files in by_family(corpus_dir).items():
        if fam in RECORDINGS:
            continue
        centroids, lengths = [], []
        for f in files:
            x = sf.read(f)[0]
            size = 1 << (len(x) - 1).bit_length()  # a fast FFT length
            spec = np.abs(np.fft.rfft(x, size)) ** 2
            centroids.append((spec * np.fft.rfftfreq(size, 1 / SR)).sum() / spec.sum())
            lengths.append(len(x) / SR)
        assert max(centroids) > 3 * min(centroids), (fam, min(centroids), max(centroids))
        assert max(lengths) > 1.5 * min(lengths), fam


def test_hits_are_drums_of_many_kinds():
    kinds = {j["params"]["kind"] for j in plan_corpus(0, ["hit"])}
    assert {"kick", "snare", "hat", "tom", "clap", "rim"} <= kinds and len(kinds) >= 10


SMALL = {"families": list(SYNTH_FAMILIES), "files_per_family": 2, "seconds": 0.5}


def test_same_seed_same_bytes_whatever_the_processes_other_seed_differs(tmp_path):
    # one process renders every job after others on the same pyo server; three processes
    # split them otherwise: the bytes must not depend on it
    a = build_corpus(tmp_path / "a", seed=7, processes=1, **SMALL)
    b = build_corpus(tmp_path / "b", seed=7, processes=3, **SMALL)
    c = build_corpus(tmp_path / "c", seed=8, **SMALL)
    assert len(a) == 2 * len(SYNTH_FAMILIES)
    assert [p.name for p in a] == [p.name for p in b] == [p.name for p in c]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert all(x.read_bytes() != z.read_bytes() for x, z in zip(a, c, strict=True))


def test_jobs_are_shared_evenly_among_processes():
    jobs = plan_corpus(0, ["bell", "drone", "grain"], files_per_family=6)
    parts = corpus.split_jobs(jobs, 3)
    assert sorted(j["name"] for p in parts for j in p) == sorted(j["name"] for j in jobs)
    loads = [sum(corpus._cost(j) for j in p) for p in parts]
    assert len(parts) == 3 and max(loads) < 1.3 * min(loads)
    assert len(corpus.split_jobs(jobs[:2], 8)) == 2  # no idle process


def test_a_subset_with_fewer_files_builds_the_same_files_as_the_full_corpus(tmp_path,
                                                                              corpus_dir):
    sub = build_corpus(tmp_path, seed=0, families=["hit", "grain", "pyo"], files_per_family=4)
    assert len(sub) == 8 + len(list(corpus_dir.glob("pyo_*.wav")))
    for p in sub:
        assert p.read_bytes() == (corpus_dir / p.name).read_bytes(), p.name


def test_held_out_split(corpus_dir):
    files = sorted(corpus_dir.glob("*.wav"))
    test = held_out(files)
    want = sorted(f"{fam}_{i:02d}.wav" for fam in SYNTH_FAMILIES
                  for i in range(7, FILES_PER_FAMILY[fam], 8))
    assert [p.name for p in test] == want
    assert all(len([p for p in test if family_of(p) == fam]) >= 4 for fam in SYNTH_FAMILIES)
    assert held_out(list(reversed(files))) == test
    assert held_out([files[0]]) == []


def test_training_split_keeps_pyo_recordings_out_of_training(corpus_dir, tmp_path):
    files = sorted(corpus_dir.glob("*.wav"))
    train, ev = training_split(files)
    recorded = [p for p in files if family_of(p) in RECORDINGS]
    assert recorded and set(recorded) <= set(ev)
    assert not any(family_of(p) in RECORDINGS for p in train)
    assert set(held_out([p for p in files if p not in recorded])) <= set(ev)
    assert sorted(train + ev) == files and not set(train) & set(ev)
    # a user's folder (no pyo_NN files) splits as held_out() does
    mine = [tmp_path / f"take_{i:02d}.wav" for i in range(10)] + [tmp_path / "kick.wav"]
    train, ev = training_split(mine)
    assert ev == held_out(mine) and sorted(train + ev) == sorted(mine)
    # a folder of recordings only still has something to train on
    train, ev = training_split(recorded)
    assert train and ev == held_out(recorded)


def test_manifest_describes_the_build(corpus_dir, tmp_path):
    m = json.loads((corpus_dir / "corpus.json").read_text())
    files = sorted(p.name for p in corpus_dir.glob("*.wav"))
    assert m["version"] == corpus.CORPUS_VERSION == "corpus-v2" and m["seed"] == 0
    assert m["files"] == files and sum(m["families"].values()) == len(files)
    assert m["families"]["bell"] == FILES_PER_FAMILY["bell"] and m["recordings"] == ["pyo"]
    total = sum(sf.info(corpus_dir / f).duration for f in files)
    assert abs(m["seconds"] - total) < 0.01
    build_corpus(tmp_path, seed=5, families=["wood"], files_per_family=2)
    small = json.loads((tmp_path / "corpus.json").read_text())
    assert small["seed"] == 5 and small["families"] == {"wood": 2} and small["recordings"] == []


def test_bad_requests_say_what_is_wrong(tmp_path):
    with pytest.raises(LatentcodeError, match="unknown corpus family 'flute'"):
        plan_corpus(0, ["flute"])
    with pytest.raises(LatentcodeError, match="0.5 to 60 s"):
        plan_corpus(0, ["bell"], seconds=0.1)
    with pytest.raises(LatentcodeError, match="files per family"):
        plan_corpus(0, ["bell"], files_per_family=0)
    with pytest.raises(LatentcodeError, match="seed"):
        plan_corpus(-1, ["bell"])
    with pytest.raises(LatentcodeError, match="processes"):
        build_corpus(tmp_path, families=["bell"], files_per_family=1, processes=0)


def test_default_corpus_is_built_once_and_rebuilt_when_incomplete(latentcode_home, monkeypatch):
    # the caching is under test, not the corpus: a small build stands in for the full one
    monkeypatch.setattr(corpus, "build_corpus", functools.partial(
        build_corpus, families=["drone", "bell"], files_per_family=3, seconds=0.5))
    d = default_corpus_dir()
    assert d.parent == latentcode_home and d.name == "corpus-v2" and (d / ".complete").exists()
    stamp = (d / "bell_00.wav").stat().st_mtime_ns
    assert not list(latentcode_home.glob("*.tmp-*"))
    assert default_corpus_dir() == d
    assert (d / "bell_00.wav").stat().st_mtime_ns == stamp  # not rebuilt
    (d / ".complete").unlink()
    (d / "drone_02.wav").unlink()  # as if a build was interrupted
    default_corpus_dir()
    assert (d / "drone_02.wav").exists() and (d / ".complete").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "latentcode.shell.cli", "corpus", *args],
                          capture_output=True, text=True, env=env)


def test_cli_corpus(tmp_path):
    r = _cli(str(tmp_path / "c"), "--seed", "3", "--families", "bell,glass,pyo",
             "--files-per-family", "4")
    assert r.returncode == 0, r.stderr
    assert "families: bell, glass, pyo" in r.stdout and "min of audio" in r.stdout
    names = sorted(p.name for p in (tmp_path / "c").glob("*.wav"))
    assert names[:8] == [f"{f}_{i:02d}.wav" for f in ("bell", "glass") for i in range(4)]
    assert (tmp_path / "c" / "corpus.json").exists()
    bad = _cli(str(tmp_path / "d"), "--families", "bell,flute")
    assert bad.returncode == 2 and bad.stderr.startswith("latentcode: --families: unknown")
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    bad = _cli(str(tmp_path / "d"), "--files-per-family", "0")
    assert bad.returncode == 2 and "files per family" in bad.stderr
