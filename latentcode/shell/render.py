"""``latentcode render FILE.lc -o OUT.wav --cycles N [--seed S]``: a piece to a file, offline.

The piece's statements run in a fresh Session (its ``tempo``, ``bank`` and ``use`` included),
then the engine renders on pyo's manual clock, faster than real time. The same seed gives a
bit-identical file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from latentcode.errors import LanguageError, LatentcodeError
from latentcode.shell.frontends import (
    STOP_SIGNALS,
    add_channels_option,
    add_model_options,
    read_piece,
    stop_on_sigterm,
)


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("piece", help="a latentcode file (.lc)")
    parser.add_argument("-o", "--output", help="the WAV to write (default: PIECE.wav)")
    parser.add_argument("--force", action="store_true",
                        help="replace the output if it exists (never a .lc file or the piece)")
    parser.add_argument("--cycles", type=float, default=8,
                        help=f"how many cycles (default 8, at most {MAX_CYCLES})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling noise")
    parser.add_argument("--tail", type=float, default=0.0,
                        help=f"seconds to add after the end (at most {MAX_TAIL:g})")
    add_model_options(parser)
    parser.add_argument("--input", metavar="FILE", default=None,
                        help="an audio file the piece hears as its input (`in`), from its "
                             "first sample")
    parser.add_argument("--framing", choices=["ola", "concat"], default=None,
                        help="overlap-add (default) or the paper's plain concatenation")
    add_channels_option(parser)
    parser.add_argument("--stems", metavar="FOLDER", default=None,
                        help="also write one WAV per track and one for the reverb into FOLDER: "
                             "sample-aligned with the mix, summing to it before the master "
                             "limiter")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="processes that decode (default: one per core); the file is the "
                             "same whatever N")
    parser.add_argument("--plot", action="store_true",
                        help="also write a PNG beside the WAV: waveform, spectrogram and a "
                        "panel of the controls that moved per track (data in OUT.controls.json)")


MAX_CYCLES = 100_000
MAX_TAIL = 600.0  # s: reverb and delay tails die long before
MAX_SEED = 2**63 - 1
WAV_LIMIT = 2**32 - 1 - 4096  # bytes: a RIFF WAV cannot hold more (sizes are 32-bit)


def check_options(args: argparse.Namespace) -> None:
    """The numbers of ``render``, each bounded, or one clear line (``--cycles inf``, ``--tail
    nan`` and ``--tail -100`` included)."""
    if not 0 < args.cycles <= MAX_CYCLES:
        raise LatentcodeError(f"--cycles must be a positive number of at most {MAX_CYCLES}, "
                              f"not {args.cycles:g}")
    if not 0 <= args.tail <= MAX_TAIL:
        raise LatentcodeError(f"--tail must be a number of seconds from 0 to {MAX_TAIL:g}, "
                              f"not {args.tail:g}")
    if not 0 <= args.seed <= MAX_SEED:
        raise LatentcodeError(f"--seed must be a whole number from 0 to 2**63-1, not {args.seed}")
    channels = getattr(args, "channels", 2)
    if not 2 <= channels <= 64:
        raise LatentcodeError(f"--channels must be from 2 (stereo) to 64 speakers, not "
                              f"{channels}")
    if channels != 2 and getattr(args, "stems", None) is not None:
        raise LatentcodeError("--stems are stereo: leave --channels at 2 for them")


def check_output(piece: Path, out: Path, force: bool) -> None:
    """Refuse an output that would destroy something: the piece itself, any ``.lc`` file, or
    (without ``force``) any existing file.

    >>> check_output(Path("piece.lc"), Path("piece.lc"), force=True)
    Traceback (most recent call last):
    latentcode.errors.LatentcodeError: refusing to write audio over 'piece.lc': ...
    """
    if out.suffix.lower() == ".lc":
        raise LatentcodeError(f"refusing to write audio over {str(out)!r}: it is a piece "
                              "(.lc), give a .wav name with -o")
    if out.suffix.lower() != ".wav":
        raise LatentcodeError(f"render writes WAV files: give -o a name ending in .wav, "
                              f"not {str(out)!r}")
    if out.exists():
        if out.is_dir():
            raise LatentcodeError(f"{str(out)!r} is a folder: give -o a file name")
        if piece.exists() and out.samefile(piece):
            raise LatentcodeError(f"refusing to write audio over the piece {str(piece)!r}")
        if not force:
            raise LatentcodeError(f"{str(out)!r} exists: add --force to replace it, or give "
                                  "another name with -o")
    if not out.parent.is_dir():
        raise LatentcodeError(f"cannot write {str(out)!r}: there is no folder "
                              f"{str(out.parent)!r}")


def check_stems(session: Any, folder: Path, force: bool) -> None:
    """The stems may go into ``folder``: no file of a render there is replaced without
    ``--force``."""
    if folder.exists() and not folder.is_dir():
        raise LatentcodeError(f"--stems {str(folder)!r} is a file, not a folder")
    if not folder.exists():
        return
    by_slot = {t.slot: name for name, t in session.tracks.items()}
    there = [f"{n}.wav" for n in [*by_slot.values(), "reverb", "reverb-return"]
             if (folder / f"{n}.wav").exists()]
    if there and not force:
        raise LatentcodeError(f"{str(folder)!r} already has {', '.join(sorted(there))}: "
                              f"--force replaces them")


def check_size(frames: int, sample_rate: int, out: Path) -> None:
    """Refuse, before the first sample, a render no WAV file can hold or the disk cannot."""
    size = frames * 2 * 4 + 4096  # stereo float32 and the header
    if size > WAV_LIMIT:
        hours = frames / sample_rate / 3600
        most = WAV_LIMIT / 8 / sample_rate / 3600
        raise LatentcodeError(f"the render would last {hours:.1f} h, more than a WAV file "
                              f"holds ({most:.1f} h at {sample_rate} Hz): render fewer cycles")
    free = shutil.disk_usage(out.parent).free
    if size > free:
        raise LatentcodeError(f"the render needs {size / 1e6:.0f} MB but only "
                              f"{free / 1e6:.0f} MB are free beside {str(out)!r}")


@contextlib.contextmanager
def written_atomically(out: Path) -> Iterator[Path]:
    """A hidden file beside ``out`` to write; renamed to ``out`` when the block succeeds,
    removed when it fails or is interrupted (Ctrl-C, and SIGTERM or SIGHUP, which end the
    block as Ctrl-C does): under the name ``out`` there is a finished render or nothing new."""
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    restore = stop_on_sigterm(signals=(signal.SIGINT, *STOP_SIGNALS))
    try:
        yield partial
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        restore()


def run(args: argparse.Namespace) -> int:
    from latentcode.session import DEFAULT_FRAMING, Session

    check_options(args)
    text = read_piece(args.piece)
    out = Path(args.output or Path(args.piece).with_suffix(".wav").name)
    check_output(Path(args.piece), out, args.force)
    session = Session(args.model, framing=args.framing or DEFAULT_FRAMING,
                      channels=getattr(args, "channels", 2))
    if getattr(args, "input", None):
        session.input_from(args.input)  # before eval: the piece's `in` needs it
    try:
        session.eval(text, base=Path(args.piece).parent)
    except LanguageError as e:
        e.file = str(args.piece)  # the file's name and its own line, as watch and :load say
        raise
    check_size(session.samples_for(args.cycles) + int(args.tail * session.model.sample_rate),
               session.model.sample_rate, out)
    stems = getattr(args, "stems", None)
    if stems is not None:
        check_stems(session, Path(stems), args.force)
    t0 = time.perf_counter()
    trace = session.trace() if args.plot else None  # recording costs nothing when not asked
    with written_atomically(out) as partial:
        session.render(args.cycles, partial, seed=args.seed, progress=True, tail=args.tail,
                       trace=trace, stems=stems, jobs=args.jobs)
    took = time.perf_counter() - t0
    seconds = session.samples_for(args.cycles) / session.model.sample_rate + args.tail
    print(f"wrote {out} ({seconds:.1f} s of audio in {took:.1f} s, "
          f"{seconds / max(took, 1e-9):.1f}x real time)")
    if stems is not None:
        names = [p.name for p in session.stem_paths(stems) if p is not None]
        print(f"wrote {len(names)} stems in {stems}: {', '.join(names)}")
    if args.plot:
        from latentcode.shell.plot import plot_audio

        controls = trace.to_dict()
        trace.save(out.with_suffix(".controls.json"))
        print(f"wrote {plot_audio(out, controls=controls)}")
    return 0
