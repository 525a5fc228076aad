"""Controllers: knobs, faders and pads that a performer's hands move while the music plays.

``cc 74`` is the value of MIDI control change 74 (any channel), ``cc 74 2`` the same on channel
2 (counted from 1, as MIDI gear labels them), both from 0 to 1; ``ctrl "cutoff"`` is the last
number sent to the OSC port as ``/ctrl cutoff VALUE``. They are continuous patterns, used as
any signal is: ``"drone" # pan (cc 10) # bias (range -2 2 $ cc 1)``. Before a controller
moves it reads its default: 0, or what ``initially`` gives (``initially 0.5 $ cc 74``).
``on 36 $ "hit"`` plays one cycle of ``"hit"`` each time note 36 is struck, its gain scaled by
the velocity.

Everything a controller sent lives in one store, :data:`CONTROLLERS`, that MIDI and OSC threads
write and the producer reads. A read takes no lock and never waits: a write replaces one tuple
in a dict, which CPython does at once. Writers share a small lock among themselves only.

**Smoothing.** Voices read a moving control once per output frame, ahead of when it is heard.
Live, the store knows when a value arrives in cycles (its ``clock``: the first sample the
producer has not written yet) and records the move as a ramp of :data:`RAMP_SECONDS` from the
value at that moment to the new one: every read along the ramp gets the value of its own cycle,
so a knob turned in 128 MIDI steps glides rather than steps (no zipper noise), and the same
arrivals give the same audio. Without a clock (offline, tests) a value takes effect at once.

>>> store = Controllers()
>>> store.attach(FixedClock(cycle=10.0, cps=0.5))
>>> store.set(("cc", 0, 74), 1.0)       # arrives at cycle 10; 15 ms = 0.0075 cycles at 0.5 cps
>>> [round(store.read(("cc", 0, 74), t, 0.0), 2) for t in (9.0, 10.0, 10.00375, 10.0075, 11)]
[0.0, 0.0, 0.5, 1.0, 1.0]
"""

from __future__ import annotations

import math
import numbers
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from latentcode.controls import CONTROLS
from latentcode.errors import LanguageError
from latentcode.patterns.core import Event, Pattern, Pure, Sampled
from latentcode.patterns.registry import register
from latentcode.patterns.time import Fraction, Span

RAMP_SECONDS = 0.015  # a move glides over this: shorter clicks, longer lags
MAX_NAMES = 256  # distinct OSC controller names kept (a flood of new names is refused)
MAX_TRIGGERS = 32  # note-ons remembered per note (those more than a cycle old are never read)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
Key = tuple  # ("cc", channel (0 = any), number) or ("ctrl", name)


def check_name(name: Any) -> str | None:
    """Why ``name`` cannot name an OSC controller, or None when it can: a letter or ``_``, then
    up to 31 letters, digits or ``_``.

    >>> check_name("cutoff"), check_name("a b"), check_name("x" * 40)[:21]
    (None, "'a b' is not a name", 'a name has at most 32')
    """
    if not isinstance(name, str):
        return f"{type(name).__name__} is not a name"
    if len(name) > 32:
        return "a name has at most 32 letters, digits or _"
    if not NAME.fullmatch(name):
        return f"{name[:32]!r} is not a name"
    return None


class Clock(Protocol):
    """When a value arriving now takes effect (the session's live scheduler provides it)."""

    def ramp_time(self) -> tuple[float, float]:
        """(cycle where a control move starts gliding, cycles per second)."""
        ...

    def note_time(self) -> Fraction:
        """The cycle a note arriving now starts its sound at: arrival plus a fixed latency."""
        ...

    def struck(self, tracks: Iterable[str], at: Fraction) -> None:
        """A note was stored at cycle ``at``; ``tracks`` read that note lately."""
        ...

    def moved(self, slots: Iterable[int], at: float) -> None:
        """A controller that the effects of track ``slots`` read moves from cycle ``at``."""
        ...


