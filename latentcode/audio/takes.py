"""A live take with stems: pyo records every output channel into one file; this splits it.

With per-track outputs (``Engine(outputs="tracks")``) the server's outputs are the master pair,
a pair per track slot and the reverb's pair (:func:`latentcode.audio.graph.output_names`), and
pyo's recorder writes them all into one WAV. :func:`split_take` reads it in chunks and writes
one stereo file per pair wanted, each under a hidden name first and renamed when complete, so a
file under its final name is always whole. It is slow work (a 10-minute take of 8 tracks is
about 2 GB): run it away from the audio, as :meth:`latentcode.shell.commands` does.

>>> split_take("take.all.wav", [(0, "take.wav"), (2, "take/t1.wav")])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from latentcode.audio.offline import open_wav, write_checked
from latentcode.errors import LatentcodeError

CHUNK = 1 << 16  # frames read at a time


def split_take(source: str | os.PathLike[str],
               pairs: Sequence[tuple[int, str | os.PathLike[str]]]) -> list[Path]:
    """Write the stereo pair that starts at each channel of ``pairs`` to its own WAV file.

    Returns the files written. Channel 0 is the master (limited, as heard); other pairs are
    written unlimited, as the stems of an offline render are. Raises LatentcodeError when the
    take cannot be read or a file cannot be written; then no file of the split is left.
    """
    import soundfile

    try:
        take = soundfile.SoundFile(str(source))
    except (soundfile.LibsndfileError, OSError) as e:
        raise LatentcodeError(f"cannot read the take {str(source)!r}: {e}") from None
    targets = [(first, Path(path)) for first, path in pairs]
    hidden = [path.with_name(f".{path.name}.part") for _, path in targets]
    wavs = []
    try:
        with take:
            for first, path in targets:
                if first + 2 > take.channels:
                    raise LatentcodeError(f"the take has {take.channels} channels: no pair "
                                          f"at channel {first} for {path.name}")
            for part in hidden:
                wavs.append(open_wav(part, take.samplerate, "FLOAT"))
            for block in take.blocks(blocksize=CHUNK, dtype="float32", always_2d=True):
                for (first, _), wav in zip(targets, wavs, strict=True):
                    write_checked(wav, block[:, first : first + 2].copy(), clip=first == 0)
        for wav in wavs:
            wav.close()
        for part, (_, path) in zip(hidden, targets, strict=True):
            os.replace(part, path)
    except BaseException:
        for wav in wavs:
            wav.close()
        for part in hidden:
            part.unlink(missing_ok=True)
        raise
    return [path for _, path in targets]
