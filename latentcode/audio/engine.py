"""The audio engine: blocks of decoded per-track audio in, one mixed and limited stereo stream out.

A :class:`Source` (the session, in the real program) writes stereo audio for every track into
blocks, each starting at an absolute sample index of the engine's clock. The engine queues those
blocks in an :class:`~latentcode.audio.ring.AudioRing` and pyo plays them through this graph::

    ring ─(server callback, zero-copy numpy views)─► DataTable(buffersize, 2·tracks) ─► TableScan
      per track: ButLP(lpf) ─► ButHP(hpf) × gain ─┬─────────────────────────────► dry bus ─┐
                                                  ├─ × room ─► Freeverb (shared) ──────────┤
                                                  └─ × delay ─► Delay (shared) ────────────┤
      master: Σ × master fade ─► Compress (-3 dB, 20:1, 5 ms lookahead) ─► Clip ±1 ─► .out()
                                                                              └─► recorder

Live (``"jack"`` or ``"portaudio"``) a producer thread calls ``source.fill`` whenever fewer than
``lookahead`` samples are queued; the audio thread only copies. Offline (``"offline"``) the same
graph runs on ``Server(audio="manual")`` and :meth:`Engine.render` produces blocks just in time,
so a render is deterministic. Render while performing in another *process*: an offline render in
the live process stalls the live audio (see notes/pyo-engine.md).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import gc
import glob
import math
import os
import queue
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from latentcode.audio.ring import AudioRing
from latentcode.errors import LatentcodeError

BACKENDS = ("jack", "portaudio", "none", "offline")
CONTROLS = ("gain", "lpf", "hpf", "room", "delay")

# A source sample beyond ±4 (+12 dBFS) is a bug, not music; clipping it before the filters keeps
# every filter, reverb and delay state finite, so one bad block cannot silence a track for good.
SAMPLE_LIMIT = 4.0
CONTROL_GLIDE = 0.02  # s: controls ramp this long, short enough to feel instant, no zipper noise
OPEN_HPF = 5.0  # Hz: an "off" high-pass still removes DC
REVERB_SIZE, REVERB_DAMP = 0.85, 0.55
# Dotted eighth at 120 BPM, the classic "rhythmic" echo; the session may sync it to its tempo
# with Engine.set_delay. Feedback 0.4 gives ~4 audible repeats.
DELAY_TIME, DELAY_FEEDBACK, DELAY_MAX = 0.375, 0.4, 4.0
LIMIT_THRESH, LIMIT_RATIO, LIMIT_LOOKAHEAD_MS = -3.0, 20.0, 5.0
PANIC_SECONDS = 0.03  # long enough for the fade and for the effects to be cleared
UNDERRUN_REPORT_EVERY = 5.0  # s: a slow source is news once, not a message per buffer
SWITCH_INTERVAL = 0.001  # s: how long a Python thread may keep the GIL from the audio thread
OFFLINE_PREROLL = 2  # silent buffers before an offline render: pyo's start fade lands there


class Source(Protocol):
    """What the engine plays: per-track stereo audio, one block at a time.

    ``fill(out, start)`` writes ``out.shape[2]`` samples, the first at absolute sample ``start``
    of the engine clock, into ``out`` (float32, shape ``(tracks, 2, n)``, zeroed by the engine),
    and returns per track a dict of audio controls that apply from the block's first sample
    (missing keys keep their value; ``None`` instead of a list means no change):

    - ``gain``: track fader, linear, default 1 (the source already applied per-voice gain/pan)
    - ``lpf`` / ``hpf``: cutoff in Hz; ``None`` or 0 opens the filter
    - ``room`` / ``delay``: send level 0–1 to the shared reverb / delay

    ``None`` as a value resets that control to its default. Values are clamped to their range;
    unknown keys and non-numbers are ignored and reported once on ``Engine.messages``.

    >>> class Clicks:
    ...     tracks = 1
    ...     def fill(self, out, start):
    ...         out[0, :, (-start) % 22050 :: 22050] = 0.5   # a click every half second
    ...         return [{"lpf": 2000}]
    """

    tracks: int

    def fill(self, out: np.ndarray, start: int) -> Sequence[dict[str, Any] | None] | None: ...


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of the engine's counters (see :attr:`Engine.stats`)."""

    underruns: int  # audio buffers in which the ring ran dry while playing
    underrun_samples: int  # samples of silence those gaps added
    blocks: int  # blocks produced by the source
    fill_errors: int  # blocks whose fill raised (played as silence)
    producer_load: float  # time spent in fill / duration of the audio it produced (all blocks)
    producer_load_recent: float  # the same over about the last second
    producer_load_peak: float  # the worst single block
    ring_fill: int  # samples queued now
    position: int  # the clock: source samples that have been played
    output_frames: int  # frames the engine has output, gaps and panic silence included
    dropped: int  # queued samples thrown away by panic()


