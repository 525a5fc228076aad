"""Budgets where text meets the clock (issue 16): no line stalls evaluation or the clock.

A cap on events per cycle, bounded by construction (refused before the work, in one line that
names the cap); a check that looks 16 cycles ahead; evaluation under a deadline that Ctrl-C
interrupts; every error the language's own, with a position; bounded reading of pieces.
"""

from __future__ import annotations

import resource
import sys
import threading
import time

import numpy as np
import pytest

from latentcode.errors import InternalError, LanguageError, LatentcodeError
from latentcode.patterns.budget import MAX_EVENTS_PER_CYCLE, BudgetError

# generous: most cases are refused in milliseconds; a busy 2-core CI machine must not flake
QUICK = 5.0  # measured: 0.6 s at most (a refused "[bell!4000]!4000" spends its budget)
MB = 1024  # ru_maxrss is in kB on Linux


@pytest.fixture
def bank_dir(tmp_path):
    import soundfile

    folder = tmp_path / "sounds"
    folder.mkdir()
    t = np.arange(4410) / 44100
    for stem, f in (("bell", 880), ("drone", 55)):
        soundfile.write(folder / f"{stem}.wav", 0.3 * np.sin(2 * np.pi * f * t), 44100)
    return folder


@pytest.fixture
def session(tiny_model, bank_dir, latentcode_home):
    from latentcode.model.bank import Bank
    from latentcode.session import Session

    s = Session(tiny_model, Bank(tiny_model, [bank_dir], default=False), tracks=2)
    s.eval('t1 $ "bell drone"')
    return s


def _refused(session, text: str) -> LanguageError:
    """Evaluate ``text``: it must be refused quickly, without memory, with nothing changed."""
    before = session.tracks["t1"].pending[0]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(LanguageError) as info:
        session.eval(text)
    took = time.perf_counter() - t0
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
    assert took < QUICK, f"{text}: {took:.1f} s"
    assert grew < 200 * MB, f"{text}: {grew // MB} MB more"
    assert session.tracks["t1"].pending[0] is before and "t2" not in session.tracks
    error = info.value
    assert "\n" not in str(error) and error.line >= 1 and error.column is not None
    assert not isinstance(error, InternalError)
    return error


EXPLOSIONS = [
    't2 $ "bell*1e12"',
    't2 $ fast 1e12 $ "bell"',
    't2 $ "bell(3,1000000000)"',
    't2 $ "bell" # gain (segment 1e9 $ sine)',
    't2 $ segment 1e9 $ "bell"',
    't2 $ "bell" # gain "0 .. 100000000"',
    't2 $ iter 1e12 $ "bell"',
    't2 $ ply 1e9 $ "bell"',
    't2 $ "bell" # gain (run 1e9)',
    't2 $ shuffle 1e7 $ "bell"',
    't2 $ scramble 1e7 $ "bell"',
    't2 $ chunk 1e9 (fast 2) $ "bell"',
    't2 $ "bell!1000000000"',
    't2 $ "[bell!4000]!4000"',
    't2 $ euclid 1e8 1e8 $ "bell"',
    't2 $ every 2 (fast 1e12) $ "bell"',
    't2 $ "<bell bell*1e12>"',
    't2 $ linger 0.000001 $ "bell"',
    't2 $ fast 64 $ fast 64 $ fast 64 $ "bell"',
    't2 $ "bell*4000 bell*4000"',
]


@pytest.mark.parametrize("text", EXPLOSIONS)
def test_an_explosive_pattern_is_refused_at_once_naming_the_cap(session, text):
    error = _refused(session, text)
    assert isinstance(error, BudgetError), error
    assert f"cap of {MAX_EVENTS_PER_CYCLE} events a cycle" in str(error)


def test_the_cap_leaves_busy_but_sane_patterns_alone(session):
    session.eval('t2 $ "bell*16 [drone bell]*8" # gain ("<1 2>" + segment 64 sine)')
    session.eval('t2 $ fast 1000 $ "bell"')
    session.eval('t2 $ "bell" # gain "0 .. 1000"')
    assert len(session.tracks["t2"].pending[0].onsets(0, 1)) == 1


def test_a_long_query_from_python_is_an_error_not_a_hang():
    from latentcode import mini

    t0 = time.perf_counter()
    with pytest.raises(BudgetError):
        mini("a").query(0, 10**12)
    assert time.perf_counter() - t0 < QUICK
    assert len(mini("a b").query(0, 100)) == 200  # a few hundred cycles at once are fine


def test_combining_two_dense_patterns_is_not_quadratic():
    from latentcode import mini

    t0 = time.perf_counter()
    events = (mini("1*3000") + mini("1*3000")).query(0, 1)
    assert len(events) == 3000 and time.perf_counter() - t0 < QUICK


@pytest.mark.parametrize("text, said", [
    ('t2 $ "<bell nosuch>"', "unknown sound 'nosuch'"),
    ('t2 $ "<bell bell bell nosuch>"', "unknown sound 'nosuch'"),
    # repeating lines, rehearsed for their periods (4 and 3 cycles) alone
    ('t2 $ "bell <bell [bell nosuch]>/2"', "unknown sound 'nosuch'"),
    ('t2 $ "bell*8" # alpha sine # sound "<bell bell nosuch>"', "unknown sound 'nosuch'"),
    ('t2 $ every 5 (# stretch 0) $ "bell"', "stretch must not be 0"),
    ('t2 $ whenmod 8 7 (# sound "nosuch") $ "bell"', "unknown sound 'nosuch'"),
])
def test_a_pattern_that_fails_cycles_later_is_refused_now(session, text, said):
    assert said in str(_refused(session, text))


