"""MIDI coming in: control changes and notes from JACK MIDI ports or the ALSA sequencer, written
into the controllers' store (:mod:`latentcode.patterns.controllers`).

JACK (the default when the audio plays through JACK): a client ``latentcode-midi`` with one
input port ``midi_in`` on the same server as the audio (``$JACK_DEFAULT_SERVER``). Connect a
keyboard or a program to it with any patchbay, ``jack_connect``, ``:midi connect PORT`` or
``--midi-in-connect 'a2j:*'``. Its process callback does nothing slow: it reads each event's
bytes and replaces one tuple in the store; the audio producer never waits for it.

ALSA (``--midi-in alsa``): through mido and python-rtmidi where they are installed (``pip
install mido python-rtmidi``); a virtual input port ``latentcode-midi`` appears, and
``--midi-in-connect NAME`` also opens the matching devices.

Without any of them everything else works, and ``:midi`` says why there is no MIDI.

>>> parse(bytes([0xB1, 74, 127])), parse(bytes([0x99, 36, 0])), parse(bytes([0xF8]))
(('cc', 2, 74, 127), ('off', 10, 36, 0), None)
"""

from __future__ import annotations

import fnmatch
from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.patterns.controllers import Controllers
from latentcode.ports.jack_client import open_jack_client

KINDS = ("auto", "jack", "alsa", "none")
CLIENT = "latentcode-midi"
PORT = "midi_in"
INSTALL_ALSA = "pip install mido python-rtmidi"


def parse(data: bytes) -> tuple[str, int, int, int] | None:
    """A MIDI message as (``"cc"`` | ``"on"`` | ``"off"``, channel 1-16, number, value), or None
    for everything else (clock, program change, sysex ...). A note-on of velocity 0 is off."""
    if len(data) < 3:
        return None
    kind, channel = data[0] & 0xF0, (data[0] & 0x0F) + 1
    number, value = data[1] & 0x7F, data[2] & 0x7F
    if kind == 0xB0:
        return ("cc", channel, number, value)
    if kind == 0x90 and value:
        return ("on", channel, number, value)
    if kind in (0x80, 0x90):
        return ("off", channel, number, value)
    return None


def deliver(store: Controllers, data: bytes) -> bool:
    """Write one MIDI message into ``store``; False when it is not one latentcode uses."""
    message = parse(data)
    if message is None:
        return False
    kind, channel, number, value = message
    if kind == "cc":
        store.control_change(channel, number, value)
    elif kind == "on":
        store.note_on(channel, number, value)
    else:
        store.note_off(channel, number)
    return True


class JackMidiIn:
    """A JACK client with one MIDI input port feeding ``store``."""

    kind = "jack"

    def __init__(self, store: Controllers, *, name: str = CLIENT,
                 server: str | None = None) -> None:
        self.client = open_jack_client(name, server, otherwise=", or use --midi-in alsa")
        self.store = store
        self.received = 0  # MIDI events read
        self.errors = 0  # events whose handling failed (never raised into JACK)
        self.port = self.client.midi_inports.register(PORT)
        self.client.set_process_callback(self._process)
        self.client.activate()

    @property
    def name(self) -> str:
        """The full name of the input port, e.g. ``latentcode-midi:midi_in``."""
        return self.port.name

    def _process(self, frames: int) -> None:
        # JACK's real-time thread: read the bytes, write the store, nothing else
        for _offset, data in self.port.incoming_midi_events():
            self.received += 1
            try:
                deliver(self.store, bytes(data))
            except Exception:  # noqa: BLE001 - a failure here must not stop JACK's cycle
                self.errors += 1

    def sources(self) -> list[str]:
        """The MIDI outputs on the JACK server that could play into latentcode."""
        own = f"{self.client.name}:"
        return [p.name for p in self.client.get_ports(is_midi=True, is_output=True)
                if not p.name.startswith(own)]

    def connections(self) -> list[str]:
        """The ports connected to ours."""
        return [p.name for p in self.client.get_all_connections(self.port)]

    def connect(self, pattern: str) -> list[str]:
        """Connect every MIDI output whose name matches ``pattern`` (a name or a glob such as
        ``a2j:*``); the names connected (none: a :class:`LatentcodeError` listing them)."""
        found = [p for p in self.sources() if fnmatch.fnmatchcase(p, pattern)]
        if not found:
            have = ", ".join(self.sources()) or "none"
            raise LatentcodeError(f"no JACK MIDI output matches {pattern[:60]!r} (there are: "
                                  f"{have[:300]})")
        connected = set(self.connections())
        for source in found:
            if source not in connected:
                self.client.connect(source, self.port)
        return found

    def describe(self) -> list[str]:
        """Lines for ``:midi``."""
        fed = ", ".join(self.connections()) or "nothing yet (:midi connect PORT)"
        return [f"MIDI in: JACK port {self.name}, fed by {fed}; {self.received} events read",
                f"JACK MIDI outputs: {', '.join(self.sources()) or 'none'}"]

    def close(self) -> None:
        try:
            self.client.deactivate()
            self.client.close()
        except Exception:  # noqa: BLE001 - a server gone away: nothing left to release
            pass


