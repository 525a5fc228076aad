"""Per-voice controls keep moving while a voice sounds: pan, gain, stretch and the latent ones
follow a continuous signal frame by frame; constants are read once and render as before."""

from fractions import Fraction

import numpy as np
import pytest

from latentcode.audio.analysis import boundary_discontinuity
from latentcode.errors import LatentcodeError
from latentcode.model.bank import Sound
from latentcode.patterns.sampled import Sampled
from latentcode.playback.framing import make_framing
from latentcode.playback.voice import make_voice
from latentcode.playback.voices import Voices
from latentcode.session import Session

SR = 44100
SEG = 1024
LATENT = 4


@pytest.fixture(scope="module")
def parts():
    """The shipped model and the default bank, loaded once for this module."""
    from latentcode.model.bank import Bank
    from latentcode.model.vae import load_model

    model = load_model()
    return model, Bank(model)


def render_piece(parts, piece: str, cycles: float, framing: str = "ola") -> np.ndarray:
    model, bank = parts
    session = Session(model, bank, tracks=2, framing=framing)
    session.eval(piece)
    return session.render_dry(cycles, seed=1)


def envelope(x: np.ndarray, win: int) -> np.ndarray:
    """RMS of consecutive windows of ``win`` samples (last axis)."""
    n = x.shape[-1] // win
    return np.sqrt(np.mean(x[..., : n * win].reshape(*x.shape[:-1], n, win) ** 2, axis=-1))


def test_pan_follows_a_continuous_signal_inside_a_held_sound(parts):
    out = render_piece(parts, 'tempo 0.5\nt1 $ "drone" # legato 1 # pan (slow 1 $ sine)', 1)
    win = 2048
    e = envelope(out, win)  # (2, windows)
    centres = (np.arange(e.shape[1]) + 0.5) * win
    keep = (centres > win) & (centres < out.shape[1] - 2 * win)  # away from the fades
    heard = np.arctan2(e[1], e[0])[keep] / (np.pi / 2)  # equal-power pan, 0 left .. 1 right
    asked = 0.5 + 0.5 * np.sin(2 * np.pi * centres[keep] / SR * 0.5)
    assert np.corrcoef(heard, asked)[0, 1] > 0.8  # it was a constant 0.5 (read at the onset)
    assert heard.min() < 0.1 and heard.max() > 0.9


def test_gain_rises_with_a_saw_inside_the_sound(parts):
    out = render_piece(parts, 'tempo 0.5\nt1 $ "drone" # legato 1 # gain (slow 1 $ saw)', 1)
    level = envelope(out.mean(axis=0), 2048)[2:-2]
    quarters = [q.mean() for q in np.array_split(level, 4)]
    assert all(b > a for a, b in zip(quarters, quarters[1:], strict=False))
    assert quarters[-1] > 4 * quarters[0]  # the saw starts at 0: read once, it was silent


def sounding_seconds(out: np.ndarray) -> float:
    level = envelope(out.mean(axis=0), 512)
    return (np.flatnonzero(level > 1e-4)[-1] + 1) * 512 / SR


def test_a_moving_stretch_changes_the_speed_inside_the_voice(parts):
    def seconds(stretch: str) -> float:
        piece = f'tempo 0.5\nt1 $ "<drone ~>" # begin 0.875 # stretch {stretch}'
        return sounding_seconds(render_piece(parts, piece, 2))

    slow, fast, rising = seconds("4"), seconds("1"), seconds("(range 1 4 saw)")
    # the drone's last eighth: 0.5 s at stretch 1, 2 s at 4; a stretch rising from 1 to 4
    # over the 2 s cycle slows the voice down progressively, 0.8 s (read at the onset: 0.5 s)
    assert fast + 0.15 < rising < slow - 0.5


