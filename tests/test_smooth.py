"""smooth: keyframes glided between, a continuous signal a held voice follows frame by frame."""

from fractions import Fraction

import numpy as np
import pytest

from latentcode import mini
from latentcode.errors import LatentcodeError
from latentcode.patterns.smoothing import smooth
from latentcode.patterns.time import PatternError
from latentcode.session import Session


def read(pat, t):
    """The value at ``t``, by a query (as ``segment`` and ``#`` ask)."""
    return pat.query(Fraction(t), Fraction(t) + Fraction(1, 1000))[0].value


def test_the_glide_reaches_each_value_on_its_onset_and_wraps_to_the_next_cycle():
    pat = smooth(mini("0 1 0.5"))
    # keyframes 0 at 0, 1 at 1/3, 0.5 at 2/3, then 0 again at 1
    for t, want in [(0, 0), (1 / 6, 0.5), (1 / 3, 1), (0.5, 0.75), (2 / 3, 0.5), (5 / 6, 0.25),
                    (1, 0), (7 / 6, 0.5), (-1 / 6, 0.25)]:
        assert read(pat, t) == pytest.approx(want, abs=1e-9), t


def test_a_rest_is_glided_across_and_a_chord_counts_as_its_first_value():
    assert [read(smooth(mini("0 ~ 1 ~")), t) for t in (0, 0.25, 0.5, 0.75)] == \
        pytest.approx([0, 0.5, 1, 0.5])
    assert read(smooth(mini("[0, 9] 1")), 0.25) == pytest.approx(0.5)


def test_keyframes_cycles_apart_glide_over_the_cycles_between():
    pat = smooth(mini("<0 ~ ~ 3>"))  # 0 at cycle 0, 3 at cycle 3
    assert [read(pat, t) for t in (0, 1, 1.5, 3, 3.5, 4)] == pytest.approx([0, 1, 1.5, 3, 1.5, 0])


def test_the_instant_read_is_the_query_to_the_bit():
    # a moving control reads its value at each frame without a query (Pattern.sample)
    pat = smooth(mini("0 <1 0.2> [0.7 0.4]")).fast(Fraction(3, 2))
    assert pat._at is not None
    for t in np.linspace(-2, 5, 97):
        t = Fraction(float(t))
        assert pat.sample(t) == pat.query(t, t + Fraction(1, 1000))[0].value


def test_words_and_silence_are_refused_in_one_line():
    with pytest.raises(PatternError, match="number"):
        read(smooth(mini("0 bell")), 0.75)
    with pytest.raises(PatternError, match="smooth found no numbers.*e.g. smooth"):
        read(smooth(mini("~")), 0.5)


@pytest.fixture
def session(session_parts):
    model, bank = session_parts
    return Session(model, bank, tracks=2)


def held_voice(session, line):
    """The t1 voice that starts on cycle 0 when ``line`` plays."""
    session.eval(line)
    sched = session.live_scheduler = session.scheduler()
    buf = np.zeros((session.slots, 2, 1024), dtype=np.float32)
    sched.fill(buf, sched.position)
    voice = [v for v in sched.voices.voices if v.start == 0][0]
    session.live_scheduler = None
    return voice


def test_a_held_voice_follows_the_glide_frame_by_frame(session):
    voice = held_voice(session, 't1 $ "drone" # mix "bell" # legato 1 # alpha (smooth "0 1 0.5")')
    assert "alpha" in voice.moving  # read at every decoded frame, not once at the onset
    assert [voice.value_at("alpha", Fraction(n, 12)) for n in (0, 2, 4, 6, 8)] == \
        pytest.approx([0, 0.5, 1, 0.75, 0.5])


@pytest.mark.parametrize("shape", ["smooth", "along"])
def test_a_word_for_a_number_is_refused_in_one_line_and_the_track_plays_on(session, shape):
    # smooth's keyframes and along's signal (see test_along.py) both need numbers
    session.eval(f't1 $ "drone" # alpha ({shape} "0 1")')
    before = session.tracks["t1"].latest()
    with pytest.raises(LatentcodeError, match="number"):
        session.eval(f't1 $ "drone" # mix "bell" # alpha ({shape} "bell")')
    assert session.tracks["t1"].latest() is before
