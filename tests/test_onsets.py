"""Sounds start on the beat: onsets found at load, trimmed by voices, heard on their events."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import load_audio
from latentcode.model.bank import Bank, Sound
from latentcode.model.encode import cache_path, encode_sound
from latentcode.model.onsets import PREROLL, decoded_onset, find_onset
from latentcode.playback.framing import make_framing
from latentcode.playback.voice import make_voice
from latentcode.playback.voices import Voices
from latentcode.session import Session

SR = 44100
HEARD_WITHIN = 0.015  # seconds: the target for every sound on its beat
FRAME_SECONDS = 1024 / SR  # one frame of the model


def ms(samples: float) -> float:
    return 1000 * samples / SR


def heard(audio: np.ndarray, at: int) -> float:
    """Seconds after sample ``at`` where ``audio`` is first heard: where its 1 ms RMS first
    reaches 30 dB under its loudest 1 ms after ``at`` (measured independently of the bank's
    own onset rule)."""
    x = np.abs(np.asarray(audio, np.float64).reshape(-1, audio.shape[-1])).max(axis=0)[at:]
    env = np.sqrt(np.convolve(x**2, np.ones(44) / 44, "valid"))
    assert env.max() > 1e-4, "nothing was heard"
    return int(np.flatnonzero(env >= env.max() * 10 ** (-30 / 20))[0]) / SR


def write(path, x: np.ndarray) -> None:
    sf.write(path, np.asarray(x, np.float32), SR, subtype="PCM_24")


def struck(seconds: float, freq: float = 330.0, decay: float = 6.0) -> np.ndarray:
    """A struck tone: instant attack, exponential decay."""
    t = np.arange(int(seconds * SR)) / SR
    return 0.6 * np.sin(2 * np.pi * freq * t) * np.exp(-decay * t)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR))


# --------------------------------------------------------------------------- detection


def test_silence_then_an_attack_starts_just_before_the_attack(tmp_path):
    write(tmp_path / "a.wav", np.concatenate([silence(0.25), struck(0.5)]))
    onset = find_onset(load_audio(tmp_path / "a.wav", SR), SR)
    attack = int(0.25 * SR)
    # the pre-roll keeps the attack whole; the 24-bit file's dither-free silence goes
    assert attack - round(PREROLL * SR) - 2 <= onset <= attack - round(PREROLL * SR) + 2


def test_a_faint_click_and_the_silence_after_it_are_skipped(tmp_path):
    click = np.zeros(64)
    click[:8] = 0.6 * 10 ** (-50 / 20)  # 50 dB under the hit
    write(tmp_path / "c.wav", np.concatenate([silence(0.01), click, silence(0.35), struck(1)]))
    onset = find_onset(load_audio(tmp_path / "c.wav", SR), SR)
    hit = int(0.01 * SR) + 64 + int(0.35 * SR)
    assert hit - round(PREROLL * SR) - 2 <= onset <= hit


def test_a_slow_fade_in_starts_near_silence_and_is_heard_at_once(tmp_path):
    t = np.arange(2 * SR) / SR
    write(tmp_path / "f.wav", 0.5 * np.sin(2 * np.pi * 220 * t) * np.minimum(t / 1.5, 1))
    x = load_audio(tmp_path / "f.wav", SR)
    onset = find_onset(x, SR)
    env = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(44) / 44, "valid"))
    at = [int(np.flatnonzero(env >= env.max() * 10 ** (-db / 20))[0]) for db in (40, 30)]
    # from at most 5 ms (plus the pre-roll) before it is plainly heard (-30 dB); its quieter
    # climb from -40 dB would take 30 ms and put the sound late on its beat
    assert at[1] - at[0] > 0.02 * SR
    assert 0 < at[1] - onset <= (0.005 + PREROLL) * SR + 44


def test_a_sound_at_sample_0_starts_at_0_and_a_silent_one_does_not_crash(tmp_path):
    write(tmp_path / "now.wav", struck(0.5))
    assert find_onset(load_audio(tmp_path / "now.wav", SR), SR) == 0
    write(tmp_path / "quiet.wav", silence(0.5))
    assert find_onset(load_audio(tmp_path / "quiet.wav", SR, allow_silent=True), SR) == 0
    assert find_onset(np.zeros(0), SR) == 0


def test_the_decoded_onset_is_where_the_decoder_makes_the_sound_audible():
    """A decoder that renders a file's quiet first hit as silence (as the shipped model does
    with the v1 corpus's hit_00): the sound starts at what is heard, not at the file's start."""
    hop, seg = 128, 1024
    heard_sound = np.concatenate([silence(0.3), struck(0.7)]).astype(np.float32)
    frames = (len(heard_sound) - seg) // hop + 1
    mu = np.arange(frames, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)

    def decode(z):  # latent frame i decodes to the heard sound's segment i
        return np.stack([heard_sound[int(i) * hop: int(i) * hop + seg] for i in z[:, 0]])

    expected = find_onset(heard_sound, SR)
    found = decoded_onset(mu, decode, hop=hop, segment=seg, sample_rate=SR)
    assert abs(found - expected) <= 2
    # never before the file's own onset, and a file that starts later keeps its own
    assert decoded_onset(mu, decode, hop=hop, segment=seg, sample_rate=SR,
                         start=expected + 500) == expected + 500
    silent = decoded_onset(mu, lambda z: np.zeros((len(z), seg), np.float32), hop=hop,
                           segment=seg, sample_rate=SR, start=123)
    assert silent == 123


# --------------------------------------------------------------------------- the bank


def test_the_onset_is_cached_beside_the_encoding_and_old_entries_are_redone(
        tiny_model, latentcode_home, tmp_path):
    write(tmp_path / "s.wav", np.concatenate([silence(0.2), struck(0.5)]))
    first = encode_sound(tmp_path / "s.wav", tiny_model)
    again = encode_sound(tmp_path / "s.wav", tiny_model)
    assert (first.cached, again.cached) == (False, True) and again.onset == first.onset
    assert first.onset >= int(0.2 * SR) - round(PREROLL * SR)  # the file's own onset at least
    # an entry written before onsets were cached: encoded again, with its onset
    np.savez(cache_path(tmp_path / "s.wav", tiny_model, 128), mu=first.mu, logvar=first.logvar)
    redone = encode_sound(tmp_path / "s.wav", tiny_model)
    assert not redone.cached and redone.onset == first.onset


def test_clusters_and_the_prior_start_at_once_sound_clusters_where_their_first_member_does(
        tiny_model, latentcode_home, tmp_path):
    for i, lead in enumerate((0.1, 0.2, 0.0)):
        write(tmp_path / f"s_{i}.wav", np.concatenate([silence(lead), struck(0.4, 200 + 90 * i)]))
    bank = Bank(tiny_model, [tmp_path], default=False)
    assert bank.resolve("s:1").onset * 128 >= 0.2 * SR - round(PREROLL * SR) - 128
    assert bank.resolve("frames:0").onset == 0 and bank.resolve("prior:1").onset == 0
    for cluster in bank.sound_clusters():
        assert cluster.onset == bank.resolve(cluster.members[0]).onset


def test_a_silent_file_in_a_folder_is_one_clear_line(tiny_model, latentcode_home, tmp_path):
    write(tmp_path / "hush.wav", silence(0.5))
    bank = Bank(tiny_model, [tmp_path], default=False)
    with pytest.raises(LatentcodeError, match="silent"):
        bank.resolve("hush")


# --------------------------------------------------------------------------- voices


class Sounds(dict):
    def resolve(self, name):
        return self[name]


def test_trim_skips_the_lead_in_by_whole_frames_and_begin_counts_from_the_onset():
    mu = np.zeros((101, 4), np.float32)
    bank = Sounds(s=Sound("s", mu, mu.copy(), 128, onset=20.6))
    ola = make_framing("ola", 1024)

    def pos0(**controls):
        return make_voice({"sound": "s", **controls}, bank=bank, track=0, start=0,
                          duration=SR, framing=ola).pos0

    assert pos0() == 20  # a whole frame: between two, every frame would blend their phases
    assert pos0(trim=0) == 0 and pos0(trim=0.5) == math.floor(0.5 * 20.6)
    assert pos0(trim=7) == 20 and pos0(trim=-1) == 0  # clamped to 0..1
    assert pos0(begin=0.5) == pytest.approx(20 + 0.5 * 80)
    assert pos0(begin=0.5, trim=0) == pytest.approx(50)


def test_a_voice_is_at_full_gain_from_its_first_frame():
    """Overlap-add's first window would rise for 768 samples: an attack at the voice's start
    (where a trimmed sound puts it) would be held back."""
    mu = np.ones((100, 4), np.float32)
    bank = Sounds(one=Sound("one", mu, np.full_like(mu, -30.0), 128))
    ola = make_framing("ola", 1024)
    voices = Voices(lambda z: np.repeat(z[:, :1], 1024, axis=1), tracks=1, segment=1024,
                    framing=ola)
    voices.add(make_voice({"sound": "one", "noise": 0, "pan": 0}, bank=bank, track=0,
                          start=0, duration=SR, framing=ola))
    out = np.zeros((1, 2, 4096), np.float32)
    voices.render(out, 0, lambda s: Fraction(s, SR))
    assert 0 < out[0, 0, 10] < 1  # the 64-sample fade-in that hides a step, and then
    assert np.allclose(out[0, 0, 64:4000], 1.0, atol=1e-5)  # full gain, not a Hann's rise


# --------------------------------------------------------------------------- heard on the beat


@pytest.fixture(scope="module")
def model():
    from latentcode.model.vae import load_model

    return load_model()


def render(session: Session, text: str, tmp_path, cycles: float = 1) -> np.ndarray:
    """``text`` through the real offline render (the engine and its limiter): (2, n)."""
    session.eval(text)
    audio, sr = sf.read(session.render(cycles, tmp_path / "out.wav"), dtype="float32")
    assert sr == SR
    return audio.T


def test_a_users_sounds_after_leading_silence_are_heard_on_their_beat(model, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    leads = {"ping": 0.1, "bong": 0.3, "tick": 0.15, "wash": 0.2}
    noise = np.random.default_rng(1).standard_normal(SR // 2) * np.exp(-8 * np.arange(SR // 2) / SR)
    sounds = {"ping": struck(0.5, 880), "bong": struck(0.6, 110, 5),
              "tick": struck(0.3, 2500, 20), "wash": 0.3 * noise}
    for name, lead in leads.items():
        write(folder / f"{name}.wav", np.concatenate([silence(lead), sounds[name]]))
    bank = Bank(model, [folder], default=False)
    session = Session(model, bank, tracks=1)
    session.eval("tempo 1")
    one_a_cycle = f't1 $ "<{" ".join(leads)}>"'  # a beat a second: each sound on its own
    trimmed = render(session, one_a_cycle, tmp_path, cycles=len(leads))
    untrimmed = render(session, one_a_cycle + " # trim 0", tmp_path, cycles=len(leads))
    cycle = SR
    for k, (name, lead) in enumerate(leads.items()):
        on_beat = heard(trimmed[:, k * cycle:(k + 1) * cycle], 0)
        assert on_beat <= HEARD_WITHIN, (name, on_beat)
        # trim 0 plays the file from its first sample: heard where the file has its onset,
        # never later, and never more than a frame before it: a frame code spreads a noise
        # burst's attack over the frames it falls in (a pre-echo: 'wash' is heard 16 ms early)
        late = heard(untrimmed[:, k * cycle:(k + 1) * cycle], 0)
        assert -FRAME_SECONDS <= late - lead <= HEARD_WITHIN, (name, late)


@pytest.fixture(scope="module")
def default_bank(model):
    # module-scoped, so made before the autouse close_banks fixture: close it here
    bank = Bank(model)
    yield bank
    bank.close()


def test_every_default_group_is_heard_on_its_beat(model, default_bank, tmp_path):
    # the whole corpus is a group too: its first sound is some group's first already
    groups = [g for g in default_bank.groups() if g not in default_bank.folder_groups]
    assert {"bell", "drone", "hit", "pyo"} <= set(groups)
    session = Session(model, default_bank, tracks=1)
    session.eval("tempo 1")
    # one group a cycle (a second), each cut after half of it: nothing rings into the next
    audio = render(session, f't1 $ "<{" ".join(groups)}>" # legato 0.5', tmp_path,
                   cycles=len(groups))
    late = {g: heard(audio[:, k * SR:(k + 1) * SR], 0) for k, g in enumerate(groups)}
    assert max(late.values()) <= HEARD_WITHIN, {g: round(1000 * s, 1) for g, s in late.items()}


def test_short_hits_are_loud(model, default_bank, tmp_path):
    session = Session(model, default_bank, tracks=1)
    audio = render(session, 't1 $ "hit ~ hit hit" # legato 0.3', tmp_path)
    step = audio.shape[1] // 4
    for event in (0, 2, 3):  # each hit, in the 0.3 of its step that it sounds
        window = np.abs(audio[:, event * step: event * step + int(0.3 * step)])
        assert 20 * np.log10(window.max()) > -12.0, event
