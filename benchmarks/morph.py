"""What ``xfade`` sounds like: the level and colour of a track as it morphs, half a cycle at a time.

A track plays ``"drone*2"``; half a cycle in, ``xfade 4`` changes it to bells (alone, and
mixed with the voice), so the morph runs from cycle 1 to cycle 5. The scheduler runs as live
(a block at a time, the change made while it plays), dry (no engine effects), tempo 0.5.
Printed per half cycle: the level (RMS, dB of full scale), the spectral centroid, the share
of the energy above 8 kHz (dB) and the peak; then the largest step of the level and of the
centroid (as an interval in semitones) between two neighbouring half cycles, from the last
one before the morph on (where a morph jumps rather than glides), and how far the centroid
rises above where it ends (a morph that overshoots its sound). ``--wav DIR`` writes each
render there.

Then how evenly a morph glides (``--evenness`` alone prints only this): for every ordered pair
of the default bank's families, one voice of the second sound with ``morphfrom`` the first and a
constant ``morph`` at 21 points from 0 to 1, each compared with the next frame by frame. Two
distances between spectra (48 mel bands): a loudness-weighted one (band power to the 0.3, the
exponent of specific loudness, summed differences: loud bands count, masked quiet ones little)
and a dB one (every band alike down to 70 dB under the frame's loudest). A pair's progress at
``morph`` m is its path length up to m over the whole. Printed: the progress at a few points
(mean over pairs, and the 10th and 90th percentiles at 0.5); and, for ``morph`` moving
linearly in time (as ``xfade``'s ramp) and eased, how uneven the glide is: the largest of ten
equal time steps over their mean (1: perfectly even), median and 90th percentile over pairs.

Then what a third sound costs: a dense track (32 voices sounding at once) rendered dry on one
thread, each voice without and with a ``morphfrom`` (a moving ``morph``), alone and mixed:
seconds of audio per second, the best of three.

    python benchmarks/morph.py [--wav /tmp/morphs] [--evenness]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from latentcode import Session
from latentcode.patterns.time import Fraction

BEFORE = 't1 $ "drone*2" # legato 1'
CHANGES = {
    "bells": 'xfade 4 t1 $ "bell*2" # legato 1',
    "bells mixed with the voice": 'xfade 4 t1 $ "bell*2" # mix "voice" # alpha 0.3 # legato 1',
}
CPS, CYCLES, SR = 0.5, 8, 44100


def render(change: str) -> np.ndarray:
    """The track as it plays ``BEFORE``, then ``change`` from half a cycle in: (samples, 2)."""
    session = Session()
    session.eval(f"tempo {CPS}")
    sched = session.live_scheduler = session.scheduler(seed=1)
    buf = np.zeros((session.slots, 2, 1024), np.float32)
    chunks = []

    def run_until(cycle: Fraction) -> None:
        while sched.clock.cycle_at(sched.position) < cycle:
            buf[:] = 0
            sched.fill(buf, sched.position)
            chunks.append(buf.sum(axis=0).copy())

    session.eval(BEFORE)
    run_until(Fraction(1, 2))
    session.eval(change)
    run_until(Fraction(CYCLES))
    return np.concatenate(chunks, axis=1).T


def describe(audio: np.ndarray) -> None:
    half = int(SR / CPS) // 2
    mono = audio.mean(axis=1)
    print(f"{'cycle':>6} {'level dB':>9} {'centroid Hz':>12} {'above 8k dB':>12} {'peak':>6}")
    levels, centroids = [], []
    for k in range(2 * CYCLES):
        part = mono[k * half : (k + 1) * half]
        power = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2
        freqs = np.fft.rfftfreq(len(part), 1 / SR)
        level = 10 * np.log10(np.mean(part ** 2) + 1e-12)
        centroid = float((freqs * power).sum() / power.sum())
        high = 10 * np.log10(power[freqs > 8000].sum() / power.sum())
        levels.append(level)
        centroids.append(centroid)
        print(f"{k / 2:6.1f} {level:9.1f} {centroid:12.0f} {high:12.1f} {np.abs(part).max():6.3f}")
    # from the last half cycle before the morph on: the change's own moment counts
    steps = np.abs(np.diff(levels[1:]))
    pitch = 12 * np.log2(centroids[1:])
    beyond = pitch.max() - pitch[-1]  # how far the colour goes past where it ends
    print(f"largest step from half a cycle before the morph: level {steps.max():.1f} dB, "
          f"centroid {np.abs(np.diff(pitch)).max():.1f} semitones; the centroid's highest "
          f"{beyond:.1f} semitones above where it ends")


FAMILIES = ("bell", "breath", "drone", "glass", "grain", "hit", "metal", "noise", "pluck",
            "voice", "wood")
POINTS = np.linspace(0, 1, 21)
EASED = {"linear (as xfade)": lambda t: t, "smoothstep": lambda t: t * t * (3 - 2 * t)}


def _mel_bands(n_fft: int = 2048, bands: int = 48) -> np.ndarray:
    """Triangular mel filters from 40 Hz to 16 kHz: (bands, n_fft // 2 + 1)."""
    freqs = np.fft.rfftfreq(n_fft, 1 / SR)
    mel = np.linspace(*(2595 * np.log10(1 + np.array([40, 16000]) / 700)), bands + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    return np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)


def _band_power(audio: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Mel band power of each 2048-sample frame (hop 512): (frames, bands)."""
    frames = np.lib.stride_tricks.sliding_window_view(audio, 2048)[::512] * np.hanning(2048)
    return (np.abs(np.fft.rfft(frames, axis=1)) ** 2) @ bank.T + 1e-10


def evenness() -> None:
    session = Session()
    session.eval(f"tempo {CPS}")
    bank = _mel_bands()
    progress: dict[str, list[np.ndarray]] = {"loudness-weighted": [], "dB": []}
    for a, b in itertools.permutations(FAMILIES, 2):
        powers = []
        for m in POINTS:
            session.eval(f't1 $ "{b}" # legato 1 # morphfrom "{a}" # morph {m:.3f}')
            powers.append(_band_power(session.render_dry(1, seed=1).mean(axis=0), bank))
        p = np.array(powers)  # (points, frames, bands)
        db = 10 * np.log10(p)
        db = np.maximum(db, db.max(axis=(0, 2), keepdims=True) - 70)
        loud = p ** 0.3
        for name, steps in (("loudness-weighted", np.abs(np.diff(loud, axis=0)).sum(-1)),
                            ("dB", np.sqrt((np.diff(db, axis=0) ** 2).mean(-1)))):
            path = np.concatenate([[0], np.cumsum(steps.mean(-1))])
            progress[name].append(path / path[-1])
    at = [0.1, 0.25, 0.5, 0.75, 0.9]
    print(f"\nprogress of a morph, {len(progress['dB'])} pairs of families, at morph "
          + " ".join(f"{m:g}" for m in at))
    times = np.linspace(0, 1, 11)
    for name, paths in progress.items():
        paths_ = np.array(paths)
        mean = [np.interp(m, POINTS, paths_.mean(0)) for m in at]
        half = np.array([np.interp(0.5, POINTS, q) for q in paths_])
        print(f"  {name:18} mean " + " ".join(f"{x:.2f}" for x in mean)
              + f"; at 0.5 from {np.percentile(half, 10):.2f} to {np.percentile(half, 90):.2f}")
        for ease, curve in EASED.items():
            uneven = [np.diff(np.interp(curve(times), POINTS, q)) for q in paths_]
            ratio = np.array([d.max() / d.mean() for d in uneven])
            print(f"    {ease:20} uneven: median {np.median(ratio):.2f}, "
                  f"90th percentile {np.percentile(ratio, 90):.2f}")


DENSE = 't1 $ "drone*8" # legato 4 # noise 0.5'
THIRD = ' # morphfrom "bell" # morph (slow 2 $ saw)'


def cost() -> None:
    print(f"\n{'dense track (32 voices)':58} {'x real time':>12}")
    for name, line in (("one sound", DENSE), ("one sound, from a third", DENSE + THIRD),
                       ("mixed", DENSE + ' # mix "voice"'),
                       ("mixed, from a third", DENSE + ' # mix "voice"' + THIRD)):
        session = Session()
        session.eval(f"tempo {CPS}")
        session.eval(line)
        session.render_dry(1)  # the clean levels measured, the decoder warm
        seconds = session.samples_for(4) / SR
        best = min(_timed(session) for _ in range(3))
        print(f"{name:58} {seconds / best:12.1f}")


def _timed(session: Session) -> float:
    t0 = time.perf_counter()
    session.render_dry(4, seed=1)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wav", type=Path, help="a folder to write each render to")
    ap.add_argument("--evenness", action="store_true", help="only how evenly morphs glide")
    args = ap.parse_args()
    if args.evenness:
        evenness()
        return
    for name, change in CHANGES.items():
        print(f"\n{BEFORE}  then, half a cycle in:  {change}")
        audio = render(change)
        describe(audio)
        if args.wav is not None:
            args.wav.mkdir(parents=True, exist_ok=True)
            sf.write(args.wav / f"{name.replace(' ', '_')}.wav", audio, SR, subtype="FLOAT")
    evenness()
    cost()


if __name__ == "__main__":
    main()
