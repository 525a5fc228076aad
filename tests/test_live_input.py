"""Live input into latent space: ``in`` plays the audio input through the model, ``:sample``
records it into the bank.

Offline, a file stands in for the input (``render --input``): there the output must be the
model's own reconstruction of the input, one segment late, bit for bit. Live, a JACK client of
the test plays a known sound into latentcode's input port while ``"in"`` plays, and captures
what comes out through jackd's dummy driver.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import frame
from latentcode.model.live_input import CEILING, InputLimiter
from latentcode.playback.framing import make_framing
from latentcode.session import Session

SR = 44100
SCRIPT = str(Path(__file__).parent / "audio_scripts" / "input_jack.py")
CLI = [sys.executable, "-m", "latentcode.shell.cli"]


@pytest.fixture
def session(session_parts):
    model, bank = session_parts
    bank.live_input = None
    return Session(model, bank, tracks=2)


def phrase(seconds: float = 4.0, seed: int = 3) -> np.ndarray:
    """A voice-like test sound: a gliding harmonic tone with breath noise, notes and rests."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = 180 + 60 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f) / SR
    tone = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = (np.sin(2 * np.pi * 1.5 * t) > -0.3).astype(float)
    envelope = np.convolve(envelope, np.ones(400) / 400, mode="same")
    x = 0.25 * tone * envelope + 0.01 * rng.standard_normal(len(t))
    return x.astype(np.float32)


def reconstruction(model, x: np.ndarray, hop: int = 256) -> np.ndarray:
    """The model's own reconstruction of ``x``: frames every ``hop``, decoded, overlap-added."""
    mu, _ = model.encode(frame(x, model.segment, hop, pad_end=True))
    decoded = model.decode(mu)
    window = make_framing("ola", model.segment).window
    out = np.zeros(len(x) + 2 * model.segment, np.float32)
    for k, segment in enumerate(decoded):
        out[k * hop : k * hop + model.segment] += segment * window
    return out[: len(x)]


