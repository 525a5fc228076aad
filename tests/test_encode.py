"""Encoding files and arrays, the on-disk cache, and the ``encode`` command."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import frame, n_frames
from latentcode.model.encode import (
    cache_path,
    cache_stats,
    encode_audio,
    encode_file,
    encode_file_info,
)

torch.set_num_threads(1)


@pytest.fixture
def wav(tmp_path):
    t = np.arange(30000) / 44100
    x = (0.4 * np.sin(2 * np.pi * 220 * t) * np.exp(-t)).astype(np.float32)
    p = tmp_path / "tone.wav"
    sf.write(p, x, 44100, subtype="FLOAT")
    return p


def test_encode_audio_matches_the_model_on_padded_frames(tiny_model):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 5000).astype(np.float32)
    mu, logvar = encode_audio(x, tiny_model, hop=256)
    assert mu.shape == logvar.shape == (n_frames(5000, 1024, 256, pad_end=True), 8)
    ref_mu, ref_lv = tiny_model.encode(frame(x, 1024, 256, pad_end=True))
    np.testing.assert_array_equal(mu, ref_mu)
    np.testing.assert_array_equal(logvar, ref_lv)


def test_second_encode_is_a_cache_hit_and_equal(latentcode_home, tiny_model, wav):
    cache_stats.reset()
    mu1, lv1, cached1 = encode_file_info(wav, tiny_model, hop=128)
    mu2, lv2, cached2 = encode_file_info(wav, tiny_model, hop=128)
    assert (cached1, cached2) == (False, True)
    assert (cache_stats.misses, cache_stats.hits) == (1, 1)
    np.testing.assert_array_equal(mu1, mu2)
    np.testing.assert_array_equal(lv1, lv2)
    assert cache_path(wav, tiny_model, 128).is_relative_to(latentcode_home)
    assert mu1.dtype == np.float32 and mu1.shape == (n_frames(30000, 1024, 128, True), 8)
    # another hop is another entry
    mu3, _, cached3 = encode_file_info(wav, tiny_model, hop=512)
    assert not cached3 and len(mu3) < len(mu1)


def test_cache_follows_content_not_name(latentcode_home, tiny_model, wav, tmp_path):
    encode_file(wav, tiny_model)
    copy = tmp_path / "renamed.wav"
    copy.write_bytes(wav.read_bytes())
    assert encode_file_info(copy, tiny_model)[2] is True
    x, sr = sf.read(wav, dtype="float32")
    sf.write(wav, x * 0.5, sr, subtype="FLOAT")  # edited file: must not reuse the old entry
    assert encode_file_info(wav, tiny_model)[2] is False


@pytest.mark.parametrize("damage", ["garbage", "truncate", "wrong_shape"])
def test_corrupt_cache_is_reencoded(latentcode_home, tiny_model, wav, damage):
    fresh_mu, fresh_lv = encode_file(wav, tiny_model)
    cp = cache_path(wav, tiny_model, 128)
    if damage == "garbage":
        cp.write_bytes(b"\x00\x01 not an npz")
    elif damage == "truncate":
        cp.write_bytes(cp.read_bytes()[:100])
    else:
        np.savez(cp, mu=np.zeros((3, 5), np.float32), logvar=np.zeros((3, 5), np.float32))
    mu, lv, cached = encode_file_info(wav, tiny_model)
    assert cached is False
    np.testing.assert_array_equal(mu, fresh_mu)
    np.testing.assert_array_equal(lv, fresh_lv)
    assert encode_file_info(wav, tiny_model)[2] is True  # repaired


def test_bad_files_are_one_line_errors(latentcode_home, tiny_model, tmp_path):
    with pytest.raises(LatentcodeError, match="no such file"):
        encode_file(tmp_path / "missing.wav", tiny_model)
    (tmp_path / "bad.flac").write_bytes(b"fLaC" + bytes(200))
    with pytest.raises(LatentcodeError, match="cannot read audio file"):
        encode_file(tmp_path / "bad.flac", tiny_model)
    sf.write(tmp_path / "short.wav", np.full(500, 0.3, np.float32), 44100)
    with pytest.raises(LatentcodeError, match="too short"):
        encode_file(tmp_path / "short.wav", tiny_model)
    sf.write(tmp_path / "silent.wav", np.zeros(5000, np.float32), 44100)
    with pytest.raises(LatentcodeError, match="silent"):
        encode_file(tmp_path / "silent.wav", tiny_model)
    with pytest.raises(LatentcodeError, match="hop"):
        encode_audio(np.ones(2000, np.float32), tiny_model, hop=0)


def _cli(*args, home):
    env = dict(os.environ, OMP_NUM_THREADS="1", LATENTCODE_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "latentcode.shell.cli", "encode", *map(str, args)],
                          capture_output=True, text=True, env=env)


def test_cli_encode_with_the_shipped_model(tmp_path, wav):
    r = _cli(wav, "--hop", 1024, "-o", tmp_path / "out", home=tmp_path / "h")
    assert r.returncode == 0, r.stderr
    assert "encoded" in r.stdout
    z = np.load(tmp_path / "out" / "tone.npz")
    assert z["mu"].shape == (n_frames(30000, 1024, 1024, True), 256) and int(z["hop"]) == 1024
    r2 = _cli(wav, "--hop", 1024, home=tmp_path / "h")
    assert r2.returncode == 0 and "cached" in r2.stdout


@pytest.mark.parametrize("content", [None, b"RIFFjunkjunkjunk"])
def test_cli_encode_bad_input_exits_2_with_one_line(tmp_path, content):
    p = tmp_path / "x.wav"
    if content is not None:
        p.write_bytes(content)
    r = _cli(p, home=tmp_path / "h")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("latentcode: ")
    assert "Traceback" not in r.stderr
