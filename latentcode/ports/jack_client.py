"""Opening a JACK client for MIDI, or saying in one line why there is none.

MIDI in and MIDI out each open a client of their own on the audio's server; JACK-Client (and so
libjack) is imported only here, when one is asked for.
"""

from __future__ import annotations

from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.quiet import quiet_stderr


def open_jack_client(name: str, server: str | None = None, *, otherwise: str = "") -> Any:
    """A ``jack.Client`` named ``name`` on ``server`` (None: ``$JACK_DEFAULT_SERVER``), never
    starting a server; a :class:`LatentcodeError` when there is none, ending with ``otherwise``
    (what else the performer can do)."""
    try:
        import jack
    except Exception as e:  # noqa: BLE001 - ImportError, or OSError when libjack is missing
        raise LatentcodeError(f"no JACK MIDI: the JACK library cannot be loaded ({e}); "
                              f"install jackd2{otherwise}") from None
    try:
        with quiet_stderr():  # libjack prints its failure in lines of its own
            return jack.Client(name, no_start_server=True, servername=server)
    except jack.JackError:
        raise LatentcodeError(f"no JACK MIDI: no JACK server is running (start jackd"
                              f"{otherwise})") from None
