"""Tidal's words that pick and play sounds (issue 15): ``n`` picks a sound of its group,
``speed`` resamples a voice after decoding (pitch and direction), ``hurry`` changes ``speed``,
the latent factor is ``zscale`` (``scale`` is Tidal's musical scale), and a control given a value
of the wrong kind is an error at evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from pattern_helpers import lc

from latentcode.controls import sound_name
from latentcode.errors import LatentcodeError
from latentcode.playback.framing import make_framing
from latentcode.playback.resampled import resample
from latentcode.playback.voice import make_voice
from latentcode.session import Session

SR = 44100


@pytest.fixture(scope="module")
def parts():
    """The shipped model and the default bank, loaded once for this module."""
    from latentcode.model.bank import Bank
    from latentcode.model.vae import load_model

    model = load_model()
    return model, Bank(model)


def render(parts, piece: str, cycles: float = 1) -> np.ndarray:
    model, bank = parts
    session = Session(model, bank, tracks=2)
    session.eval("tempo 0.125\n" + piece)  # 8 s a cycle: every sound rings out whole
    return session.render_dry(cycles, seed=1)


def playing(session: Session) -> tuple:
    """What track t1 plays and is about to play (a new pattern waits for its cycle)."""
    track = session.tracks["t1"]
    return track.pattern, track.pending


def voice_of(parts, controls: dict):
    return make_voice(controls, bank=parts[1], track=0, start=0, duration=SR,
                      framing=make_framing("ola", 1024))


# -- n ---------------------------------------------------------------------------------------

def test_n_picks_the_sounds_of_a_group_in_turn(parts):
    bank = parts[1]
    names = [sound_name(e.value) for e in lc('"bell*4" # n "0 1 2 3"').query(0, 1)]
    assert names == ["bell:0", "bell:1", "bell:2", "bell:3"]
    for k in range(4):
        assert voice_of(parts, {"sound": "bell", "n": k}).a is bank.resolve(f"bell:{k}")


def test_n_takes_arithmetic_and_adds_to_an_explicit_index():
    assert [sound_name(e.value) for e in lc('"bell*4" # n "0 .. 3" |+ n 1').query(0, 1)] == [
        "bell:1", "bell:2", "bell:3", "bell:4"]
    assert sound_name(lc('"bell:3" # n 1').query(0, 1)[0].value) == "bell:4"  # as Tidal adds
    assert sound_name({"sound": "bell", "n": 2.7}) == "bell:2"  # a fraction rounds down


def test_n_wraps_round_the_group(parts):
    bank = parts[1]
    size = len(bank.groups()["bell"])
    assert voice_of(parts, {"sound": "bell", "n": size}).a is bank.resolve("bell:0")
    assert voice_of(parts, {"sound": "bell:1", "n": -2}).a is bank.resolve(f"bell:{size - 1}")


def test_n_renders_what_the_inline_index_renders(parts):
    assert np.array_equal(render(parts, 't1 $ "bell" # n 2'), render(parts, 't1 $ "bell:2"'))


def test_n_of_the_wrong_kind_is_one_line(parts):
    with pytest.raises(LatentcodeError, match="needs a number"):
        voice_of(parts, {"sound": "bell", "n": "x"})


# -- speed -----------------------------------------------------------------------------------

def centroid(x: np.ndarray, below: float | None = None) -> float:
    """Spectral centroid (Hz) of the power spectrum of ``x`` (2, n), optionally below a limit."""
    power = np.abs(np.fft.rfft(x.mean(axis=0))) ** 2
    f = np.fft.rfftfreq(x.shape[1], 1 / SR)
    if below is not None:
        power, f = power[f < below], f[f < below]
    return float((power * f).sum() / power.sum())


def heard(x: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """From the first to the last sample above ``floor``."""
    loud = np.flatnonzero(np.abs(x).max(axis=0) > floor)
    return x[:, loud[0] : loud[-1] + 1]


@pytest.mark.parametrize("sound", ["bell", "pluck"])
def test_speed_2_is_an_octave_up_and_half_as_long(parts, sound):
    plain = heard(render(parts, f't1 $ "{sound}"'))
    up = heard(render(parts, f't1 $ "{sound}" # speed 2'))
    down = heard(render(parts, f't1 $ "{sound}" # speed 0.5'))
    assert up.shape[1] == pytest.approx(plain.shape[1] / 2, rel=0.02)
    assert down.shape[1] == pytest.approx(plain.shape[1] * 2, rel=0.02)
    # what was below half the Nyquist frequency is all an octave up can hold
    assert centroid(up) / centroid(plain, below=SR / 4) == pytest.approx(2, rel=0.1)
    assert centroid(down, below=SR / 4) / centroid(plain) == pytest.approx(0.5, rel=0.1)


def test_negative_speed_plays_the_voice_backwards(parts):
    plain = heard(render(parts, 't1 $ "bell"'))
    back = heard(render(parts, 't1 $ "bell" # speed (-1)'))
    assert back.shape[1] == pytest.approx(plain.shape[1], abs=300)  # fades differ in length
    n = min(back.shape[1], plain.shape[1])
    assert np.corrcoef(plain[:, :n].ravel(), back[:, ::-1][:, :n].ravel())[0, 1] > 0.99


def test_speed_1_renders_bit_for_bit_as_before(parts):
    piece = 't1 $ "bell pluck" # stretch "1 2" # pan sine'
    assert np.array_equal(render(parts, piece + " # speed 1"), render(parts, piece))


def test_hurry_changes_speed_not_stretch(parts):
    assert np.array_equal(render(parts, 't1 $ hurry 2 $ "bell"'),
                          render(parts, 't1 $ "bell*2" # speed 2'))


@pytest.mark.parametrize("bad", ["0", "0.001", "1e999", '"nan"'])
def test_speed_0_is_refused_in_one_line_and_the_track_plays_on(parts, bad):
    model, bank = parts
    session = Session(model, bank, tracks=2)
    session.eval('t1 $ "bell"')
    before = playing(session)
    with pytest.raises(LatentcodeError, match="speed") as caught:
        session.eval(f't1 $ "bell" # speed {bad}')
    assert "\n" not in str(caught.value)
    assert playing(session) == before


def test_resample_keeps_a_tone_in_tune():
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 440 * t)[None, :].repeat(2, axis=0)
    for speed, pitch in ((2.0, 880), (0.5, 220), (-1.5, 660)):
        out = resample(tone, speed)
        assert out.shape[1] == pytest.approx(SR / abs(speed), abs=1)
        assert centroid(out) == pytest.approx(pitch, rel=0.02)


# -- zscale, not scale -----------------------------------------------------------------------

def test_the_latent_factor_is_zscale_and_scale_says_so(parts):
    from latentcode.errors import LanguageError

    values = [e.value for e in lc('"bell" # zscale 1.5 # dim 3').query(0, 1)]
    assert values == [{"sound": "bell", "zscale": 1.5, "dim": 3}]
    voice = voice_of(parts, values[0])
    assert voice.zscale == 1.5
    with pytest.raises(LanguageError) as caught:
        lc('"bell" # scale 0.8')
    message = str(caught.value)
    assert "musical scale" in message and "zscale" in message and "\n" not in message
    assert caught.value.column == 10  # under the word, not the statement's start


def test_zscale_moves_the_latent_as_scale_did(parts):
    plain = render(parts, 't1 $ "bell"')
    scaled = render(parts, 't1 $ "bell" # zscale 0.2')
    assert not np.allclose(plain, scaled)


# -- a value of the wrong kind ---------------------------------------------------------------

@pytest.mark.parametrize("piece, control, value", [
    ('"bell" # stretch "x"', "stretch", "'x'"),  # a slip, not Tidal's ratio shorthand 1/6
    ('"bell" # gain "loud"', "gain", "'loud'"),
    ('"bell" # n "bell"', "n", "'bell'"),
    ('"bell" # mix 3', "mix", "3"),
    ('sound "1 2"', "sound", "1"),
])
def test_a_value_of_the_wrong_kind_is_one_line_at_evaluation(parts, piece, control, value):
    model, bank = parts
    session = Session(model, bank, tracks=2)
    session.eval('t1 $ "bell"')
    before = playing(session)
    with pytest.raises(LatentcodeError) as caught:
        session.eval(f"t1 $ {piece}")
    message = str(caught.value)
    assert f"{control} needs" in message and value in message and "e.g." in message
    assert "\n" not in message
    assert playing(session) == before  # what plays goes on


@pytest.mark.parametrize("piece", [
    '"bell" # stretch "1 2"', '"bell" # stretch "<1 -2.5>"', '"bell" # gain (range 0.5 1 sine)',
    '"bell" # mix "pluck"', '"bell" # mix "<pluck bell:2>"', '"bell*2" # speed "1 -1"',
    '"bell" # n "0 .. 3"', 's "bell:3"', 'fast "h" $ "bell"',
])
def test_values_of_the_right_kind_pass(parts, piece):
    model, bank = parts
    session = Session(model, bank, tracks=2)
    session.eval(f"t1 $ {piece}")
    assert playing(session) != (None, None)


# -- ur and nTake (their lc> equations are checked with every function's) --------------------

def test_ur_keeps_each_patterns_own_time():
    # "a a" holds for 2 cycles: the pattern goes on into its second cycle, not back to its first
    got = [e.value for e in lc('ur 4 "a a b b" [("a", "<x y>"), ("b", "z")] []').query(0, 4)]
    assert got == ["x", "y", "z", "z"]


@pytest.mark.parametrize("piece, words", [
    ('ur 2 "a c" [("a", "x")] []', "no pattern named 'c'"),
    ('ur 2 "a" [("a", "x")] [("up", fast 2)]', "must be empty"),
    ('ur 2 "a" ["x"] []', "(name, pattern) pairs"),
])
def test_ur_mistakes_are_one_line(piece, words):
    from latentcode.errors import LanguageError

    with pytest.raises(LanguageError, match=words.replace("(", r"\(").replace(")", r"\)")) as e:
        lc(piece).query(0, 2)
    assert "\n" not in str(e.value)


def test_ntake_counts_on_across_cycles_and_plays_the_sounds(parts):
    got = [sound_name(e.value) for e in lc('"bell*3" # nTake "x" [0, 1, 2, 3]').query(0, 2)]
    assert got == ["bell:0", "bell:1", "bell:2", "bell:3", "bell:0", "bell:1"]
    # the same cycle gets the same values however it is asked for: from the next era's start
    p = lc('"bell*3" # nTake "x" [0, 1, 2, 3]')
    late = [e.value["n"] for e in p.query(257, 258)]
    assert late == [3, 0, 1] == [e.value["n"] for e in lc('"bell*3" # nTake "x" [0, 1, 2, 3]')
                                 .query(256, 258)][3:]


def test_ntake_alone_says_what_it_needs():
    from latentcode.errors import LanguageError

    with pytest.raises(LanguageError, match="events on its left"):
        lc('nTake "x" [0, 1]').query(0, 1)


# -- speed in the voices, block by block (a decoder whose output is its first latent) --------

class _Sounds(dict):
    def resolve(self, name):
        return self[name]


def _ramp_bank():
    from latentcode.model.bank import Sound

    mu = np.zeros((200, 4), dtype=np.float32)
    mu[:, 0] = 0.2 + 0.8 * np.arange(200) / 200  # the level rises over its 200 frames
    return _Sounds(ramp=Sound("ramp", mu, np.full_like(mu, -30.0), 128))


def _play(controls: dict, total: int, start: int = 0, fade_at: int | None = None) -> np.ndarray:
    from fractions import Fraction

    from latentcode.playback.stealing import fade
    from latentcode.playback.voices import Voices

    framing = make_framing("ola", 1024)
    voices = Voices(lambda z: np.repeat(z[:, :1], 1024, axis=1).astype(np.float32), tracks=1,
                    segment=1024, framing=framing)
    v = make_voice({"sound": "ramp", "noise": 0, "pan": 0, **controls}, bank=_ramp_bank(),
                   track=0, start=start, duration=SR, framing=framing)
    voices.add(v)
    out = np.zeros((2, total), dtype=np.float32)
    for b in range(0, total, 1000):
        if fade_at is not None and fade_at <= b < fade_at + 1000:
            fade(v, fade_at, 1000, framing.hop, lambda s: Fraction(s, SR))
        buf = np.zeros((1, 2, 1000), dtype=np.float32)
        voices.render(buf, b, lambda s: Fraction(s, SR))
        n = min(1000, total - b)
        out[:, b : b + n] = buf[0, :, :n]
    return out[0]


def test_a_resampled_voice_starts_on_its_sample_and_runs_its_course():
    plain = _play({}, 40_000)
    up = _play({"speed": 2}, 40_000, start=500)
    back = _play({"speed": -1}, 40_000)
    assert not up[:500].any() and up[500:600].any()  # on its exact sample, mid-block
    n = len(np.flatnonzero(np.abs(plain) > 1e-3))
    assert len(np.flatnonzero(np.abs(up) > 1e-3)) == pytest.approx(n / 2, rel=0.03)
    assert up[500 + 6000] == pytest.approx(plain[12_000], abs=0.02)  # twice as far along
    assert back[2000] > back[20_000] and plain[2000] < plain[20_000]  # the ramp falls


def test_a_resampled_voice_follows_a_steal_or_hush_fade():
    out = _play({"speed": 0.5}, 60_000, fade_at=10_000)
    assert np.abs(out[9_000:10_000]).min() > 0.01  # sounding before the fade
    assert not out[11_000:].any()  # faded out within it, then ended


@pytest.mark.parametrize("speed", [2.0, 0.5, -1.0, -1.7])
def test_block_by_block_is_the_whole_voice_resampled(speed):
    framing = make_framing("ola", 1024)
    length = make_voice({"sound": "ramp", "noise": 0, "pan": 0}, bank=_ramp_bank(), track=0,
                        start=0, duration=SR, framing=framing).length
    plain = _play({}, 60_000)[:length]
    heard = _play({"speed": speed}, 60_000)
    whole = resample(plain[None, :], speed)[0]
    assert np.abs(heard[: len(whole)] - whole).max() < 1e-5
    assert not heard[len(whole) :].any()


def test_tidal_s_when_t_says_how_to_write_it_here():
    from latentcode.errors import LanguageError
    from latentcode.language import evaluate
    from latentcode.language.statements import parse_expression

    with pytest.raises(LanguageError, match=r'whenT takes a function of time.*while "1 0"'):
        evaluate(parse_expression('whenT 1 (# gain 0.5) $ "bell"'), {})