# ---------------------------------------------------------------------------------------------
# Backend checks: refuse cleanly before pyo can crash or stall


def _pyo() -> Any:
    """Import pyo without its banner about wxPython (we never open its GUI)."""
    os.environ.setdefault("PYO_GUI_WX", "0")
    import pyo

    return pyo


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: ALSA and libjack print pages of noise from C while probing."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def check_portaudio(device: int | None = None) -> None:
    """Raise a one-line :class:`LatentcodeError` unless PortAudio has an output to play on.

    pyo 1.1.0 segfaults booting PortAudio without an output device, so this runs first. On a
    machine without a sound card:

    >>> check_portaudio()  # doctest: +SKIP
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: no audio output device found by PortAudio ...
    """
    pyo = _pyo()
    with _quiet_stderr():
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


def output_devices() -> list[tuple[int, str, bool]]:
    """PortAudio's output devices as (index for ``device=``, name, is default); [] if none.

    >>> output_devices()  # doctest: +SKIP
    [(0, 'HDA Intel PCH: ALC3246 Analog (hw:0,0)', True)]
    """
    pyo = _pyo()
    with _quiet_stderr():
        if pyo.pa_count_devices() <= 0:
            return []
        names, indexes = pyo.pa_get_output_devices()
        default = pyo.pa_get_default_output()
    return [(i, n, i == default) for i, n in zip(indexes, names, strict=False)]


def _libjack() -> ctypes.CDLL | None:
    """pyo's own bundled libjack (the copy pyo will use), else the system's."""
    pyo = _pyo()
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
        with _quiet_stderr():
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


# ---------------------------------------------------------------------------------------------
# The pyo graph


class _Mixer:
    """The pyo objects of the graph, built on a booted server; owns the table views.

    Every object is kept in ``_objects`` in creation order, and :meth:`close` releases the numpy
    views first, then the objects newest first (outputs, effects, filters, the TableScan reader,
    and last the table) — a view that outlives its table segfaults, often at exit.
    """

    def __init__(self, pyo: Any, tracks: int, buffersize: int, sr: float) -> None:
        self._objects: list[Any] = []
        self._jumped: list[Any] = []
        keep = self._keep
        channels = 2 * tracks
        self.table = keep(pyo.DataTable(size=buffersize, chnls=channels))
        self.views = [np.asarray(self.table.getBuffer(ch)) for ch in range(channels)]
        scan = keep(pyo.TableScan(self.table))
        defaults = {"gain": 1.0, "lpf": min(20000.0, 0.45 * sr), "hpf": OPEN_HPF, "room": 0.0,
                    "delay": 0.0}
        self.sigs = {
            key: [keep(pyo.SigTo(value, time=CONTROL_GLIDE, init=value)) for _ in range(tracks)]
            for key, value in defaults.items()
        }

        def per_channel(key: str) -> list[Any]:
            return [sig for sig in self.sigs[key] for _ in (0, 1)]

        low = keep(pyo.ButLP(scan, freq=per_channel("lpf")))
        track_out = keep(pyo.ButHP(low, freq=per_channel("hpf"), mul=per_channel("gain")))
        dry = keep(pyo.Mix(track_out, voices=2))  # Mix sums even streams left, odd right
        room_send = keep(pyo.Mix(keep(pyo.Sig(track_out, mul=per_channel("room"))), voices=2))
        self.reverb = keep(pyo.Freeverb(room_send, size=REVERB_SIZE, damp=REVERB_DAMP, bal=1.0))
        delay_send = keep(pyo.Mix(keep(pyo.Sig(track_out, mul=per_channel("delay"))), voices=2))
        self.delay = keep(pyo.Delay(delay_send, delay=DELAY_TIME, feedback=DELAY_FEEDBACK,
                                    maxdelay=DELAY_MAX))
        self.master = keep(pyo.SigTo(1.0, time=0.01, init=1.0))
        bus = keep(pyo.Mix([dry, self.reverb, self.delay], voices=2, mul=self.master))
        limiter = keep(pyo.Compress(bus, thresh=LIMIT_THRESH, ratio=LIMIT_RATIO, risetime=0.001,
                                    falltime=0.1, lookahead=LIMIT_LOOKAHEAD_MS, knee=0.3))
        keep(pyo.Clip(limiter, min=-1.0, max=1.0)).out()

    def _keep(self, obj: Any) -> Any:
        self._objects.append(obj)  # unreferenced pyo objects are collected and go silent
        return obj

    def set(self, track: int, key: str, value: float, glide: bool = True) -> None:
        """Glide the control ``key`` of ``track`` to ``value`` (or jump, at a source's start)."""
        sig = self.sigs[key][track]
        if not glide:
            # SigTo reads its time when it next computes, so the glide comes back a buffer later
            sig.time = 0.0
            self._jumped.append(sig)
        sig.value = value

    def settle(self) -> None:
        """Give controls that jumped in the last buffer their glide back."""
        while self._jumped:
            self._jumped.pop().time = CONTROL_GLIDE

    def fade(self, to: float, seconds: float) -> None:
        """Ramp the master to ``to`` (0 or 1) over ``seconds``."""
        self.master.time = seconds
        self.master.value = to

    def clear_tails(self) -> None:
        """Empty the reverb and delay lines (after panic)."""
        self.reverb.reset()
        self.delay.reset()

    def close(self) -> None:
        """Release views, then readers and effects newest first, then the table."""
        self.views.clear()
        self.sigs.clear()
        self._jumped.clear()
        self.reverb = self.delay = self.master = self.table = None
        while self._objects:
            self._objects.pop()


