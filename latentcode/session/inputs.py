"""The session's audio input: ``in`` as a sound, and ``:sample`` recording it into the bank.

:class:`Inputs` is mixed into :class:`latentcode.session.Session`. Live, the engine's
:class:`~latentcode.audio.capture.Capture` is encoded block by block into the sound ``in``
(:mod:`latentcode.model.live_input`); offline, a file stands in for the input
(``render --input FILE``), heard at the render's clock. ``:sample NAME CYCLES`` records the
input from the next cycle the performer hears, writes it as ``NAME.wav`` into the session's
folder of samples, which the bank adds as the group ``sampled``: the bank trims, encodes and
matches it on its background worker, as any file, and the music never waits.

>>> s = Session(); s.start("jack", inputs=1)        # doctest: +SKIP
>>> s.eval('t1 $ "in" # mix "bell" # alpha 0.5')     # doctest: +SKIP
>>> s.sample("riff", 2)                              # doctest: +SKIP
'recording riff: 2 cycles from cycle 5 (4.0 s)'
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.bank import SPECIAL, typeable
from latentcode.model.jobs import NotReady
from latentcode.model.live_input import LiveInput
from latentcode.patterns.time import Fraction

SAMPLED = "sampled"  # the folder of a session's samples, and so their group in the bank
SILENT = 1e-4  # a recording whose peak stays below this took nothing in


class Inputs:
    """The audio input of a Session (see the module's doc); uses the Session's attributes."""

    model: Any
    bank: Any
    engine: Any
    live_scheduler: Any
    live_input: LiveInput | None = None
    _samples: Path | None = None

    def open_input(self, source: Any) -> LiveInput:
        """Make ``source`` (a Capture, or a FileInput) the sound ``in``."""
        if self.live_input is None:
            hop = self.model.segment // 4  # a frame per overlap-add hop of the decoder
            self.live_input = LiveInput(self.model, source, hop, self.model.sample_rate)
        self.live_input.restart(source)
        self.bank.live_input = self.live_input.sound
        return self.live_input

    def input_from(self, path: str | Path) -> None:
        """Let a recording stand in for the input (offline): sample ``s`` of the render hears
        the file's sample ``s``."""
        from latentcode.audio.capture import FileInput
        from latentcode.model.audiofiles import load_audio

        audio = load_audio(path, self.model.sample_rate)
        self.open_input(FileInput(audio))

    def input_line(self) -> str:
        """One line on the input: what it is, its level and its latency (the toolbar's too)."""
        live = self.live_input
        if live is None or not getattr(live.source, "realtime", False):
            return "no audio input: it opens when latentcode plays through JACK (not --input none)"
        # the loudest sample of the last tenth of a second, read here: the audio thread only
        # copies the input
        now = live.source.write_pos
        recent = live.source.read(now - self.model.sample_rate // 10, now)
        peak = float(np.abs(recent).max()) if len(recent) else 0.0
        level = f"{20 * np.log10(peak):.0f} dBFS" if peak > SILENT else "silent"
        if live.sound.newest < 0:
            return f"input {level}; not encoded until a pattern plays \"in\""
        ms = 1000 * self.input_latency() / self.model.sample_rate
        return f"input {level}, heard {ms:.0f} ms after it comes in"

    def input_latency(self) -> int:
        """Samples from a sound at the input to its decode at the output (live): the encoding
        ring's lag, the input table's buffer, the limiter and JACK's periods either way."""
        live, engine = self.live_input, self.engine
        if live is None or engine is None:
            return 0
        hardware = 3 * engine.buffersize if engine.backend == "jack" else engine.buffersize
        return live.latency + engine.buffersize + engine.limiter_delay + hardware

    def sample(self, name: str, cycles: float) -> str:
        """Record ``cycles`` cycles of the input, from the next cycle heard, into the bank as
        ``name``; returns the line to say. The music goes on meanwhile."""
        live = self.live_input
        if live is None or self.engine is None or not getattr(live.source, "realtime", False):
            raise LatentcodeError(":sample records the live input, and there is none: play "
                                  "through JACK (not --input none)")
        if not typeable(name) or name in SPECIAL:
            raise LatentcodeError(f"{name!r} cannot name a sample: a word such as riff or "
                                  f"voice2 (not {', '.join(SPECIAL)})")
        again = self._samples is not None and (self._samples / f"{name}.wav").exists()
        if name in self.bank.names() and not again:  # (a sample may be taken again)
            raise LatentcodeError(f"{name!r} already names a sound or group of the bank: "
                                  f"sample under another name, e.g. {name}_live")
        if not 0 < cycles <= 64:
            raise LatentcodeError(f"sample between 0 and 64 cycles, not {cycles:g}")
        clock = self.live_scheduler.clock
        heard = self.engine.position
        cycle = Fraction(int(clock.cycle_at(heard)) + 1)
        start = clock.sample_at(cycle)
        n = int(self.samples_for(cycles))
        # a performer plays along with what they hear: their sound comes back that much later
        at = live.source.input_at(start) + self.input_latency() - live.latency
        live.record(name, at, n, self._sampled)
        return (f"recording {name}: {cycles:g} cycle{'s' * (cycles != 1)} from cycle "
                f"{int(cycle)} ({n / self.model.sample_rate:.1f} s)")

    def _sampled(self, name: str, audio: np.ndarray) -> None:
        """A recording is complete (producer thread): write and add it elsewhere."""
        threading.Thread(target=self._add_sample, args=(name, audio),
                         name="latentcode-sample", daemon=True).start()

    def _add_sample(self, name: str, audio: np.ndarray) -> None:
        import soundfile

        peak = float(np.abs(audio).max()) if len(audio) else 0.0
        if peak < SILENT:
            self.report(f"sampled {name}: the input was silent; nothing added (:input shows "
                        "it; connect a source to latentcode:input_1)")
            return
        folder = self.samples_folder()
        soundfile.write(str(folder / f"{name}.wav"), audio, self.model.sample_rate,
                        subtype="FLOAT")
        self.bank.add_folder(folder)
        try:  # encoded on the bank's worker, paced behind the decoder
            self.bank.resolve(name, wait=False)
        except NotReady:
            pass
        except LatentcodeError as e:
            self.report(f"sampled {name}, but the bank cannot read it: {e}")
            return
        self.report(f"sampled {name} ({len(audio) / self.model.sample_rate:.1f} s, peak "
                    f"{20 * np.log10(peak):.0f} dBFS): play it as \"{name}\"; :sample save DIR "
                    "keeps it")

    def samples_folder(self) -> Path:
        """This session's folder of samples (made on first use, removed at exit)."""
        if self._samples is None:
            root = Path(tempfile.mkdtemp(prefix="latentcode-"))
            atexit.register(shutil.rmtree, root, True)
            self._samples = root / SAMPLED
            self._samples.mkdir()
        return self._samples

    def save_samples(self, folder: str | Path) -> str:
        """Copy every sample of the session into ``folder`` (``bank "FOLDER"`` loads them in a
        later session); returns the line to say."""
        files = sorted(self._samples.glob("*.wav")) if self._samples is not None else []
        if not files:
            raise LatentcodeError("no samples yet: :sample NAME CYCLES records one")
        target = Path(folder).expanduser()
        try:
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copy2(f, target / f.name)
        except OSError as e:
            raise LatentcodeError(f"cannot save the samples into {str(folder)!r}: "
                                  f"{e.strerror or e}") from None
        return f"saved {len(files)} sample{'s' * (len(files) != 1)} into {target}"