@pytest.mark.parametrize("framing", ["ola", "concat"])
def test_a_constant_signal_renders_exactly_like_the_constant(parts, framing):
    values = {"pan": 0.3, "gain": 0.8, "stretch": 2, "noise": 0.5, "jitter": 0.2,
              "zscale": 1.5, "bias": 0.1, "alpha": 0.3}

    def piece(moving: bool) -> str:
        # range v v sine is v at every cycle, but a continuous signal: read frame by frame
        controls = " ".join(f"# {k} (range {v} {v} sine)" if moving else f"# {k} {v}"
                            for k, v in values.items())
        return f'tempo 0.5\nt1 $ "drone" # legato 1 # mix "voice" # dim 2 {controls}'

    model, bank = parts
    session = Session(model, bank, tracks=2, framing=framing)
    session.eval(piece(True))
    scheduler = session.scheduler(snapshot=True)
    scheduler.fill(np.zeros((2, 2, 1024), dtype=np.float32), 0)
    assert set(scheduler.voices.voices[0].moving) == set(values)
    constant, signal = render_piece(parts, piece(False), 0.5, framing), render_piece(
        parts, piece(True), 0.5, framing)
    assert np.abs(constant).max() > 0.01
    assert np.array_equal(constant, signal)


# ---- the voices alone, with a decoder whose output shows the latent frame -------------------


class Sounds(dict):
    def resolve(self, name):
        return self[name]


def level_decoder(z):
    """A constant signal at the level of the frame's first latent dimension."""
    return np.repeat(z[:, :1], SEG, axis=1).astype(np.float32)


def tone_decoder(z):
    """A cosine of 16 periods per segment at the level of the first dimension: frames join
    without a step (at a crest), so any step at a frame boundary comes from the gains."""
    tone = np.cos(2 * np.pi * 16 * np.arange(SEG) / SEG)
    return (z[:, :1] * tone[None, :]).astype(np.float32)


def sound(name, level, frames=200):
    mu = np.full((frames, LATENT), level, dtype=np.float32)
    return Sound(name, mu, np.full_like(mu, -30.0), 128)


def ramp_sound(name, frames=200):
    mu = np.zeros((frames, LATENT), dtype=np.float32)
    mu[:, 0] = np.arange(frames) / frames
    return Sound(name, mu, np.full_like(mu, -30.0), 128)


BANK = Sounds(one=sound("one", 1.0), zero=sound("zero", 0.0), ramp=ramp_sound("ramp"))


def Signal(fn) -> Sampled:
    """A continuous control: ``fn(cycle)`` at any cycle (as a float), ``fn(0)`` at the onset."""
    return Sampled.derived(fn(0.0), lambda cycle: fn(float(cycle)))


def play(controls, framing="ola", decode=level_decoder, total=None, block=1000, duration=SR):
    fr = make_framing(framing, SEG)
    voices = Voices(decode, tracks=1, segment=SEG, framing=fr, seed=0)
    v = make_voice(controls, bank=BANK, track=0, start=0, duration=duration, framing=fr)
    voices.add(v)
    total = total or SR
    out = np.zeros((2, total), dtype=np.float32)
    for b in range(0, total, block):
        buf = np.zeros((1, 2, block), dtype=np.float32)
        voices.render(buf, b, lambda s: Fraction(s, SR))  # one cycle per second
        n = min(block, total - b)
        out[:, b : b + n] = buf[0, :, :n]
    return out, v, voices


def test_latent_controls_are_read_frame_by_frame():
    rising = Signal(lambda c: c)
    held = {"noise": 0, "pan": 0, "stretch": 4, "dim": 0}  # 200 frames last 2.3 s at stretch 4
    out, _, _ = play({"sound": "one", "zscale": rising, **held})
    for s in (11025, 22050, 33075):  # the level is 1 · zscale, zscale the cycle
        assert out[0, s] == pytest.approx(s / SR, abs=0.01)
    out, _, _ = play({"sound": "zero", "bias": rising, **held})
    assert out[0, 22050] == pytest.approx(0.5, abs=0.01)
    out, _, _ = play({"sound": "one", "gain": Signal(lambda c: 2 * c), **held})
    assert out[0, 22050] == pytest.approx(1.0, abs=0.02)


def test_moving_values_are_clamped_to_the_control_table_ranges():
    out, v, _ = play({"sound": "one", "noise": 0, "pan": Signal(lambda c: 3 * c - 1),
                      "gain": Signal(lambda c: 1 - 2 * c)})
    assert v.value_at("pan", 0.0) == 0.0 and v.value_at("pan", 0.9) == 1.0
    assert v.value_at("gain", 0.9) == 0.0
    assert np.all(out[:, 30000:] == 0.0)  # gain below 0 is silence, not a phase flip


