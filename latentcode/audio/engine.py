"""The audio engine: blocks of decoded per-track audio in, one mixed and limited stereo stream out.

A :class:`~latentcode.audio.source.Source` (the session, in the real program) writes stereo
audio for every track into blocks, each starting at an absolute sample index of the engine's
clock. The engine is built from parts, one module each:

- :mod:`~latentcode.audio.backends`: which backends exist and which would start now;
- :mod:`~latentcode.audio.graph`: the pyo server and graph (per-track filters and sends, the
  shared reverb and delay, the limiter);
- :mod:`~latentcode.audio.stream` and :mod:`~latentcode.audio.playout`: the producer and
  the audio sides of the :class:`~latentcode.audio.ring.AudioRing` between them, with panic
  and the counters;
- :mod:`~latentcode.audio.player`: the audio process that plays the ring live;
- :mod:`~latentcode.audio.offline`: the offline render to a WAV file;
- this module: the live engine that holds them together (threads, start/stop, recording).

Live (``"jack"``, ``"portaudio"`` or ``"none"``) a producer thread calls ``source.fill``
whenever fewer than ``lookahead`` samples are queued, and the audio process (its own
interpreter: nothing here can keep it waiting) only copies. Offline
(``"offline"``) the same graph and stream run on pyo's manual server and :meth:`Engine.render`
produces blocks just in time, so a render is deterministic. Render while performing in another
*process*: an offline render in the live process stalls the live audio (see
docs/audio-engine.md).
"""

from __future__ import annotations

import atexit
import gc
import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from latentcode.audio import offline
from latentcode.audio.backends import BACKENDS, check_input, check_jack, check_portaudio
from latentcode.audio.capture import Capture
from latentcode.audio.graph import DELAY_FEEDBACK, DELAY_MAX, output_names
from latentcode.audio.limiter import Limiter
from latentcode.audio.messages import Reporter
from latentcode.audio.player import Player
from latentcode.audio.priority import PRODUCER_NICE, raise_priority
from latentcode.audio.shared import Stamp
from latentcode.audio.source import Source
from latentcode.audio.stream import EngineStats, Stream
from latentcode.errors import LatentcodeError

__all__ = ["BACKENDS", "Engine", "EngineStats", "Source", "render"]

