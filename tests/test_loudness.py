"""Clean levels kept on disk: loudness compensation measures each sound's levels once, not once
per process, and a render is the same bits with the kept levels or without them."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from latentcode.model.bank import Sound
from latentcode.model.frame_cache import FrameCache
from latentcode.playback import loudness
from latentcode.playback.framing import make_framing
from latentcode.playback.voice import make_voice
from latentcode.playback.voices import Voices

SR, SEG = 44100, 1024


@pytest.fixture(autouse=True)
def nothing_unsaved():
    """Each test starts with no levels waiting to be written (an earlier test's, bound for
    its own home, would be counted by this one's flush)."""
    loudness._unsaved.clear()


def wavy_decoder(z):
    """A frame whose level follows the latent (so that every frame has a level of its own)."""
    t = np.arange(SEG, dtype=np.float32) / SEG
    return (z[:, :1] * np.sin(40 * t)[None, :] + z[:, 1:2] * t[None, :]).astype(np.float32)


def sounds() -> dict[str, Sound]:
    """Fresh sound objects with the same latents every call, as a new process loads them."""
    rng = np.random.default_rng(7)
    made = {}
    for name in ("a", "b"):
        mu = rng.uniform(0.1, 1.0, (300, 4)).astype(np.float32)
        made[name] = Sound(name, mu, np.full_like(mu, -30.0), 128)
    return made


class Bank(dict):
    def resolve(self, name):
        return self[name]


def render(decode, bank: Bank, framing=None) -> tuple[np.ndarray, int]:
    """A morph of ``a`` into ``b``: its audio, and the frames decoded to measure levels."""
    framing = framing or make_framing("ola", SEG)
    voices = Voices(decode, tracks=1, segment=SEG, framing=framing)
    voices.add(make_voice({"sound": "a", "mix": "b", "alpha": 0.6, "noise": 0, "pan": 0},
                          bank=bank, track=0, start=0, duration=SR, framing=framing))
    out = np.zeros((1, 2, 20000), dtype=np.float32)
    measured = 0
    for start in range(0, 20000, 1000):
        block = np.zeros((1, 2, 1000), dtype=np.float32)
        before = voices.frames_decoded
        voices.render(block, start, lambda s: Fraction(s, SR))
        planned = sum(n for _, n in voices.planned)
        measured += voices.frames_decoded - before - planned
        out[:, :, start : start + 1000] = block
    return out, measured


def test_levels_measured_in_one_process_are_read_in_the_next_to_the_same_bits(latentcode_home,
                                                                               monkeypatch):
    first, measured = render(wavy_decoder, Bank(sounds()))
    assert measured > 0
    assert loudness.flush() == 2  # a file per sound of the mix
    files = sorted((latentcode_home / "cache" / "levels").glob("*.npy"))
    assert len(files) == 2
    again, measured_again = render(wavy_decoder, Bank(sounds()))  # as a new process would
    assert measured_again == 0
    assert np.array_equal(again, first) and np.abs(first).max() > 0.01
    monkeypatch.setattr(loudness, "KEEP", False)
    cold, measured_cold = render(wavy_decoder, Bank(sounds()))
    assert measured_cold == measured and np.array_equal(cold, first)


def test_another_decoder_or_window_measures_for_itself(latentcode_home):
    render(wavy_decoder, Bank(sounds()))
    loudness.flush()

    def louder(z):
        return 2 * wavy_decoder(z)

    _, measured = render(louder, Bank(sounds()))
    assert measured > 0  # its levels are 6 dB up: the kept ones are not its own
    glitch = make_framing("glitch", SEG)
    _, measured = render(wavy_decoder, Bank(sounds()), glitch)
    assert measured > 0
    # a frame cache in front of the decoder is the same decoder
    _, measured = render(FrameCache(wavy_decoder), Bank(sounds()))
    assert measured == 0


def test_a_long_sound_is_measured_as_ever_and_never_hashed_whole(latentcode_home, monkeypatch):
    # naming a long sound's file would read all of its latents on the producer's thread
    monkeypatch.setattr(loudness, "KEPT_FRAMES", 299)
    _, measured = render(wavy_decoder, Bank(sounds()))
    assert measured > 0 and loudness.flush() == 0
    _, again = render(wavy_decoder, Bank(sounds()))
    assert again == measured


def test_a_damaged_file_is_measured_again_and_written_anew(latentcode_home):
    first, _ = render(wavy_decoder, Bank(sounds()))
    loudness.flush()
    for f in (latentcode_home / "cache" / "levels").glob("*.npy"):
        f.write_bytes(b"not a level file")
    again, measured = render(wavy_decoder, Bank(sounds()))
    assert measured > 0 and np.array_equal(again, first)
    assert loudness.flush() == 2
    _, measured = render(wavy_decoder, Bank(sounds()))
    assert measured == 0


def measure(sound, frames, window):
    """Measure the clean levels of ``frames`` of ``sound`` as a block's decode would."""
    todo = loudness.unknown([(sound, frames)], wavy_decoder, window)
    loudness.store(todo, wavy_decoder(loudness.latents(todo)), window)


def test_files_from_two_processes_are_merged_not_overwritten(latentcode_home):
    sound = sounds()["a"]
    window = make_framing("ola", SEG).window
    measure(sound, np.array([0, 4]), window)
    loudness.flush()
    other = sounds()["a"]  # another process, which met other frames of the same sound
    measure(other, np.array([8]), window)
    other.__dict__["_clean_levels"][[0, 4]] = np.nan  # (it had not read the file yet)
    loudness.flush()
    fresh = sounds()["a"]
    levels = loudness.clean_levels(fresh, wavy_decoder, window)
    assert np.isfinite(levels[[0, 4, 8]]).all() and np.isnan(levels[12])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_render_keeps_the_levels_it_measured_and_renders_the_same_file_again(
        session_parts, tmp_path, latentcode_home, jobs):
    from latentcode.session import Session

    model, bank = session_parts
    piece = 't1 $ "drone" # mix "voice" # alpha (slow 2 $ range -0.3 1.2 sine) # gain 0.4'
    session = Session(model, bank, tracks=2)
    session.eval(piece)
    for name in ("drone", "voice"):  # as in a new process: nothing measured yet
        bank.resolve(name).__dict__.pop("_clean_levels", None)
    session.render(2, tmp_path / "first.wav", seed=1, jobs=jobs)
    kept = sorted((latentcode_home / "cache" / "levels").glob("*.npy"))
    assert len(kept) == 2  # (split: the forks wrote theirs as they ended)
    written = [f.stat().st_mtime_ns for f in kept]
    for name in ("drone", "voice"):
        bank.resolve(name).__dict__.pop("_clean_levels", None)
    session.render(2, tmp_path / "again.wav", seed=1, jobs=jobs)
    assert (tmp_path / "again.wav").read_bytes() == (tmp_path / "first.wav").read_bytes()
    # read, not measured again: nothing new to write
    assert [f.stat().st_mtime_ns for f in kept] == written
    assert sorted((latentcode_home / "cache" / "levels").glob("*.npy")) == kept


def test_a_block_measures_its_mix_in_the_decode_of_its_frames(latentcode_home, monkeypatch):
    # a decode call of its own for the few frames a block meets cost as much as sixteen rows
    monkeypatch.setattr(loudness, "KEEP", False)
    calls = []

    def counting(z):
        calls.append(len(z))
        return wavy_decoder(z)

    framing = make_framing("ola", SEG)
    voices = Voices(counting, tracks=1, segment=SEG, framing=framing)
    voices.add(make_voice({"sound": "a", "mix": "b", "alpha": 0.6, "noise": 0, "pan": 0},
                          bank=Bank(sounds()), track=0, start=0, duration=SR, framing=framing))
    measured = []
    for start in range(0, 20000, 1000):
        calls.clear()
        before = voices.frames_decoded
        voices.render(np.zeros((1, 2, 1000), dtype=np.float32), start,
                      lambda s: Fraction(s, SR))
        assert len(calls) == 1  # the voice's frames and its levels together
        measured.append(voices.frames_decoded - before - sum(n for _, n in voices.planned))
    assert sum(measured) > 0 and calls[0] == voices.frames_decoded - before
