"""The OSC 1.0 wire format: decoding datagrams (messages, nested bundles) and encoding messages.

Shared by what listens (the ``--osc`` port in :mod:`latentcode.shell.osc`) and what sends.

>>> parse(message("/eval", 't1 $ "bell"'))
[('/eval', ['t1 $ "bell"'])]
"""

from __future__ import annotations

import struct
from typing import Any

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