def band_levels(x: np.ndarray) -> np.ndarray:
    """Levels (dB) of third-octave bands from 100 Hz to 16 kHz, per 2048-sample frame."""
    frames = np.lib.stride_tricks.sliding_window_view(x, 2048)[::1024] * np.hanning(2048)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    freqs = np.fft.rfftfreq(2048, 1 / SR)
    edges = 100 * 2 ** (np.arange(0, 23) / 3)
    bands = [power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1)
             for lo, hi in zip(edges, edges[1:], strict=False)]
    return 10 * np.log10(np.stack(bands, axis=1) + 1e-9)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of the band levels of two sounds, levels matched (dB)."""
    a = a / (np.sqrt(np.mean(a**2)) + 1e-12)
    b = b / (np.sqrt(np.mean(b**2)) + 1e-12)
    la, lb = band_levels(a), band_levels(b)
    n = min(len(la), len(lb))
    return float(np.mean(np.abs(la[:n] - lb[:n])))


def test_in_offline_is_the_models_reconstruction_one_segment_late(session, tmp_path):
    x = phrase()
    soundfile.write(tmp_path / "in.wav", x, SR)
    session.input_from(tmp_path / "in.wav")
    session.eval('tempo 0.25\nt1 $ "in" # noise 0 # pan 0 # match 0')
    out = session.render_dry(1)[0]  # one voice of 4 s, hard left (gain 1), as decoded
    expected = reconstruction(session.model, x)
    seg = session.model.segment
    # the input's frame k, on the 256 grid, is played from sample k·256 + one segment; the
    # voice's first segment held frame 0 (there was no input before it), its end fades out
    heard, wanted = out[2 * seg : len(x) - seg], expected[seg : len(x) - 2 * seg]
    error = heard - wanted
    assert np.sqrt(np.mean(error**2)) < 1e-4 * np.sqrt(np.mean(wanted**2))
    assert session.live_input.latency == seg


def test_in_mixes_towards_a_bank_sound_and_reaches_back(session, tmp_path):
    # a low tone for 0.6 s, then a high one: a voice reaching back plays the low one again
    t = np.arange(4 * SR) / SR
    x = np.where(t < 0.6, np.sin(2 * np.pi * 150 * t), np.sin(2 * np.pi * 1500 * t))
    soundfile.write(tmp_path / "in.wav", (0.3 * x).astype(np.float32), SR)
    session.input_from(tmp_path / "in.wav")
    session.eval('tempo 0.5\nt1 $ "~ in" # noise 0 # pan 0')
    live = session.render_dry(1)[0][SR + 4096 : 2 * SR - 1024]  # the second second, live
    # at 1 s the ring holds 1 s of input: from 0.1 to 0.4 of it is the low tone
    session.eval('tempo 0.5\nt1 $ "~ in" # noise 0 # pan 0 # begin 0.1 # end 0.4')
    back = session.render_dry(1)[0][SR + 2048 : SR + 8192]

    def centroid(y: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
        return float((np.fft.rfftfreq(len(y), 1 / SR) * spectrum).sum() / spectrum.sum())

    assert centroid(live) > 1000  # the high tone, as it comes
    session.eval('tempo 0.5\nt1 $ "~ in" # noise 0 # mix "bell" # alpha 0.6')
    bell = session.render_dry(1)[0][SR : 2 * SR]
    assert np.isfinite(bell).all() and np.sqrt(np.mean(bell**2)) > 1e-3
    assert distance(bell, live) > 3  # it moved towards the bell
    assert centroid(back) < centroid(live) / 2 and np.sqrt(np.mean(back**2)) > 1e-3


def test_stretch_and_bias_shape_the_input_as_they_shape_a_sound(session, tmp_path):
    t = np.arange(3 * SR) / SR
    x = np.where(t < 0.6, np.sin(2 * np.pi * 150 * t), np.sin(2 * np.pi * 1500 * t))
    soundfile.write(tmp_path / "in.wav", (0.3 * x).astype(np.float32), SR)
    session.input_from(tmp_path / "in.wav")

    def at_one_second(code: str) -> np.ndarray:
        session.eval(f"tempo 0.5\nt1 $ {code}")
        return session.render_dry(1)[0][SR - 2048 : SR + 2048]

    def centroid(y: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
        return float((np.fft.rfftfreq(len(y), 1 / SR) * spectrum).sum() / spectrum.sum())

    plain = at_one_second('"in" # noise 0')
    slow = at_one_second('"in" # noise 0 # stretch 2')  # at 1 s it plays the input at 0.5 s
    assert centroid(plain) > 1000 and centroid(slow) < centroid(plain) / 2
    biased = at_one_second('"in" # noise 0 # bias 1.5')
    assert distance(biased, plain) > 1.0


def test_the_inputs_own_match_takes_the_models_hiss_away(session, tmp_path):
    # an input with nothing above 3 kHz: the model's decode of it hisses up to 22 kHz
    x = phrase(8.0)
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / SR) > 3000] = 0
    x = np.fft.irfft(spectrum, len(x)).astype(np.float32)
    soundfile.write(tmp_path / "in.wav", x, SR)
    session.input_from(tmp_path / "in.wav")

    def above(y: np.ndarray, hz: float) -> float:
        power = np.abs(np.fft.rfft(y)) ** 2
        return float(10 * np.log10(power[np.fft.rfftfreq(len(y), 1 / SR) > hz].sum()
                                   / power.sum()))

    heard = {}
    for match in (0, 1):
        session.eval(f'tempo 0.125\nt1 $ "in" # noise 0 # match {match}')
        heard[match] = session.render_dry(1)[0][3 * SR : 8 * SR]  # once it has heard 3 s
    assert above(heard[0], 8000) > -50  # the model's hiss
    assert above(heard[1], 8000) < above(heard[0], 8000) - 10
    level = [np.sqrt(np.mean(heard[m] ** 2)) for m in (0, 1)]
    assert abs(20 * np.log10(level[1] / level[0])) < 1.0  # the sound itself is kept
    assert distance(heard[1], x[3 * SR : 8 * SR]) < distance(heard[0], x[3 * SR : 8 * SR]) - 3


def test_in_named_late_reaches_back_only_as_far_as_it_has_encoded():
    from latentcode.audio.capture import FileInput
    from latentcode.model.live_input import LiveInput

    class Model:  # frame k encodes to [k, k]: which frame a voice reads is plain to see
        segment, latent_dim = 1024, 2

        def encode(self, x):
            k = np.round(x[:, 0] * 1e4)[:, None]
            return np.hstack([k, k]).astype(np.float32), np.zeros((len(x), 2), np.float32)

        def decode(self, z):
            return np.zeros((len(z), 1024), np.float32)

    ramp = (np.arange(20 * SR) // 256 / 1e4).astype(np.float32)  # frame k starts with k/1e4
    live = LiveInput(Model(), FileInput(ramp), hop=256, sr=SR)
    live.restart()
    for start in range(0, 10 * SR, 1024):  # ten seconds before a pattern names `in`
        live.block(start, 1024)
    assert live.sound.newest < 0  # nothing encoded while nobody plays it
    live.sound.use()
    live.block(10 * SR, 1024)
    sound = live.sound
    assert sound.first > 0 and sound.newest > sound.first
    pos0, pos1 = sound.span(0.0, 0.5, 10 * SR)  # the ring's first half, as far as it goes
    assert pos0 >= sound.first and pos1 < sound.newest
    mu, _ = sound.lerp(np.array([0.0, float(sound.first), float(sound.newest)]))
    # before the first encoded frame it holds that frame, never a row it never wrote
    assert mu[:, 0].tolist() == [sound.first, sound.first, sound.newest]


def test_without_an_input_in_is_one_line_and_nothing_changes(session):
    session.eval('t1 $ "bell"')
    with pytest.raises(LatentcodeError, match="--input") as caught:
        session.eval('t1 $ "in"')
    assert "\n" not in str(caught.value)
    assert session.tracks["t1"].latest() is not None  # bell still plays
    with pytest.raises(LatentcodeError, match="no samples yet"):
        session.save_samples("/tmp/nowhere")
    with pytest.raises(LatentcodeError, match="live input"):
        session.sample("riff", 1)


def test_a_sample_never_takes_the_name_of_a_bank_sound(session, monkeypatch):
    from latentcode.audio.capture import Capture

    session.open_input(Capture(1 << 16))
    monkeypatch.setattr(session, "engine", object())  # as if playing live
    with pytest.raises(LatentcodeError, match="already names a sound"):
        session.sample("bell", 1)


def test_input_that_is_too_loud_is_limited_before_encoding():
    limiter = InputLimiter(SR)
    loud = (4.0 * np.sin(2 * np.pi * 220 * np.arange(SR) / SR)).astype(np.float32)
    x = loud.copy()
    limiter(x)
    assert np.abs(x).max() <= CEILING + 1e-6
    # a limiter, not a clipper: after its attack the waveform keeps its shape
    settled = x[SR // 2 :] / np.abs(x[SR // 2 :]).max()
    sine = loud[SR // 2 :] / 4.0
    assert np.sqrt(np.mean((settled - sine) ** 2)) < 0.01
    quiet = 0.5 * loud / 4.0
    y = quiet.copy()
    InputLimiter(SR)(y)
    assert np.array_equal(y, quiet)  # under the ceiling it is left alone


def test_render_input_option(tmp_path):
    x = phrase(2.0)
    soundfile.write(tmp_path / "voice.wav", x, SR)
    piece = tmp_path / "p.lc"
    piece.write_text('tempo 0.5\nt1 $ "in" # noise 0\n')
    done = subprocess.run([*CLI, "render", str(piece), "-o",
                           str(tmp_path / "out.wav"), "--cycles", "1", "--input",
                           str(tmp_path / "voice.wav"), "--jobs", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    y, sr = soundfile.read(tmp_path / "out.wav", dtype="float32")
    assert sr == SR and np.sqrt(np.mean(y[:, 0] ** 2)) > 1e-3
    missing = subprocess.run([*CLI, "render", str(piece), "-o", str(tmp_path / "o2.wav"),
                              "--input", str(tmp_path / "none.wav")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


# -- live, through JACK -------------------------------------------------------------------------

jack = pytest.importorskip("jack", reason="the JACK-Client package is installed by .ci/run")


@pytest.fixture(scope="module")
def jackd():
    from jackd import running_jackd

    with running_jackd() as name:
        yield name


def test_in_live_resembles_the_models_reconstruction_within_its_latency(jackd, session_parts):
    from jack_capture import capture_script

    model = session_parts[0]
    x = phrase(4.0)
    play = np.concatenate([np.zeros(SR, np.float32), x])
    cap = capture_script(jackd, SCRIPT, ["7", "match=0"], source="lc-input", seconds=12,
                         play=play,
                         play_to="lc-input:input_1", timeout=180)
    assert cap.returncode == 0, cap.stderr[-2000:]
    result = cap.result
    assert result["stats"]["underruns"] == 0 and result["encoded"] > 0
    latency = result["latency"]  # samples, as the session reports it (and the toolbar shows)
    assert 0 < latency < 0.5 * SR
    out = cap.audio[0]
    # where the output matches the input best: at most the reported latency
    reference = reconstruction(model, x)
    tries = {d: distance(out[SR + d : SR + d + 3 * SR], reference[: 3 * SR])
             for d in range(latency - 2048, latency + 512, 128)}
    lag = min(tries, key=tries.get)
    assert lag <= latency + 256  # heard within the latency the toolbar shows
    heard = out[SR + lag : SR + lag + 3 * SR]
    close = tries[lag]
    # the model's reconstruction, not the input's own spectrum, nor another sound
    assert close < 3.0
    assert close < distance(heard, x[: 3 * SR]) - 1.0
    assert close < distance(heard, reconstruction(model, phrase(4.0, seed=9)[::-1].copy())) - 1


def test_sample_records_the_input_into_the_bank_on_the_beat(jackd):
    from jack_capture import capture_script

    # silence, then a sound whose attack the recording catches half a second in
    x = np.zeros(6 * SR, np.float32)
    burst = phrase(1.0)
    x[int(2.0 * SR) : int(3.0 * SR)] = burst
    cap = capture_script(jackd, SCRIPT, ["6", "sample"], source="lc-input", seconds=10,
                         play=x, play_to="lc-input:input_1", timeout=180)
    assert cap.returncode == 0, cap.stderr[-2000:]
    result = cap.result
    assert any("sampled riff" in m for m in result["messages"]), result["messages"]
    assert result["stats"]["underruns"] == 0  # recorded and encoded while the music plays
    assert "riff" in result["names"] and "sampled" in result["groups"]
    # the bank trimmed its lead-in: played on a beat, it is heard on the beat
    assert result["onset_ms"] is not None and result["onset_ms"] < 15
    assert result["saved"] == ["riff.wav"]


def test_no_input_device_is_one_line_and_the_rest_plays(tmp_path):
    blocks = 't1 $ "bell"\n\nt2 $ "in"\n\n:input\n\n:sample riff 1\n\n:tracks\n'
    done = subprocess.run([*CLI, "--audio", "none", "--pipe"],
                          input=blocks, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYO_GUI_WX="0"))
    lines = (done.stdout + done.stderr).splitlines()
    said = [line for line in lines if "input" in line]
    assert any("`in` is the live audio input, and there is none" in line for line in said)
    assert any("no audio input" in line for line in said)
    assert any(":sample" in line and "there is none" in line for line in lines)
    assert "Traceback" not in done.stdout + done.stderr
    assert any("t1" in line and "bell" in line for line in lines)  # :tracks: bell plays
    from latentcode.audio.backends import check_input

    with pytest.raises(LatentcodeError, match="has no audio input"):
        check_input("none")
