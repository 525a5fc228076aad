"""The engine's counters at a moment (``Engine.stats``): underruns and where they came, the
producer's load, the queue, the clock.

>>> stats = EngineStats(underruns=0, underrun_samples=0, blocks=43, fill_errors=0,
...                     producer_load=0.4, producer_load_recent=0.5, producer_load_peak=0.9,
...                     ring_fill=4096, position=39936, output_frames=39936, dropped=0)
>>> stats.blocks * 1024 - stats.ring_fill == stats.position   # made, less queued: played
True
"""

from __future__ import annotations

from dataclasses import dataclass


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
    # the latest underruns (GAPS_KEPT): the source sample after which each gap's silence
    # came, and its samples; in a live take, every gap delays the samples after it
    gaps: tuple[tuple[int, int], ...] = ()