@dataclass
class FixedClock:
    """A clock that stands still at ``cycle`` (tests, benchmarks, offline experiments)."""

    cycle: float
    cps: float = 0.5

    def ramp_time(self) -> tuple[float, float]:
        return float(self.cycle), float(self.cps)

    def note_time(self) -> Fraction:
        return Fraction(self.cycle).limit_denominator(1 << 20)

    def struck(self, tracks: Iterable[str], at: Fraction) -> None:
        pass

    def moved(self, slots: Iterable[int], at: float) -> None:
        pass


class Controllers:
    """The values controllers sent, read by the patterns ``cc``, ``ctrl`` and ``on``.

    Per key an entry ``(v0, v1, t0, t1)``: ``v0`` before cycle ``t0``, ``v1`` from ``t1``, a
    straight line between (``v0`` NaN: the reader's default). Notes keep their last
    :data:`MAX_TRIGGERS` starts (cycle, velocity 0..1) per note number.
    """

    def __init__(self, ramp: float = RAMP_SECONDS) -> None:
        self.ramp = ramp
        self.clock: Clock | None = None
        self._values: dict[Key, tuple[float, float, float, float]] = {}
        self._notes: dict[int, tuple[tuple[Fraction, float], ...]] = {}
        self._write = threading.Lock()  # writers only: a reader never takes it
        self._local = threading.local()  # .rehearsing: this thread checks a new pattern
        self.moves = 0  # controller moves received (``:learn`` waits for the next)
        self.last: tuple[Key, float] | None = None  # the latest move (key, value)
        self.sent: dict[Key, float] = {}  # the last value of each key, for ``:midi``
        self.notes_seen: dict[tuple[int, int], int] = {}  # (channel, note) -> last velocity
        # the track whose pattern the producer is querying (set by the scheduler), and per
        # note the tracks that asked for it: those a note-on makes again (Clock.struck)
        self.asking: str | None = None
        self.listeners: dict[int, set[str]] = {}
        self.pad_reads = 0  # the times a playing pattern read its notes (``on``)
        # the times anything read a knob or the notes: a query that did is not kept to serve
        # later blocks (Track.onsets, ahead), a knob may move meanwhile
        self.reads = 0
        # track effects (filters, sends) are applied by the audio side, not decoded: a move
        # reaches them as soon as a note does (Clock.note_time), read from ``_soon``, while
        # voices read ``_values`` (a move from the first sample not made). The scheduler sets
        # ``effects_of`` (a track slot) while it reads a track's effects; per key, the slots
        # whose effects read it, told of a move (Clock.moved)
        self._soon: dict[Key, tuple[float, float, float, float]] = {}
        self.effects_of: int | None = None
        self._effects_thread = 0  # the thread that reads them (others read as voices do)
        self.effect_listeners: dict[Key, set[int]] = {}
        # called once, the first time a pattern uses a MIDI word (cc, on): a front end opens
        # the MIDI input then rather than at start (see latentcode.shell.connections)
        self.on_use: Callable[[], None] | None = None

    def use(self) -> None:
        """A pattern uses MIDI: run :attr:`on_use` once (a failing hook says so itself)."""
        hook, self.on_use = self.on_use, None
        if hook is not None:
            hook()

    def attach(self, clock: Clock | None) -> None:
        """Live play starts (moves glide from the clock's now) or stops (None: at once)."""
        self.clock = clock

    def clear(self) -> None:
        """Forget every value and note (tests; a new performance)."""
        with self._write:
            self._values, self._notes, self.listeners = {}, {}, {}
            self._soon, self.effect_listeners = {}, {}
            self.sent, self.notes_seen = {}, {}
            self.last, self.moves = None, 0

    # -- the producer's side: reads, never a lock -----------------------------------------------
    def read(self, key: Key, t: float, default: float) -> float:
        """The value of ``key`` at cycle ``t``; ``default`` until it first moves."""
        self.reads += 1
        entry = self._values.get(key)
        slot = self.effects_of
        if slot is not None and threading.get_ident() == self._effects_thread:
            self.effect_listeners.setdefault(key, set()).add(slot)  # (a set: thread-safe add)
            entry = self._soon.get(key, entry)  # a track effect: the sooner ramp (see __init__)
        return _along(entry, t, default)

    @contextmanager
    def effects(self, slot: int) -> Iterator[None]:
        """In this thread, reads are of track ``slot``'s effects: they take a move from
        :meth:`Clock.note_time` on, and the slot is told of later moves (:meth:`Clock.moved`).

        >>> store = Controllers(); store.attach(FixedClock(cycle=4.0))
        >>> store.set(("cc", 0, 1), 1.0, at=8.0)
        >>> with store.effects(3):
        ...     store.read(("cc", 0, 1), 8.0, 0.0)
        0.0
        >>> store.effect_listeners
        {('cc', 0, 1): {3}}
        """
        self.effects_of, self._effects_thread = slot, threading.get_ident()
        try:
            yield
        finally:
            self.effects_of = None

    def triggers(self, note: int, begin: Fraction, end: Fraction) -> list[tuple[Fraction, float]]:
        """The note-ons of ``note`` whose cycle (played from its start) meets [begin, end);
        while this thread rehearses, one at every cycle."""
        if getattr(self._local, "rehearsing", False):
            return [(Fraction(c), 1.0) for c in range(math.floor(begin), math.ceil(end))]
        self.reads += 1
        if self.asking is not None:
            self.listeners.setdefault(note, set()).add(self.asking)
            self.pad_reads += 1  # (the scheduler keeps to short calls: Scheduler.live_steps)
        return [(at, v) for at, v in self._notes.get(note, ()) if at < end and at + 1 > begin]

    @contextmanager
    def rehearsal(self) -> Iterator[None]:
        """In this thread only, every note plays at every cycle: a new pattern's check hears
        the sounds its pads will play (they are prepared, a missing one is an error now, not
        at the first note). Other threads, the producer's too, hear only real notes.

        >>> from latentcode import mini
        >>> with CONTROLLERS.rehearsal():
        ...     [e.value["sound"] for e in on(36, mini("hit")).query(0, 2)]
        ['hit', 'hit']
        """
        self._local.rehearsing = True
        try:
            yield
        finally:
            self._local.rehearsing = False

    # -- the writers' side: MIDI and OSC threads ------------------------------------------------
    def set(self, key: Key, value: float, *, at: float | None = None) -> None:
        """``key`` moves to ``value``: gliding from cycle ``at`` (default: the clock's now;
        without a clock, at once). Live, track effects that read it take the move sooner,
        from the clock's note time (see :meth:`effects`), and are told (:meth:`Clock.moved`).
        """
        value = float(value)
        clock, soon = self.clock, None
        with self._write:
            cps = 1.0
            if at is None and clock is not None:
                at, cps = clock.ramp_time()
                soon = float(clock.note_time())
            elif clock is not None:
                cps = clock.ramp_time()[1]
            self._values[key] = self._moved(self._values.get(key), value, at, cps)
            sooner = soon is not None and soon < at
            if sooner:
                self._soon[key] = self._moved(self._soon.get(key, self._values.get(key)),
                                              value, soon, cps)
            else:  # (no sooner time: effects take the move as voices do)
                self._soon.pop(key, None)
            self.sent[key] = value
            self.last = (key, value)
            self.moves += 1
        slots = self.effect_listeners.get(key)
        if sooner and slots:
            clock.moved(tuple(slots), soon)

    def _moved(self, old: tuple[float, float, float, float] | None, value: float,
               at: float | None, cps: float) -> tuple[float, float, float, float]:
        """The entry of a move to ``value`` from an entry ``old``, gliding from cycle ``at``
        (None: at once)."""
        if at is None or self.ramp <= 0:
            return (value, value, -math.inf, -math.inf)
        before = math.nan if old is None else _along(old, at, math.nan)
        start = at if old is None or before == before else old[2]
        return (before, value, start, at + self.ramp * cps)

    def control_change(self, channel: int, number: int, value: int) -> None:
        """A MIDI control change (channel 1-16, number and value 0-127)."""
        v = value / 127
        self.set(("cc", 0, number), v)
        self.set(("cc", channel, number), v)  # the last: ``:learn`` tells the channel

    def note_on(self, channel: int, note: int, velocity: int) -> None:
        """A MIDI note-on (velocity 1-127): ``on NOTE`` patterns play from the clock's note
        time. Without a clock (nothing plays live) it is only remembered for ``:midi``."""
        self.notes_seen[channel, note] = velocity
        clock = self.clock
        if clock is None or velocity <= 0:
            return
        at = clock.note_time()
        with self._write:
            kept = self._notes.get(note, ())[-(MAX_TRIGGERS - 1):]
            self._notes[note] = (*kept, (at, velocity / 127))
        clock.struck(tuple(self.listeners.get(note, ())), at)

    def note_off(self, channel: int, note: int) -> None:
        """A note-off: a one-shot rings out, so only ``:midi`` hears of it."""
        self.notes_seen[channel, note] = 0

    def control(self, name: str, value: float) -> str | None:
        """An OSC ``/ctrl NAME VALUE``: why it is refused, or None when it was stored."""
        why = check_name(name)
        if why is None and (isinstance(value, bool) or not isinstance(value, int | float)):
            why = f"the value must be a number, not {type(value).__name__}"
        if why is None and not math.isfinite(value):
            why = f"the value must be finite, not {value}"
        if why is None and ("ctrl", name) not in self._values and len(self.sent) >= MAX_NAMES:
            why = f"more than {MAX_NAMES} controllers"
        if why is None:
            self.set(("ctrl", name), float(value))
        return why


