"""The Session: statements change what plays, atomically; the clock places onsets exactly."""

from fractions import Fraction

import numpy as np
import pytest

from latentcode import mini
from latentcode.audio.analysis import onsets, rms
from latentcode.errors import LanguageError, LatentcodeError
from latentcode.patterns.core import Pattern
from latentcode.session import Session

SR = 44100


@pytest.fixture
def session(session_parts):
    model, bank = session_parts
    return Session(model, bank, tracks=4)


def first_sound(audio: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(audio).sum(axis=0) > 0)[0])


def test_an_onset_lands_on_the_exact_sample(session):
    session.eval('t1 $ "~ bell:2" # noise 0')
    audio = session.render_dry(1)
    # cycle 1/2 at 0.5 cycles per second is sample 44100; the fade-in starts there at 0
    assert first_sound(audio) == SR + 1
    session.eval("tempo 1")
    assert first_sound(session.render_dry(1)) == SR // 2 + 1
    session.eval("tempo 0.3")
    expected = int(np.ceil(Fraction(1, 2) * SR / Fraction(3, 10)))
    assert first_sound(session.render_dry(1)) == expected + 1


def test_bpm_is_a_tempo_at_four_beats_a_cycle(session):
    session.eval('bpm 120\nt1 $ "~ ~ ~ hit"')
    assert first_sound(session.render_dry(1)) == int(0.75 * 2 * SR) + 1


def test_tracks_mix_and_stereo_follows_pan(session):
    session.eval('t1 $ "drone" # pan 0\nt2 $ "bell" # pan 1')
    audio = session.render_dry(1)
    session.eval("t2 silence")
    left_only = session.render_dry(1)
    assert rms(audio[1]) > 0.01 and rms(left_only[1]) < 1e-4
    assert np.allclose(audio[0], left_only[0], atol=1e-6)


def test_a_block_is_all_or_nothing(session):
    session.eval('t1 $ "bell"')
    before = session.render_dry(1)
    with pytest.raises(LanguageError) as err:
        session.eval('t1 $ "drone"\nt2 $ "bel*2"')
    assert "did you mean 'bell'" in str(err.value) and err.value.line == 2
    assert set(session.tracks) == {"t1"}
    assert np.array_equal(session.render_dry(1), before)  # t1 still plays the bell
    with pytest.raises(LanguageError):
        session.eval('tempo 2\nt1 $ fast "2" $ "bell" # gain')  # gain needs an argument
    assert session.cps == Fraction(1, 2)


def test_parse_errors_change_nothing(session):
    session.eval('let x = "bell"')
    with pytest.raises(LanguageError) as err:
        session.eval('let x = "drone"\nt1 $ (fast 2 "bell"')
    assert err.value.line == 2
    assert session.env["x"].query(0, 1)[0].value == "bell"


def test_let_and_names(session):
    session.eval('let groove = "bell*2 ~"\nt1 $ groove # gain 0.5')
    events = session.tracks["t1"].latest().query(0, 1)
    assert [e.value["sound"] for e in events] == ["bell", "bell"]


def test_mute_solo_and_hush(session):
    session.eval('t1 $ "bell" # pan 0\nt2 $ "drone" # pan 1')
    session.eval("mute t1")
    audio = session.render_dry(1)
    assert rms(audio[0]) < 1e-3 < rms(audio[1])
    session.eval("unmute t1\nsolo t1")
    audio = session.render_dry(1)
    assert rms(audio[1]) < 1e-3 < rms(audio[0])
    session.eval("unsolo")
    assert rms(session.render_dry(1)[1]) > 1e-3
    with pytest.raises(LanguageError, match="no track 't9'"):
        session.eval("mute t9")
    session.eval("hush")
    assert rms(session.render_dry(1)) == 0.0