def test_a_refused_block_changes_nothing_even_when_an_earlier_statement_was_fine(session):
    _refused(session, 'tempo 1\nt2 $ "bell"\nt1 $ "<bell nosuch>"')
    assert session.cps == pytest.approx(0.5)


@pytest.mark.parametrize("cps", [1e-7, 0.0, -1, 1e300, float("nan"), float("inf"), "fast"])
def test_session_tempo_from_python_refuses_what_the_clock_cannot_keep(session, cps):
    with pytest.raises(LatentcodeError, match="from 0.001 to 100"):
        session.tempo(cps)
    assert session.cps == pytest.approx(0.5)
    session.tempo(2)
    assert session.cps == 2


@pytest.mark.parametrize("text, said", [
    ('t2 $ "bell" # gain ("a" / "b")', "cannot combine 'a' and 'b'"),
    ('t2 $ "bell" |* "x"', "cannot combine"),
    ('t2 $ "bell" # gain 1e400', "finite"),
    ('t2 $ "bell" # gain "0 .. 1e400"', "too large"),
    ('t2 $ "bell(3,8,1e400)"', "too large"),
    ("tempo 0.0000001", "0.001 to 100"),
    ("tempo 1e300", "0.001 to 100"),
])
def test_internal_exceptions_become_the_languages_errors_with_a_position(session, text, said):
    assert said in str(_refused(session, text))


def test_an_unexpected_exception_is_an_internal_error_to_report_in_one_line(session,
                                                                            monkeypatch):
    from latentcode.shell.frontends import Evaluator

    def broken(*args, **kwargs):
        raise KeyError("oops")

    monkeypatch.setattr(session, "_check", broken)
    with pytest.raises(InternalError) as info:
        session.eval('t2 $ "bell"')
    assert str(info.value).startswith("internal error: KeyError: 'oops' (please report this")
    said: list[str] = []
    assert Evaluator(session, said.append).run('t2 $ "bell"') is False
    assert len(said) == 1 and "\n" not in said[0] and "please report" in said[0]
    assert "t2" not in session.tracks


# -- the deadline -------------------------------------------------------------------------


class _Slow:
    """A session whose eval takes ``seconds`` (pure Python, so it can be interrupted)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.committed = 0
        from contextlib import nullcontext

        self.commit_guard = nullcontext()

    def eval(self, text: str) -> None:
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:
            pass
        with self.commit_guard:
            self.committed += 1


def test_an_evaluation_over_the_deadline_is_stopped_and_changes_nothing():
    from latentcode.shell.frontends import Evaluator

    said: list[str] = []
    slow = _Slow(30)
    t0 = time.perf_counter()
    assert Evaluator(slow, said.append, deadline=0.3).run("t1 $ x") is False
    assert time.perf_counter() - t0 < 5
    assert said == ["error: evaluation took over 0.3 s: not evaluated; nothing changed"]
    time.sleep(0.2)
    assert slow.committed == 0
    assert not any(t.name == "latentcode-eval" for t in threading.enumerate())
    fast = _Slow(0)
    assert Evaluator(fast, said.append, deadline=0.3).run("t1 $ x") and fast.committed == 1


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raising KeyboardInterrupt, as in a terminal's foreground process: a shell starts
    a background job (`pytest &`) with SIGINT ignored, and interrupt_main then does nothing."""
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_interrupts_an_evaluation_and_the_lock_is_free_again(ctrl_c_raises):
    import _thread

    from latentcode.shell.frontends import Evaluator

    said: list[str] = []
    slow = _Slow(30)
    evaluator = Evaluator(slow, said.append, deadline=60)
    threading.Timer(0.3, _thread.interrupt_main).start()  # Ctrl-C, as the terminal sends it
    t0 = time.perf_counter()
    assert evaluator.run("t1 $ x") is False
    assert time.perf_counter() - t0 < 5
    assert said == ["error: interrupted: not evaluated; nothing changed"]
    assert slow.committed == 0
    assert evaluator.lock.acquire(timeout=0.1)  # an OSC /eval after it is not blocked
    evaluator.lock.release()
    # and the worker is stopped, not left burning a core (a Ctrl-C inside Thread.join makes
    # the Thread object say it has stopped while it runs on)
    time.sleep(0.2)
    assert not any(t.name == "latentcode-eval" and t.ident in sys._current_frames()
                   for t in threading.enumerate())
    assert slow.committed == 0


def test_a_real_session_under_the_deadline_evaluates_and_refuses_as_before(session):
    from latentcode.shell.frontends import Evaluator

    said: list[str] = []
    evaluator = Evaluator(session, said.append)
    assert evaluator.run('t2 $ "bell*2"') and "t2" in session.tracks
    assert evaluator.run('t2 $ fast 1e12 $ "bell"') is False
    # the first said what changed; the second changed nothing
    assert said[0] == "t2: new pattern" and len(said) == 2 and "cap of 4096" in said[1]


# -- reading pieces -----------------------------------------------------------------------


def test_load_refuses_special_and_huge_files_without_reading_them(tmp_path):
    import os

    from latentcode.shell.frontends import MAX_PIECE_BYTES, read_text

    huge = tmp_path / "huge.lc"
    with open(huge, "wb") as f:
        f.truncate(MAX_PIECE_BYTES * 1000)  # sparse: a gigabyte that takes no disk
    fifo = tmp_path / "fifo.lc"
    os.mkfifo(fifo)
    for path, said in ((huge, "over 1 MB"), (fifo, "not a regular file"),
                       ("/dev/zero", "not a regular file")):
        t0 = time.perf_counter()
        with pytest.raises(LatentcodeError, match=said):
            read_text(path)
        assert time.perf_counter() - t0 < QUICK
    piece = tmp_path / "piece.lc"
    piece.write_text('t1 $ "bell"\n')
    assert read_text(piece) == 't1 $ "bell"\n'
