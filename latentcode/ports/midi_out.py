"""MIDI out through JACK: notes written in the process callback at the frame they are heard.

:class:`JackMidiOut` is a JACK client (``latentcode-events``) with one MIDI output port,
``out``. The events-out sender (:mod:`latentcode.ports.events_out`) hands it notes with their
heard time (``time.monotonic()`` seconds); the process callback turns that time into a frame
of the cycle it falls in (JACK knows how far into the cycle it is), writes the note-on there
and the note-off its duration later. A note already late goes out at the cycle's first frame.

JACK-Client is imported only here, when MIDI out is asked for; without it, or without a
running JACK server, one line says so and everything else works.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque

from latentcode.errors import LatentcodeError
from latentcode.ports.jack_client import open_jack_client

CLIENT = "latentcode-events"
MAX_PENDING = 4096  # notes waiting for their cycle; more are dropped


class JackMidiOut:
    """A JACK MIDI output that plays notes at their heard time.

    >>> out = JackMidiOut(); out.connect("fluidsynth:midi_00")   # doctest: +SKIP
    >>> soon = time.monotonic() + 0.1                             # doctest: +SKIP
    >>> out.note(soon, channel=0, note=60, velocity=100, seconds=0.25)  # doctest: +SKIP
    """

    def __init__(self, name: str = CLIENT, server: str | None = None) -> None:
        self.client = open_jack_client(name, server)
        self.port = self.client.midi_outports.register("out")
        self.sample_rate = self.client.samplerate
        self.pending: deque[tuple[float, bytes]] = deque()  # from the sender thread
        self._heap: list[tuple[float, int, bytes]] = []  # the callback's own
        self._seq = itertools.count()
        self.sent = self.late = self.dropped = 0
        self.client.set_process_callback(self._process)
        self.client.activate()

    @property
    def name(self) -> str:
        """The output port's full name, to connect a synth to."""
        return self.port.name

    def connect(self, port: str) -> None:
        """Connect the output to JACK MIDI input ``port`` (e.g. ``fluidsynth:midi_00``)."""
        try:
            self.client.connect(self.port, port)
        except Exception as e:  # noqa: BLE001 - jack raises JackError or ValueError
            names = [p.name for p in self.client.get_ports(is_midi=True, is_input=True)]
            raise LatentcodeError(f"cannot connect MIDI out to {port!r} ({e}); the JACK MIDI "
                                  f"inputs are: {', '.join(names) or 'none'}") from None

    def note(self, heard: float, channel: int, note: int, velocity: int,
             seconds: float) -> None:
        """Play ``note`` at ``heard`` (``time.monotonic()`` seconds) for ``seconds``."""
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self.pending.append((heard, bytes((0x90 | channel, note, velocity))))
        self.pending.append((heard + max(seconds, 0.001), bytes((0x80 | channel, note, 0))))

    def raw(self, heard: float, data: bytes) -> None:
        """Write ``data`` (a MIDI message, e.g. a clock tick) at ``heard``."""
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1
            return
        self.pending.append((heard, data))

    def _process(self, frames: int) -> None:
        """JACK's process callback: write the notes due in this cycle at their frames."""
        port = self.port
        port.clear_buffer()
        heap, pending = self._heap, self.pending
        while pending:
            heard, data = pending.popleft()
            heapq.heappush(heap, (heard, next(self._seq), data))
        if not heap:
            return
        sr = self.sample_rate
        cycle_start = time.monotonic() - self.client.frames_since_cycle_start / sr
        cycle_end = cycle_start + frames / sr
        last = 0
        while heap and heap[0][0] < cycle_end:
            heard, _, data = heapq.heappop(heap)
            offset = round((heard - cycle_start) * sr)
            if offset < 0:
                self.late += data[0] >> 4 == 0x9
                offset = 0
            offset = max(last, min(frames - 1, offset))  # events in order within a cycle
            try:
                port.write_midi_event(offset, data)
            except Exception:  # noqa: BLE001 - the port's buffer is full: drop, never raise
                self.dropped += 1
                continue
            last = offset
            self.sent += data[0] >> 4 == 0x9

    def describe(self) -> str:
        connections = [p.name for p in self.port.connections]
        to = ", ".join(connections) if connections else "nothing yet (connect it in JACK)"
        late = f", {self.late} late" if self.late else ""
        return f"midi {self.name} -> {to}: {self.sent} notes{late}"

    def close(self) -> None:
        try:
            self.client.deactivate()
            self.client.close()
        except Exception:  # noqa: BLE001 - the server may be gone already
            pass