def test_every_statement_of_the_language_has_a_case(session):
    from latentcode import language

    block = ('let x = "bell"\nt1 $ x\ntempo 1\nuse rhythms\nsolo t1\nunsolo\nmute t1\n'
             "unmute t1\nquant 0.5\nonce $ x\nxfadeIn t1 2 $ x\nresetCycles\nhush\npanic")
    kinds = {c for c in vars(language).values()
             if isinstance(c, type) and issubclass(c, language.Statement)} - {language.Statement}
    # bank has its own test (test_bank_statement_adds_a_folder)
    assert {type(st) for st in language.parse(block)} | {language.Bank} == kinds
    session.eval(block)
    assert session.cps == 1 and session.tracks["t1"].latest() is None  # hushed
    assert session.quant == 0.5 and not session.onces
    assert not session.muted and not session.soloed


def test_too_many_tracks_is_a_clear_error(session):
    session.eval("\n".join(f't{i} $ "bell"' for i in range(4)))
    with pytest.raises(LatentcodeError, match="all 4 tracks are in use"):
        session.eval('t9 $ "bell"')


def live(session):
    """Attach a scheduler as the live one, as Session.start does, without audio."""
    session.live_scheduler = session.scheduler()
    buf = np.zeros((session.slots, 2, 1024), dtype=np.float32)

    def run_until(cycle):
        while session.live_scheduler.clock.cycle_at(session.live_scheduler.position) < cycle:
            buf[:] = 0
            session.live_scheduler.fill(buf, session.live_scheduler.position)

    return run_until


def test_a_new_pattern_waits_for_the_next_cycle_unless_now(session):
    run_until = live(session)
    session.eval('t1 $ "bell"')
    run_until(Fraction(3, 10))
    session.eval('t1 $ "drone"')
    track = session.tracks["t1"]
    assert track.pending[1] == 1 and track.pattern.query(0, 1)[0].value == "bell"
    run_until(Fraction(11, 10))
    assert track.pattern.query(0, 1)[0].value == "drone"
    session.eval('now t1 $ "hit"')
    assert track.pending[1] is None
    run_until(Fraction(12, 10))
    assert track.pattern.query(0, 1)[0].value == "hit"
    session.live_scheduler = None


def test_a_failing_pattern_reverts_that_track_alone(session):
    run_until = live(session)
    good = mini("bell")

    def query(span):
        if span.begin >= 2:
            raise ZeroDivisionError("boom")
        return good.query_span(span)

    session.eval('t2 $ "drone*4"')
    session.play("t1", good, now=True)
    run_until(Fraction(1, 10))
    session.play("t1", Pattern(query), now=True)
    run_until(3)
    assert session.tracks["t1"].pattern is good
    assert any("t1: ZeroDivisionError: boom" in m and "reverted" in m for m in session.messages)
    assert session.tracks["t2"].pattern.query(0, 1)[0].value == "drone"
    session.live_scheduler = None


def test_unknown_sound_at_run_time_reverts(session):
    run_until = live(session)
    session.eval('t1 $ "bell"')
    run_until(Fraction(1, 10))
    # eval refuses it now (it looks 16 cycles ahead): the Python API plays it unchecked
    with pytest.raises(LanguageError, match="nosuch"):
        session.eval('now t1 $ "<bell bell nosuch>"')
    session.play("t1", mini("<bell bell nosuch>"), now=True)
    run_until(3)
    assert any("unknown sound 'nosuch'" in m for m in session.messages)
    assert session.tracks["t1"].pattern.query(0, 1)[0].value == "bell"
    session.live_scheduler = None


