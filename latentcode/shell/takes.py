"""Live takes (``:record``): a stereo file of the master, or a folder of stems.

The engine records every output channel it has into a hidden file (pyo's recorder writes them
all). With the master alone that file simply gets its name at ``:stop``. With per-track outputs
(``--outputs tracks``) the hidden file holds the master, a pair per track and the reverb's
pair, and ``:stop`` splits it (:func:`latentcode.audio.takes.split_take`) in a thread of its
own, away from the prompt: into the file asked for (the master), or, for ``:record FOLDER``,
into ``FOLDER/mix.wav`` plus one file per track and ``reverb.wav``, which sum to the master
before its limiter.

>>> Take(Path("take.wav"), Path(".take.recording.wav"), stems=False).describe()
'take.wav'
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentcode.errors import LatentcodeError


@dataclass
class Take:
    """A recording under way: where it ends up, where it is written meanwhile."""

    path: Path  # the file (master) or the folder (stems) it gets at :stop
    partial: Path  # the hidden file pyo writes
    stems: bool  # a folder of stems rather than one file
    channels: int = 2  # the channels of a take to split (2: the file is the master as it is)

    @property
    def name(self) -> str:
        """As the toolbar shows it."""
        return f"{self.path.name}/" if self.stems else self.path.name

    def describe(self) -> str:
        return f"{self.path}/ (mix.wav and a file per track)" if self.stems else str(self.path)


def stems_folder(raw: str) -> Path | None:
    """The folder ``:record`` was given (a name ending in ``/`` or an existing folder), or None
    for a file."""
    path = Path(raw).expanduser()
    return path if raw.endswith(("/", os.sep)) or path.is_dir() else None


def start_stems(engine: Any, folder: Path, force: bool) -> Take:
    """Start recording stems into ``folder`` (made if need be; one that holds a take already
    becomes ``folder-2`` unless ``force``). A LatentcodeError says why it cannot."""
    if getattr(engine, "outputs", "master") != "tracks":
        raise LatentcodeError("recording stems needs per-track outputs: start latentcode with "
                              "--outputs tracks (:record FILE records the master)")
    if not folder.parent.is_dir():
        raise LatentcodeError(f"cannot record to {str(folder)!r}: there is no folder "
                              f"{str(folder.parent)!r}")
    n, wanted = 2, folder
    while (folder / "mix.wav").exists() and not force:
        folder = wanted.with_name(f"{wanted.name}-{n}")
        n += 1
    try:
        folder.mkdir(exist_ok=True)
    except OSError as e:
        raise LatentcodeError(f"cannot make {str(folder)!r}: {e.strerror}") from None
    partial = folder / ".take.recording.wav"
    partial.unlink(missing_ok=True)
    engine.record(partial)
    return Take(folder, partial, stems=True, channels=engine.channels)


def finish(take: Take, session: Any, say: Callable[[str], None], duration: Callable) -> None:
    """Name (or split) a take the engine has stopped writing; says what was written."""
    if take.channels <= 2 and not take.stems:
        try:
            os.replace(take.partial, take.path)
        except OSError as e:
            say(f"error: the take could not be named {str(take.path)!r} ({e.strerror}); it "
                f"is in {str(take.partial)!r}")
            return
        say(f"wrote {take.path}{duration(take.path)}")
        return
    if take.stems:
        mix = "master-mix" if "mix" in session.tracks else "mix"
        stems = session.stem_paths(take.path)
        pairs = [(0, take.path / f"{mix}.wav")]
        pairs += [(2 + 2 * slot, p) for slot, p in enumerate(stems[:-1]) if p is not None]
        pairs.append((take.channels - 2, stems[-1]))
    else:
        pairs = [(0, take.path)]

    def split() -> None:
        from latentcode.audio.takes import split_take

        try:
            written = split_take(take.partial, pairs)
        except LatentcodeError as e:
            say(f"error: the take could not be split ({e}); it is in {str(take.partial)!r}")
            return
        take.partial.unlink(missing_ok=True)
        if take.stems:
            say(f"wrote {take.path}/: {written[0].name} and {len(written) - 1} stems"
                f"{duration(written[0])}")
        else:
            say(f"wrote {take.path}{duration(take.path)}")

    # splitting a long take is slow file work: never on the prompt's thread
    threading.Thread(target=split, name="latentcode-take", daemon=False).start()
