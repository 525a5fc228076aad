"""Ableton Link: tempo and phase shared with the other players of a network session.

latentcode joins a Link session through LinkPython-extern (``import link``, imported only when
asked for; ``pip install -e ".[link]"``). A thread of its own, never the audio, reads Link's
session state every :data:`POLL` seconds and steers the scheduler's clock:

- **tempo**: Link's tempo in beats a minute, 4 beats a cycle (``cps = bpm / 240``, as ``bpm``
  counts). A tempo set here (``tempo``, ``bpm``, ``setcps``) is committed to the session, so
  every peer follows it, and a peer's change arrives here within a poll;
- **phase**: cycle starts fall on Link's beat grid, modulo the *quantum* (4 beats by default:
  a cycle starts where a 4-beat bar starts). The cycle numbers themselves stay latentcode's.

Steering happens at the first sample the producer has not made yet, heard at a time known from
the engine's stamps (:class:`latentcode.ports.heard.HeardClock`), which is turned into Link's
clock. A phase error over :data:`JUMP` seconds (joining, a peer's jump) is corrected at once,
by re-anchoring the clock; a smaller one by running the tempo slightly fast or slow, so no
onset is skipped or played twice: in proportion to the error (run out over :data:`CORRECT`
seconds), plus a trim learnt over :data:`SETTLE` seconds for an audio clock that runs steadily
slow or fast against the machine's (a sound card's crystal; JACK's dummy driver under load).

>>> sync = LinkSync(scheduler, heard_stamp=engine.heard_stamp, sample_rate=44100)  # doctest: +SKIP
>>> sync.peers, sync.describe()                                                   # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.patterns.time import Fraction
from latentcode.ports.heard import HeardClock, Stamp

BEATS_PER_CYCLE = 4  # as bpm counts them
POLL = 0.02  # s between looks at the session
JUMP = 0.02  # s: a phase error larger than this is corrected at once
CORRECT = 0.5  # s over which a smaller phase error is run out by a tempo nudge
SETTLE = 4.0  # s over which a steady error (the audio's clock running slow) is learnt
MAX_NUDGE = 0.05  # the most the tempo is nudged, as a fraction of Link's
INSTALL = 'Ableton Link needs LinkPython-extern: pip install -e ".[link]"'


def open_link(bpm: float) -> Any:
    """A Link instance at ``bpm``, enabled; a LatentcodeError saying how to get one."""
    try:
        import link
    except ImportError:
        raise LatentcodeError(INSTALL) from None
    session = link.Link(float(bpm))
    session.enabled = True
    return session


def phase_error(ours: float, theirs: float, period: float) -> float:
    """How far ``theirs`` is ahead of ``ours`` modulo ``period`` (cycles), in
    [-period/2, period/2).

    >>> phase_error(3.0, 8.25, 1.0), phase_error(3.0, 7.75, 1.0), phase_error(3, 3, 1)
    (0.25, -0.25, 0.0)
    """
    return (theirs - ours + period / 2) % period - period / 2


class LinkSync:
    """Keeps a scheduler's clock on a Link session's tempo and beat grid.

    ``scheduler`` is a :class:`latentcode.playback.scheduler.Scheduler`: this reads its clock
    and ``position``, and steers it with its ``steer`` command (run by the producer at its
    next block).
    """

    def __init__(self, scheduler: Any, *, heard_stamp: Stamp, sample_rate: int,
                 quantum: float = BEATS_PER_CYCLE, session: Any = None) -> None:
        if not quantum > 0:
            raise LatentcodeError(f"the Link quantum is a positive number of beats, not "
                                  f"{quantum}")
        self.scheduler = scheduler
        self.sample_rate = sample_rate
        self.quantum = float(quantum)
        self.heard = HeardClock(heard_stamp, sample_rate)
        cps = float(scheduler.clock.cps)
        self.link = session if session is not None else open_link(cps * 60 * BEATS_PER_CYCLE)
        self.error = 0.0  # s: the last phase error measured (ours behind theirs: positive)
        self.errors: list[tuple[float, float]] = []  # (time.monotonic(), error s), the last few
        self.jumps = 0
        self.trim = 0.0  # the tempo ratio learnt for the audio clock's own drift
        self._aligned = False
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latentcode-link", daemon=True)
        self._thread.start()

    @property
    def peers(self) -> int:
        return int(self.link.numPeers())

    @property
    def bpm(self) -> float:
        return float(self.link.captureAppSessionState().tempo())

    def set_tempo(self, cps: float | Fraction) -> None:
        """A tempo set here: every peer follows."""
        state = self.link.captureAppSessionState()
        state.setTempo(float(cps) * 60 * BEATS_PER_CYCLE, self.link.clock().micros())
        self.link.commitAppSessionState(state)

    def describe(self) -> str:
        """One line for ``:link`` and the toolbar."""
        phase = self.phase()
        where = f", phase {phase:.2f}/{self.quantum:g}" if phase is not None else ""
        return (f"Link: {self.peers} peer{'s' if self.peers != 1 else ''}, {self.bpm:.2f} bpm"
                f"{where}, quantum {self.quantum:g}, phase error {self.error * 1000:+.1f} ms")

    def phase(self) -> float | None:
        """Where the session is in its bar now, in beats."""
        state = self.link.captureAppSessionState()
        return float(state.phaseAtTime(self.link.clock().micros(), self.quantum))

    def close(self) -> None:
        self._halt.set()
        self._thread.join(timeout=2)
        self.link.enabled = False

    # -- the steering thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._halt.wait(POLL):
            try:
                self.step()
            except Exception as e:  # noqa: BLE001 - Link must never end the performance
                self.scheduler.report(f"Link: {type(e).__name__}: {e}")
                self._halt.wait(1.0)

    def step(self) -> None:
        """Compare the clock with Link's at the next sample to be made; steer it."""
        heard = self.heard
        heard.observe()
        if not heard.ready:
            return
        sched, clock = self.scheduler, self.scheduler.clock
        sample = sched.position
        # Link's clock (microseconds) and time.monotonic() differ by an offset read here
        offset = self.link.clock().micros() / 1e6 - time.monotonic()
        at = round((heard.heard(sample) + offset) * 1e6)
        state = self.link.captureAppSessionState()
        link_cps = state.tempo() / 60 / BEATS_PER_CYCLE
        theirs = state.beatAtTime(at, self.quantum) / BEATS_PER_CYCLE
        ours = float(clock.cycle_at(sample))
        error = phase_error(ours, theirs, self.quantum / BEATS_PER_CYCLE)  # cycles
        self.error = error / link_cps
        self.errors = [*self.errors[-255:], (time.monotonic(), self.error)]
        if not self._aligned or abs(self.error) > JUMP:
            sched.steer(Fraction(link_cps).limit_denominator(1 << 30),
                        Fraction(ours + error).limit_denominator(1 << 30), sample)
            self._aligned = True
            self.jumps += 1
            return
        self.trim = max(-MAX_NUDGE, min(MAX_NUDGE, self.trim + self.error * POLL / SETTLE /
                                        CORRECT))
        nudge = max(-MAX_NUDGE, min(MAX_NUDGE, self.error / CORRECT + self.trim))
        cps = Fraction(link_cps * (1 + nudge)).limit_denominator(1 << 30)
        if cps != clock.cps:
            sched.steer(cps)