CONTROLLERS = Controllers()


def _along(entry: tuple[float, float, float, float] | None, t: float, default: float) -> float:
    """The value at cycle ``t`` of a store entry ``(v0, v1, t0, t1)`` (see
    :class:`Controllers`); ``default`` for none, or where ``v0`` is NaN.

    >>> _along((0.0, 1.0, 2.0, 4.0), 3.0, 9.0), _along(None, 3.0, 9.0)
    (0.5, 9.0)
    """
    if entry is None:
        return default
    v0, v1, t0, t1 = entry
    if t >= t1:
        return v1
    if v0 != v0:  # NaN: ramping from the reader's own default
        v0 = default
    if t <= t0:
        return v0
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def describe(key: Key) -> str:
    """How a key is written in the language.

    >>> describe(("cc", 1, 21)), describe(("cc", 0, 21)), describe(("ctrl", "x"))
    ('cc 21 1', 'cc 21', 'ctrl "x"')
    """
    if key[0] == "ctrl":
        return f'ctrl "{key[1]}"'
    return f"cc {key[2]} {key[1]}" if key[1] else f"cc {key[2]}"


# ---------------------------------------------------------------------------------------------
# the language's words


class Controller(Pattern):
    """A continuous pattern reading one controller of a store (``cc 74``, ``ctrl "x"``).

    ``cc 74 2`` is ``cc 74`` applied to one more argument, the channel (:meth:`apply_more`).
    """

    __slots__ = ("key", "default", "store")

    def __init__(self, key: Key, default: float = 0.0,
                 store: Controllers | None = None) -> None:
        store = CONTROLLERS if store is None else store
        read = store.read

        def at(cycle: Any) -> float:
            return read(key, float(cycle), default)

        # a value that a voice re-reads straight from the store, frame by frame (the general
        # path, querying the pattern again, costs ~50 times more)
        super().__init__(lambda span: [
            Event(None, span, Sampled.derived(read(key, float(span.begin), default), at))])
        self.key, self.default, self.store = key, default, store

    def with_default(self, default: float) -> Controller:
        return Controller(self.key, default, self.store)

    def apply_more(self, arg: Any) -> Controller:
        """``cc NUMBER`` given a channel: ``cc 74 2``."""
        if self.key[0] != "cc" or self.key[1] != 0:
            raise LanguageError(f"too many arguments: {describe(self.key)} takes no more")
        channel = _constant(arg, "cc", "channel")
        if channel != int(channel) or not 1 <= channel <= 16:
            raise LanguageError(f"cc: the channel must be from 1 to 16 (counted from 1, as on "
                                f"MIDI gear), not {channel:g}")
        return Controller(("cc", int(channel), self.key[2]), self.default, self.store)


