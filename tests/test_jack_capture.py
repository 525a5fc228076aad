"""The live tests' judges: which runs a busy host spoiled, and which spans of a capture JACK's
xruns leave out. They decide verdicts of the JACK tests, so they are tested here."""

from __future__ import annotations

from jack_capture import (
    calm,
    calmest,
    clear_of_xruns,
    losses,
    off_the_grid,
    slowed,
    spacings_clear_of_xruns,
)


def test_a_run_is_calm_with_few_xruns_and_no_underrun_while_jack_lost_periods():
    assert calm(0, 20) and calm(5, 20)
    assert not calm(6, 20)  # more than a quarter a second
    assert calm(0, 20, underruns=3)  # the player's own: judged, never replayed
    assert not calm(1, 20, underruns=3)  # dry while JACK lost periods: the host starved
    assert losses([41216, 41216, 90000]) == 2  # one loss is often told twice
    assert losses([0, 0]) == 0  # before the capture began
    assert not calm(0, 20, slowed=True)  # the player found its producer late
    assert slowed(["voice cap lowered to 24: the producer is late (120% of each block); ..."])
    assert not slowed(["t3: voice cap (13) reached; its oldest voices fade out to make room"])


def test_calmest_stops_at_the_first_calm_run_and_else_returns_the_calmest():
    plays = iter([(40, 10.0, 0), (0, 10.0, 0), (1, 10.0, 0)])
    played = []

    def play():
        played.append(next(plays))
        return played[-1]

    assert calmest(play, lambda run: run) == (0, 10.0, 0) and len(played) == 2
    busy = iter([(40, 10.0, 0), (9, 10.0, 0), (30, 10.0, 0)])
    assert calmest(lambda: next(busy), lambda run: run) == (9, 10.0, 0)
    # a fault of the player's own shows on a calm run and is returned as it is
    faulty = iter([(0, 10.0, 7), (0, 10.0, 0)])
    assert calmest(lambda: next(faulty), lambda run: run) == (0, 10.0, 7)


def test_spans_near_an_xrun_are_left_out_including_a_late_notice():
    found = [0, 22050, 44100, 66150]
    assert spacings_clear_of_xruns(found, []) == [22050, 22050, 22050]
    # an xrun stamped 10 periods after the second onset still spoils the first spacing
    assert spacings_clear_of_xruns(found, [22050 + 2560]) == [22050]
    assert clear_of_xruns(1000, 2000, [480]) and not clear_of_xruns(1000, 2000, [500])
    assert not clear_of_xruns(1000, 2000, [1900])
    assert not clear_of_xruns(1000, 2000, [2000 + 16 * 256])
    assert clear_of_xruns(1000, 2000, [2000 + 17 * 256])


def test_the_grid_forgives_one_short_spacing_only():
    assert off_the_grid([22050, 21939, 22050], 22050) == []
    assert off_the_grid([22050, 21939, 21940], 22050) == [21939, 21940]
    assert off_the_grid([22050, 22161], 22050) == [22161]  # long: never forgiven
    assert off_the_grid([22050, 21700], 22050) == [21700]  # short by more than a period


def test_listening_hands_the_gil_over_often_and_keeps_the_collector_off_what_was_built():
    import gc
    import sys

    from jackd import LISTEN_SWITCH, listening

    before = sys.getswitchinterval()
    built = [[i] for i in range(1000)]  # survives into the frozen generation
    with listening():
        assert sys.getswitchinterval() == LISTEN_SWITCH
        assert gc.get_freeze_count() >= len(built)
    assert sys.getswitchinterval() == before and gc.get_freeze_count() == 0