def _noop() -> None:
    """Stands in as the server callback at close, so the server drops its engine reference."""


# ---------------------------------------------------------------------------------------------
# The engine


_LIVE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Close live engines the program forgot: pyo must shut down before numpy views die."""
    for engine in list(_LIVE_ENGINES):
        engine.close()


class Engine:
    """Plays a :class:`Source` live, or renders one to a WAV file.

    >>> Engine("offline", tracks=1).render(clicks, frames=44100, path="x.wav")  # doctest: +SKIP
    >>> live = Engine("jack", tracks=8); live.start(session)  # doctest: +SKIP
    >>> live.panic(); live.stats.underruns; live.close()       # doctest: +SKIP

    Live engines boot pyo in the constructor, so :attr:`sample_rate` and :attr:`buffersize` are
    the real ones (JACK imposes its period) before :meth:`start`. The clock (:attr:`stats`
    ``.position``) counts source samples played; it stays monotonic across stop/start and
    jumps forward over audio dropped by :meth:`panic`. Messages for the performer (a failing
    source, bad control values) go to :attr:`messages` and to ``on_message`` if given (called
    from the producer thread).
    """

    def __init__(
        self,
        backend: str = "jack",
        *,
        tracks: int = 8,
        sr: int = 44100,
        buffersize: int = 256,
        block: int = 1024,
        lookahead: int = 4096,
        device: int | None = None,
        jack_server: str | None = None,
        jack_client: str = "latentcode",
        on_message: Callable[[str], None] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise LatentcodeError(f"unknown audio backend {backend!r}: use one of {BACKENDS}")
        for name, value in (("tracks", tracks), ("sample rate", sr),
                            ("buffer size", buffersize), ("block", block)):
            if int(value) <= 0:
                raise LatentcodeError(f"{name} must be positive, not {value}")
        self.backend = backend
        self.tracks = int(tracks)
        self.block = int(block)
        self._sr = int(sr)
        self._bs = int(buffersize)
        self._device = device
        self._jack_server = jack_server
        self._jack_client = jack_client
        self.on_message = on_message
        self.messages: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._reported: set[str] = set()
        self._audio_errors: list[str] = []  # appended by the audio thread, reported by others
        self._server: Any = None
        self._mixer: _Mixer | None = None
        self._source: Source | None = None
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._playing = False
        self._closed = False
        self._recording = False
        self._saved_switch = sys.getswitchinterval()
        self._generation = 0
        self._reset_counters()
        self._capacity = max(1 << 16, 1 << math.ceil(math.log2(2 * lookahead + 4 * self.block)))
        self._ring = AudioRing(2 * self.tracks, self._capacity)
        self._lookahead = 0
        self.set_lookahead(lookahead)
        if backend == "offline":
            return
        if backend == "jack":
            rate, _period = check_jack(jack_server)
            if rate != self._sr:
                raise LatentcodeError(
                    f"JACK runs at {rate} Hz but latentcode plays at {self._sr} Hz: restart "
                    f"jackd with -r {self._sr}"
                )
        elif backend == "portaudio":
            check_portaudio(device)
        _LIVE_ENGINES.add(self)
        try:
            self._boot_live()
        except BaseException:
            self.close()
            raise

    # -- properties -------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """Samples per second of the output."""
        return self._sr

    @property
    def buffersize(self) -> int:
        """The audio buffer (JACK period) in samples: the real one once booted."""
        return self._bs

    @property
    def lookahead(self) -> int:
        """Samples the producer keeps queued ahead of the audio thread."""
        return self._lookahead

    @property
    def position(self) -> int:
        """The clock: source samples handed to the audio output so far."""
        return self._ring.read_pos

    @property
    def latency(self) -> float:
        """Seconds from a block being produced to being heard, about (queue + limiter + JACK)."""
        hardware = 2 * self._bs if self.backend == "jack" else self._bs
        return (self._lookahead + self.block + hardware) / self._sr + LIMIT_LOOKAHEAD_MS / 1000

    @property
    def stats(self) -> EngineStats:
        """Counters: underruns, blocks, producer load, ring fill, the clock."""
        audio_time = self._blocks * self.block / self._sr
        return EngineStats(
            underruns=self._underruns,
            underrun_samples=self._underrun_samples,
            blocks=self._blocks,
            fill_errors=self._fill_errors,
            producer_load=self._fill_time / audio_time if audio_time else 0.0,
            producer_load_recent=self._load_recent,
            producer_load_peak=self._load_peak,
            ring_fill=self._ring.available(),
            position=self._ring.read_pos,
            output_frames=self._frames,
            dropped=self._dropped,
        )

    # -- live control -----------------------------------------------------------------------

    def set_lookahead(self, samples: int) -> None:
        """Keep ``samples`` queued from now on: more survives slower decodes, less is snappier.

        >>> Engine("offline", lookahead=4096).set_lookahead(1 << 30)
        Traceback (most recent call last):
        latentcode.errors.LatentcodeError: lookahead must be between 256 and 63488 samples
        """
        top = self._capacity - 2 * self.block
        if not self._bs <= int(samples) <= top:
            raise LatentcodeError(f"lookahead must be between {self._bs} and {top} samples")
        self._lookahead = int(samples)
        self._wake.set()

    def set_delay(self, seconds: float, feedback: float = DELAY_FEEDBACK) -> None:
        """Set the shared delay's time (e.g. 3/8 of a cycle, to sync it) and feedback."""
        if not (0 < seconds <= DELAY_MAX and 0 <= feedback < 1):
            raise LatentcodeError(f"delay time must be in (0, {DELAY_MAX}] s, feedback in [0, 1)")
        self._delay_settings = (float(seconds), float(feedback))
        if self._mixer is not None:
            self._mixer.delay.delay = float(seconds)
            self._mixer.delay.feedback = float(feedback)

    def start(self, source: Source) -> None:
        """Play ``source`` live: prefill the ring, start the producer thread, then the audio."""
        if self.backend == "offline":
            raise LatentcodeError("an offline engine cannot play live: use render()")
        if self._closed:
            raise LatentcodeError("this audio engine is closed")
        self.stop()
        self._attach(source)
        while self._ring.available() < self._lookahead:
            self._produce()
        self._halt.clear()
        self._generation += 1
        self._thread = threading.Thread(target=self._producer_loop, args=(self._generation,),
                                        name="latentcode-producer", daemon=True)
        self._saved_switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        gc.collect()
        gc.freeze()  # a full collection over everything built so far holds the GIL ~100 ms
        self._playing = True
        self._thread.start()
        self._mixer.fade(1.0, 0.005)
        self._server.start()
        if self.backend == "none":
            self._pacer = threading.Thread(target=self._pace, args=(self._generation,),
                                           name="latentcode-pacer", daemon=True)
            self._pacer.start()

    def _pace(self, generation: int) -> None:
        """The clock of the "none" backend: process one buffer every buffer's duration, so
        time, recording and statistics run as with a sound card that nobody hears."""
        period = self._bs / self._sr
        due = time.monotonic()
        while self._playing and generation == self._generation:
            self._server.process()
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.5:
                due = time.monotonic()  # fell far behind (machine suspended): do not race

    def stop(self) -> None:
        """Fade out, stop the audio and the producer; :meth:`start` may follow. Idempotent."""
        if not self._playing:
            return
        self._mixer.fade(0.0, 0.005)
        time.sleep(0.005 + 3 * self._bs / self._sr)
        self._playing = False
        pacer, self._pacer = getattr(self, "_pacer", None), None
        if pacer is not None:
            pacer.join(timeout=5.0)
        self._server.stop()
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                self._report("the audio source did not stop within 5 s (still inside fill)")
            self._thread = None
        sys.setswitchinterval(self._saved_switch)
        gc.unfreeze()
        self._forward_audio_errors()

    def panic(self) -> None:
        """Silence now: fade out within a buffer, drop everything queued, clear reverb and
        delay tails, then play whatever the source produces next."""
        self._panic_request = True

    def record(self, path: str | os.PathLike[str]) -> None:
        """Write the master output (what is heard, after the limiter) to a 32-bit float WAV."""
        if self._server is None:
            raise LatentcodeError("recording needs a live engine (offline: use render())")
        path = str(path)
        if not path.lower().endswith(".wav"):
            raise LatentcodeError(f"record to a .wav file, not {path!r}")
        self.stop_record()
        self._server.recordOptions(dur=-1, filename=path, fileformat=0, sampletype=3)
        self._server.recstart(path)
        self._recording = True

    def stop_record(self) -> None:
        """Finish the recording started by :meth:`record` (idempotent)."""
        if self._recording and self._server is not None:
            self._server.recstop()
        self._recording = False

    def close(self) -> None:
        """Stop and release everything in the only safe order. Idempotent; also run at exit."""
        if self._closed:
            return
        self._closed = True
        try:
            self.stop()
            self.stop_record()
        finally:
            self._teardown()
            _LIVE_ENGINES.discard(self)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- offline ----------------------------------------------------------------------------

    def render(
        self,
        source: Source,
        frames: int,
        path: str | os.PathLike[str],
        *,
        progress: bool = False,
        subtype: str = "FLOAT",
    ) -> None:
        """Render ``frames`` samples of ``source`` through the graph to a WAV file.

        Runs pyo on ``Server(audio="manual")``, one ``process()`` per buffer, faster than real
        time. Sample 0 of the file is sample 0 of the source: the limiter's lookahead delay and
        pyo's start fade are rendered ahead and cut. The same source gives a bit-identical file.
        """
        if self.backend != "offline":
            raise LatentcodeError(
                "render with Engine('offline') in another process: an offline render in the "
                "live process stalls the live audio"
            )
        wav = _open_wav(path, self._sr, subtype)
        try:
            server = _pyo().Server(sr=self._sr, nchnls=2, buffersize=self._bs, duplex=0,
                                   audio="manual", verbosity=1)
            server.deactivateMidi()
            server.boot()
            if not server.getIsBooted():
                raise LatentcodeError("pyo could not boot its offline server")
            self._server = server
            self._build(server)
            self._reset_counters()
            self._ring = AudioRing(2 * self.tracks, self._capacity)
            self._attach(source)
            self._playing = True
            self._render_into(wav, frames, progress)
        except BaseException:
            wav.close()
            Path(path).unlink(missing_ok=True)  # no half-written file that looks like a render
            raise
        finally:
            self._playing = False
            self._preroll = False
            self._teardown()
        wav.close()
        self._forward_audio_errors()

    def _render_into(self, wav: Any, frames: int, progress: bool) -> None:
        """Run the manual server one buffer at a time, producing blocks just in time, and
        write the output from the first sample of the source on, in chunks."""
        server, bs = self._server, self._bs
        skip = OFFLINE_PREROLL * bs + self._limiter_delay()
        server.start()
        address = ctypes.cast(int(server.getOutputAddr(), 16), ctypes.POINTER(ctypes.c_float))
        output = np.ctypeslib.as_array(address, shape=(bs, 2))  # pyo's interleaved buffer
        chunk = np.empty((64 * bs, 2), np.float32)
        filled = 0
        steps = -(-(frames + skip) // bs)
        bar = _progress(steps, progress)
        done = -skip  # source position of the buffer being computed
        for step in range(steps):
            self._preroll = step < OFFLINE_PREROLL
            while not self._preroll and self._ring.available() < bs:
                self._produce()
            server.process()
            lo, hi = max(done, 0), min(done + bs, frames)
            if hi > lo:
                chunk[filled : filled + hi - lo] = output[lo - done : hi - done]
                filled += hi - lo
            if filled > len(chunk) - bs or step == steps - 1:
                _write_checked(wav, chunk[:filled])
                filled = 0
            done += bs
            bar.update(1)
        bar.close()

    # -- internals: setup -------------------------------------------------------------------

    def _reset_counters(self) -> None:
        self._underruns = self._underrun_samples = self._blocks = self._fill_errors = 0
        self._fill_time = self._load_recent = self._load_peak = 0.0
        self._frames = self._dropped = 0
        self._underruns_told = (0, -math.inf)  # (count already reported, when)
        self._producing_end = self._drop_target = 0
        self._panic_request = False
        self._panic_left = 0
        self._priming = False  # after panic: silent until the ring is full again
        self._preroll = False
        self._delay_settings: tuple[float, float] | None = getattr(self, "_delay_settings", None)

    def _boot_live(self) -> None:
        pyo = _pyo()
        if self._jack_server:
            os.environ["JACK_DEFAULT_SERVER"] = self._jack_server  # libjack reads it at open
        # "none": no device; pyo's manual server, driven in real time by our own pacer thread
        audio = {"jack": "jack", "portaudio": "portaudio", "none": "manual"}[self.backend]
        server = pyo.Server(sr=self._sr, nchnls=2, buffersize=self._bs, duplex=0, audio=audio,
                            jackname=self._jack_client, verbosity=1)
        server.deactivateMidi()
        if audio == "jack":
            server.setJackAuto(False, True)  # no inputs; outputs to the system playback ports
        elif self._device is not None:
            server.setOutputDevice(self._device)
        server.boot()
        if not server.getIsBooted():
            raise LatentcodeError(f"pyo could not start the {self.backend} audio backend")
        self._server = server
        self._sr = int(server.getSamplingRate())
        self._build(server)
        self._lookahead = max(self._lookahead, self._bs)  # JACK may impose a longer period

    def _build(self, server: Any) -> None:
        """Build the graph on a booted server and install the audio callback."""
        self._bs = int(server.getBufferSize())
        self._mixer = _Mixer(_pyo(), self.tracks, self._bs, self._sr)
        if self._delay_settings is not None:
            self._mixer.delay.delay, self._mixer.delay.feedback = self._delay_settings
        self._fade_out = np.linspace(1.0, 0.0, self._bs, dtype=np.float32)
        server.setCallback(self._on_buffer)

    def _teardown(self) -> None:
        """Stop the server, drop views, objects, tables (in that order), shut the server down."""
        server, self._server = self._server, None
        if server is None:
            return
        if server.getIsStarted():
            server.stop()
            if self.backend != "offline":
                time.sleep(3 * self._bs / self._sr)  # let a running callback finish
        server.setCallback(_noop)
        if self._mixer is not None:
            self._mixer.close()
            self._mixer = None
        server.shutdown()
        del server

    def _attach(self, source: Source) -> None:
        n = int(getattr(source, "tracks", self.tracks))
        if not 0 < n <= self.tracks:
            raise LatentcodeError(f"the source has {n} tracks; this engine has {self.tracks}")
        self._source = source
        self._source_tracks = n
        self._fresh = True
        self._scratch = np.zeros((self.tracks, 2, self.block), np.float32)
        self._ring.reset()
        self._panic_request = False
        self._panic_left = 0
        self._priming = False

    def _limiter_delay(self) -> int:
        """Samples by which the limiter's lookahead delays the output."""
        return int(LIMIT_LOOKAHEAD_MS * self._sr / 1000)

    # -- internals: the producer (not the audio thread) -------------------------------------

    def _producer_loop(self, generation: int) -> None:
        """Keep ``lookahead`` samples queued; sleep until the audio thread wants more.

        ``generation`` retires a thread that outlived stop() inside a slow fill: once a newer
        start() happened, it may not push into the ring (it would be a second producer)."""
        ring = self._ring
        while not self._halt.is_set() and generation == self._generation:
            self._wake.wait(0.05)
            self._wake.clear()
            try:
                while (not self._halt.is_set() and ring.available() < self._lookahead
                       and ring.free() >= self.block):
                    self._produce(generation)
                    self._report_underruns()
                self._forward_audio_errors()
            except Exception as exc:  # an engine bug: say so, keep the thread alive
                self._report_exception("the audio producer failed", exc)
                time.sleep(0.01)

    def _produce(self, generation: int | None = None) -> None:
        """Ask the source for one block and queue it with its controls."""
        out = self._scratch
        out.fill(0.0)
        start = self._ring.write_pos
        self._producing_end = start + self.block
        t0 = time.perf_counter()
        try:
            controls = self._source.fill(out[: self._source_tracks], start)
        except Exception as exc:
            self._fill_errors += 1
            out.fill(0.0)
            controls = None
            self._report_exception("the audio source failed (playing silence)", exc)
        spent = time.perf_counter() - t0
        load = spent * self._sr / self.block
        self._fill_time += spent
        self._blocks += 1
        self._load_peak = max(self._load_peak, load)
        weight = min(1.0, self.block / self._sr)  # ~1 s memory
        self._load_recent += weight * (load - self._load_recent)
        _sanitize(out)
        changes = self._parse_controls(controls) if controls else None
        # A source's first controls are its initial state: they jump, so sound at sample 0
        # is already filtered/sent; later changes glide.
        payload = (self._fresh, changes) if changes else None
        self._fresh = False
        if generation is not None and generation != self._generation:
            return
        self._ring.push(out.reshape(2 * self.tracks, self.block), payload)

    def _parse_controls(self, controls: Any) -> list[tuple[int, str, float]] | None:
        """Turn the source's per-track dicts into checked (track, key, value) changes."""
        changes = []
        try:
            items = list(enumerate(controls))[: self._source_tracks]
        except TypeError:
            self._report_once("controls-type", "the audio source returned controls that are "
                              "not a list of dicts; ignored")
            return None
        for track, entry in items:
            if not entry:
                continue
            for key, raw in entry.items():
                value = self._control_value(key, raw)
                if value is not None:
                    changes.append((track, key, value))
        return changes or None

    def _control_value(self, key: str, raw: Any) -> float | None:
        """A control's value clamped to its range, or None (ignored, reported once).

        ``None`` resets a control to its default (gain 1, filters open, sends 0); so does 0
        for a filter.
        """
        if key not in CONTROLS:
            self._report_once(f"key-{key}", f"unknown audio control {key!r} ignored "
                              f"(known: {', '.join(CONTROLS)})")
            return None
        open_lpf = min(20000.0, 0.45 * self._sr)
        if raw is None or (key in ("lpf", "hpf") and raw == 0):
            return {"gain": 1.0, "lpf": open_lpf, "hpf": OPEN_HPF}.get(key, 0.0)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            self._report_once(f"value-{key}", f"audio control {key} got {raw!r}; ignored")
            return None
        if key == "lpf":
            return min(max(value, 20.0), open_lpf)
        if key == "hpf":
            return min(max(value, OPEN_HPF), open_lpf)
        if key == "gain":
            return min(max(value, 0.0), SAMPLE_LIMIT)
        return min(max(value, 0.0), 1.0)

    # -- internals: the audio thread --------------------------------------------------------

    def _on_buffer(self) -> None:
        """pyo's server callback: copy one buffer from the ring into the table. Never raises:
        pyo would print a traceback every buffer."""
        try:
            self._play_buffer()
        except BaseException as exc:  # noqa: B036 - nothing may escape into pyo's C loop
            if len(self._audio_errors) < 8:
                self._audio_errors.append(f"audio callback error: {type(exc).__name__}: {exc}")
            mixer = self._mixer
            if mixer is not None:
                for view in mixer.views:
                    view.fill(0.0)

    def _play_buffer(self) -> None:
        mixer, ring, n = self._mixer, self._ring, self._bs
        views = mixer.views
        self._frames += n
        if mixer._jumped:
            mixer.settle()
        if self._preroll:
            for view in views:
                view.fill(0.0)
            return
        if self._panic_request or self._panic_left:
            self._panic_buffer(mixer, ring, n)
            return
        if ring.read_pos < self._drop_target:  # the block that was being made during panic
            dropped, due = ring.skip(self._drop_target)
            self._dropped += dropped
            self._apply(due)
        if self._priming:  # after panic: wait for a full ring, then play
            if ring.available() < min(self._lookahead, ring.capacity - self.block):
                for view in views:
                    view.fill(0.0)
                self._wake.set()
                return
            self._priming = False
        got, due = ring.pull(views, n)
        if due:
            self._apply(due)
        if got < n and self._playing:
            self._underruns += 1
            self._underrun_samples += n - got
        if ring.write_pos - ring.read_pos < self._lookahead:
            self._wake.set()

    def _panic_buffer(self, mixer: _Mixer, ring: AudioRing, n: int) -> None:
        """One buffer of panic: fade what plays now, then drop, then clear tails and reopen."""
        views = mixer.views
        if self._panic_request:
            self._panic_request = False
            _got, due = ring.pull(views, n)
            self._apply(due)
            for view in views:
                view *= self._fade_out
            mixer.fade(0.0, n / self._sr)
            self._drop_target = max(ring.write_pos, self._producing_end)
            self._panic_left = max(2, math.ceil(PANIC_SECONDS * self._sr / n))
            return
        dropped, due = ring.skip(self._drop_target)
        self._dropped += dropped
        self._apply(due)
        for view in views:
            view.fill(0.0)
        self._panic_left -= 1
        if self._panic_left == 0:
            mixer.clear_tails()
            mixer.fade(1.0, 0.005)
            self._priming = True
        self._wake.set()

    def _apply(self, due: list[tuple[bool, list[tuple[int, str, float]]]]) -> None:
        mixer = self._mixer
        for instant, changes in due:
            for track, key, value in changes:
                mixer.set(track, key, value, glide=not instant)

    # -- internals: messages ----------------------------------------------------------------

    def _report(self, message: str) -> None:
        self.messages.put(message)
        if self.on_message is not None:
            try:
                self.on_message(message)
            except Exception:  # a broken printer must not stop the audio
                pass

    def _report_once(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self._report(message)

    def _report_exception(self, what: str, exc: BaseException) -> None:
        """Report an exception once per place it was raised from (not once per block)."""
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        self._report_once(f"{type(exc).__name__}@{where}",
                          f"{what}: {type(exc).__name__}: {exc} ({Path(where).name})")

    def _report_underruns(self) -> None:
        """Tell the performer about gaps, at most every UNDERRUN_REPORT_EVERY seconds."""
        now = time.monotonic()
        seen, since = self._underruns_told
        if self._underruns > seen and now - since >= UNDERRUN_REPORT_EVERY:
            self._underruns_told = (self._underruns, now)
            gaps = self._underruns - seen
            self._report(
                f"audio gaps: {gaps} buffer{'s' * (gaps != 1)} ran dry (the source is too slow: "
                f"{self._load_recent:.0%} of real time lately, worst block "
                f"{self._load_peak:.0%}); raise the lookahead or lighten the piece")

    def _forward_audio_errors(self) -> None:
        while self._audio_errors:
            message = self._audio_errors.pop(0)
            self._report_once(message, message)


def _sanitize(block: np.ndarray) -> None:
    """Zero non-finite samples and clip to ±SAMPLE_LIMIT, in place, before pyo sees them.

    >>> b = np.array([np.nan, np.inf, -np.inf, 0.5, 9.0], np.float32); _sanitize(b); b.tolist()
    [0.0, 0.0, 0.0, 0.5, 4.0]
    """
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is the point of the check
        finite = np.isfinite(block.sum())  # one cheap reduction; the full scan only when needed
    if not finite:
        np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(block, -SAMPLE_LIMIT, SAMPLE_LIMIT, out=block)


_SFC_SET_ADD_PEAK_CHUNK = 0x1050  # from sndfile.h


def _open_wav(path: str | os.PathLike[str], sr: int, subtype: str) -> Any:
    """A stereo WAV open for writing whose bytes depend on the samples only.

    libsndfile adds a PEAK chunk with a timestamp to float WAVs, which would make two renders
    of the same piece differ; it is turned off (soundfile has no public switch for it).
    """
    import soundfile

    try:
        wav = soundfile.SoundFile(str(path), "w", sr, 2, subtype=subtype, format="WAV")
    except (soundfile.LibsndfileError, ValueError, OSError) as e:
        raise LatentcodeError(f"cannot write {str(path)!r}: {e}") from None
    with contextlib.suppress(AttributeError):
        soundfile._snd.sf_command(wav._file, _SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
    return wav


def _write_checked(wav: Any, data: np.ndarray) -> None:
    """Append ``data`` to ``wav``: finite and within ±1 whatever happened upstream."""
    np.nan_to_num(data, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(data, -1.0, 1.0, out=data)
    wav.write(data)


def _progress(total: int, enabled: bool) -> Any:
    """A tqdm bar on stderr, or a stand-in that does nothing."""
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, unit="buf", desc="render", file=sys.stderr)

    class _Quiet:
        def update(self, _n: int) -> None: ...

        def close(self) -> None: ...

    return _Quiet()


def render(source: Source, frames: int, path: str | os.PathLike[str], **options: Any) -> None:
    """Render ``source`` offline: ``Engine("offline", **options).render(source, frames, path)``.

    ``progress`` and ``subtype`` go to :meth:`Engine.render`, the rest to :class:`Engine`.
    """
    kwargs = {k: options.pop(k) for k in ("progress", "subtype") if k in options}
    Engine("offline", **options).render(source, frames, path, **kwargs)
