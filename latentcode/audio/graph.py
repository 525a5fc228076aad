"""The pyo graph every engine plays through, live or offline, and the server it runs on.

::

    stream ─(server callback, zero-copy numpy views)─► DataTable(buffersize, 2·tracks) ─► TableScan
      per track: ButLP(lpf) ─► ButHP(hpf) × gain ─┬─────────────────────────────► dry bus ─┐
                                                  ├─ × room ─► Freeverb (shared) ──────────┤
                                                  └─ × delay ─► Delay (shared) ────────────┤
      master: Σ × master fade ─► Compress (-3 dB, 20:1, 5 ms lookahead) ─► Clip ±1 ─► .out()
                                                                              └─► recorder

A :class:`Graph` boots a pyo server (a sound card, JACK, or the manual clock that offline
renders and the "none" backend drive) and builds the :class:`Mixer` on it; :meth:`Graph.close`
takes both down in the only order pyo survives (docs/audio-engine.md).

>>> with Graph("offline", tracks=1, sr=44100, buffersize=256) as graph:  # doctest: +SKIP
...     graph.mixer.set(0, "lpf", 1000.0)   # track 0 glides to a 1 kHz low-pass
...     graph.buffersize, graph.limiter_delay, len(graph.mixer.views)
(256, 220, 2)
>>> PYO_AUDIO["none"]   # no device: the manual server, paced in real time by the engine
'manual'
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from latentcode.audio.backends import load_pyo
from latentcode.audio.controls import TrackControls
from latentcode.errors import LatentcodeError

CONTROL_GLIDE = 0.02  # s: controls ramp this long, short enough to feel instant, no zipper noise
REVERB_SIZE, REVERB_DAMP = 0.85, 0.55
# Dotted eighth at 120 BPM, the classic "rhythmic" echo; the session may sync it to its tempo
# with Engine.set_delay. Feedback 0.4 gives ~4 audible repeats.
DELAY_TIME, DELAY_FEEDBACK, DELAY_MAX = 0.375, 0.4, 4.0
LIMIT_THRESH, LIMIT_RATIO, LIMIT_LOOKAHEAD_MS = -3.0, 20.0, 5.0
# pyo's audio setting for each backend: "none" and "offline" both run the manual server, driven
# by the engine's pacer thread and by the render loop.
PYO_AUDIO = {"jack": "jack", "portaudio": "portaudio", "none": "manual", "offline": "manual"}


class Mixer:
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
        self.table: Any = keep(pyo.DataTable(size=buffersize, chnls=channels))
        self.views = [np.asarray(self.table.getBuffer(ch)) for ch in range(channels)]
        scan = keep(pyo.TableScan(self.table))
        self.sigs = {
            key: [keep(pyo.SigTo(value, time=CONTROL_GLIDE, init=value)) for _ in range(tracks)]
            for key, value in TrackControls(sr).defaults.items()
        }

        def per_channel(key: str) -> list[Any]:
            return [sig for sig in self.sigs[key] for _ in (0, 1)]

        low = keep(pyo.ButLP(scan, freq=per_channel("lpf")))
        track_out = keep(pyo.ButHP(low, freq=per_channel("hpf"), mul=per_channel("gain")))
        dry = keep(pyo.Mix(track_out, voices=2))  # Mix sums even streams left, odd right
        room_send = keep(pyo.Mix(keep(pyo.Sig(track_out, mul=per_channel("room"))), voices=2))
        self.reverb: Any = keep(pyo.Freeverb(room_send, size=REVERB_SIZE, damp=REVERB_DAMP,
                                             bal=1.0))
        delay_send = keep(pyo.Mix(keep(pyo.Sig(track_out, mul=per_channel("delay"))), voices=2))
        self.delay: Any = keep(pyo.Delay(delay_send, delay=DELAY_TIME, feedback=DELAY_FEEDBACK,
                                         maxdelay=DELAY_MAX))
        self.master: Any = keep(pyo.SigTo(1.0, time=0.01, init=1.0))
        bus = keep(pyo.Mix([dry, self.reverb, self.delay], voices=2, mul=self.master))
        limiter = keep(pyo.Compress(bus, thresh=LIMIT_THRESH, ratio=LIMIT_RATIO, risetime=0.001,
                                    falltime=0.1, lookahead=LIMIT_LOOKAHEAD_MS, knee=0.3))
        keep(pyo.Clip(limiter, min=-1.0, max=1.0)).out()

    def _keep(self, obj: Any) -> Any:
        self._objects.append(obj)  # unreferenced pyo objects are collected and go silent
        return obj

    @property
    def jumped(self) -> bool:
        """Whether a control jumped in the last buffer (and :meth:`settle` is due)."""
        return bool(self._jumped)

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

    def set_delay(self, seconds: float, feedback: float) -> None:
        """Set the shared delay's time and feedback."""
        self.delay.delay = seconds
        self.delay.feedback = feedback

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
    """Stands in as the server callback at close, so the server drops its reference to the
    stream (and through it the engine)."""


class Graph:
    """A booted pyo server for ``backend`` (one of ``BACKENDS``) with the :class:`Mixer` on it.

    The server's buffer size and rate are read back after boot (JACK imposes its period), so
    :attr:`buffersize` and :attr:`sr` are the real ones. ``delay`` is the shared delay's
    (seconds, feedback) when not the defaults.
    """

    def __init__(
        self,
        backend: str,
        *,
        tracks: int,
        sr: int,
        buffersize: int,
        delay: tuple[float, float] | None = None,
        device: int | None = None,
        jack_client: str = "latentcode",
    ) -> None:
        self.backend = backend
        audio = PYO_AUDIO[backend]
        pyo = load_pyo()
        server = pyo.Server(sr=sr, nchnls=2, buffersize=buffersize, duplex=0, audio=audio,
                            jackname=jack_client, verbosity=1)
        server.deactivateMidi()
        if audio == "jack":
            server.setJackAuto(False, True)  # no inputs; outputs to the system playback ports
        elif device is not None:
            server.setOutputDevice(device)
        server.boot()
        if not server.getIsBooted():
            if backend == "offline":
                raise LatentcodeError("pyo could not boot its offline server")
            raise LatentcodeError(f"pyo could not start the {backend} audio backend")
        self.server: Any = server
        self.sr = int(server.getSamplingRate())
        self.buffersize = int(server.getBufferSize())
        self.mixer: Mixer | None = None
        try:
            self.mixer = Mixer(pyo, tracks, self.buffersize, self.sr)
            if delay is not None:
                self.mixer.set_delay(*delay)
        except BaseException:
            self.close()
            raise

    @property
    def limiter_delay(self) -> int:
        """Samples by which the limiter's lookahead delays the output."""
        return int(LIMIT_LOOKAHEAD_MS * self.sr / 1000)

    def close(self) -> None:
        """Stop the server, drop views, objects, tables (in that order), shut the server down.

        Idempotent. The caller stops whatever feeds the callback first (a paced "none" server).
        """
        server, self.server = self.server, None
        if server is None:
            return
        if server.getIsStarted():
            server.stop()
            if self.backend != "offline":
                time.sleep(3 * self.buffersize / self.sr)  # let a running callback finish
        server.setCallback(_noop)
        if self.mixer is not None:
            self.mixer.close()
            self.mixer = None
        server.shutdown()
        del server

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
