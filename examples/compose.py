"""Compose a piece in Python and render it: the scripting side of latentcode.

Patterns are built with the same functions as in the language (``mini``, methods such as
``.fast``, ``.every``, ``.set``), each section is rendered through the engine in turn,
and the sections are joined into one WAV.

    python examples/compose.py -o composed.wav
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from latentcode import Session, mini
from latentcode.patterns.registry import FUNCTIONS

sine, saw = FUNCTIONS["sine"].function(), FUNCTIONS["saw"].function()


def sections():
    """Three sections of (cycles, {track: pattern}) built with the Python API."""
    bells = mini("bell(3,8)").set(legato=1, room=0.3, pan=0.7)
    drone = mini("drone/4").set(mix="voice", legato=1, gain=0.6, alpha=sine.slow(4))
    stepped = mini("drone*8").set(mix="bell", legato=1, alpha=mini("-0.5 0 .2 .4 .6 .8 1 1.4"))
    grains = mini("sine2/2").set(stretch=8, legato=1, pan=saw.slow(2), gain=0.7)
    return [
        (4, {"t1": drone, "t2": bells}),
        (4, {"t1": stepped, "t2": bells.every(2, lambda p: p.fast(2)), "t3": grains}),
        (4, {"t1": drone.set(lpf=1200), "t3": grains}),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default="composed.wav")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    session = Session(tracks=3)
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (cycles, tracks) in enumerate(sections()):
            session.eval("hush")
            for name, pattern in tracks.items():
                session.play(name, pattern, now=True)
            # each section through the whole engine: filters, reverb, limiter
            wav = session.render(cycles, Path(tmp) / f"{k}.wav", seed=args.seed)
            parts.append(sf.read(wav, dtype="float32")[0])
    audio = np.concatenate(parts)
    sf.write(args.output, audio, session.model.sample_rate)
    print(f"wrote {args.output}: {len(audio) / session.model.sample_rate:.1f} s")


if __name__ == "__main__":
    main()
