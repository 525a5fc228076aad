"""The audio input: a ring of the most recent input samples, written by the audio thread.

pyo's graph copies every input channel into a table (``Input`` into ``TableFill``); the
server's callback, which runs before pyo computes a buffer, finds there the input of the buffer
before and hands it to :meth:`Capture.take`: mixed to mono and written into the ring. That is
all the audio thread does with the input. Whoever encodes it (the producer thread, see
:mod:`latentcode.model.live_input`) reads the ring by absolute sample positions.

Like :class:`~latentcode.audio.ring.AudioRing`, positions are absolute sample indices that never
wrap, ``write_pos`` is published after the data, and no lock is needed under the GIL: one
writer (the audio thread), readers that check they were not overtaken.

>>> c = Capture(capacity=8)
>>> c.take([np.array([0.5, 0.5, 0.5], np.float32), np.array([0.1, 0.1, 0.1], np.float32)], 0)
>>> c.write_pos, [round(float(x), 2) for x in c.read(1, 3)]
(3, [0.3, 0.3])
"""

from __future__ import annotations

import numpy as np

from latentcode.audio.shared import Stamp

INPUT_SECONDS = 24.0  # of raw input kept: what ``:sample`` and ``in`` can reach back into


class Capture:
    """The most recent ``capacity`` input samples (mono float32), and when they came.

    ``stamp`` pairs the input position with the engine's clock (the source sample being
    played) at the latest buffer: the input sample ``write_pos`` arrived while source sample
    ``played`` was heard, so a cycle of the music can be found in the input.
    """

    realtime = True  # it comes as it is played (a FileInput is known ahead)

    def __init__(self, capacity: int, data: np.ndarray | None = None,
                 stamp: Stamp | None = None) -> None:
        self.capacity = int(capacity)
        # shared with the audio process's twin when it is given (latentcode.audio.player)
        self.data = np.zeros(self.capacity, np.float32) if data is None else data
        self._stamp = Stamp() if stamp is None else stamp
        self._mono = np.zeros(0, np.float32)

    @property
    def write_pos(self) -> int:
        """The end of the input arrived so far (published after the data)."""
        return self._stamp.read()[0]

    @property
    def stamp(self) -> tuple[int, int]:
        """(write_pos, the engine's source position then), read whole."""
        return self._stamp.read()

    @classmethod
    def for_rate(cls, sr: int, seconds: float = INPUT_SECONDS) -> Capture:
        """A capture of ``seconds`` of input at ``sr``, rounded up to a power of two."""
        return cls(capacity_for(sr, seconds))

    def take(self, channels: list[np.ndarray], played: int) -> None:
        """The audio thread: append one buffer of input, ``channels`` (each n samples) mixed
        to mono, while the engine plays source sample ``played``."""
        n = len(channels[0])
        if len(self._mono) != n:
            self._mono = np.zeros(n, np.float32)
        mono = self._mono
        np.copyto(mono, channels[0])
        for other in channels[1:]:
            mono += other
        if len(channels) > 1:
            mono *= 1.0 / len(channels)
        start = self.write_pos
        a = start % self.capacity
        first = min(n, self.capacity - a)
        self.data[a : a + first] = mono[:first]
        self.data[: n - first] = mono[first:]
        self._stamp.write(start + n, played)  # publish last

    def available(self, start: int, n: int) -> int:
        """How far the input has arrived (the block being produced does not matter live)."""
        return self.write_pos

    def oldest(self) -> int:
        """The first position still in the ring."""
        return max(0, self.write_pos - self.capacity)

    def read(self, start: int, end: int) -> np.ndarray:
        """Samples [start, end) as a new array; what is not (or no longer) there is silence.
        A reader checks :meth:`oldest` after reading if it must know it was not overtaken."""
        out = np.zeros(max(0, end - start), np.float32)
        i, hi = max(start, self.oldest()), min(end, self.write_pos)
        while i < hi:  # at most two pieces
            a = i % self.capacity
            m = min(hi - i, self.capacity - a)
            out[i - start : i - start + m] = self.data[a : a + m]
            i += m
        return out

    def input_at(self, source_sample: int) -> int:
        """The input position that arrived (or will arrive) while ``source_sample`` is heard,
        from the latest stamp: input and output run at the same rate."""
        written, played = self.stamp
        return written + (source_sample - played)


def capacity_for(sr: int, seconds: float = INPUT_SECONDS) -> int:
    """Samples a capture of ``seconds`` at ``sr`` keeps: rounded up to a power of two.

    >>> capacity_for(44100, 1.0)
    65536
    """
    return 1 << int(np.ceil(np.log2(max(1.0, seconds * sr))))


class FileInput:
    """A recording standing in for the input, for offline renders: the input at source sample
    ``s`` is the file's sample ``s`` (silence past its end), and when a block is produced all
    of it up to the block's end has "arrived" (see :meth:`available`).

    >>> f = FileInput(np.arange(4, dtype=np.float32))
    >>> f.available(0, 2), f.read(2, 6).tolist()
    (2, [2.0, 3.0, 0.0, 0.0])
    """

    realtime = False

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = np.ascontiguousarray(samples, np.float32)
        self.stamp = (0, 0)

    def available(self, start: int, n: int) -> int:
        return start + n

    def oldest(self) -> int:
        return 0

    def read(self, start: int, end: int) -> np.ndarray:
        out = np.zeros(max(0, end - start), np.float32)
        lo, hi = max(0, start), min(end, len(self.samples))
        if lo < hi:
            out[lo - start : hi - start] = self.samples[lo:hi]
        return out

    def input_at(self, source_sample: int) -> int:
        return source_sample
