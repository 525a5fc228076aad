"""MIDI clock out: 24 ticks a beat from latentcode's own clock, with start and stop."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from latentcode.playback.clock import Clock
from latentcode.ports.midi_clock import START, STOP, TICK, MidiClock

SR = 44100


def run(clock: Clock, blocks: int, block: int = 1024, mc: MidiClock | None = None,
        sent: list | None = None, first: int = 0):
    sent = [] if sent is None else sent
    mc = mc or MidiClock(lambda sample, data: sent.append((sample, data)))
    for b in range(blocks):
        mc.block(first + b * block, block, clock)
    return mc, sent


def test_24_ticks_a_beat_at_the_tempo_starting_on_a_cycle():
    clock = Clock(SR, cps=Fraction(1, 2))  # 120 bpm: a beat is 22050 samples
    mc, sent = run(clock, blocks=200, first=5000)  # turned on mid-cycle
    assert sent[0] == (SR * 2, START)  # the next cycle starts at 2 s
    ticks = np.array([s for s, d in sent if d == TICK])
    assert ticks[0] == SR * 2
    gaps = np.diff(ticks)
    assert np.all(np.abs(gaps - 22050 / 24) <= 1)  # 918.75 samples, to the sample
    assert abs(ticks[24] - ticks[0] - 22050) <= 1  # 24 ticks make a beat


def test_a_tempo_change_is_followed_from_its_sample():
    clock = Clock(SR, cps=Fraction(1, 2))
    sent: list = []
    mc, _ = run(clock, blocks=100, sent=sent)
    clock.set_tempo(1, at_sample=100 * 1024)  # 240 bpm
    run(clock, blocks=100, mc=mc, sent=sent, first=100 * 1024)
    ticks = np.array([s for s, d in sent if d == TICK])
    late = np.diff(ticks[ticks > 100 * 1024 + 2000])
    assert np.all(np.abs(late - 11025 / 24) <= 1)


def test_after_reset_cycles_the_ticks_carry_on_without_a_gap():
    clock = Clock(SR, cps=Fraction(1, 2))
    sent: list = []
    mc, _ = run(clock, blocks=100, sent=sent)
    clock.restart(100 * 1024)  # what resetCycles does
    run(clock, blocks=50, mc=mc, sent=sent, first=100 * 1024)
    ticks = np.array([s for s, d in sent if d == TICK])
    assert np.diff(ticks).max() <= 919 + 1  # no hole where the count went back to 0
    assert 100 * 1024 in ticks  # a tick on the new cycle 0


def test_stop_sends_stop_once_and_no_more_ticks():
    clock = Clock(SR, cps=Fraction(1, 2))
    sent: list = []
    mc, _ = run(clock, blocks=100, sent=sent)
    mc.stop()
    run(clock, blocks=10, mc=mc, sent=sent, first=100 * 1024)
    assert sent[-1] == (100 * 1024, STOP)
    assert [d for _, d in sent].count(STOP) == 1
