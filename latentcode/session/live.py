"""A session played live: the engine, MIDI in, per-track outputs and Ableton Link.

:class:`LivePlay` is the live half of :class:`latentcode.session.Session` (which mixes it in):
starting and stopping the engine, MIDI in, naming per-track JACK outputs after their tracks,
and joining a Link session. Nothing here runs on the audio path: the engine's producer and
audio threads only ever see the scheduler.

>>> s = Session(); s.start("jack", outputs="tracks"); s.start_link()   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from latentcode.errors import LatentcodeError
from latentcode.patterns.controllers import CONTROLLERS
from latentcode.patterns.time import Fraction
from latentcode.playback.scheduler import LiveTime


def change_lead(engine: Any) -> int:
    """Samples after the one being heard where a change made now starts (a pad's note, a
    cycle to switch on): as soon as a rewind can reach, the producer's call under way
    included (``Engine.soonest_change``; see :mod:`latentcode.playback.rewind`)."""
    return engine.soonest_change


class LivePlay:
    """Live play for a Session (see the module's doc); uses the Session's attributes."""

    bank: Any  # the session's Bank
    engine: Any
    frames: Any  # the session's FrameCache
    live_scheduler: Any
    midi: Any
    midi_why: str
    link: Any = None  # a ports.link.LinkSync while the session is in a Link session

    def start(self, backend: str = "jack", **engine_options: Any) -> None:
        """Start playing live through ``backend`` (jack, portaudio, none); ``engine_options``
        go to :class:`latentcode.audio.engine.Engine` (``outputs="tracks"``: a pair of JACK
        ports per track, named after it); it plays the session's :attr:`channels`."""
        from latentcode.audio.engine import Engine
        from latentcode.model.threads import set_live_threads

        if self.engine is not None:
            return
        set_live_threads()  # the producer decodes on the spare cores (model.spare_cores)
        # the frame cache's memory, taken now: the producer never allocates it while playing
        self.frames.reserve(self.model.latent_dim, self.model.segment)
        # the decoder made, and its compiled steps loaded, before the audio starts: the
        # producer's first decode did it, 0.09-0.12 s in int8x3 (0.03-0.04 s when int8x3 was
        # torch calls), and a first sound played then had underruns
        self.model.warm()
        engine = Engine(backend, tracks=self.slots, sr=self.model.sample_rate,
                        on_message=self.report, channels=self.channels, **engine_options)
        if engine.capture is not None:  # ``in`` (session/inputs.py)
            self.open_input(engine.capture)
        self.live_scheduler = self.scheduler(wait_for_sounds=False)
        self.live_scheduler.on_start.append(self.events_out.event)
        self.live_scheduler.on_block.append(self.events_out.block)
        self.events_out.attach(engine.heard_stamp, engine.sample_rate)
        try:
            engine.start(self.live_scheduler)
        except BaseException:
            self.events_out.detach()
            engine.close()
            self.live_scheduler = None
            raise
        self.engine = engine
        # the bank's background work waits while the producer is pressed for time
        self.bank.pace_by(lambda: engine.stats.producer_load_recent)
        self.name_outputs()
        # controllers glide from the first sample not yet made; notes, and knobs' moves of
        # track effects, change_lead after the sample being heard
        CONTROLLERS.attach(LiveTime(self.live_scheduler, heard=lambda: engine.position,
                                    latency=lambda: change_lead(engine)))

    def next_change(self, quant: Fraction) -> Fraction:
        """The first multiple of ``quant`` cycles that a change made now can reach, though
        that audio may be queued already (it is made again)."""
        engine = self.engine
        lead = None if engine is None else engine.position + change_lead(engine)
        return self.live_scheduler.next_boundary(quant, lead)

    def name_outputs(self) -> None:
        """Name per-track outputs after the tracks that use their slots (a new track calls it)."""
        if self.engine is not None:
            self.engine.name_outputs({t.slot: name for name, t in self.tracks.items()})

    def start_midi(self, kind: str = "auto", *, connect: str | None = None) -> None:
        """Take MIDI in (``kind``: auto, jack, alsa or none; see
        :mod:`latentcode.ports.midi_in`); a LatentcodeError says why it cannot."""
        from latentcode.ports.midi_in import open_midi_in

        self.stop_midi()
        audio = self.engine.backend if self.engine is not None else "none"
        try:
            self.midi = open_midi_in(kind, CONTROLLERS, audio=audio, connect=connect)
        except LatentcodeError as e:
            self.midi_why = str(e)
            raise

    def stop_midi(self) -> None:
        midi, self.midi = self.midi, None
        if midi is not None:
            midi.close()

    def start_link(self, quantum: float = 4) -> str:
        """Join (or rejoin, with another ``quantum``) an Ableton Link session: this session's
        tempo and cycle starts follow it, and a tempo set here goes to every peer. Live only;
        a LatentcodeError says why it cannot. Returns the line to say."""
        from latentcode.ports.link import LinkSync

        if self.engine is None or self.live_scheduler is None:
            raise LatentcodeError("Link needs live play: start the audio first")
        self.stop_link()
        self.link = LinkSync(self.live_scheduler, heard_stamp=self.engine.heard_stamp,
                             sample_rate=self.engine.sample_rate, quantum=quantum)
        return (f"joined Ableton Link at {self.link.bpm:.2f} bpm, quantum {quantum:g} "
                f"({self.link.peers} peers so far)")

    def stop_link(self) -> None:
        """Leave the Link session; the tempo stays where it was."""
        link, self.link = self.link, None
        if link is not None:
            link.close()

    def stop(self) -> None:
        """Stop live audio, MIDI and Link, and release the engine."""
        self.stop_link()
        self.stop_midi()
        CONTROLLERS.attach(None)
        engine, self.engine = self.engine, None
        self.bank.pace_by(None)
        self.events_out.detach()
        if engine is not None:
            engine.close()
        self.live_scheduler = None
