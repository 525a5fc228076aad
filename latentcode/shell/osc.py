"""``--osc PORT``: evaluate code sent over OSC to localhost (address ``/eval``, one string).

A minimal OSC 1.0 decoder (strings, numbers, blobs, bundles) over a UDP socket bound to
127.0.0.1 only, so nothing off this machine can run code. Editors and other programs send::

    oscsend localhost 6010 /eval s 't1 $ "bell*2"'

>>> parse(message("/eval", 't1 $ "bell"'))
[('/eval', ['t1 $ "bell"'])]
"""

from __future__ import annotations

import math
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.shell.frontends import printable

HOST = "127.0.0.1"
MAX_DATAGRAM = 65535

Message = tuple[str, list[Any]]


class OscError(ValueError):
    """A datagram that is not valid OSC."""


def _string(data: bytes, at: int) -> tuple[str, int]:
    """An OSC string at ``at`` (NUL-terminated, padded to 4 bytes) and the offset after it."""
    end = data.find(b"\0", at)
    if end < 0:
        raise OscError("unterminated OSC string")
    return data[at:end].decode("utf-8", "replace"), (end + 4) & ~3


def _blob(data: bytes, at: int) -> tuple[bytes, int]:
    (size,) = struct.unpack_from(">i", data, at)
    start = at + 4
    if size < 0 or start + size > len(data):
        raise OscError("OSC blob runs past the end of the packet")
    return data[start : start + size], (start + size + 3) & ~3


_FIXED = {"i": ">i", "f": ">f", "h": ">q", "d": ">d", "c": ">i", "r": ">I", "t": ">Q"}
_CONSTANT = {"T": True, "F": False, "N": None, "I": float("inf")}


def _message(data: bytes) -> Message:
    address, at = _string(data, 0)
    if not address.startswith("/"):
        raise OscError(f"an OSC address starts with '/', not {address[:20]!r}")
    if at >= len(data):
        return address, []
    tags, at = _string(data, at)
    if not tags.startswith(","):
        raise OscError("missing OSC type tags")
    args: list[Any] = []
    for tag in tags[1:]:
        if tag in ("s", "S"):
            value, at = _string(data, at)
        elif tag == "b":
            value, at = _blob(data, at)
        elif tag in _FIXED:
            fmt = _FIXED[tag]
            value = struct.unpack_from(fmt, data, at)[0]
            at += struct.calcsize(fmt)
        elif tag in _CONSTANT:
            value = _CONSTANT[tag]
        else:
            raise OscError(f"unsupported OSC type tag {tag!r}")
        args.append(value)
    return address, args


MAX_DEPTH = 8  # bundles inside bundles: real senders nest one or two deep


def parse(data: bytes) -> list[Message]:
    """All messages of a datagram (a message, or a bundle of them, nested or not).

    Iterative, with bundles nested at most :data:`MAX_DEPTH` deep: a crafted packet of
    thousands of nested bundles is one :class:`OscError`, never a RecursionError.

    >>> parse(b"#bundle" + bytes(9))   # an empty bundle
    []
    """
    out: list[Message] = []
    pending = [(memoryview(data), 0)]  # (packet, depth), a stack: the next element is on top
    try:
        while pending:
            packet, depth = pending.pop()
            if bytes(packet[:8]) != b"#bundle\0":
                out.append(_message(bytes(packet)))
                continue
            if depth >= MAX_DEPTH:
                raise OscError(f"OSC bundles nested more than {MAX_DEPTH} deep")
            if len(packet) < 16:
                raise OscError("truncated OSC packet (a bundle without its time tag)")
            elements, at = [], 16  # "#bundle\0" and the 8-byte time tag
            while at < len(packet):
                (size,) = struct.unpack_from(">i", packet, at)
                if size < 0 or at + 4 + size > len(packet):
                    raise OscError("OSC bundle element runs past the end of the packet")
                elements.append((packet[at + 4 : at + 4 + size], depth + 1))
                at += 4 + size
            pending.extend(reversed(elements))  # in order: the first element is popped first
        return out
    except struct.error as e:
        raise OscError(f"truncated OSC packet ({e})") from None


def _pad(raw: bytes) -> bytes:
    return raw + b"\0" * (4 - len(raw) % 4)


