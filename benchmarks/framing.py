"""Which output framing clicks less: the paper's plain concatenation, or overlap-add?

For one sound of every family of the default bank, at stretch 1 and 8 (noise 0, so the
difference is the framing alone), renders a single voice with the shipped model and measures
the discontinuity energy at frame boundaries: the mean squared sample-to-sample jump at the
points where frames join, divided by the mean over all samples (1 = no worse than anywhere
else). Also prints decode frames per second of audio per voice, the cost side of the choice.

    python benchmarks/framing.py
"""

from __future__ import annotations

import numpy as np

from latentcode.audio.analysis import boundary_discontinuity
from latentcode.session import Session

FAMILIES = ["drone", "bell", "pluck", "noise", "voice", "hit", "sine2", "pyo"]


def measure(session: Session, sound: str, stretch: float) -> float:
    session.eval(f'now t1 $ "{sound}/64" # stretch {stretch} # noise 0 # pan 0')
    audio = session.render_dry(3, seed=0)[0]
    audio = audio[: np.flatnonzero(audio)[-1] + 1] if np.any(audio) else audio
    return boundary_discontinuity(audio, 0, session.framing.hop)


def main() -> None:
    sessions = {name: Session(framing=name) for name in ("concat", "ola")}
    print(f"{'framing':8} {'stretch':>7} " + " ".join(f"{f:>6}" for f in FAMILIES) + "    mean")
    for stretch in (1, 8):
        for name, session in sessions.items():
            values = [measure(session, f, stretch) for f in FAMILIES]
            cells = " ".join(f"{v:6.2f}" for v in values)
            print(f"{name:8} {stretch:7} {cells}  {np.mean(values):6.2f}")
    for name, session in sessions.items():
        rate = session.model.sample_rate / session.framing.hop
        print(f"{name}: {rate:.0f} decoded frames per second per voice (hop {session.framing.hop})")


if __name__ == "__main__":
    main()
