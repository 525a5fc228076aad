"""How late the default bank's sounds are heard after their beat, and what finding onsets costs.

Every sound of every default group (or the first of each, without ``--all``) is played once on
a beat, through the whole offline engine, with the bank's trim (``trim 1``, the default) and
without it (``trim 0``: the files as they are); the delay is where the render first comes
within 30 dB of its loudest millisecond after the beat. Then ``"hit ~ hit hit" # legato 0.3``
is rendered both ways and its peak printed (the issue's target: above -12 dBFS). Last, the
time to find the onsets of the bank's files against the time to encode them (one thread for
torch and numpy, so that the two figures compare on a busy machine).

    python benchmarks/onsets.py [--all]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from latentcode.model.bank import Bank
from latentcode.model.vae import load_model
from latentcode.session import Session

SR = 44100


def heard_ms(x: np.ndarray) -> float:
    """Milliseconds until ``x`` (channels, n) first comes within 30 dB of its loudest 1 ms."""
    a = np.abs(x).max(axis=0).astype(np.float64)
    env = np.sqrt(np.convolve(a**2, np.ones(44) / 44, "valid"))
    if env.max() <= 0:
        return float("nan")
    return 1000 * int(np.flatnonzero(env >= env.max() * 10 ** (-30 / 20))[0]) / SR


def render(session: Session, text: str, cycles: int, folder: Path) -> np.ndarray:
    session.eval(text)
    audio, _ = sf.read(session.render(cycles, folder / "out.wav"), dtype="float32")
    return audio.T


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true", help="every sound, not each group's first")
    args = ap.parse_args()
    model = load_model()
    bank = Bank(model)
    groups = {g: (m if args.all else m[:1]) for g, m in bank.groups().items()
              if g not in bank.folder_groups}
    names = [n for members in groups.values() for n in members]
    session = Session(model, bank, tracks=1)
    session.eval("tempo 1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seq = f't1 $ "<{" ".join(names)}>" # legato 0.5'  # one sound a second, cut at half
        delays = {}
        for trim in (1, 0):
            audio = render(session, f"{seq} # trim {trim}", len(names), folder)
            delays[trim] = {n: heard_ms(audio[:, k * SR:(k + 1) * SR])
                            for k, n in enumerate(names)}
        print(f"{'group':10s} {'sounds':>6s} {'trim 1: worst':>14s} {'trim 0: worst':>14s}"
              "   (ms after the beat)")
        for g, members in groups.items():
            worst = [max(delays[t][n] for n in members) for t in (1, 0)]
            print(f"{g:10s} {len(members):6d} {worst[0]:14.1f} {worst[1]:14.1f}")
        session.eval("tempo 0.5")
        for trim in (1, 0):
            audio = render(session, f't1 $ "hit ~ hit hit" # legato 0.3 # trim {trim}', 1,
                           folder)
            print(f'"hit ~ hit hit" # legato 0.3 # trim {trim}: peak '
                  f"{20 * np.log10(np.abs(audio).max() + 1e-12):.1f} dBFS")
    timing(model, bank)
    bank.close()


def timing(model, bank: Bank) -> None:
    from latentcode.model.audiofiles import load_audio
    from latentcode.model.encode import encode_audio, sound_onset
    from latentcode.model.pacing import one_blas_thread

    torch.set_num_threads(1)
    files = [bank._files[n] for n in sorted(bank._files)]
    audio = [load_audio(f, model.sample_rate, min_samples=model.segment) for f in files]
    with one_blas_thread():
        t0 = time.perf_counter()
        mus = [encode_audio(x, model, model.hop)[0] for x in audio]
        t1 = time.perf_counter()
        for x, mu in zip(audio, mus, strict=True):
            sound_onset(x, mu, model, model.hop)
        t2 = time.perf_counter()
    seconds = sum(len(x) for x in audio) / model.sample_rate
    print(f"{len(files)} files, {seconds:.0f} s of audio: encoding {t1 - t0:.2f} s, finding "
          f"onsets {t2 - t1:.2f} s ({100 * (t2 - t1) / (t1 - t0):.0f}% more)")


if __name__ == "__main__":
    main()