def message(address: str, *args: str | int | float) -> bytes:
    """Encode an OSC message of strings, ints and floats (for clients and tests)."""
    tags, body = ",", b""
    for a in args:
        if isinstance(a, str):
            tags, body = tags + "s", body + _pad(a.encode())
        elif isinstance(a, int):
            tags, body = tags + "i", body + struct.pack(">i", a)
        else:
            tags, body = tags + "f", body + struct.pack(">f", a)
    return _pad(address.encode()) + _pad(tags.encode()) + body


def osc_files_line(allowed: bool) -> str:
    """What a front end says, after the port, about what OSC code may touch."""
    if allowed:
        return "osc: --osc-files: code from the port may also load, record and read folders"
    return ("osc: code only: :load, :reload, :record and bank are refused over OSC "
            "(--osc-files allows them)")


class OscServer:
    """Receives OSC on 127.0.0.1:``port`` in a thread and hands ``/eval`` code to ``evaluate``.

    ``port`` 0 picks a free port (see :attr:`port`). Nothing a sender does stops the server:
    every packet is parsed and acted on inside its own ``try``. Packets it cannot use are
    counted in :attr:`dropped` and told through ``say`` in one line at most every
    ``report_every`` seconds (the first at once, then how many since), so a flood of garbage
    cannot flood the performer's screen.
    """

    def __init__(self, port: int, evaluate: Callable[[str], Any],
                 say: Callable[[str], None] = print, *, report_every: float = 1.0) -> None:
        if not 0 <= port <= 65535:
            raise LatentcodeError(f"the OSC port must be from 0 to 65535, not {port}")
        self.evaluate = evaluate
        self.say = say
        self.report_every = report_every
        self.dropped = 0  # packets (or messages of a bundle) ignored since the start
        self._unreported = 0
        self._last_reason = ""
        self._last_report = -math.inf
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((HOST, port))
        except OSError as e:
            self.sock.close()
            raise LatentcodeError(f"cannot listen for OSC on {HOST}:{port}: {e.strerror}") from None
        self.sock.settimeout(0.2)  # so close() is noticed quickly
        self.port = self.sock.getsockname()[1]
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="latentcode-osc", daemon=True)

    def start(self) -> OscServer:
        self._thread.start()
        return self

    @property
    def serving(self) -> bool:
        """Whether the receiving thread is alive."""
        return self._thread.is_alive()

    def _serve(self) -> None:
        while not self._halt.is_set():
            try:
                data, _ = self.sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                self._report()
                continue
            except OSError:
                if self._halt.is_set():
                    break
                continue  # e.g. ICMP errors surfacing on a UDP socket: keep listening
            self.handle(data)

    def handle(self, data: bytes) -> None:
        """Act on one datagram; never raises (whatever it holds, the next one is served)."""
        try:
            messages = parse(data)
        except OscError as e:
            self._drop(f"a bad packet ({e})")
            return
        except Exception as e:  # noqa: BLE001 - a decoder bug must not end the port
            self._drop(f"a packet that broke the decoder ({type(e).__name__})")
            return
        for address, args in messages:
            if address == "/eval" and len(args) == 1 and isinstance(args[0], str):
                try:
                    self.evaluate(args[0])
                except Exception as e:  # noqa: BLE001 - the front end's bug: tell it, go on
                    self.say(f"osc: /eval failed: {type(e).__name__}: {e}")
            else:
                # escaped: the sender's text never drives the terminal
                self._drop(f"{printable(address)[:40]} {args!r:.60}: "
                           "send /eval with one string")
        self._report()

    def _drop(self, reason: str) -> None:
        self.dropped += 1
        self._unreported += 1
        self._last_reason = reason
        self._report()

    def _report(self, *, now: float | None = None) -> None:
        """Tell the drops not told yet, unless a line was said less than report_every ago."""
        if not self._unreported:
            return
        now = time.monotonic() if now is None else now
        if now - self._last_report < self.report_every:
            return
        if self._unreported == 1:
            line = f"osc: ignored {self._last_reason}"
        else:
            line = f"osc: ignored {self._unreported} packets (the last: {self._last_reason})"
        self._unreported = 0
        self._last_report = now
        try:
            self.say(line)
        except Exception:  # noqa: BLE001 - a closed terminal must not end the port either
            pass

    def close(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self.sock.close()
        self._report(now=math.inf)
