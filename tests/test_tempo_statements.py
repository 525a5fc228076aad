"""Tidal's statements around the patterns: setcps/setbpm, resetCycles, quant (when a new
pattern starts), once, and the transitions (xfadeIn, clutch, jumpIn, ...), through a Session
whose live scheduler is driven by hand (no audio)."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from latentcode.errors import LanguageError
from latentcode.language.vocabulary import STATEMENT_DOCS, Vocabulary
from latentcode.patterns.transitions import TRANSITIONS
from latentcode.session import Session

SR = 44100


@pytest.fixture
def session(session_parts):
    model, bank = session_parts
    return Session(model, bank, tracks=4)


def silent(z, out=None):
    """A decoder that makes silence at once: these tests watch onsets, not audio."""
    n, segment = len(z), 1024
    return np.zeros((n, segment), np.float32) if out is None else out


class Live:
    """A session's live scheduler, filled block by block by hand; records the voices started
    as (track, onset cycle, sound)."""

    def __init__(self, session: Session) -> None:
        assert session.model.segment == 1024
        self.session = session
        self.sched = session.live_scheduler = session.scheduler(decode=silent)
        self.buf = np.zeros((session.slots, 2, 2048), dtype=np.float32)
        self.started: list[tuple[str, F, object]] = []
        self.sched.on_start.append(self._heard)

    def _heard(self, track, event, onset, duration) -> None:
        value = event.value
        sound = value.get("sound") if isinstance(value, dict) else value
        self.started.append((track.name, event.whole.begin, sound))

    def block(self) -> None:
        self.buf[:] = 0
        self.sched.fill(self.buf, self.sched.position)

    def run_until(self, cycle) -> None:
        while self.sched.now() < cycle:
            self.block()

    def since(self, n: int) -> list[tuple[str, F, object]]:
        return self.started[n:]


# -- tempo --------------------------------------------------------------------------------------


def test_setcps_and_setbpm_are_tempo_and_bpm(session):
    session.eval("setcps 0.75")
    assert session.cps == F(3, 4)
    session.eval("setbpm 90")  # 4 beats a cycle, like bpm
    assert session.cps == F(90, 240)
    with pytest.raises(LanguageError, match="setbpm needs a number from 0.24 to 24000"):
        session.eval('t1 $ "bell"\nsetbpm 0')
    assert session.cps == F(90, 240) and "t1" not in session.tracks  # nothing changed


def test_setcps_reaches_the_live_clock(session):
    live = Live(session)
    live.run_until(F(1, 2))
    session.eval("setcps 1")
    live.block()
    assert live.sched.clock.cps == 1


# -- resetCycles ---------------------------------------------------------------------------------


def test_reset_cycles_restarts_the_cycle_count_and_the_pattern(session):
    live = Live(session)
    session.eval('t1 $ "<bell drone hit>"')
    live.run_until(F(5, 2))
    assert live.started[-1] == ("t1", 2, "hit")
    heard = len(live.started)
    session.eval("resetCycles")
    live.block()
    assert live.sched.now() == live.sched.clock.cycle_at(2048) - live.sched.clock.cycle_at(0)
    assert live.since(heard) == [("t1", 0, "bell")]  # the pattern's cycle 0 again
    live.run_until(F(3, 2))
    assert live.since(heard) == [("t1", 0, "bell"), ("t1", 1, "drone")]


def test_reset_cycles_offline_is_harmless_and_pending_switches_happen(session):
    session.eval('t1 $ "bell"\nresetCycles')  # offline: a render starts at 0 anyway
    assert session.render_dry(0.25).shape[1] > 0
    live = Live(session)
    live.run_until(F(23, 10))
    session.eval('t1 $ "drone"\nresetCycles')  # the switch was due at cycle 3
    heard = len(live.started)
    live.block()  # the command runs at the start of the next block
    live.run_until(F(1, 10))
    assert live.since(heard) == [("t1", 0, "drone")]


def test_reset_cycles_carries_a_transition_under_way_on(session):
    live = Live(session)
    session.eval('t1 $ "bell*4"')
    live.run_until(F(1, 10))
    session.eval('jumpIn t1 2 $ "drone*4"')  # from cycle 1: the switch at 3
    live.run_until(F(21, 10))
    session.eval("resetCycles")  # 2.1 becomes 0: the switch is 0.9 later
    heard = len(live.started)
    live.block()
    live.run_until(F(2))
    sounds = [(t, s) for _, t, s in live.since(heard)]
    assert (F(3, 4), "bell") in sounds and (1, "drone") in sounds
    assert not any(s == "bell" and t >= 1 for t, s in sounds)


# -- quant ----------------------------------------------------------------------------------------


def test_quant_sets_where_a_new_pattern_starts(session):
    live = Live(session)
    session.eval('t1 $ "bell"')
    live.run_until(F(3, 10))
    session.eval('t1 $ "drone"')
    assert session.tracks["t1"].pending[1] == 1  # the default: the next cycle
    session.eval('quant 0.25\nt1 $ "hit"')  # the block's own quant applies to its patterns
    assert session.quant == F(1, 4) and session.tracks["t1"].pending[1] == F(1, 2)
    session.eval('quant 0\nt1 $ "bell"')
    assert session.tracks["t1"].pending[1] is None  # at once
    session.eval('quant 2\nt1 $ "bell"')
    assert session.tracks["t1"].pending[1] == 2
    with pytest.raises(LanguageError, match="quant needs a number of cycles from 0"):
        session.eval("quant -1")
    assert session.quant == 2


def test_quant_a_beat_stops_a_slow_tempo_waiting_a_whole_cycle(session):
    live = Live(session)
    session.eval('tempo 0.25\nt1 $ "bell"')
    live.block()
    live.run_until(F(3, 10))
    session.eval('quant 0.25\nt1 $ "drone*4"')
    heard = len(live.started)
    live.run_until(F(11, 20))
    assert live.since(heard) == [("t1", F(1, 2), "drone")]
    # 0.2 cycles at 0.25 cycles a second: 0.8 s, where the next cycle was 2.8 s away
    wait = (F(1, 2) - F(3, 10)) / F(1, 4)
    assert wait < 1


def test_now_still_means_at_once_whatever_the_quant(session):
    live = Live(session)
    session.eval('quant 4\nt1 $ "bell"')
    live.run_until(F(3, 10))
    session.eval('now t1 $ "drone"')
    assert session.tracks["t1"].pending[1] is None


# -- once -----------------------------------------------------------------------------------------


def test_once_plays_cycle_zero_from_the_next_sample_on_no_track(session):
    live = Live(session)
    session.eval('t1 $ "bell"')
    live.run_until(F(13, 10))
    heard = len(live.started)
    start = live.sched.now()
    session.eval('once $ "<hit drone> hit"')
    live.run_until(4)
    onces = [(t, s) for name, t, s in live.since(heard) if name == "once"]
    assert onces == [(start, "hit"), (start + F(1, 2), "hit")]  # its cycle 0, once
    assert "once" not in session.tracks and not live.sched.onces
    assert [t for n, t, _ in live.since(heard) if n == "t1" and t < 4] == [2, 3]


def test_hush_stops_a_once_under_way(session):
    live = Live(session)
    session.eval('once $ "hit*8"')
    live.run_until(F(1, 4))
    assert 0 < len(live.started) < 8
    session.eval("hush")
    heard = len(live.started)
    live.run_until(F(3, 2))
    assert live.since(heard) == [] and not live.sched.onces


def test_once_offline_plays_at_the_start_of_every_render_until_hush(session):
    session.eval('once $ "hit"')
    assert "once" not in session.tracks
    audio = session.render_dry(0.5)
    assert np.abs(audio[:, :2000]).max() > 0
    session.eval("hush")
    assert np.abs(session.render_dry(0.5)).max() == 0


def test_once_checks_the_cycle_it_plays_first(session):
    with pytest.raises(LanguageError, match="nosuch"):
        session.eval('once $ "nosuch"')
    session.eval('once $ "<hit nosuch>"')  # its cycle 0 alone plays: hit
    assert len(session.onces) == 1


# -- transitions ----------------------------------------------------------------------------------


def test_a_transition_starts_where_a_new_pattern_would(session):
    live = Live(session)
    session.eval('t1 $ "bell*4"')
    live.run_until(F(3, 10))
    session.eval('xfadeIn t1 2 $ "drone*4"')
    pattern, at, _ = session.tracks["t1"].pending
    assert at == 1 and pattern.start == 1 and pattern.end == 3
    heard = len(live.started)
    live.run_until(4)
    sounds = [(t, s) for _, t, s in live.since(heard)]
    assert (F(1, 2), "bell") in sounds and (F(1, 2), "drone") not in sounds
    assert (F(3, 2), "bell") in sounds and (F(3, 2), "drone") in sounds  # both, crossfading
    assert (F(7, 2), "drone") in sounds and (F(7, 2), "bell") not in sounds
    assert session.tracks["t1"].pattern is pattern.new  # over: the new pattern alone


def test_a_transition_offline_runs_from_the_start_of_the_render(session):
    session.eval('t1 $ "bell"')
    session.eval('clutch t1 $ "drone"')
    p = session.tracks["t1"].latest()
    assert (p.start, p.end) == (0, 2)
    session.eval('anticipate t2 $ "hit"')  # on a new track: from silence
    assert session.tracks["t2"].latest().end == 8


def test_every_transition_word_is_a_statement(session):
    for word, (_, cycles) in TRANSITIONS.items():
        text = f'{word} t1 {"" if cycles else "2 "}$ "bell"'
        session.eval(text)
        assert session.tracks["t1"].latest().cycles == (cycles or 2)


def test_a_transition_with_an_error_changes_nothing(session):
    session.eval('t1 $ "bell"')
    before = session.tracks["t1"].latest()
    with pytest.raises(LanguageError, match="nosuch"):
        session.eval('xfadeIn t1 4 $ "nosuch"')
    with pytest.raises(LanguageError, match="xfadeIn needs a number of cycles"):
        session.eval('xfadeIn t1 0 $ "bell"')
    with pytest.raises(LanguageError, match="expected: a number"):
        session.eval('jumpIn t1 $ "bell"')
    assert session.tracks["t1"].latest() is before


def test_the_latent_xfade_is_unchanged(session):
    live = Live(session)
    session.eval('t1 $ "bell"')
    live.run_until(F(3, 10))
    session.eval('xfade 2 t1 $ "drone"')
    pattern, at, xfade = session.tracks["t1"].pending
    assert at == 1 and xfade == 2 and not hasattr(pattern, "moved")


# -- help -----------------------------------------------------------------------------------------


def test_every_new_statement_has_help():
    v = Vocabulary.of_language()
    for word in ("setcps", "setbpm", "resetCycles", "quant", "once", *TRANSITIONS):
        assert word in STATEMENT_DOCS, word
        assert v.kind(word) == "keyword" and "A statement of the language" not in v.help(word)
    assert "latent" in v.help("xfadeIn")  # says how it differs from the latent xfade


def test_a_pattern_s_cps_sets_the_tempo_from_its_event_on(session):
    """Tidal's ``# cps``: the clock follows it from the block after the event's onset."""
    session.eval('t1 $ "bell*2" # cps "<0.5 1>" # legato 0.2')
    sched = session.scheduler(snapshot=True)
    starts = []
    sched.on_start.append(lambda track, e, onset, length: starts.append(onset))
    buf = np.zeros((session.slots, 2, 1024), np.float32)
    for start in range(0, 4 * SR, 1024):
        sched.fill(buf, start)
    # cycle 0 at 0.5 cps: onsets 0 and 1 s; cycle 1 at 1 cps from the block after 2 s
    assert starts[:3] == [0, SR, 2 * SR]
    assert abs(starts[3] - (2 * SR + SR // 2)) <= 1024  # within a block of exact
    # cycle 2 (cps 0.5 again) starts a second after cycle 1 did, and lasts 2 s
    assert abs(starts[4] - 3 * SR) <= 1024 and sched.clock.cps == F(1, 2)
    # a tempo outside the clock's range is clamped to it, never refused on stage
    session.eval('t1 $ "bell" # cps 1e9')
    sched = session.scheduler(snapshot=True)
    sched.fill(buf, 0)
    sched.fill(buf, 1024)
    assert sched.clock.cps == 100
