"""``--osc PORT``: evaluate code sent over OSC to localhost (address ``/eval``, one string).

A minimal OSC 1.0 decoder (strings, numbers, blobs, bundles) over a UDP socket bound to
127.0.0.1 only, so nothing off this machine can run code. Editors and other programs send::

    oscsend localhost 6010 /eval s 't1 $ "bell*2"'

>>> parse(message("/eval", 't1 $ "bell"'))
[('/eval', ['t1 $ "bell"'])]
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from latentcode.errors import LatentcodeError

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


def parse(data: bytes) -> list[Message]:
    """All messages of a datagram (a message, or a bundle of them, nested or not)."""
    try:
        if data.startswith(b"#bundle\0"):
            out, at = [], 16  # "#bundle\0" and the 8-byte time tag
            while at + 4 <= len(data):
                (size,) = struct.unpack_from(">i", data, at)
                if size < 0 or at + 4 + size > len(data):
                    raise OscError("OSC bundle element runs past the end of the packet")
                out += parse(data[at + 4 : at + 4 + size])
                at += 4 + size
            return out
        return [_message(data)]
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


class OscServer:
    """Receives OSC on 127.0.0.1:``port`` in a thread and hands ``/eval`` code to ``evaluate``.

    ``port`` 0 picks a free port (see :attr:`port`). Bad packets are told through ``say`` once
    each, and never stop the server.
    """

    def __init__(self, port: int, evaluate: Callable[[str], Any],
                 say: Callable[[str], None] = print) -> None:
        self.evaluate = evaluate
        self.say = say
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

    def _serve(self) -> None:
        while not self._halt.is_set():
            try:
                data, _ = self.sock.recvfrom(MAX_DATAGRAM)
            except TimeoutError:
                continue
            except OSError:
                break
            self.handle(data)

    def handle(self, data: bytes) -> None:
        """Act on one datagram."""
        try:
            messages = parse(data)
        except OscError as e:
            self.say(f"osc: ignored a bad packet ({e})")
            return
        for address, args in messages:
            if address == "/eval" and len(args) == 1 and isinstance(args[0], str):
                self.evaluate(args[0])
            else:
                self.say(f"osc: ignored {address} {args!r:.60}: send /eval with one string")

    def close(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self.sock.close()