def test_render_is_deterministic_for_a_seed(session, tmp_path):
    session.eval('t1 $ "bell(3,8)" # room 0.3\nt2 $ "drone" # lpf 800 # pan 0.2')
    a = session.render(2, tmp_path / "a.wav", seed=3)
    b = session.render(2, tmp_path / "b.wav", seed=3)
    c = session.render(2, tmp_path / "c.wav", seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    import soundfile as sf

    audio, sr = sf.read(a)
    assert sr == SR and audio.shape == (4 * SR, 2)
    assert np.all(np.isfinite(audio)) and rms(audio) > 0.01 and np.abs(audio).max() <= 1.0


def test_onsets_of_a_rendered_pattern_follow_the_pattern(session):
    session.eval('t1 $ "hit*4" # legato 0.4 # noise 0')
    audio = session.render_dry(2)
    found = onsets(audio, threshold=0.0, gap=2000)  # voices end: silence between
    assert found.tolist() == [1 + k * SR // 2 for k in range(8)]


def test_bank_statement_adds_a_folder(session, tmp_path):
    import soundfile as sf

    d = tmp_path / "mine"
    d.mkdir()
    t = np.arange(SR) / SR
    sf.write(d / "whistle.wav", 0.3 * np.sin(2 * np.pi * 900 * t), SR)
    session.eval(f'bank "{d}"\nt1 $ "whistle"')
    assert rms(session.render_dry(1)) > 0.01
    with pytest.raises(LanguageError, match="no folder"):
        session.eval(f'bank "{d}/nothing"')


def test_a_signal_alone_is_refused_with_a_hint(session):
    with pytest.raises(LanguageError, match="no onsets to play"):
        session.eval("t1 $ sine")
    with pytest.raises(LanguageError, match="not a sound name"):
        session.eval('t1 $ "0 0.5"')


def test_let_binds_functions_too(session):
    session.eval('let ext = (# stretch 8)\nlet twice = fast 2\nt1 $ twice $ ext $ "bell"')
    events = session.tracks["t1"].latest().query(0, 1)
    assert [(e.value["sound"], e.value["stretch"]) for e in events] == [("bell", 8)] * 2


def xfade_voices(session, old, new):
    """The t1 voices that start on cycles 1, 2 and 3 when ``old`` plays and ``xfade 2 t1 $
    new`` comes half a cycle in (a morph from cycle 1 over two cycles)."""
    run_until = live(session)
    session.eval(f"t1 $ {old}")
    run_until(Fraction(1, 2))
    session.eval(f"xfade 2 t1 $ {new}")

    def started(at):
        run_until(at + Fraction(1, 20))
        slot = session.tracks["t1"].slot
        return [v for v in session.live_scheduler.voices.voices
                if v.track == slot and v.start == session.live_scheduler.clock.sample_at(at)][0]

    voices = [started(Fraction(c)) for c in (1, 2, 3)]
    session.live_scheduler = None
    return voices


def test_xfade_morphs_from_the_old_sounds_to_the_new_in_latent_space(session):
    first, middle, after = xfade_voices(session, '"drone*2" # gain 0.5', '"bell*2"')
    assert (first.a.name, first.c.name, float(first.morph)) == ("bell_00", "drone_00", 0.0)
    assert first.b is None  # the new sound's own voice, from the old one: not a mix of two
    assert middle.c.name == "drone_00" and float(middle.morph) == 0.5
    assert middle.morph.at(Fraction(5, 2)) == 0.75  # rises along the voice, frame by frame
    assert first.gains[0] == pytest.approx(0.7071, abs=1e-3)  # the new event's gain, not 0.5
    assert after.a.name == "bell_00" and after.c is None


def test_xfade_morphs_sounds_that_already_mix_two_from_the_old_sound_as_a_third(session):
    first, middle, after = xfade_voices(session, '"drone*2"',
                                        '"bell*2" # mix "voice" # alpha 0.3')
    assert (first.a.name, first.b.name, first.c.name) == ("bell_00", "voice_00", "drone_00")
    assert float(first.morph) == 0.0 and float(first.alpha) == 0.3  # its own mix kept
    assert middle.c.name == "drone_00" and float(middle.morph) == 0.5
    assert middle.morph.at(Fraction(5, 2)) == 0.75  # rises along the voice, frame by frame
    assert after.c is None and after.b.name == "voice_00"


def test_xfade_needs_a_positive_length(session):
    with pytest.raises(LanguageError, match="xfade needs a positive"):
        session.eval('xfade 0 t1 $ "bell"')
