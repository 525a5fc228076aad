"""The audio backends, and the probes that refuse one cleanly before pyo can crash or stall on it.

pyo 1.1.0 segfaults booting PortAudio with no output device and stalls for seconds booting
JACK with no server (see docs/audio-engine.md), so a live engine asks these probes first; each
answers in milliseconds with a one-line :class:`~latentcode.errors.LatentcodeError`.

:data:`BACKENDS` is the one list of backends in the program; :data:`LIVE_BACKENDS` are those
that play in real time (what a performer picks with ``--audio``).

>>> LIVE_BACKENDS, BACKENDS[-1]
(('jack', 'portaudio', 'none'), 'offline')
>>> available_backends("no-such-server")[-1]
'offline'
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.quiet import quiet_stderr

# "none" plays in real time on no device (pyo's manual server, paced by the engine), so time,
# recording and statistics work on a machine without a sound card.
LIVE_BACKENDS = ("jack", "portaudio", "none")
BACKENDS = (*LIVE_BACKENDS, "offline")


def load_pyo() -> Any:
    """Import pyo without its banner about wxPython (we never open its GUI).

    >>> load_pyo().__name__
    'pyo'
    """
    os.environ.setdefault("PYO_GUI_WX", "0")
    import pyo

    return pyo


def check_portaudio(device: int | None = None) -> None:
    """Raise a one-line :class:`LatentcodeError` unless PortAudio has an output to play on.

    pyo 1.1.0 segfaults booting PortAudio without an output device, so this runs first. On a
    machine without a sound card:

    >>> check_portaudio()  # doctest: +SKIP
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: no audio output device found by PortAudio ...
    """
    pyo = load_pyo()
    with quiet_stderr():
        count = pyo.pa_count_devices()
        default = pyo.pa_get_default_output() if count > 0 else -1
        names, indexes = pyo.pa_get_output_devices() if count > 0 else ([], [])
    if not indexes or (device is None and default < 0):
        raise LatentcodeError(
            "no audio output device found by PortAudio: start jackd and use the jack backend, "
            "or render to a file"
        )
    if device is not None and device not in indexes:
        listing = ", ".join(f"{i}: {n}" for i, n in zip(indexes, names, strict=False))
        raise LatentcodeError(f"audio device {device} is not an output device (outputs: {listing})")


def check_input(backend: str) -> None:
    """Raise a one-line :class:`LatentcodeError` unless ``backend`` can take audio in: JACK
    always can (ports that something may connect to), PortAudio with an input device.

    >>> check_input("none")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: the none backend has no audio input: play through JACK ...
    """
    if backend == "jack":
        return
    if backend == "portaudio":
        pyo = load_pyo()
        with quiet_stderr():
            default = pyo.pa_get_default_input() if pyo.pa_count_devices() > 0 else -1
        if default >= 0:
            return
        raise LatentcodeError("no audio input device found by PortAudio: play through JACK for "
                              "`in` and :sample, or start with --input none")
    raise LatentcodeError(f"the {backend} backend has no audio input: play through JACK "
                          "(--audio jack) for `in` and :sample, or render with --input FILE")


def output_devices() -> list[tuple[int, str, bool]]:
    """PortAudio's output devices as (index for ``device=``, name, is default); [] if none.

    >>> output_devices()  # doctest: +SKIP
    [(0, 'HDA Intel PCH: ALC3246 Analog (hw:0,0)', True)]
    """
    pyo = load_pyo()
    with quiet_stderr():
        if pyo.pa_count_devices() <= 0:
            return []
        names, indexes = pyo.pa_get_output_devices()
        default = pyo.pa_get_default_output()
    return [(i, n, i == default) for i, n in zip(indexes, names, strict=False)]


def _libjack() -> ctypes.CDLL | None:
    """pyo's own bundled libjack (the copy pyo will use), else the system's."""
    pyo = load_pyo()
    libs = os.path.join(os.path.dirname(os.path.dirname(pyo.__file__)), "pyo.libs")
    candidates = sorted(glob.glob(os.path.join(libs, "libjack*.so*")))
    found = ctypes.util.find_library("jack")
    for path in candidates + ([found] if found else []):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


_JACK_NO_START_SERVER, _JACK_SERVER_NAME = 0x01, 0x04
_jack_silent = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(lambda message: None)


def check_jack(server: str | None = None) -> tuple[int, int]:
    """Return (sample rate, period) of the running JACK server, or raise a one-line error.

    Probes with a client that may not start a server, so it answers in milliseconds where
    pyo's own boot would stall ~6 s trying to autostart jackd. ``server`` defaults to
    ``$JACK_DEFAULT_SERVER``, then ``default``.

    >>> check_jack("no-such-server")
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: no JACK server 'no-such-server' is running: start one ...
    """
    name = server or os.environ.get("JACK_DEFAULT_SERVER") or "default"
    lib = _libjack()
    if lib is None:
        raise LatentcodeError("the JACK library (libjack) is not installed: install jackd2")
    lib.jack_client_open.restype = ctypes.c_void_p
    lib.jack_client_open.argtypes = [
        ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p
    ]
    lib.jack_client_close.argtypes = [ctypes.c_void_p]
    lib.jack_get_sample_rate.argtypes = [ctypes.c_void_p]
    lib.jack_get_sample_rate.restype = ctypes.c_uint32
    lib.jack_get_buffer_size.argtypes = [ctypes.c_void_p]
    lib.jack_get_buffer_size.restype = ctypes.c_uint32
    status = ctypes.c_int(0)
    # libjack prints its own failure messages; hush them for the probe, then restore them.
    try:
        saved = ctypes.c_void_p.in_dll(lib, "jack_error_callback").value
    except ValueError:
        saved = None
    lib.jack_set_error_function(_jack_silent)
    try:
        with quiet_stderr():
            client = lib.jack_client_open(
                b"latentcode-probe",
                _JACK_NO_START_SERVER | _JACK_SERVER_NAME,
                ctypes.byref(status),
                name.encode(),
            )
            if client:
                rate, period = lib.jack_get_sample_rate(client), lib.jack_get_buffer_size(client)
                lib.jack_client_close(client)
    finally:
        if saved is not None:
            ctypes.c_void_p.in_dll(lib, "jack_error_callback").value = saved
    if not client:
        raise LatentcodeError(
            f"no JACK server '{name}' is running: start one (e.g. jackd -d alsa, or "
            "jackd -r -d dummy -r 44100 -p 256 for no sound card) or use another backend"
        )
    return int(rate), int(period)


def available_backends(jack_server: str | None = None) -> list[str]:
    """The backends that would start now, best first; ``"offline"`` always works.

    >>> available_backends("no-such-server")[-1]
    'offline'
    """
    found = []
    for name, check in (("jack", lambda: check_jack(jack_server)), ("portaudio", check_portaudio)):
        try:
            check()
        except LatentcodeError:
            continue
        found.append(name)
    return found + ["offline"]
