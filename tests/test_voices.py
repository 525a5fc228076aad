"""Voices: positions, framing, envelopes, interpolation and sampling, block by block."""

from fractions import Fraction

import numpy as np
import pytest

from latentcode.errors import LatentcodeError
from latentcode.model.bank import Sound
from latentcode.playback.framing import make_framing
from latentcode.playback.voice import FADE_IN, make_voice
from latentcode.playback.voices import Voices

SEG = 1024
LATENT = 4


class Sounds(dict):
    """Name -> Sound, with the bank's lookup method."""

    def resolve(self, name):
        return self[name]


def level_decoder(z):
    """Decodes a frame to a constant signal at the level of its first latent dimension."""
    return np.repeat(z[:, :1], SEG, axis=1).astype(np.float32)


def const_sound(name, level, frames=200, logvar=-30.0):
    mu = np.full((frames, LATENT), level, dtype=np.float32)
    return Sound(name, mu, np.full_like(mu, logvar), 128)


def ramp_sound(name, frames=200):
    mu = np.zeros((frames, LATENT), dtype=np.float32)
    mu[:, 0] = np.arange(frames) / frames
    return Sound(name, mu, np.full_like(mu, -30.0), 128)


BANK = Sounds(one=const_sound("one", 1.0), zero=const_sound("zero", 0.0), ramp=ramp_sound("ramp"))


def render(voices, total, tracks=1, block=1000, start=0):
    out = np.zeros((tracks, 2, total), dtype=np.float32)
    for b in range(start, start + total, block):
        buf = np.zeros((tracks, 2, block), dtype=np.float32)
        voices.render(buf, b, lambda s: Fraction(s, 44100))
        n = min(block, start + total - b)
        out[:, :, b - start : b - start + n] = buf[:, :, :n]
    return out


def voice(value, framing="ola", start=0, duration=44100):
    return make_voice(value, bank=BANK, track=0, start=start, duration=duration,
                      framing=make_framing(framing, SEG))


def voices(framing="ola", decode=level_decoder, seed=0):
    return Voices(decode, tracks=1, segment=SEG, framing=make_framing(framing, SEG), seed=seed)