MAX_CHANNELS = 64  # speakers in a ring (the ZKM Kubus has 43)
OUTPUTS = ("master", "tracks")  # what a live engine offers: the master alone, or also stems
SWITCH_INTERVAL = 0.001  # s: how long another thread (the REPL) may keep the GIL from the producer

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
        outputs: str = "master",
        channels: int = 2,
        inputs: int = 0,
        input_ports: list[str] | None = None,
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
        self._bs = int(buffersize)  # the real one once a live engine has booted
        self._device = device
        self._jack_server = jack_server
        self._jack_client = jack_client
        if outputs not in OUTPUTS:
            raise LatentcodeError(f"unknown outputs {outputs!r}: use one of {', '.join(OUTPUTS)}")
        # "tracks": besides the master, a stereo pair per track slot and one for the reverb
        self.outputs = outputs
        if not 2 <= int(channels) <= MAX_CHANNELS or channels != int(channels):
            raise LatentcodeError(f"channels: from 2 (stereo) to {MAX_CHANNELS} speakers, not "
                                  f"{channels}")
        if outputs == "tracks" and channels != 2:
            raise LatentcodeError("per-track outputs are stereo: use --outputs tracks with "
                                  "--channels 2")
        self._channels = int(channels)  # of the master: stereo, or a ring of speakers
        self._reporter = Reporter(on_message)
        self.messages = self._reporter.messages
        self._capacity = max(1 << 16, 1 << math.ceil(math.log2(2 * lookahead + 4 * self.block)))
        # the stream being played (live), or the last one rendered (offline)
        self._stream = Stream(self.tracks, self.block, self._sr, self._capacity,
                              self._checked_lookahead(lookahead), self._reporter,
                              channels=self._channels)
        self._player: Player | None = None  # live: the audio process
        self._thread: threading.Thread | None = None  # the producer
        self.producer_priority = 0  # the producer thread's nice value, once it runs
        self._halt = threading.Event()
        self._closed = False
        self._recording = False
        self._saved_switch = sys.getswitchinterval()
        self._delay: tuple[float, float] | None = None  # set_delay's (seconds, feedback)
        # the audio input (live): ``inputs`` channels mixed into one ring (audio/capture.py),
        # connected from ``input_ports`` on JACK
        self._inputs = int(inputs)
        self._input_ports = list(input_ports or [])
        self.capture: Capture | None = None
        if backend == "offline":
            return
        if self._inputs:
            check_input(backend)
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
    def on_message(self) -> Callable[[str], None] | None:
        """Called with every message (from the producer thread), besides :attr:`messages`."""
        return self._reporter.on_message

    @on_message.setter
    def on_message(self, callback: Callable[[str], None] | None) -> None:
        self._reporter.on_message = callback

    @property
    def channels(self) -> int:
        """The output channels: the master's (a pair, or ``channels`` speakers in a ring), and
        with ``outputs="tracks"`` a pair per track slot and the reverb's (see
        :func:`~latentcode.audio.graph.output_names`)."""
        return 2 * (self.tracks + 2) if self.outputs == "tracks" else self._channels

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
        return self._stream.lookahead

    @property
    def position(self) -> int:
        """The clock: source samples handed to the audio output so far."""
        return self._stream.ring.read_pos

    @property
    def latency(self) -> float:
        """Seconds from a block being produced to being heard, about: the queue (the
        lookahead, and the blocks filled at once: :meth:`Stream.usual_steps`), the limiter, JACK."""
        hardware = 2 * self._bs if self.backend == "jack" else self._bs
        filled = self.block * self._stream.usual_steps()
        return (self.lookahead + filled + hardware + self.limiter_delay) / self._sr

    @property
    def soonest_change(self) -> int:
        """Samples after the one being heard from which a rewind (``now``, a pad) can change
        the queue: a buffer, the producer's call, the rewind (``Stream.call_margin``, ``amend``)."""
        return self._bs + self._stream.rewind_margin + self._stream.call_margin

    @property
    def limiter_delay(self) -> int:
        """Samples by which the limiter delays what is heard (its look-ahead: 3.3 ms)."""
        if self._player is not None and self._player.limiter_delay:
            return self._player.limiter_delay
        return Limiter(self._sr).latency  # before the audio process says

    @property
    def lookahead_floor(self) -> int:
        """The fewest samples to keep queued as the producer runs now: its slowest block lately
        (:attr:`Stream.worst_fill`), plus a switch interval and 2 ms, plus a buffer (see
        "Sizing the lookahead" in docs/audio-engine.md). Less gaps the audio; ``:latency``
        goes no lower. Measured, so it follows the machine: a busy core raises it.

        >>> Engine("offline", buffersize=256).lookahead_floor   # nothing produced yet
        389
        """
        worst = self._stream.worst_fill + SWITCH_INTERVAL + 0.002
        return max(self._bs, math.ceil(worst * self._sr) + self._bs)

    def holding(self) -> AbstractContextManager[None]:
        """Around a line's evaluation (Session.eval): the producer keeps only
        :attr:`lookahead_floor` queued meanwhile (:meth:`Stream.held`); a no-op unless live."""
        if self._player is None or not self._stream.playing:
            return nullcontext()
        return self._stream.held(self.lookahead_floor)

    @property
    def worst_fill(self) -> float:
        """Seconds the producer's slowest block took lately (see :attr:`lookahead_floor`)."""
        return self._stream.worst_fill

    def heard_stamp(self) -> tuple[int, float] | None:
        """(sample, ``time.monotonic()`` when it leaves the engine's output) for the first
        sample of the latest audio buffer; None before the audio runs. The audio thread's
        stamp plus the limiter's delay: gaps and panic shift it, as they shift what is heard.

        >>> sample, t = live.heard_stamp()                  # doctest: +SKIP
        >>> heard = t + (onset - sample) / live.sample_rate  # doctest: +SKIP
        """
        stamp, player = self._stream.stamp, self._player
        if stamp is None or player is None:
            return None
        return stamp[0], stamp[1] + player.limiter_delay / self._sr

    @property
    def audio_pid(self) -> int | None:
        """The audio process's pid (live; None offline or once closed)."""
        return self._player.pid if self._player is not None else None

    @property
    def audio_restarts(self) -> int:
        """How often the audio process died and was started again."""
        return self._player.restarts if self._player is not None else 0

    @property
    def stats(self) -> EngineStats:
        """Counters: underruns, blocks, producer load, ring fill, the clock."""
        return self._stream.stats()

    # -- live control -----------------------------------------------------------------------

    def set_lookahead(self, samples: int) -> None:
        """Keep ``samples`` queued from now on: more survives slower decodes, less is snappier.

        >>> Engine("offline", lookahead=4096).set_lookahead(1 << 30)
        Traceback (most recent call last):
        latentcode.errors.LatentcodeError: lookahead must be between 256 and 63488 samples
        """
        self._stream.lookahead = self._checked_lookahead(samples)
        self._stream.wake.set()

    def _checked_lookahead(self, samples: int) -> int:
        top = self._capacity - 2 * self.block
        if not self._bs <= int(samples) <= top:
            raise LatentcodeError(f"lookahead must be between {self._bs} and {top} samples")
        return int(samples)

    def set_delay(self, seconds: float, feedback: float = DELAY_FEEDBACK) -> None:
        """Set every track's delay time (e.g. 3/8 of a cycle, to sync it) and feedback."""
        if not (0 < seconds <= DELAY_MAX and 0 <= feedback < 1):
            raise LatentcodeError(f"delay time must be in (0, {DELAY_MAX}] s, feedback in [0, 1)")
        self._delay = (float(seconds), float(feedback))
        if self._player is not None:
            self._player.command("set_delay", *self._delay)

    def start(self, source: Source) -> None:
        """Play ``source`` live: prefill the ring, start the producer thread, then the audio."""
        if self.backend == "offline":
            raise LatentcodeError("an offline engine cannot play live: use render()")
        if self._closed or self._player is None:
            raise LatentcodeError("this audio engine is closed")
        self.stop()
        stream = self._stream
        stream.attach(source)
        _call(source, "start_live")  # e.g. the scheduler's circuit breaker (live only)
        stream.prefill()
        self._halt.clear()
        stream.generation += 1
        self._thread = threading.Thread(target=self._produce,
                                        args=(self._halt, stream.generation),
                                        name="latentcode-producer", daemon=True)
        self._saved_switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        gc.collect()
        gc.freeze()  # a full collection over everything built so far holds the GIL ~100 ms
        stream.playing = True
        self._thread.start()
        self._player.command("start")

    def _produce(self, halt: threading.Event, generation: int) -> None:
        """The producer thread: ahead of other programs for a core, then keep the ring filled."""
        self.producer_priority = raise_priority(PRODUCER_NICE)
        self._stream.keep_filled(halt, generation, watch=self._watch)

    def _watch(self) -> None:
        """The producer, between blocks: the audio process looked after (Player.watch)."""
        if self._player is not None and not self._closed:
            self._player.watch((self._stream.stamp or (0, 0.0))[1], self._reporter)

    def stop(self) -> None:
        """Fade out, stop the audio and the producer; :meth:`start` may follow. Idempotent."""
        stream = self._stream
        if not stream.playing:
            return
        self._quietly("fade", 0.0, 0.005)
        time.sleep(0.005 + 3 * self._bs / self._sr)
        stream.playing = False
        self._quietly("stop")
        self._halt.set()
        stream.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                self._reporter.say("the audio source did not stop within 5 s (still inside fill)")
            self._thread = None
        _call(stream.source, "stop_live")
        sys.setswitchinterval(self._saved_switch)
        gc.unfreeze()
        stream.forward_audio_errors()

    def panic(self) -> None:
        """Silence now: fade out within a buffer, drop everything queued, clear reverb and
        delay tails, then play whatever the source produces next."""
        self._stream.panic()

    def name_outputs(self, tracks: dict[int, str]) -> None:
        """With ``outputs="tracks"`` on JACK, name each slot's pair of ports after its track
        (``t1_L``, ``t1_R``; an unused slot is ``slot3_L``...), besides ``master_L/R`` and
        ``reverb_L/R``. Cheap, and safe while playing: JACK renames the ports in place, keeping
        their connections."""
        if self._player is None or self.outputs != "tracks" or self.backend != "jack":
            return
        self._player.command("name_outputs", output_names(self.tracks, tracks))

    def record(self, path: str | os.PathLike[str]) -> None:
        """Write the master output (what is heard, after the limiter) to a 32-bit float WAV."""
        if self._player is None:
            raise LatentcodeError("recording needs a live engine (offline: use render())")
        path = str(path)
        if not path.lower().endswith(".wav"):
            raise LatentcodeError(f"record to a .wav file, not {path!r}")
        self.stop_record()
        self._player.command("record", path)
        self._recording = True

    def stop_record(self) -> None:
        """Finish the recording started by :meth:`record` (idempotent)."""
        if self._recording and self._player is not None:
            self._quietly("stop_record")
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
            player, self._player = self._player, None
            if player is not None:
                player.close()
            self._stream.disconnect()
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
        stems: Sequence[str | os.PathLike[str] | None] | None = None,
    ) -> None:
        """Render ``frames`` samples of ``source`` through the graph to a WAV file.

        Runs pyo on ``Server(audio="manual")``, one ``process()`` per block (the same bits as
        per buffer of :attr:`buffersize`: :func:`.offline.render_buffer`), faster than real
        time. Sample 0 of the file is sample 0 of the source: the limiter's lookahead delay and
        pyo's start fade are rendered ahead and cut. The same source gives a bit-identical file.
        :attr:`stats` and :attr:`messages` then tell how the render went. ``stems``: a file
        per track slot and one for the reverb, summing to the mix before its limiter (see
        :func:`latentcode.audio.offline.render`).
        """
        if self.backend != "offline":
            raise LatentcodeError(
                "render with Engine('offline') in another process: an offline render in the "
                "live process stalls the live audio"
            )
        self._stream = Stream(self.tracks, self.block, self._sr, self._capacity, self.lookahead,
                              self._reporter, channels=self._channels)
        buffer = offline.render_buffer(self.block, self._bs)  # the same bits, fewer calls
        self._stream.steps = offline.steps_for(self._capacity, self.block, buffer)
        offline.render(self._stream, source, frames, path, buffersize=buffer,
                       delay=self._delay, progress=progress, subtype=subtype, stems=stems)
        _call(source, "finished")  # e.g. the scheduler keeps what it measured on disk

    # -- internals --------------------------------------------------------------------------

    def _boot_live(self) -> None:
        """Start the audio process, and make the stream the producer's side of its ring."""
        if self._jack_server:  # this process's own JACK clients (MIDI) find the same server
            os.environ["JACK_DEFAULT_SERVER"] = self._jack_server
        player = self._player = Player(
            backend=self.backend, tracks=self.tracks, sr=self._sr, buffersize=self._bs,
            block=self.block, capacity=self._capacity, delay=self._delay, device=self._device,
            jack_server=self._jack_server, jack_client=self._jack_client,
            stems=self.outputs == "tracks", channels=self._channels, inputs=self._inputs,
            input_ports=self._input_ports)
        self._sr, self._bs = player.sr, player.buffersize
        lookahead = max(self._stream.lookahead, self._bs)  # JACK may impose a longer period
        self._stream = Stream(self.tracks, self.block, self._sr, self._capacity, lookahead,
                              self._reporter, channels=self._channels, ring=player.ring(),
                              board=player.board, gaps=player.shared["gaps"],
                              stamp=Stamp(player.shared["stamp"]), wake=player.wake)
        self._stream.heard_in(self._sr, self._bs)
        self._stream.audio_errors = player.errors
        self.capture = player.capture
        self.name_outputs({})

    def _quietly(self, command: str, *args: Any) -> None:
        """A command the audio process may no longer be there for (stopping, closing)."""
        try:
            self._player.command(command, *args)
        except LatentcodeError as exc:
            self._reporter.once(str(exc), str(exc))


def _call(source: Any, hook: str) -> None:
    """Call the optional ``hook`` of a source (a plain Source has none)."""
    method = getattr(source, hook, None)
    if callable(method):
        method()


def render(source: Source, frames: int, path: str | os.PathLike[str], **options: Any) -> None:
    """Render ``source`` offline: ``Engine("offline", **options).render(source, frames, path)``.

    ``progress`` and ``subtype`` go to :meth:`Engine.render`, the rest to :class:`Engine`.
    """
    kwargs = {k: options.pop(k) for k in ("progress", "subtype", "stems") if k in options}
    Engine("offline", **options).render(source, frames, path, **kwargs)