def _constant(value: Any, function: str, name: str) -> float:
    if isinstance(value, Pure):
        value = value.value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LanguageError(f"{function}: the {name} must be a number such as 74, not a pattern")
    return float(value)


@register
def cc(number: float) -> Pattern:
    """A MIDI knob or fader: control change ``number`` (0-127) as a signal from 0 to 1.

    ``cc 74`` hears every channel, ``cc 74 2`` channel 2 only (1-16, as MIDI gear counts).
    It reads 0 until the controller moves (``initially`` sets another value); live, a move
    glides over 15 ms, so a knob turned in steps never clicks.

    lc> segment 2 $ cc 74  ==  "0 0"
    """
    if number != int(number) or not 0 <= number <= 127:
        raise LanguageError(f"cc: the controller number must be from 0 to 127, not {number:g}")
    CONTROLLERS.use()
    return Controller(("cc", 0, int(number)))


@register
def ctrl(name: Pattern) -> Pattern:
    """An OSC controller: the last number sent as ``/ctrl NAME VALUE`` to ``--osc PORT``.

    The value is taken as sent (not scaled); it reads 0 until one arrives (``initially``
    sets another value).

    lc> segment 1 $ ctrl "cutoff"  ==  "0"
    """
    word = name.value if isinstance(name, Pure) else None
    why = check_name(word) if isinstance(word, str) else "it is not one word"
    if why is not None:
        raise LanguageError(f'ctrl: give one name in quotes, e.g. ctrl "cutoff" ({why})')
    return Controller(("ctrl", word))