@pytest.mark.parametrize("framing", ["ola", "concat"])
def test_overlap_add_has_unit_gain_and_fades_at_the_edges(framing):
    vs = voices(framing)
    v = voice({"sound": "one", "noise": 0, "pan": 0}, framing)
    vs.add(v)
    out = render(vs, v.length + 2000)[0, 0]
    middle = out[2000 : v.length - 2000]
    assert np.allclose(middle, 1.0, atol=1e-5)  # pan 0: all of the gain on the left
    assert out[0] == 0.0 and 0 < out[FADE_IN // 2] < 1  # fade in, no click at the onset
    assert np.all(out[v.length :] == 0.0)
    assert abs(out[v.length - 10]) < 0.1  # faded out before the end


def test_onset_lands_on_the_exact_sample_across_blocks():
    vs = voices()
    v = voice({"sound": "one", "noise": 0}, start=1234)
    vs.add(v)
    out = render(vs, 5000, block=512)[0, 0]
    assert np.all(out[:1235] == 0.0)
    assert out[1235] > 0.0


def test_stretch_is_the_papers_extension_eight_times_longer():
    v1 = voice({"sound": "ramp", "stretch": 1})
    v8 = voice({"sound": "ramp", "stretch": 8})
    assert v8.step == pytest.approx(v1.step / 8)
    assert v8.frames - 1 == pytest.approx((v1.frames - 1) * 8, abs=8)
    # concat at stretch 8 decodes every latent frame once, as the paper's extension does
    vc = voice({"sound": "ramp", "stretch": 8}, framing="concat")
    assert vc.step == 1.0


def test_fractional_positions_interpolate_neighbouring_frames():
    vs = voices("concat")
    v = voice({"sound": "ramp", "stretch": 3, "noise": 0, "pan": 0}, "concat")
    vs.add(v)
    out = render(vs, SEG * 6)[0, 0]
    levels = out[SEG // 2 :: SEG][:5]  # one value per decoded frame
    expected = (np.arange(5) * (8 / 3)) / 200  # positions 0, 8/3, 16/3, ... of the ramp
    assert np.allclose(levels[1:], expected[1:], atol=1e-4)


def test_mix_and_alpha_interpolate_two_sounds_and_may_extrapolate():
    for alpha in (0.0, 0.25, 1.0, 1.4, -0.5):
        vs = voices()
        v = voice({"sound": "zero", "mix": "one", "alpha": alpha, "noise": 0, "pan": 0,
                   "norm": 0})  # the latent arithmetic itself: no loudness compensation
        vs.add(v)
        out = render(vs, 8000)[0, 0]
        assert out[5000] == pytest.approx(alpha, abs=1e-5)


class Rising(float):
    """A continuous control: its value at a cycle is the cycle itself."""

    def at(self, cycle):
        return float(cycle)


def test_continuous_alpha_is_sampled_along_the_voice():
    vs = voices()
    v = voice({"sound": "zero", "mix": "one", "alpha": Rising(0.0), "noise": 0, "pan": 0,
               "stretch": 8, "norm": 0})
    vs.add(v)
    out = render(vs, 44100)[0, 0]
    # at sample s the cycle is s / 44100 (see render): the level follows it
    for s in (11025, 22050, 33075):
        assert out[s] == pytest.approx(s / 44100, abs=0.01)


def test_noise_scales_the_sampling_noise_and_a_seed_repeats_it():
    def one(noise, seed):
        vs = voices(seed=seed)
        vs.add(voice({"sound": "zero", "noise": noise, "pan": 0}))
        return render(vs, 6000)[0, 0]

    noisy = {"sound": "zero", "noise": 1.0}
    BANK["zero"] = const_sound("zero", 0.0, logvar=0.0)  # unit variance: the noise shows
    try:
        assert np.all(one(0.0, 1) == 0.0)
        a, b, c = one(1.0, 1), one(1.0, 1), one(1.0, 2)
        assert np.array_equal(a, b) and not np.array_equal(a, c)
        assert np.std(a[2000:5000]) > 0.1
        assert voice(noisy).noise == 1.0
    finally:
        BANK["zero"] = const_sound("zero", 0.0)


def test_noise_and_jitter_draw_the_same_in_one_call_of_many_steps_as_step_by_step():
    """A render decodes 32 blocks a call, live one: a voice's noise and jitter (each its own
    stream, latents 4 wide here) are the same numbers either way, so the audio is the same."""
    BANK["zero"] = const_sound("zero", 0.0, logvar=0.0)  # unit variance: the noise shows
    try:
        outs = []
        for step in (1000, None):
            vs = voices(seed=3)
            for k in range(3):
                vs.add(voice({"sound": "zero", "noise": 1.0, "jitter": 0.5 * k, "pan": 0},
                             start=700 * k))
            if step is None:
                outs.append(render(vs, 6000))  # block by block
            else:
                out = np.zeros((1, 2, 6000), dtype=np.float32)
                vs.render(out, 0, lambda s: Fraction(s, 44100), step=step)
                outs.append(out)
        assert np.std(outs[0][0, 0, 2000:5000]) > 0.1
        assert outs[0].tobytes() == outs[1].tobytes()
    finally:
        BANK["zero"] = const_sound("zero", 0.0)


def test_scale_bias_and_dim_act_on_the_chosen_dimensions():
    vs = voices()
    vs.add(voice({"sound": "one", "noise": 0, "pan": 0, "zscale": 2, "bias": 0.5, "dim": 0}))
    assert render(vs, 6000)[0, 0][4000] == pytest.approx(2.5)
    vs = voices()
    vs.add(voice({"sound": "one", "noise": 0, "pan": 0, "zscale": 2, "dim": 1}))
    assert render(vs, 6000)[0, 0][4000] == pytest.approx(1.0)  # dim 0 untouched


def test_legato_cuts_the_voice_and_begin_end_choose_the_part():
    full = voice({"sound": "ramp"})
    short = voice({"sound": "ramp", "legato": 0.5}, duration=4000)
    assert short.length == 2000 and short.frames < full.frames
    half = voice({"sound": "ramp", "begin": 0.5})
    assert half.pos0 == pytest.approx(199 * 0.5)
    assert half.frames == pytest.approx(full.frames / 2, abs=1)


def test_negative_stretch_plays_backwards():
    v = voice({"sound": "ramp", "stretch": -1})
    assert v.step < 0 and v.pos0 == pytest.approx(199)


def test_gain_and_pan():
    vs = voices()
    vs.add(voice({"sound": "one", "noise": 0, "pan": 1, "gain": 0.5}))
    out = render(vs, 6000)[0]
    assert out[0, 4000] == pytest.approx(0.0, abs=1e-6)
    assert out[1, 4000] == pytest.approx(0.5)


def test_bad_controls_are_clear_errors():
    with pytest.raises(LatentcodeError, match="stretch"):
        voice({"sound": "one", "stretch": 0})
    with pytest.raises(LatentcodeError, match="gain needs a number"):
        voice({"sound": "one", "gain": "loud"})
    with pytest.raises(LatentcodeError, match="not a sound name"):
        voice(3)


def test_all_frames_of_all_voices_go_through_one_decode_call():
    calls = []

    def counting(z):
        calls.append(len(z))
        return level_decoder(z)

    vs = voices(decode=counting)
    for k in range(16):
        vs.add(voice({"sound": "one"}, start=k * 10))
    buf = np.zeros((1, 2, 1024), dtype=np.float32)
    vs.render(buf, 0, lambda s: Fraction(s, 44100))
    assert len(calls) == 1 and calls[0] == 16 * 4  # 4 frames of hop 256 start in the block


def test_clear_stops_everything_at_once():
    vs = voices()
    vs.add(voice({"sound": "one", "noise": 0}))
    render(vs, 3000)
    vs.clear()
    assert np.all(render(vs, 3000, start=3000) == 0.0)


def test_extrapolating_never_makes_the_noise_larger_than_at_either_end():
    quiet = const_sound("quiet", 0.0, logvar=-30.0)
    loud = const_sound("loud", 1.0, logvar=0.0)
    BANK["quiet"], BANK["loud"] = quiet, loud
    vs = voices()
    vs.add(voice({"sound": "loud", "mix": "quiet", "alpha": -1.0, "pan": 0}))
    out = render(vs, 8000)[0, 0][3000:6000]
    # alpha -1 asks for logvar 30 (std e^15); it is held at the louder end's 0 (std 1)
    assert np.abs(out - 2.0).max() < 8.0


def test_voices_of_different_sounds_in_one_block_each_get_their_own_frames():
    vs = Voices(level_decoder, tracks=2, segment=SEG, framing=make_framing("ola", SEG))
    for track, (a, b, alpha) in enumerate([("zero", "one", 0.25), ("one", "zero", 0.25)]):
        vs.add(make_voice({"sound": a, "mix": b, "alpha": alpha, "noise": 0, "pan": 0, "norm": 0},
                          bank=BANK, track=track, start=100 * track, duration=44100,
                          framing=make_framing("ola", SEG)))
    vs.add(make_voice({"sound": "ramp", "noise": 0, "pan": 1, "begin": 0.5}, bank=BANK,
                      track=1, start=0, duration=44100, framing=make_framing("ola", SEG)))
    out = render(vs, 8000, tracks=2)
    assert out[0, 0, 5000] == pytest.approx(0.25, abs=1e-5)
    assert out[1, 0, 5000] == pytest.approx(0.75, abs=1e-5)
    # the ramp from its middle (frame 99.5), two latent frames per output frame, as heard at
    # the centre of the frames around sample 5000
    assert out[1, 1, 5000] == pytest.approx((99.5 + 2 * (5000 - 512) / 256) / 200, abs=0.002)


def test_voices_made_again_with_the_groups_noted_add_up_to_what_played():
    """A rewind subtracts voices it takes out: made again with the groups their render noted
    (``replay``), the voices' parts add up to the whole, to float rounding, though alone each
    part has too few frames of its sound in a block to be grouped (playback/matched.py)."""
    from latentcode.model.match import fft_size

    rng = np.random.default_rng(3)
    bins = fft_size(SEG) // 2 + 1
    cut = np.where(np.arange(bins) < bins // 4, 1.0, 0.05).astype(np.float32)
    sound = Sound("m", rng.standard_normal((200, LATENT)).astype(np.float32),
                  np.full((200, LATENT), -30.0, np.float32), 128, match=cut)
    bank = Sounds(m=sound)
    noise = rng.standard_normal((LATENT, SEG)).astype(np.float32) / LATENT

    def decode(z):  # a frame that changes with its latent: every band, for the match to cut
        return (z @ noise).astype(np.float32)

    def part(starts, replay=None):
        vs = voices(decode=decode)
        vs.replay = replay
        for s in starts:
            vs.add(make_voice("m", bank=bank, track=0, start=s, duration=20000,
                              framing=make_framing("ola", SEG)))
        return vs, render(vs, 24576, block=1024)

    kept, taken = [0, 700, 1900], [3000, 4100, 5300]
    whole, heard = part(kept + taken)
    assert whole.groups.steps  # the whole's frames were grouped
    again = part(kept, whole.groups)[1] + part(taken, whole.groups)[1]
    peak = np.abs(heard).max()
    assert np.abs(again - heard).max() < 1e-6 * peak
    alone = part(kept)[1] + part(taken)[1]  # grouped by their own counts: they differ
    assert np.abs(alone - heard).max() > 1e-4 * peak