def test_value_at_reads_what_the_voice_uses():
    _, v, _ = play({"sound": "one", "pan": Signal(lambda c: c / 2), "gain": 0.7}, total=2000)
    assert v.value_at("pan", 0.5) == 0.25 and v.value_at("gain", 0.5) == 0.7
    assert v.moving == ("pan",)
    with pytest.raises(LatentcodeError, match="per-voice"):
        v.value_at("lpf", 0.5)


def test_a_moving_stretch_slows_the_voice_down_progressively():
    # stretch 1 -> 8 over the first second: the ramp sound's level rises ever more slowly
    out, v, _ = play({"sound": "ramp", "noise": 0, "pan": 0,
                      "stretch": Signal(lambda c: 1 + 7 * min(c, 1.0))}, total=4 * SR)
    level = out[0]
    slope = [level[s + 2000] - level[s] for s in (5000, 20000, 40000)]
    assert slope[0] > 2 * slope[1] > 0 and slope[1] > 1.5 * slope[2] > 0
    const1, _, _ = play({"sound": "ramp", "noise": 0, "pan": 0}, total=4 * SR)
    const8, _, _ = play({"sound": "ramp", "noise": 0, "pan": 0, "stretch": 8}, total=4 * SR)
    assert sounding_seconds(const1) < sounding_seconds(out) < sounding_seconds(const8)


def test_a_walking_voice_ends_with_its_fade_and_forgets_what_it_played():
    out, v, voices = play({"sound": "one", "noise": 0, "pan": 0,
                           "stretch": Signal(lambda c: 2 + np.sin(7 * c))}, total=3 * SR)
    assert v.walk.frames is not None and v.frames == v.walk.frames
    assert np.all(out[0, v.length :] == 0.0)
    assert abs(out[0, v.length - 10]) < 0.1 and out[0, v.length - 2000] > 0.9
    assert len(v.walk.positions(range(v.walk.first, v.frames))) <= 16  # never the whole voice
    assert voices.voices == [] and voices._walking == []


def test_a_moving_stretch_is_bounded_so_a_voice_always_ends():
    huge = Signal(lambda c: 2.0 if c == 0 else 1e6)
    _, v, _ = play({"sound": "one", "stretch": huge}, total=3000)
    frames_at_64 = make_voice({"sound": "one", "stretch": 64}, bank=BANK, track=0, start=0,
                              duration=SR, framing=make_framing("ola", SEG)).frames
    assert v.frames == frames_at_64  # read at most 64x slower: the voice ends
    _, v, _ = play({"sound": "one", "stretch": Signal(lambda c: 0.0)}, total=8000)
    assert v.walk.frames == 2  # 0 reads as 1/64: 64x faster, past the end at once


def test_legato_still_cuts_a_walking_voice():
    _, v, _ = play({"sound": "one", "legato": 0.5, "stretch": Signal(lambda c: 4.0)},
                   duration=8000, total=12000)
    assert v.length == 4000


def test_a_signal_failing_mid_voice_holds_its_onset_value():
    def fails(c):
        if c > 0.1:
            raise ValueError("broken")
        return 0.0

    out, v, _ = play({"sound": "one", "noise": 0, "pan": Signal(fails)}, total=10000)
    assert "pan" not in v.moving and v.pan == 0.0
    assert out[0, 8000] == pytest.approx(1.0) and out[1, 8000] == 0.0


def test_concat_ramps_a_moving_gain_across_each_frame_instead_of_stepping():
    gain = Signal(lambda c: (4 * c) % 1.0)  # fast 4 saw: resets 4 times a second
    out, _, _ = play({"sound": "one", "noise": 0, "pan": 0, "gain": gain}, "concat",
                     decode=tone_decoder)
    body = out[0, SEG : 24 * SEG]  # the voice lasts 25 frames at stretch 1
    # gains held over each frame step at every boundary: about 47 here; ramped, ~0.01
    assert boundary_discontinuity(body, 0, SEG) < 1.0
    level = envelope(body, SEG)
    assert level.max() > 0.6 and level.min() < 0.1  # the saw is there


def test_overlap_add_reads_gain_and_pan_at_frame_centres():
    out, _, _ = play({"sound": "one", "noise": 0, "gain": Signal(lambda c: c), "pan": 0,
                      "stretch": 4})
    # the windows crossfade from frame to frame: the level follows the ramp closely
    s = np.arange(4000, 40000, 997)
    assert np.abs(out[0, s] - s / SR).max() < 0.01
