"""along: a signal read in each voice's own time, 0 at its onset and 1 at its end."""

from fractions import Fraction

import numpy as np
import pytest
from pattern_helpers import lc

from latentcode.audio.analysis import rms
from latentcode.patterns.sampled import Along
from latentcode.patterns.time import PatternError
from latentcode.session import Session


def alpha_of(text):
    return lc(text).query(0, 1)[0].value["alpha"]


def test_along_gives_a_value_in_the_voices_time_and_arithmetic_with_numbers_keeps_it():
    ramp = alpha_of('"bell" # alpha (along saw)')
    assert isinstance(ramp, Along) and ramp == 0.0 and ramp.fn(0.5) == 0.5
    scaled = alpha_of('"bell" # alpha (range 0.2 0.8 $ along saw) |* alpha 2')
    assert isinstance(scaled, Along) and scaled.fn(0.5) == pytest.approx(1.0)
    # read at a cycle with no voice to bind it (a track's effects): its onset value
    assert scaled.at(Fraction(7, 3)) == pytest.approx(0.4)


def test_along_refuses_to_mix_with_a_signal_read_at_the_cycle():
    with pytest.raises(PatternError, match="along cannot be combined"):
        alpha_of('"bell" # alpha (along saw) |+ alpha sine')


@pytest.fixture
def session(session_parts):
    model, bank = session_parts
    return Session(model, bank, tracks=2)


def started_voices(session, line, until=Fraction(1)):
    """The voices that start before ``until`` when ``line`` plays from cycle 0."""
    session.eval(line)
    sched = session.live_scheduler = session.scheduler()
    buf = np.zeros((session.slots, 2, 1024), dtype=np.float32)
    voices = []
    while sched.clock.cycle_at(sched.position) < until:
        sched.fill(buf, sched.position)
        voices += [v for v in sched.voices.voices if v not in voices]
    session.live_scheduler = None
    return sched.clock, [v for v in voices if v.start < sched.clock.sample_at(until)]


def test_every_voice_reads_the_whole_signal_over_its_own_length(session):
    # two bells a cycle, each as long as its sound (no legato): far longer than half a cycle
    clock, voices = started_voices(session, 't1 $ "bell*2" # mix "drone" # alpha (along saw)')
    assert len(voices) == 2 and voices[0].length > clock.samples_per_cycle() / 2
    for v in voices:
        assert "alpha" in v.moving
        through = [v.value_at("alpha", clock.cycle_at(v.start + round(x * v.length)))
                   for x in (0, 0.25, 0.5, 1)]
        assert through == pytest.approx([0, 0.25, 0.5, 1], abs=1e-3)
    # the same saw read at the cycle: each bell starts where the ramp is at its onset
    clock, voices = started_voices(session, 't1 $ "bell*2" # mix "drone" # alpha saw')
    assert [v.value_at("alpha", clock.cycle_at(v.start)) for v in voices] == [0, 0.5]


def shaped_by(session, gain):
    """The level of a held drone shaped by ``# gain GAIN`` over the span [a, b) of its voice,
    as a share of the same drone unshaped (one 2 s cycle, the voice lasting all of it)."""
    session.eval(f'tempo 0.5\nt1 $ "drone" # legato 1 # gain ({gain})')
    shaped = session.render_dry(1, seed=1).mean(axis=0)
    session.eval('t1 $ "drone" # legato 1')
    plain = session.render_dry(1, seed=1).mean(axis=0)
    n = len(plain)
    return lambda a, b: rms(shaped[int(a * n): int(b * n)]) / rms(plain[int(a * n): int(b * n)])


def test_an_envelope_along_the_voice_shapes_its_level(session):
    ratio = shaped_by(session, 'along $ smooth "0 1 0"')
    # keyframes 0 at the start, 1 half way, 0 at the end (the last lands on the voice's end)
    assert ratio(0.0, 0.05) < 0.2 and ratio(0.47, 0.53) > 0.85 and ratio(0.95, 1.0) < 0.15


END = 1 - 1e-9  # the voice's last instant (its end is the next one's start)


