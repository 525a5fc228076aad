"""Events out: every voice that starts, sent as OSC (and MIDI) timed to when it is heard.

The scheduler calls :meth:`EventsOut.event` in the producer thread for every voice it starts.
That only appends to a bounded queue (when it is full the event is dropped and counted), so a
destination that is slow, gone or not listening can never hold up the audio. A sender thread
does the rest: it maps the voice's onset sample to the moment it leaves the engine (the
*heard time*, see :class:`HeardClock`), encodes one OSC message per event and sends it

- ``bundle`` (the default): at once, about the engine's latency ahead, inside an OSC bundle
  whose time tag is the heard time (NTP), as SuperDirt-style receivers expect;
- ``heard``: as a plain message at the heard time, for receivers that ignore time tags
  (an editor highlighting what plays).

MIDI goes to a JACK MIDI port (:mod:`latentcode.ports.midi_out`), written at the frame of the
heard time. Sending only: nothing here listens. The message (``/latentcode/event``)::

    track sound cycle cycles seconds N name_1 value_1 .. name_N value_N M line_1 col_1 end_1 ..

>>> from latentcode.ports.osc_codec import parse
>>> parse(encode(Outgoing("t1", "bell:2", 4.5, 0.25, 0.5, {"gain": 0.8}, ((1, 8, 14),))))
[('/latentcode/event', ['t1', 'bell:2', 4.5, 0.25, 0.5, 1, 'gain', 0.800000011920929, 1, 1, 8, 14])]
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from latentcode.controls import sound_name
from latentcode.errors import LatentcodeError
from latentcode.ports.heard import HeardClock, Stamp
from latentcode.ports.midi_clock import MidiClock
from latentcode.ports.osc_codec import message

ADDRESS = "/latentcode/event"
DEFAULT_HOST = "127.0.0.1"
QUEUE_SIZE = 1024  # events waiting for the sender; more are dropped (and counted)
POLL = 0.005  # s: the sender looks at its queue and the clock this often
IDLE_POLL = 0.05  # s: and this often while events go nowhere
WAIT_FOR_CLOCK = 1.0  # s: events wait this long for the audio's first buffer, then go anyway
NTP_EPOCH = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
MODES = ("bundle", "heard")
USAGE = (":send osc [HOST:]PORT [bundle|heard], :send midi [JACK-PORT], :send clock "
         "[JACK-PORT|off], :send off, or :send alone to see where events go")

@dataclass(frozen=True)
class Outgoing:
    """One event as it goes out: what the OSC message carries."""

    track: str
    sound: str
    cycle: float  # where it starts, in cycles
    cycles: float  # its duration in cycles
    seconds: float  # and in seconds
    controls: dict[str, float | str]  # the controls the pattern gave (absent ones: defaults)
    sources: tuple[tuple[int, int, int], ...]  # (line, column, end column) of each atom
    slot: int = 0  # the track's slot (its MIDI channel)


def encode(ev: Outgoing) -> bytes:
    """The OSC message of one event (see the module's doc for its arguments)."""
    args: list[str | int | float] = [ev.track, ev.sound, ev.cycle, ev.cycles, ev.seconds,
                                     len(ev.controls)]
    for name, value in ev.controls.items():
        args += (name, value)
    args.append(len(ev.sources))
    for source in ev.sources:
        args += (int(source[0]), int(source[1]), int(source[2]))
    return message(ADDRESS, *args)


def bundle(content: bytes, unix_time: float) -> bytes:
    """An OSC bundle of one message, time-tagged ``unix_time`` (seconds since 1970).

    >>> bundle(b"", NTP_EPOCH * -1.0 + 1.5)[8:16].hex()   # 1.5 s after the NTP epoch
    '0000000180000000'
    """
    tag = round((unix_time + NTP_EPOCH) * (1 << 32))
    return b"#bundle\0" + struct.pack(">Q", tag) + struct.pack(">i", len(content)) + content


def outgoing(track: Any, event: Any, length: int, sample_rate: int) -> Outgoing:
    """What goes out for ``event`` (a pattern Event) starting a voice on ``track``."""
    value = event.value
    controls = value if isinstance(value, dict) else {"sound": value}
    sound = sound_name(controls)  # with ``n`` applied: "bell" # n 3 is bell:3
    sent: dict[str, float | str] = {}
    for name, v in controls.items():
        if name in ("sound", "s"):
            continue
        if isinstance(v, int | float):  # a moving control (a float with .at) at its onset
            sent[name] = float(v)
        else:
            sent[name] = str(v)[:64]
    whole = event.whole
    return Outgoing(str(track.name), str(sound), float(whole.begin),
                    float(whole.end - whole.begin), length / sample_rate, sent,
                    tuple(event.sources), int(getattr(track, "slot", 0)))


def parse_destination(text: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` as (numeric IPv4 address, port); the host defaults to
    127.0.0.1, and another is used only when it is written out.

    >>> parse_destination("57120"), parse_destination("localhost:6010")
    (('127.0.0.1', 57120), ('127.0.0.1', 6010))
    """
    host, _, port_text = text.strip().rpartition(":")
    host = host or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 < port <= 65535:
        raise LatentcodeError(f"send OSC to PORT or HOST:PORT, e.g. 57120 or 127.0.0.1:57120 "
                              f"(not {text[:40]!r})")
    try:
        address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0]
    except (OSError, UnicodeError):
        raise LatentcodeError(f"cannot send OSC to {host[:40]!r}: no such host") from None
    return address, port


class OscOut:
    """One OSC destination: a UDP socket that sends, never listens (no bind, no receive)."""

    def __init__(self, host: str, port: int, mode: str = "bundle") -> None:
        if mode not in MODES:
            raise LatentcodeError(f"OSC events go out as {' or '.join(MODES)}, not {mode!r}")
        self.host, self.port, self.mode = host, port, mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)  # a full buffer drops a packet, never waits
        self.sent = self.failed = 0

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendto(data, (self.host, self.port))
            self.sent += 1
        except OSError:  # e.g. ECONNREFUSED from an earlier packet's ICMP: nobody listens
            self.failed += 1

    def describe(self) -> str:
        where = "" if self.loopback else " (another machine)"
        return (f"osc {self.host}:{self.port} {self.mode}{where}: {self.sent} sent"
                + (f", {self.failed} not delivered" if self.failed else ""))

    def close(self) -> None:
        self.sock.close()


def midi_note(ev: Outgoing) -> tuple[int, int, int]:
    """(channel 0-15, note, velocity) of an event: the track's slot is its channel, the note is
    60 plus the sound's number (``bell`` 60, ``bell:3`` 63), the velocity 100 times ``gain``.

    >>> midi_note(Outgoing("t2", "bell:3", 0, 1, 1, {"gain": 0.5}, (), slot=1))
    (1, 63, 50)
    """
    _, _, number = ev.sound.rpartition(":")
    note = 60 + int(number) if number.isdigit() and ":" in ev.sound else 60
    gain = ev.controls.get("gain", 1.0)
    velocity = round(100 * gain) if isinstance(gain, float) else 100
    return ev.slot % 16, min(127, note), max(1, min(127, velocity))


class EventsOut:
    """The destinations of events and the thread that sends to them.

    >>> out = EventsOut(); out.describe()
    'events go nowhere (:send osc PORT, :send midi [JACK-PORT])'
    """

    def __init__(self, report: Callable[[str], None] = print) -> None:
        self.report = report
        self.osc: dict[tuple[str, int], OscOut] = {}
        self.midi: Any = None  # a ports.midi_out.JackMidiOut
        self.queue: deque[tuple[Any, Any, int, int]] = deque()
        self.clock_out: MidiClock | None = None  # MIDI clock, while it is on
        self.ticks: deque[tuple[int, bytes]] = deque()  # its messages, for the sender
        self.dropped = 0  # events the full queue refused
        self.late = 0  # "heard" messages that were sent after their time
        self.clock: HeardClock | None = None
        self.sample_rate = 44100
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._heap: list[tuple[float, int, OscOut, bytes]] = []
        self._seq = itertools.count()

    # -- the producer's side -------------------------------------------------------------------
    def event(self, track: Any, event: Any, onset: int, length: int) -> None:
        """A voice started (the scheduler's ``on_start``): queue it, or drop it when full."""
        if self.osc or self.midi is not None:
            if len(self.queue) < QUEUE_SIZE:
                self.queue.append((track, event, onset, length))
            else:
                self.dropped += 1

    def block(self, start: int, n: int, clock: Any) -> None:
        """The producer made samples [start, start + n) (the scheduler's ``on_block``): the
        MIDI clock's ticks that fall in them are queued."""
        clock_out = self.clock_out
        if clock_out is not None:
            clock_out.block(start, n, clock)

    def _tick(self, sample: int, data: bytes) -> None:
        if len(self.ticks) < QUEUE_SIZE:
            self.ticks.append((sample, data))
        else:
            self.dropped += 1

    # -- live play -----------------------------------------------------------------------------
    def attach(self, stamp: Stamp, sample_rate: int) -> None:
        """Live play started: heard times come from ``stamp`` (``Engine.heard_stamp``)."""
        self.detach()
        self.sample_rate = sample_rate
        self.clock = HeardClock(stamp, sample_rate)
        self._halt.clear()
        self._start()

    def _start(self) -> None:
        """The sender runs while live and with somewhere to send: a performance that sends
        nothing has no thread waking up for it."""
        if self.clock is None or self._halt.is_set() or self._thread is not None:
            return
        if self.osc or self.midi is not None:
            self._thread = threading.Thread(target=self._run, name="latentcode-events-out",
                                            daemon=True)
            self._thread.start()

    def detach(self) -> None:
        """Live play stopped: the sender ends; destinations stay for the next start."""
        self._halt.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2.0)
        self.clock = None
        self._heap.clear()
        self.queue.clear()

    # -- destinations ----------------------------------------------------------------------------
    def command(self, arg: str) -> str:
        """Run the words of a ``:send`` command; the line to say.

        >>> EventsOut().command("osc 57120")
        'sending events as OSC /latentcode/event to 127.0.0.1:57120 (bundle)'
        """
        words = arg.split()
        kind, rest = (words[0], words[1:]) if words else ("", [])
        if not words:
            return self.describe()
        if kind == "osc" and 1 <= len(rest) <= 2:
            return self.send_osc(*rest)
        if kind == "midi" and len(rest) <= 1:
            return self.send_midi(*rest)
        if kind == "clock" and rest == ["off"]:
            return self.clock_off()
        if kind == "clock" and len(rest) <= 1:
            return self.send_clock(*rest)
        if kind == "off" and not rest:
            return self.off()
        raise LatentcodeError(f"{USAGE} (not {arg[:40]!r})")

    def send_osc(self, destination: str, mode: str = "bundle") -> str:
        """Send events as OSC to ``destination`` (``PORT`` or ``HOST:PORT``); a line to say."""
        host, port = parse_destination(destination)
        out = OscOut(host, port, mode)
        old = self.osc.pop((host, port), None)
        self.osc[(host, port)] = out
        if old is not None:
            old.close()
        self._start()
        where = "" if out.loopback else " (another machine: events leave this one)"
        return f"sending events as OSC {ADDRESS} to {host}:{port} ({mode}){where}"

    def send_midi(self, port: str | None = None, *, server: str | None = None) -> str:
        """Send events as MIDI notes on a JACK MIDI output, connected to ``port`` if given."""
        from latentcode.ports.midi_out import JackMidiOut

        if self.midi is None:
            self.midi = JackMidiOut(server=server)
        if port:
            self.midi.connect(port)
        self._start()
        return self.midi.describe()

    def send_clock(self, port: str | None = None, *, server: str | None = None) -> str:
        """Send MIDI clock (24 ticks a beat, Start at the next cycle) on the JACK MIDI output,
        connected to ``port`` if given; a line to say."""
        self.send_midi(port, server=server)
        if self.clock_out is None or not self.clock_out.on:
            self.clock_out = MidiClock(self._tick)
        return (f"sending MIDI clock on {self.midi.name}: 24 ticks a beat (4 beats a cycle), "
                f"Start at the next cycle")

    def clock_off(self) -> str:
        """Stop the MIDI clock (the follower gets Stop)."""
        clock_out = self.clock_out
        if clock_out is None or not clock_out.on:
            return "MIDI clock is off"
        clock_out.stop()
        self.clock_out = None if self.clock is None else clock_out  # Stop goes out live
        return "MIDI clock stops"

    def off(self) -> str:
        """Stop sending anywhere."""
        for out in self.osc.values():
            out.close()
        self.osc.clear()
        midi, self.midi = self.midi, None
        if midi is not None:
            midi.close()
        self.clock_out = None
        self.queue.clear()
        self.ticks.clear()
        return "events go nowhere now"

    def describe(self) -> str:
        """The destinations and what went to them, one per line."""
        lines = [out.describe() for out in self.osc.values()]
        if self.midi is not None:
            lines.append(self.midi.describe())
        if self.clock_out is not None and self.clock_out.on:
            lines.append("MIDI clock: on, 24 ticks a beat")
        if not lines:
            return "events go nowhere (:send osc PORT, :send midi [JACK-PORT])"
        if self.dropped or self.late:
            lines.append(f"{self.dropped} events dropped (queue full), {self.late} sent late")
        return "\n".join(lines)

    def close(self) -> None:
        self.detach()
        self.off()

    # -- the sender thread -----------------------------------------------------------------------
    def _run(self) -> None:
        clock, halt, heap = self.clock, self._halt, self._heap
        since = time.monotonic()
        while not halt.is_set():
            try:
                clock.observe()
                if self.queue and (clock.ready or time.monotonic() - since > WAIT_FOR_CLOCK):
                    while self.queue:
                        self._prepare(*self.queue.popleft())
                midi = self.midi
                while self.ticks and clock.ready:
                    sample, data = self.ticks.popleft()
                    if midi is not None:
                        midi.raw(clock.heard(sample), data)
                now = time.monotonic()
                while heap and heap[0][0] <= now:
                    _, _, out, data = heapq.heappop(heap)
                    out.send(data)
                idle = POLL if self.osc or self.midi is not None else IDLE_POLL
                wait = idle if not heap else min(idle, heap[0][0] - time.monotonic())
            except Exception as e:  # noqa: BLE001 - a bug here must not end events out
                self.report(f"events out: {type(e).__name__}: {e}")
                wait = POLL
            halt.wait(max(0.0, wait))

    def _prepare(self, track: Any, event: Any, onset: int, length: int) -> None:
        """Encode one event for every destination: bundles go now, the rest to the heap."""
        heard = self.clock.heard(onset)
        ev = outgoing(track, event, length, self.sample_rate)
        data = encode(ev)
        now = time.monotonic()
        for out in list(self.osc.values()):
            if out.mode == "bundle":
                out.send(bundle(data, time.time() + (heard - now)))
            else:
                if heard < now:
                    self.late += 1
                heapq.heappush(self._heap, (heard, next(self._seq), out, data))
        midi = self.midi
        if midi is not None:
            midi.note(heard, *midi_note(ev), ev.seconds)
