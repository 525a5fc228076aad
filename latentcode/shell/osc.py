"""``--osc PORT``: evaluate code sent over OSC to localhost (address ``/eval``, one string),
and move controllers (``/ctrl NAME VALUE``, read in the language as ``ctrl "NAME"``).

A minimal OSC 1.0 decoder (strings, numbers, blobs, bundles) over a UDP socket bound to
127.0.0.1 only, so nothing off this machine can run code. Editors and other programs send::

    oscsend localhost 6010 /eval s 't1 $ "bell*2"'
    oscsend localhost 6010 /ctrl sf cutoff 0.25

A ``/ctrl`` name is a short identifier (see :func:`~latentcode.patterns.controllers.check_name`)
and its value a finite number; anything else is dropped and counted like any bad packet.

>>> parse(message("/eval", 't1 $ "bell"'))
[('/eval', ['t1 $ "bell"'])]
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.patterns.controllers import CONTROLLERS
from latentcode.ports.osc_codec import Message, OscError, message, parse
from latentcode.shell.frontends import printable

__all__ = ["HOST", "MAX_DATAGRAM", "Message", "OscError", "OscServer", "message", "parse",
           "osc_files_line"]

HOST = "127.0.0.1"
MAX_DATAGRAM = 65535


def osc_files_line(allowed: bool) -> str:
    """What a front end says, after the port, about what OSC code may touch."""
    if allowed:
        return "osc: --osc-files: code from the port may also load, record and read folders"
    return ("osc: code only: :load, :reload, :record and bank are refused over OSC "
            "(--osc-files allows them)")


class OscServer:
    """Receives OSC on 127.0.0.1:``port`` in a thread and hands ``/eval`` code to ``evaluate``
    and ``/ctrl NAME VALUE`` to ``control`` (the controllers' store; it returns why it refuses
    a message, or None).

    ``port`` 0 picks a free port (see :attr:`port`). Nothing a sender does stops the server:
    every packet is parsed and acted on inside its own ``try``. Packets it cannot use are
    counted in :attr:`dropped` and told through ``say`` in one line at most every
    ``report_every`` seconds (the first at once, then how many since), so a flood of garbage
    cannot flood the performer's screen.
    """

    def __init__(self, port: int, evaluate: Callable[[str], Any],
                 say: Callable[[str], None] = print, *, report_every: float = 1.0,
                 control: Callable[[str, Any], str | None] = CONTROLLERS.control) -> None:
        if not 0 <= port <= 65535:
            raise LatentcodeError(f"the OSC port must be from 0 to 65535, not {port}")
        self.evaluate = evaluate
        self.control = control
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
            elif address == "/ctrl":
                try:
                    why = (self.control(args[0], args[1]) if len(args) == 2 else
                           "send /ctrl with a name and a number")
                except Exception as e:  # noqa: BLE001 - a store bug must not end the port
                    why = f"it broke the controllers ({type(e).__name__})"
                if why is not None:  # escaped and cut: the sender's text stays harmless
                    self._drop(f"/ctrl {printable(repr(args))[:60]}: {printable(why)[:80]}")
            else:
                # escaped: the sender's text never drives the terminal
                self._drop(f"{printable(address)[:40]} {args!r:.60}: "
                           "send /eval with one string or /ctrl NAME NUMBER")
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