class AlsaMidiIn:
    """MIDI from the ALSA sequencer through mido and python-rtmidi (optional; not in the
    tests: this machine's tests have no sequencer)."""

    kind = "alsa"

    def __init__(self, store: Controllers, *, name: str = CLIENT) -> None:
        mido = _mido()
        self.store = store
        self.received = 0
        self.name = name
        try:
            self.ports: list[Any] = [mido.open_input(name, virtual=True, callback=self._on)]
        except Exception as e:  # noqa: BLE001 - rtmidi raises its own errors
            raise LatentcodeError(f"no ALSA MIDI: {e}") from None

    def _on(self, message: Any) -> None:  # rtmidi's thread
        self.received += 1
        try:
            deliver(self.store, bytes(message.bytes()))
        except Exception:  # noqa: BLE001 - never into rtmidi's thread
            pass

    def sources(self) -> list[str]:
        return [n for n in _mido().get_input_names() if not n.startswith(self.name)]

    def connect(self, pattern: str) -> list[str]:
        found = [n for n in self.sources() if fnmatch.fnmatchcase(n, pattern)]
        if not found:
            raise LatentcodeError(f"no ALSA MIDI input matches {pattern[:60]!r} (there are: "
                                  f"{', '.join(self.sources())[:300] or 'none'})")
        for source in found:
            self.ports.append(_mido().open_input(source, callback=self._on))
        return found

    def describe(self) -> list[str]:
        opened = ", ".join(p.name for p in self.ports)
        return [f"MIDI in: ALSA ports {opened}; {self.received} events read",
                f"ALSA MIDI inputs: {', '.join(self.sources()) or 'none'}"]

    def close(self) -> None:
        for port in self.ports:
            try:
                port.close()
            except Exception:  # noqa: BLE001
                pass


def _mido() -> Any:
    try:
        import mido

        mido.set_backend("mido.backends.rtmidi", load=True)
    except Exception as e:  # noqa: BLE001 - ImportError, or rtmidi missing behind mido
        raise LatentcodeError(f"no ALSA MIDI: mido and python-rtmidi are needed ({INSTALL_ALSA};"
                              f" {type(e).__name__})") from None
    return mido


def open_midi_in(kind: str, store: Controllers, *, audio: str = "none",
                 connect: str | None = None) -> JackMidiIn | AlsaMidiIn | None:
    """The MIDI input ``kind`` names (``auto``: JACK when the audio plays through JACK, else
    ALSA where mido is installed), connected to the sources matching ``connect``; None for
    ``none``. A :class:`LatentcodeError` says in one line why one cannot start.

    >>> open_midi_in("none", Controllers()) is None
    True
    >>> open_midi_in("usb", Controllers())
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: --midi-in takes auto, jack, alsa or none, not 'usb'
    """
    if kind not in KINDS:
        raise LatentcodeError(f"--midi-in takes {', '.join(KINDS[:-1])} or none, not {kind!r}")
    if kind == "auto":
        kind = "jack" if audio == "jack" else "alsa"
    if kind == "none":
        return None
    midi = JackMidiIn(store) if kind == "jack" else AlsaMidiIn(store)
    if connect:
        try:
            midi.connect(connect)
        except BaseException:
            midi.close()
            raise
    return midi
