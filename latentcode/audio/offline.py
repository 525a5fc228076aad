"""Offline render: a :class:`~latentcode.audio.stream.Stream` through the graph into a WAV file.

The same graph as live runs on pyo's manual server, one ``process()`` per buffer, faster than
real time, and the render loop produces each block just before the buffer that plays it, so the
file depends on the source alone: the same source gives a bit-identical file. Render in another
*process* while performing: an offline render in the live process stalls the live audio
(docs/audio-engine.md). :meth:`latentcode.audio.engine.Engine.render` is the way in::

    Engine("offline", tracks=4).render(source, frames=44100 * 8, path="piece.wav")
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentcode.audio.denormals import Around
from latentcode.audio.graph import Graph
from latentcode.audio.source import Source
from latentcode.audio.stream import Stream
from latentcode.errors import LatentcodeError

OFFLINE_PREROLL = 2  # silent buffers before an offline render: pyo's start fade lands there
# blocks a render asks a source with ``fill_steps`` for at once (Stream.steps): the same file,
# decoded in larger batches. A decode call of a few rows costs nearly what one of 64 does (it
# reads all the weights either way), and a render's blocks have few rows each: at 4 blocks,
# coding_the_latent.lc made 5,212 calls of 9-17 rows, 5 of its 19 s. One process, idle:
# 12.6x real time at 4, 15.4x at 8, 17.7x at 32, 18.5x at 64 (see docs/audio-engine.md for
# the one kind of voice that differs)
OFFLINE_STEPS = 32
_SFC_SET_ADD_PEAK_CHUNK = 0x1050  # from sndfile.h


def steps_for(capacity: int, block: int, buffersize: int) -> int:
    """The blocks a render fills a call: :data:`OFFLINE_STEPS`, or fewer if the ring
    (``capacity`` samples, up to a buffer of them still queued) holds no more.

    >>> steps_for(1 << 16, 1024, 256), steps_for(1 << 16, 4096, 256)
    (32, 15)
    """
    return max(1, min(OFFLINE_STEPS, (capacity - buffersize) // block))


def render_buffer(block: int, buffersize: int) -> int:
    """The buffer pyo computes a render in: the producer's whole ``block`` where the period
    ``buffersize`` divides it, else the period. A block's controls reach the graph at its first
    sample and the graph works sample by sample, so the file is the same bits as in buffers of
    the period (tested with controls that move every block and a limiter at work), while pyo's
    and the callback's cost per buffer, most of a render's own, is paid a quarter as often at
    the defaults.

    >>> render_buffer(1024, 256), render_buffer(1000, 256)
    (1024, 256)
    """
    return block if block % buffersize == 0 else buffersize


def render(
    stream: Stream,
    source: Source,
    frames: int,
    path: str | os.PathLike[str],
    *,
    buffersize: int,
    delay: tuple[float, float] | None = None,
    progress: bool = False,
    subtype: str = "FLOAT",
    stems: Sequence[str | os.PathLike[str] | None] | None = None,
) -> None:
    """Render ``frames`` samples of ``source`` through a fresh graph to a WAV file at ``path``.

    ``stream`` is new (its counters become the render's statistics); ``delay`` the shared
    delay's (seconds, feedback) if not the default. Sample 0 of the file is sample 0 of the
    source: the limiter's lookahead delay and pyo's start fade are rendered ahead and cut. On
    any error no file is left behind.

    ``stems``, when given, names a file for each track slot and, last, one for the shared
    reverb's return (None: not written). They are sample-aligned with the mix and, unlike it,
    not limited: together they sum to the master bus before its limiter (see
    :meth:`latentcode.audio.graph.Mixer._stems`).
    """
    if stems is not None and len(stems) != stream.tracks + 1:
        raise ValueError(f"stems: {stream.tracks + 1} paths (tracks, then the reverb), "
                         f"got {len(stems)}")
    wavs = [open_wav(path, stream.sr, subtype, channels=stream.channels)]
    paths = [Path(path)]
    graph: Graph | None = None
    try:
        for stem in stems or ():
            wavs.append(open_wav(stem, stream.sr, subtype) if stem is not None else None)
            paths.append(Path(stem) if stem is not None else None)
        graph = Graph("offline", tracks=stream.tracks, sr=stream.sr, buffersize=buffersize,
                      delay=delay, stems=stems is not None, channels=stream.channels)
        stream.connect(graph)
        stream.attach(source)
        stream.playing = True
        _render_into(stream, graph, wavs, frames, progress)
    except BaseException:
        for wav, p in zip(wavs, paths, strict=False):
            if wav is not None:
                wav.close()
                p.unlink(missing_ok=True)  # no half-written file that looks like a render
        raise
    finally:
        stream.playing = False
        stream.preroll = False
        if graph is not None:
            graph.close()
        stream.disconnect()
    for wav in wavs:
        if wav is not None:
            wav.close()
    stream.forward_audio_errors()


def _render_into(stream: Stream, graph: Graph, wavs: list[Any], frames: int,
                 progress: bool) -> None:
    """Run the manual server one buffer at a time, producing blocks just in time, and write the
    output from the first sample of the source on, in chunks: the master's channels to
    ``wavs[0]``, each following pair (stems) to the next file (None: not written)."""
    server, bs = graph.server, graph.buffersize
    # the graph's tails decay into numbers too small to be normal, tens of times slower to
    # compute: flushed to zero while it computes, and only then (see latentcode.audio.denormals)
    around = Around()
    skip = OFFLINE_PREROLL * bs + graph.limiter_delay
    server.start()
    address = ctypes.cast(int(server.getOutputAddr(), 16), ctypes.POINTER(ctypes.c_float))
    # pyo's interleaved buffer
    output = np.ctypeslib.as_array(address, shape=(bs, graph.channels))
    chunk = np.empty((64 * bs, graph.channels), np.float32)
    filled = 0
    steps = -(-(frames + skip) // bs)
    bar = progress_bar(steps, progress)
    done = -skip  # source position of the buffer being computed
    for step in range(steps):
        stream.preroll = step < OFFLINE_PREROLL
        while not stream.preroll and stream.ring.available() < bs:
            stream.produce()
        around.on()
        try:
            server.process()
        finally:
            around.off()
        lo, hi = max(done, 0), min(done + bs, frames)
        if hi > lo:
            chunk[filled : filled + hi - lo] = output[lo - done : hi - done]
            filled += hi - lo
        if filled > len(chunk) - bs or step == steps - 1:
            master = stream.channels
            for i, wav in enumerate(wavs):
                if wav is not None:
                    lo = 0 if i == 0 else master + 2 * (i - 1)
                    hi = master if i == 0 else lo + 2
                    # stems are not limited: they may pass ±1 (a float WAV keeps it)
                    write_checked(wav, chunk[:filled, lo:hi].copy(), clip=i == 0)
            filled = 0
        done += bs
        bar.update(1)
    bar.close()


def open_wav(path: str | os.PathLike[str], sr: int, subtype: str, channels: int = 2) -> Any:
    """A WAV (stereo unless told) open for writing whose bytes depend on the samples only.

    libsndfile adds a PEAK chunk with a timestamp to float WAVs, which would make two renders
    of the same piece differ; it is turned off (soundfile has no public switch for it).

    >>> open_wav("/no/such/folder/x.wav", 44100, "FLOAT")
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: cannot write '/no/such/folder/x.wav': ...
    """
    import soundfile

    try:
        wav = soundfile.SoundFile(str(path), "w", sr, channels, subtype=subtype, format="WAV")
    except (soundfile.LibsndfileError, ValueError, OSError) as e:
        raise LatentcodeError(f"cannot write {str(path)!r}: {e}") from None
    with contextlib.suppress(AttributeError):
        soundfile._snd.sf_command(wav._file, _SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
    return wav


def write_checked(wav: Any, data: np.ndarray, *, clip: bool = True) -> None:
    """Append ``data`` to ``wav``: finite and (with ``clip``) within ±1 whatever happened
    upstream."""
    np.nan_to_num(data, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    if clip:
        np.clip(data, -1.0, 1.0, out=data)
    wav.write(data)


def progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar on stderr, or a stand-in that does nothing.

    >>> bar = progress_bar(10, enabled=False); bar.update(1); bar.close()
    """
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, unit="buf", desc="render", file=sys.stderr)

    class _Quiet:
        def update(self, _n: int) -> None: ...

        def close(self) -> None: ...

    return _Quiet()
