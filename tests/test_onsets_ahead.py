"""Offline, a track's pattern is queried once up to the next cycle boundary and the blocks up to
it are served from that query (Track.onsets, ``ahead``): the same events, far fewer queries."""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from latentcode import mini
from latentcode.patterns.controllers import CONTROLLERS, cc
from latentcode.patterns.core import Pattern
from latentcode.playback.tracks import Track

BLOCK = F(1024 * 2, 44100 * 5)  # a 1024-sample block at 0.4 cycles a second, in cycles


def blocks(track: Track, cycles: int, ahead: bool) -> list[tuple]:
    out, c0 = [], F(0)
    while c0 < cycles:
        c1 = c0 + BLOCK
        out += [(e.whole.begin, e.whole.end, repr(e.value)) for e in track.onsets(c0, c1, ahead)]
        c0 = c1
    return out


class Counted(Pattern):
    """A pattern that counts its top-level queries."""

    def __init__(self, inner: Pattern) -> None:
        self.queries = 0

        def query(span):
            self.queries += 1
            return inner.query_span(span)

        super().__init__(query)


@pytest.mark.parametrize("text", [
    "bell*4 [hit hit:2]", "<drone drone:1>/2", "bell(3,8,<0 2>)", "{a b c}%4 . ~ d",
    "[a b c d e]/3", "a? b? c? d?", "<a b>!3 [c d]@2",
])
def test_the_onsets_served_ahead_are_the_onsets_asked_a_block_at_a_time(text):
    per_block = blocks(Track("t1", 0, mini(text)), 6, ahead=False)
    assert per_block  # (each plays something in six cycles)
    assert blocks(Track("t1", 0, mini(text)), 6, ahead=True) == per_block


def test_a_switch_due_inside_a_window_lands_where_it_lands_a_block_at_a_time():
    def run(ahead):
        t = Track("t1", 0, mini("a*8"))
        t.pending = (mini("b*3"), F(3, 2), None)
        return blocks(t, 3, ahead)

    assert run(True) == run(False)
    assert [v for _, _, v in run(True)].count("'b'") == 5  # 1.5 cycles of b*3, less the first


def test_a_cycle_of_blocks_costs_one_query():
    counted = Counted(mini("bell*4 hit"))
    blocks(Track("t1", 0, counted), 4, ahead=True)
    ahead = counted.queries
    counted.queries = 0
    blocks(Track("t1", 0, counted), 4, ahead=False)
    assert counted.queries > 40 * ahead  # about 107 blocks a cycle at 0.4 cycles a second
    assert ahead <= 8


def test_a_pattern_that_reads_a_knob_is_asked_every_block():
    """A knob may move between two blocks: what reads it is never served from an earlier
    query, so the move is heard from the next block on, as live."""
    CONTROLLERS.clear()
    track = Track("t1", 0, mini("0*16") + cc(1))
    first = track.onsets(F(0), F(1, 4), ahead=True)
    CONTROLLERS.set(("cc", 0, 1), 1.0)
    later = track.onsets(F(1, 2), F(3, 4), ahead=True)
    CONTROLLERS.clear()
    assert [float(e.value) for e in first] == [0.0] * 4
    assert [float(e.value) for e in later] == [1.0] * 4
