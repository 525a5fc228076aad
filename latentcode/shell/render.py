"""``latentcode render FILE.lc -o OUT.wav --cycles N [--seed S]``: a piece to a file, offline.

The piece's statements run in a fresh Session (its ``tempo``, ``bank`` and ``use`` included),
then the engine renders on pyo's manual clock, faster than real time. The same seed gives a
bit-identical file.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from latentcode.errors import LatentcodeError
from latentcode.shell.blocks import as_one_block


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("piece", help="a latentcode file (.lc)")
    parser.add_argument("-o", "--output", help="the WAV to write (default: PIECE.wav)")
    parser.add_argument("--cycles", type=float, default=8, help="how many cycles (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling noise")
    parser.add_argument("--tail", type=float, default=0.0, help="seconds to add after the end")
    parser.add_argument("--model", help="a checkpoint instead of the default model")
    parser.add_argument("--framing", choices=["ola", "concat"], default=None,
                        help="overlap-add (default) or the paper's plain concatenation")
    parser.add_argument("--plot", action="store_true",
                        help="also write a spectrogram and waveform PNG beside the WAV")


def read_piece(path: str | Path) -> str:
    """The text of a piece, to evaluate whole (its ``;;`` block separators read as blank
    lines, as ``:load`` reads them), or one clear line when it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise LatentcodeError(f"no file {str(path)!r}: give the path of a .lc piece")
    try:
        return as_one_block(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise LatentcodeError(f"cannot read {str(path)!r}: {e}") from None


def run(args: argparse.Namespace) -> int:
    from latentcode.session import DEFAULT_FRAMING, Session

    if not args.cycles > 0:
        raise LatentcodeError("--cycles must be a positive number")
    text = read_piece(args.piece)
    out = Path(args.output or Path(args.piece).with_suffix(".wav").name)
    session = Session(args.model, framing=args.framing or DEFAULT_FRAMING)
    session.eval(text, base=Path(args.piece).parent)
    t0 = time.perf_counter()
    session.render(args.cycles, out, seed=args.seed, progress=True, tail=args.tail)
    took = time.perf_counter() - t0
    seconds = session.samples_for(args.cycles) / session.model.sample_rate + args.tail
    print(f"wrote {out} ({seconds:.1f} s of audio in {took:.1f} s, "
          f"{seconds / max(took, 1e-9):.1f}x real time)")
    if args.plot:
        from latentcode.shell.plot import plot_audio

        print(f"wrote {plot_audio(out)}")
    return 0
