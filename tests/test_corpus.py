"""The builtin corpus: layout, determinism, the held-out split, the cached default build."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import soundfile as sf

from latentcode.model.corpus import (
    FAMILIES,
    build_corpus,
    default_corpus_dir,
    family_of,
    held_out,
)


def test_default_layout(corpus_dir):
    files = sorted(corpus_dir.glob("*.wav"))
    assert {family_of(f) for f in files} == set(FAMILIES)
    assert all(re.fullmatch(r"[a-z0-9]+_\d\d\.wav", f.name) for f in files)
    for fam in FAMILIES[:-1]:
        assert len([f for f in files if family_of(f) == fam]) == 8
    assert (corpus_dir / "bell_03.wav").exists()
    infos = [sf.info(f) for f in files]
    assert all(i.samplerate == 44100 and i.channels == 1 for i in infos)
    total = sum(i.duration for i in infos)
    assert total >= 180, f"corpus is only {total:.0f} s"


def test_files_have_sound_and_differ_within_a_family(corpus_dir):
    bells = [sf.read(corpus_dir / f"bell_{i:02d}.wav")[0] for i in range(8)]
    assert all(0.3 < np.abs(b).max() <= 1.0 for b in bells)
    centroids = []
    for b in bells:
        spec = np.abs(np.fft.rfft(b))
        centroids.append((spec * np.arange(len(spec))).sum() / spec.sum() * 44100 / len(b))
    assert max(centroids) > 1.5 * min(centroids)  # brightness varies


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kw = {"families": ["bell", "noise", "pluck", "hit", "voice", "drone", "sine2"],
          "files_per_family": 2, "seconds": 0.5}
    a = build_corpus(tmp_path / "a", seed=7, **kw)
    b = build_corpus(tmp_path / "b", seed=7, **kw)
    c = build_corpus(tmp_path / "c", seed=8, **kw)
    assert [p.name for p in a] == [p.name for p in b] == [p.name for p in c]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert all(x.read_bytes() != z.read_bytes() for x, z in zip(a, c, strict=True))


def test_a_subset_builds_the_same_files_as_the_full_corpus(tmp_path, corpus_dir):
    sub = build_corpus(tmp_path, seed=0, families=["hit", "pyo"])
    assert len(sub) == 8 + len(list(corpus_dir.glob("pyo_*.wav")))
    for p in sub:
        assert p.read_bytes() == (corpus_dir / p.name).read_bytes()


def test_held_out_split(corpus_dir):
    files = sorted(corpus_dir.glob("*.wav"))
    test = held_out(files)
    assert [p.name for p in test] == [f"{f}_07.wav" for f in sorted(FAMILIES[:-1])]
    assert held_out(list(reversed(files))) == test
    assert held_out([files[0]]) == []


def test_default_corpus_is_built_once_and_rebuilt_when_incomplete(latentcode_home):
    d = default_corpus_dir()
    assert d.parent == latentcode_home and (d / ".complete").exists()
    stamp = (d / "bell_00.wav").stat().st_mtime_ns
    assert not list(latentcode_home.glob("*.tmp-*"))
    assert default_corpus_dir() == d
    assert (d / "bell_00.wav").stat().st_mtime_ns == stamp  # not rebuilt
    (d / ".complete").unlink()
    (d / "drone_02.wav").unlink()  # as if a build was interrupted
    default_corpus_dir()
    assert (d / "drone_02.wav").exists() and (d / ".complete").exists()


def test_cli_corpus(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "latentcode.shell.cli", "corpus", str(tmp_path / "c"),
                        "--seed", "3"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "families: bell, drone, hit, noise, pluck, pyo, sine2, voice" in r.stdout
    assert len(list((tmp_path / "c").glob("*.wav"))) >= 59
