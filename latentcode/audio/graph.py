"""The pyo graph every engine plays through, live or offline, and the server it runs on.

::

    stream ─(server callback, zero-copy numpy views)─► DataTable(buffersize, 2·tracks) ─► TableScan
      per track: ButLP(lpf) ─► ButHP(hpf) × gain ─┬─────────────────────────────► dry bus ─┐
                                                  ├─ × room ─► Freeverb (shared) ──────────┤
                                                  └─ × delay ─► Delay (the track's own:    ┤
                                                          delaytime, delayfeedback)        │
      master: Σ × master fade = bus ◄──────────────────────────────────────────────────────┘
        bus ─► SDelay, Convolve × 3 (4 phases) ─► Abs ─► Max ─► held (Max, SDelay) ─► need
            ─► Follower2 (release) ─► averaged (SDelay sums) = gain
        bus ─► SDelay(look-ahead) × gain ─► Clip ±ceiling ─► .out()
                                                   └─► recorder
      stems (when asked for): per track (filtered track + its delay line) × master fade, and
        the reverb × master fade, each delayed as the bus is ─► .out(2, 3, ...), not limited

A track's chain (its reading, filters, sends and delay line) sleeps until the first buffer
that brings it audio (:meth:`Mixer.wake_sounding`): zeros in give zeros out, so the output is
the same bits, and the slots a piece does not use cost the graph nothing.

Every control is a ``SigTo`` per track (a 20 ms glide), so a control that changes every block
(a continuous pattern sampled by the scheduler) moves smoothly. The true-peak limiter
(:mod:`latentcode.audio.limiter`) is pyo's C objects only, so it makes a sample's gain in the
buffer that computes the sample: the output is the look-ahead late (:attr:`Graph.limiter_delay`,
3.3 ms; the offline render cuts it), and the server callback has no part in it.

A :class:`Graph` boots a pyo server (a sound card, JACK, or the manual clock that offline
renders and the "none" backend drive) and builds the :class:`Mixer` on it; :meth:`Graph.close`
takes both down in the only order pyo survives (docs/audio-engine.md).

>>> with Graph("offline", tracks=1, sr=44100, buffersize=256) as graph:  # doctest: +SKIP
...     graph.mixer.set(0, "lpf", 1000.0)   # track 0 glides to a 1 kHz low-pass
...     graph.buffersize, graph.limiter_delay, len(graph.mixer.views)
(256, 144, 2)
>>> PYO_AUDIO["none"]   # no device: the manual server, paced in real time by the engine
'manual'
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from latentcode.audio.backends import load_pyo
from latentcode.audio.controls import TrackControls
from latentcode.audio.limiter import Limiter
from latentcode.controls import CONTROLS
from latentcode.errors import LatentcodeError

CONTROL_GLIDE = 0.02  # s: controls ramp this long, short enough to feel instant, no zipper noise
REVERB_SIZE, REVERB_DAMP = 0.85, 0.55
# The control table's defaults: a dotted eighth at 120 BPM, the classic "rhythmic" echo, and
# feedback 0.4, ~4 audible repeats. Engine.set_delay changes every track's.
DELAY_TIME = float(CONTROLS["delaytime"].default)
DELAY_FEEDBACK = float(CONTROLS["delayfeedback"].default)
DELAY_MAX = float(CONTROLS["delaytime"].high)
# pyo's audio setting for each backend: "none" and "offline" both run the manual server, driven
# by the engine's pacer thread and by the render loop.
PYO_AUDIO = {"jack": "jack", "portaudio": "portaudio", "none": "manual", "offline": "manual"}


class Mixer:
    """The pyo objects of the graph, built on a booted server; owns the table views.

    Every object is kept in ``_objects`` in creation order, and :meth:`close` releases the numpy
    views first, then the objects newest first (outputs, effects, filters, the TableScan reader,
    and last the table) — a view that outlives its table segfaults, often at exit.
    """

    def __init__(self, pyo: Any, tracks: int, buffersize: int, sr: float,
                 stems: bool = False, channels: int = 2, inputs: int = 0) -> None:
        self._objects: list[Any] = []
        self._jumped: list[Any] = []
        self._after: list[Callable[[], None]] = []  # what settle() calls once, a buffer on
        # the latest value set of each (track, control), NaN where none was, when the audio
        # process gives it one in shared memory: an audio process started again after one died
        # takes up the track effects where they stood (restore), not at their defaults
        self.applied: np.ndarray | None = None
        keep = self._keep
        # the audio input: each channel into a table as pyo computes a buffer; the callback,
        # which runs before the next one, copies it out (see latentcode.audio.capture)
        self.input_views: list[np.ndarray] = []
        if inputs:
            heard = keep(pyo.Input(chnl=list(range(inputs))))
            table = keep(pyo.DataTable(size=buffersize, chnls=inputs))
            keep(pyo.TableFill(heard, table))
            self.input_views = [np.asarray(table.getBuffer(ch)) for ch in range(inputs)]
        self.channels = channels  # of the master: 2, or a ring of speakers
        self.table: Any = keep(pyo.DataTable(size=buffersize, chnls=channels * tracks))
        self.views = [np.asarray(self.table.getBuffer(ch)) for ch in range(channels * tracks)]
        self.limiter = Limiter(sr, channels=channels)
        self.latency = self.limiter.latency  # the look-ahead, and Convolve's own sample
        scan = keep(pyo.TableScan(self.table))
        self.sigs = {
            key: [keep(pyo.SigTo(value, time=CONTROL_GLIDE, init=value)) for _ in range(tracks)]
            for key, value in TrackControls(sr).defaults.items()
        }
        self._columns = {key: i for i, key in enumerate(self.sigs)}  # (of ``applied``)

        def per_channel(key: str) -> list[Any]:
            return [sig for sig in self.sigs[key] for _ in range(channels)]

        low = keep(pyo.ButLP(scan, freq=per_channel("lpf")))
        track_out = keep(pyo.ButHP(low, freq=per_channel("hpf"), mul=per_channel("gain")))
        # Mix sums stream i into voice i % channels: in stereo even streams left, odd right
        dry = keep(pyo.Mix(track_out, voices=channels))
        to_room = keep(pyo.Sig(track_out, mul=per_channel("room")))
        room_send = keep(pyo.Mix(to_room, voices=channels))
        self.reverb: Any = keep(pyo.Freeverb(room_send, size=REVERB_SIZE, damp=REVERB_DAMP,
                                             bal=1.0))
        # one stereo delay line per track: its time and feedback are the track's (Tidal's
        # delaytime and delayfeedback are per orbit)
        delay_send = keep(pyo.Sig(track_out, mul=per_channel("delay")))
        self.delay: Any = keep(pyo.Delay(delay_send, delay=per_channel("delaytime"),
                                         feedback=per_channel("delayfeedback"),
                                         maxdelay=DELAY_MAX))
        echoes = keep(pyo.Mix(self.delay, voices=channels))
        # Every track's chain sleeps until its audio first comes (wake_sounding): a stopped
        # stream costs the graph nothing and reads as zeros, and with zeros coming in, each of
        # these filters, sends and delay lines gives zeros out, so the output is the same bits.
        # Live, a piece often fills four of its eight slots: the other four took 40 of 156 us
        # a 256-sample buffer. (Glides keep running: a control set meanwhile glides on time.)
        per_track = [scan, low, track_out, to_room, delay_send, self.delay]
        self._asleep: dict[int, list[Any]] = {}
        for track in range(tracks):
            streams = slice(track * channels, (track + 1) * channels)
            sleeping = self._asleep[track] = []
            for obj in per_track:
                sleeping += obj._base_objs[streams]
                fader = getattr(obj, "_in_fader", None)
                sleeping += fader._base_objs[streams] if fader is not None else []
            for stream in sleeping:
                stream.stop()
        self._watched = [(i // channels, view) for i, view in enumerate(self.views)]
        self.master: Any = keep(pyo.SigTo(1.0, time=0.01, init=1.0))
        bus = keep(pyo.Mix([dry, self.reverb, echoes], voices=channels, mul=self.master))
        self.limiter.build(pyo, bus, keep).out()
        if stems:
            self._stems(pyo, tracks, track_out, sr)

    def _stems(self, pyo: Any, tracks: int, track_out: Any, sr: float) -> None:
        """Out on channels 2, 3, ...: each track's dry sound and its own echoes, then the shared
        reverb's return, each a stereo pair delayed as the master is but not limited. The pairs
        sum to the master bus before the limiter (see :func:`stem_names`)."""
        keep = self._keep
        delay = (self.latency + 0.5) / sr
        # stream by stream (pyo's arithmetic pairs the streams of two objects): channel c of
        # track t is stream 2t+c of both the filtered track and its delay line
        tracks_and_echoes = keep(pyo.Sig(track_out, add=self.delay, mul=self.master))
        keep(pyo.SDelay(tracks_and_echoes, delay=delay, maxdelay=delay + 0.1)).out(2)
        reverb = keep(pyo.Sig(self.reverb, mul=self.master))
        keep(pyo.SDelay(reverb, delay=delay, maxdelay=delay + 0.1)).out(2 + 2 * tracks)

    def _keep(self, obj: Any) -> Any:
        self._objects.append(obj)  # unreferenced pyo objects are collected and go silent
        return obj

    @property
    def sleeping(self) -> list[int]:
        """The tracks whose chain sleeps: no audio has come for them yet."""
        return sorted(self._asleep)

    def wake(self, track: int) -> None:
        """Start ``track``'s chain (reading, filters, sends, delay line) if it sleeps."""
        for stream in self._asleep.pop(track, ()):
            stream.play()
        self._watched = [(t, view) for t, view in self._watched if t != track]

    def wake_sounding(self) -> None:
        """The audio thread, once a buffer is in the table: wake each sleeping track whose
        buffer is not all zeros, before the graph computes it. A track once woken stays awake
        (its delay line and filters ring on)."""
        for track, view in self._watched:  # (the channels of the tracks still asleep)
            # count_nonzero: 0.6 us a channel where .any() took 1.8 (exact, unlike a sum)
            if track in self._asleep and np.count_nonzero(view):
                self.wake(track)

    @property
    def jumped(self) -> bool:
        """Whether a control jumped in the last buffer (and :meth:`settle` is due)."""
        return bool(self._jumped or self._after)

    def set(self, track: int, key: str, value: float, glide: bool = True) -> None:
        """Glide the control ``key`` of ``track`` to ``value`` (or jump, at a source's start)."""
        sig = self.sigs[key][track]
        if self.applied is not None:
            self.applied[track, self._columns[key]] = value
        if not glide:
            # SigTo reads its time when it next computes, so the glide comes back a buffer later
            sig.time = 0.0
            self._jumped.append(sig)
        sig.value = value

    def restore(self) -> int:
        """Jump every control noted in :attr:`applied` to its value (a fresh graph, before it
        plays); returns how many."""
        if self.applied is None:
            return 0
        names = list(self._columns)
        tracks, columns = np.nonzero(np.isfinite(self.applied))
        for track, column in zip(tracks.tolist(), columns.tolist(), strict=True):
            self.set(track, names[column], float(self.applied[track, column]), glide=False)
        return len(tracks)

    def settle(self) -> None:
        """Give controls that jumped in the last buffer their glide back."""
        while self._jumped:
            self._jumped.pop().time = CONTROL_GLIDE
        while self._after:  # (the limiter's release, cut short by clear_tails)
            self._after.pop()()

    def fade(self, to: float, seconds: float) -> None:
        """Ramp the master to ``to`` (0 or 1) over ``seconds``."""
        self.master.time = seconds
        self.master.value = to

    def set_delay(self, seconds: float, feedback: float) -> None:
        """Set every track's delay time and feedback (until a pattern sets its own)."""
        for track in range(len(self.sigs["delaytime"])):
            self.set(track, "delaytime", seconds)
            self.set(track, "delayfeedback", feedback)

    def clear_tails(self) -> None:
        """Empty the reverb and delay lines and the limiter (after panic)."""
        self.reverb.reset()
        self.delay.reset()
        self._after.append(self.limiter.clear())

    def close(self) -> None:
        """Release views, then readers and effects newest first, then the tables."""
        self.input_views.clear()
        self.views.clear()
        self._watched.clear()
        self.sigs.clear()
        self._jumped.clear()
        self._after.clear()
        self.limiter.forget()
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
        stems: bool = False,
        channels: int = 2,
        inputs: int = 0,
        input_ports: list[str] | None = None,
    ) -> None:
        self.backend = backend
        audio = PYO_AUDIO[backend]
        pyo = load_pyo()
        if stems and channels != 2:
            raise LatentcodeError("stems and per-track outputs are stereo: play with "
                                  "--channels 2 for them")
        # with stems, one stereo pair per track and one for the reverb follow the master's
        self.channels = 2 * (tracks + 2) if stems else channels
        server = pyo.Server(sr=sr, nchnls=self.channels, buffersize=buffersize,
                            duplex=int(inputs > 0), ichnls=max(inputs, 1), audio=audio,
                            jackname=jack_client, verbosity=1)
        server.deactivateMidi()
        if audio == "jack":
            server.setJackAuto(False, True)  # outputs to the system playback ports
            if inputs and input_ports:  # the input channels, each from the ports named
                server.setJackAutoConnectInputPorts(
                    [[input_ports[i % len(input_ports)]] for i in range(inputs)])
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
            self.mixer = Mixer(pyo, tracks, self.buffersize, self.sr, stems=stems,
                               channels=channels, inputs=inputs)
            if delay is not None:
                self.mixer.set_delay(*delay)
        except BaseException:
            self.close()
            raise

    @property
    def limiter_delay(self) -> int:
        """Samples by which the limiter delays the output: its look-ahead and the interpolator's
        own sample (144 at 44.1 kHz, 3.3 ms, whatever the buffer)."""
        return self.mixer.latency if self.mixer is not None else Limiter(self.sr).latency

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


def output_names(slots: int, tracks: dict[int, str]) -> list[str]:
    """The JACK port names of an engine with per-track outputs.

    >>> output_names(2, {0: "drums"})
    ['master_L', 'master_R', 'drums_L', 'drums_R', 'slot2_L', 'slot2_R', 'reverb_L', 'reverb_R']
    >>> output_names(1, {0: "reverb"})[2]   # port names must differ
    'track_reverb_L'
    """
    own = ("master", "reverb")
    names = [tracks.get(i, f"slot{i + 1}") for i in range(slots)]
    names = ["master"] + [f"track_{n}" if n in own else n for n in names] + ["reverb"]
    return [f"{name}_{side}" for name in names for side in "LR"]
