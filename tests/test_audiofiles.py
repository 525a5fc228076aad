"""Reading, mixing, resampling and framing audio, and every bad-file error."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import (
    SUFFIX_FORMATS,
    audio_suffixes,
    find_audio,
    frame,
    is_audio_file,
    load_audio,
    n_frames,
    resample,
    to_mono,
)


def _sine(freq: float, sr: int, seconds: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


@pytest.mark.parametrize(
    "name,fmt,subtype", [("a.flac", "FLAC", "PCM_24"), ("a.aiff", "AIFF", "PCM_16"),
                         ("a.ogg", "OGG", "VORBIS"), ("a.wav", "WAV", "FLOAT")])
def test_formats_load_as_mono_float32(tmp_path, name, fmt, subtype):
    x = _sine(440, 44100, 0.5)
    sf.write(tmp_path / name, x, 44100, format=fmt, subtype=subtype)
    y = load_audio(tmp_path / name, 44100)
    assert y.dtype == np.float32 and y.ndim == 1 and len(y) == len(x)
    tol = 0.05 if fmt == "OGG" else 1e-3
    assert np.abs(y - x).max() < tol


def test_the_audio_suffixes_are_the_formats_libsndfile_reads_here():
    have = sf.available_formats()
    assert set(audio_suffixes()) == {s for s, fmt in SUFFIX_FORMATS.items() if fmt in have}
    assert {".wav", ".flac", ".aiff", ".ogg"} <= set(audio_suffixes())
    assert is_audio_file("A.WAV") and not is_audio_file("a.txt") and not is_audio_file("wav")


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile reads no MP3")
def test_mp3_is_audio_when_libsndfile_reads_it(tmp_path):
    x = _sine(440, 44100, 0.5)
    sf.write(tmp_path / "a.mp3", x, 44100, format="MP3", subtype="MPEG_LAYER_III")
    assert is_audio_file("a.mp3") and find_audio(tmp_path) == [tmp_path / "a.mp3"]
    y = load_audio(tmp_path / "a.mp3", 44100)
    assert y.dtype == np.float32 and abs(len(y) - len(x)) < 2048


def test_stereo_48k_is_mixed_and_resampled(tmp_path):
    left, right = _sine(1000, 48000, 1.0), _sine(1000, 48000, 1.0, phase=np.pi)
    right = 0.5 * left + 0.0 * right  # mono mix = 0.75 * left
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 48000, subtype="FLOAT")
    y = load_audio(tmp_path / "s.wav", 44100)
    assert len(y) == 44100
    want = 0.75 * _sine(1000, 44100, 1.0)
    mid = slice(500, -500)  # the edges see the zero padding of the kernel
    err = y[mid] - want[mid]
    assert 10 * np.log10(np.sum(want[mid] ** 2) / np.sum(err**2)) > 60


@pytest.mark.parametrize("sr_from,sr_to", [(22050, 44100), (8000, 44100), (96000, 44100),
                                           (44100, 16000)])
def test_resample_keeps_a_sine_in_band(sr_from, sr_to):
    f = 300.0
    y = resample(_sine(f, sr_from, 0.5), sr_from, sr_to)
    assert len(y) == int(np.ceil(len(_sine(f, sr_from, 0.5)) * sr_to / sr_from))
    want = _sine(f, sr_to, len(y) / sr_to)[: len(y)]
    mid = slice(sr_to // 50, -sr_to // 50)
    err = y[mid] - want[mid]
    assert 10 * np.log10(np.sum(want[mid] ** 2) / np.sum(err**2)) > 50


def test_downsampling_removes_what_is_above_the_new_nyquist():
    x = _sine(15000, 44100, 0.5)  # above 8 kHz: must vanish at 16 kHz
    y = resample(x, 44100, 16000)
    assert np.sqrt(np.mean(y[200:-200] ** 2)) < 1e-3


def test_to_mono_averages_channels():
    x = np.array([[1.0, 0.0], [0.2, 0.4]], np.float32)
    np.testing.assert_allclose(to_mono(x), [0.5, 0.3])


def test_frame_is_a_strided_view_with_hop():
    x = np.arange(1024 + 3 * 128 + 5, dtype=np.float32)
    f = frame(x, 1024, 128)
    assert f.shape == (4, 1024) and np.shares_memory(f, x)
    np.testing.assert_array_equal(f[2], x[256:256 + 1024])
    g = frame(x, 1024, 128, pad_end=True)
    assert g.shape == (5, 1024)
    np.testing.assert_array_equal(g[-1][:-123], x[512:])  # 901 real samples then zeros
    assert not g[-1][-123:].any()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 5000), seg=st.integers(1, 700), hop=st.integers(1, 900),
       pad=st.booleans())
def test_frame_count_matches_and_covers_the_signal(n, seg, hop, pad):
    x = np.arange(n, dtype=np.float32)
    expect = n_frames(n, seg, hop, pad)
    if expect == 0:
        with pytest.raises(LatentcodeError, match="too short"):
            frame(x, seg, hop, pad_end=pad)
        return
    f = frame(x, seg, hop, pad_end=pad)
    assert f.shape == (expect, seg)
    assert f[0][0] == 0
    last = (expect - 1) * hop
    if pad:
        assert last + seg >= n  # every sample is in some frame
    else:
        assert last + seg <= n and last + hop + seg > n


def test_missing_file(tmp_path):
    with pytest.raises(LatentcodeError, match="no such file"):
        load_audio(tmp_path / "nope.wav")


def test_corrupt_file(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    with pytest.raises(LatentcodeError) as e:
        load_audio(tmp_path / "bad.wav")
    assert "cannot read audio file" in str(e.value) and "\n" not in str(e.value)


def test_silent_file(tmp_path):
    sf.write(tmp_path / "quiet.wav", np.zeros(5000, np.float32), 44100)
    with pytest.raises(LatentcodeError, match="silent"):
        load_audio(tmp_path / "quiet.wav")
    assert len(load_audio(tmp_path / "quiet.wav", allow_silent=True)) == 5000


def test_too_short_file(tmp_path):
    sf.write(tmp_path / "short.wav", _sine(440, 44100, 0.01), 44100)
    with pytest.raises(LatentcodeError, match="too short.*1024"):
        load_audio(tmp_path / "short.wav", 44100, min_samples=1024)


def test_find_audio_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(LatentcodeError, match="no audio files"):
        find_audio(tmp_path)
    with pytest.raises(LatentcodeError, match="no such folder"):
        find_audio(tmp_path / "missing")
    sf.write(tmp_path / "b.FLAC", _sine(440, 44100, 0.1), 44100)
    sf.write(tmp_path / "a.wav", _sine(440, 44100, 0.1), 44100)
    assert [p.name for p in find_audio(tmp_path)] == ["a.wav", "b.FLAC"]