@register
def initially(value: float, pat: Pattern) -> Pattern:
    """The value of a controller (``cc``, ``ctrl``) before it first moves.

    lc> segment 1 $ initially 0.5 $ cc 74  ==  "0.5"
    """
    if not isinstance(pat, Controller):
        raise LanguageError("initially gives a controller its value before it moves: apply it "
                            "to cc or ctrl itself, e.g. range 200 5000 $ initially 0.5 $ cc 74")
    return pat.with_default(value)


@register
def on(note: float, pat: Pattern) -> Pattern:
    """Pads: each MIDI note-on of ``note`` (0-127, any channel) plays one cycle of ``pat``.

    The cycle starts from its beginning a fixed latency after the note arrives (the same for
    every note, so pads played in time stay in time); the velocity scales ``gain``. Live
    only: an offline render hears no notes.

    lc> on 36 $ "hit"  ==  silence
    """
    if note != int(note) or not 0 <= note <= 127:
        raise LanguageError(f"on: the note must be from 0 to 127, not {note:g}")
    CONTROLLERS.use()
    return _triggered(int(note), pat, CONTROLLERS)


def _triggered(note: int, pat: Pattern, store: Controllers) -> Pattern:
    def query(span: Span) -> list[Event]:
        out = []
        for at, velocity in store.triggers(note, span.begin, span.end):
            begin, end = max(span.begin, at), min(span.end, at + 1)
            if begin > end:
                continue
            for e in pat.query_span(Span(begin - at, end - at)):
                whole = None if e.whole is None else Span(e.whole.begin + at, e.whole.end + at)
                out.append(Event(whole, Span(e.part.begin + at, e.part.end + at),
                                 _louder(e.value, velocity), e.sources))
        return out

    return Pattern(query)


def _louder(value: Any, velocity: float) -> Any:
    """An event's value with its gain scaled by ``velocity`` (0..1).

    >>> _louder("hit", 0.5), _louder({"sound": "hit", "gain": 0.8}, 0.5)
    ({'sound': 'hit', 'gain': 0.5}, {'sound': 'hit', 'gain': 0.4})
    """
    controls = dict(value) if isinstance(value, dict) else {"sound": value}
    gain = controls.get("gain", CONTROLS["gain"].default)
    if isinstance(gain, Sampled):
        at: Callable[[Any], float] = gain.at
        controls["gain"] = Sampled.derived(float(gain) * velocity, lambda c: at(c) * velocity)
    elif isinstance(gain, int | float) and not isinstance(gain, bool):
        controls["gain"] = gain * velocity
    return controls