def test_keyframes_along_a_voice_are_an_envelope_whose_last_lands_on_its_end():
    decay = alpha_of('"bell" # alpha (along $ smooth "1 0")')
    assert [decay.fn(t) for t in (0, 0.25, 0.5, 0.75, END)] == pytest.approx(
        [1, 0.75, 0.5, 0.25, 0], abs=1e-6)
    adsr = alpha_of('"bell" # alpha (along $ smooth "0 1 0.6 0")')
    assert [adsr.fn(t) for t in (0, 1 / 3, 0.5, 2 / 3, END)] == pytest.approx(
        [0, 1, 0.8, 0.6, 0], abs=1e-6)
    late = alpha_of('"bell" # alpha (along $ smooth "~ 1 0")')  # the first keyframe a third in
    assert [late.fn(t) for t in (0, 0.25, 0.75, END)] == pytest.approx([1, 1, 0.5, 0], abs=1e-6)
    # arithmetic and time maps on top still read the keyframes over the voice
    scaled = alpha_of('"bell" # alpha (range 0.2 0.8 $ along $ fast 2 $ smooth "1 0")')
    assert [scaled.fn(t) for t in (0, 0.25, 0.4, END)] == pytest.approx(
        [0.8, 0.5, 0.32, 0.2], abs=1e-6)
    # read at the cycle, the same keyframes glide back to the next cycle's first, as Tidal's
    cyclic = lc('segment 4 $ smooth "1 0"').query(0, 1)
    assert [e.value for e in cyclic] == pytest.approx([1, 0.5, 0, 0.5])


def test_a_decay_along_the_voice_falls_to_silence_at_its_end(session):
    ratio = shaped_by(session, 'along $ smooth "1 0"')
    # gain 1 - t along the voice: about 0.97 over its first twentieth, 0.5 in the middle, 0.05
    # in the last tenth (it swelled back to 1 when the last keyframe glided to the first)
    assert ratio(0, 0.05) > 0.9 and 0.4 < ratio(0.45, 0.55) < 0.6 and ratio(0.9, 1) < 0.1


def along_a_walk(session, line, cycles=12):
    """(samples into the voice, its alpha) block by block over the first voice of ``line``,
    played live from cycle 0, to its end."""
    session.eval(line)
    sched = session.live_scheduler = session.scheduler()
    buf = np.zeros((session.slots, 2, 1024), dtype=np.float32)
    voice, seen = None, []
    while sched.clock.cycle_at(sched.position) < cycles:
        sched.fill(buf, sched.position)
        voice = voice or (sched.voices.voices or [None])[0]
        at = sched.position
        if voice is not None and at < voice.start + voice.length:
            seen.append((at - voice.start, voice.value_at("alpha", sched.clock.cycle_at(at))))
    session.live_scheduler = None
    return voice, seen


def test_along_a_moving_stretch_runs_from_onset_to_end_without_a_jump(session):
    # the end is found only as the walk reaches it: read against the slowest stretch's length
    # the ramp crawled (0.04 after 7 s of 8) and then jumped to 1
    voice, seen = along_a_walk(session, 'tempo 0.5\nt1 $ "bell" # mix "drone" # alpha (along saw)'
                                        ' # stretch (range 2 4 $ slow 2 sine)')
    alphas = [a for _, a in seen]
    assert alphas == sorted(alphas) and alphas[-1] > 0.97
    assert max(np.diff(alphas)) < 0.05  # ~350 blocks over the voice: no step of many
    middle = next(a for t, a in seen if t >= voice.length / 2)
    assert 0.3 < middle < 0.7


def test_along_a_moving_stretch_cut_by_legato_reaches_its_end_at_the_cut(session):
    voice, seen = along_a_walk(session, 'tempo 0.5\nt1 $ "bell" # mix "drone" # alpha (along saw)'
                                        ' # stretch (range 2 4 $ slow 2 sine) # legato 1')
    assert voice.length == 2 * 44100  # a cycle of 2 s, long before the walk's end
    alphas = [a for _, a in seen]
    assert alphas == sorted(alphas) and alphas[-1] > 0.97 and max(np.diff(alphas)) < 0.05


def test_a_stretch_moved_along_the_voice_walks_to_its_end(session):
    # the stretch reads the voice's time, which reads how far the stretch has walked
    voice, seen = along_a_walk(session, 'tempo 0.5\nt1 $ "bell" # stretch (along $ range 1 4 saw)'
                                        ' # mix "drone" # alpha (along saw)')
    alphas = [a for _, a in seen]
    assert voice.walk.frames is not None and alphas[-1] > 0.97
    assert alphas == sorted(alphas) and max(np.diff(alphas)) < 0.05
