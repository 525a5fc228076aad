"""Stretch without roughness, and loudness compensation: old beside new, and what they cost.

1. Stretch. One voice (noise 0) plays the middle of a sound (begin 0.3, end 0.5) at stretch 1
   and 8, with plain overlap-add ("old": every grain where the frame grid puts it, fractional
   latent positions blended) and with aligned grains ("new", the default: WSOLA, see
   latentcode/playback/grains.py). Printed per sound: RMS level in dB; the envelope's power at
   the frame rate (44100/256 = 172 Hz) and its two harmonics, in dB of the mean envelope
   ("mod"; the original audio's figure in the first column), and how far that stands above
   the envelope's power beside it ("peak", 0 dB = no peak at the frame rate); for the 440 Hz
   sine, the purity (share of the energy in the spectral peak).
2. Loudness. The paper's three strategies as the standard library plays them, old (no
   alignment, ``norm 0``) and new: overall RMS, stepwise's RMS per alpha step, meso's RMS per
   alpha bin (10 ms windows), and each one's swing.
3. Cost. 32 voices of a drone through Voices.render on one core, at stretch 1, at stretch 8
   (aligned, and plain overlap-add), and a stretched mix: ms per 1024-sample block and the
   voices one core could carry.

    python benchmarks/stretch.py          (--cost: the cost alone)
"""

from __future__ import annotations

import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from latentcode.audio.analysis import modulation_at, purity, rms
from latentcode.model.bank import Bank
from latentcode.model.corpus import default_corpus_dir
from latentcode.model.threads import set_live_threads
from latentcode.model.vae import load_model
from latentcode.playback.framing import make_framing
from latentcode.playback.voice import make_voice
from latentcode.playback.voices import Voices
from latentcode.session import Session

SR = 44100
BEGIN, END = 0.3, 0.5
SOUNDS = ["sine440", "sine2", "bell", "voice"] + [f"drone:{i}" for i in range(8)]
STRATEGIES = {  # as library/strategies.lc plays them, and how many cycles to hear
    "stepwise": ('slow 2 $ "drone" # mix "bell" # alpha "<-0.5 0 0.2 0.4 0.6 0.8 1 1.4>"', 16),
    "meso": ('"cluster:10/8" # mix "cluster:19" # alpha (range -1 1 $ fast 16 sine) '
             "# legato 1", 8),
    "extension": ('"sine2/4" # stretch 8 # legato 1', 8),
}


def db(x: np.ndarray) -> float:
    return 20 * np.log10(rms(x) + 1e-12)


def session(model, bank, new: bool) -> Session:
    s = Session(model, bank, tracks=1)
    s.framing = make_framing("ola", model.segment, align=new)
    return s


def stretched(model, bank, sound: str, stretch: int, new: bool) -> np.ndarray:
    """The steady middle of one voice playing [BEGIN, END] of ``sound`` at ``stretch``."""
    s = session(model, bank, new)
    last = bank.resolve(sound).frames - 1  # begin on a whole latent frame: stretch 1 then
    begin = round(BEGIN * last) / last  # decodes the sound's own frames, not blends of two
    s.eval(f'now t1 $ "{sound}/64" # stretch {stretch} # noise 0 # pan 0 '
           f"# begin {begin!r} # end {END}")
    length = int((END - BEGIN) * bank.resolve(sound).frames * model.hop * stretch)
    audio = s.render_dry((length + 2048) * s.cps / SR, seed=0)[0]
    return audio[1024 + 512 * stretch : length - 512 * stretch]


def figures(x: np.ndarray, sine: bool) -> str:
    mod, peak = modulation_at(x, SR / 256)
    text = f"{db(x):6.1f} {mod:6.1f} {peak:5.1f}"
    return text + (f" {purity(x):5.3f}" if sine else "      ")


def stretch_table(model, bank, originals: dict[str, np.ndarray]) -> None:
    print("1. stretch: level dB, frame-rate modulation dB (mod), its peak over the bands beside "
          "it (peak), sine purity")
    print(f"{'sound':8} {'original: level mod':>20} | {'':4} {'stretch 1':>24} | "
          f"{'stretch 8':>24}")
    for sound in SOUNDS:
        o = originals[sound]
        o = o[int(BEGIN * len(o)) + 1024 : int(END * len(o))]
        mod = modulation_at(o, SR / 256)[0]
        for new in (False, True):
            cells = [figures(stretched(model, bank, sound, st, new), sound == "sine440")
                     for st in (1, 8)]
            head = f"{sound:8} {db(o):6.1f} {mod:6.1f}      " if not new else " " * 27
            print(f"{head} | {'new' if new else 'old':4} {cells[0]} | {cells[1]}", flush=True)


def strategy_table(model, bank) -> None:
    print("\n2. the three strategies: RMS dB (old = plain overlap-add and norm 0)")
    for name, (code, cycles) in STRATEGIES.items():
        for new in (False, True):
            s = session(model, bank, new)
            s.eval(f"now t1 $ ({code}) # pan 0 # norm {int(new)}")
            x = s.render_dry(cycles, seed=0)[0]
            cycle = s.samples_for(1)
            detail = ""
            if name == "stepwise":  # one alpha step every two cycles
                steps = [db(x[k * 2 * cycle + 4096 : (k + 1) * 2 * cycle - 4096])
                         for k in range(8)]
                detail = ("steps " + " ".join(f"{v:5.1f}" for v in steps)
                          + f"  swing {max(steps) - min(steps):4.1f}")
            elif name == "meso":  # alpha = -1 + 2 (sin(2 pi 16 c) + 1) / 2
                w = 441
                at = np.arange(cycle // 2, len(x) - w, w)
                level = np.array([np.mean(x[i : i + w] ** 2) for i in at])
                alpha = np.sin(2 * np.pi * 16 * (at + w / 2) / cycle)
                edges = np.linspace(-1, 1, 9)
                bins = [10 * np.log10(level[(alpha >= lo) & (alpha < hi)].mean() + 1e-12)
                        for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
                detail = ("by alpha " + " ".join(f"{v:5.1f}" for v in bins)
                          + f"  swing {max(bins) - min(bins):4.1f}")
            print(f"{name:9} {'new' if new else 'old':3} {db(x[cycle // 8 :]):6.1f}  {detail}",
                  flush=True)


def cost_table(model, bank) -> None:
    print("\n3. cost: 32 voices of drone (noise 1, the default) through Voices.render, 1024-sample "
          "blocks, one core; ms per block and the voices one core could carry")
    set_live_threads(1)
    block, voices = 1024, 32
    for label, controls in (("stretch 1", {}), ("stretch 8", {"stretch": 8}),
                            ("stretch 8, old", {"stretch": 8}),
                            ("stretch 8 mix", {"stretch": 8, "mix": "bell", "alpha": 0.5})):
        framing = make_framing("ola", model.segment, align="old" not in label)
        vs = Voices(model.decode, tracks=1, segment=model.segment, framing=framing)
        for k in range(voices):  # onsets spread over the first second, as a pattern's would
            vs.add(make_voice({"sound": "drone", "legato": 1, **controls}, bank=bank, track=0,
                              start=k * SR // voices, duration=20 * SR, framing=framing))
        out = np.zeros((1, 2, block), dtype=np.float32)
        times = []
        for start in range(0, 4 * SR, block):
            t = time.perf_counter()
            vs.render(out, start, lambda s: Fraction(s, SR))
            if start >= SR:  # every voice has started: the steady cost
                times.append(time.perf_counter() - t)
        ms = 1e3 * float(np.mean(times))
        print(f"  {label:15} {ms:6.2f} ms per block (p99 {1e3 * np.percentile(times, 99):6.2f})"
              f"  voices per core: {voices * block / SR * 1e3 / ms:5.0f}")


def main() -> None:
    model = load_model()
    if "--cost" in sys.argv:  # the cost alone
        cost_table(model, Bank(model))
        return
    with tempfile.TemporaryDirectory() as folder:
        t = np.arange(4 * SR) / SR
        sf.write(Path(folder) / "sine440.wav", 0.5 * np.sin(2 * np.pi * 440 * t), SR)
        bank = Bank(model, [folder])
        originals = {}
        for sound in SOUNDS:  # the files the bank plays for these names
            path = Path(folder) / f"{sound}.wav"
            name, _, index = sound.partition(":")
            corpus = default_corpus_dir() / f"{name}_{int(index or 0):02d}.wav"
            audio, _ = sf.read(path if path.exists() else corpus)
            originals[sound] = audio if audio.ndim == 1 else audio.mean(axis=1)
        stretch_table(model, bank, originals)
    strategy_table(model, Bank(model))
    cost_table(model, Bank(model))


if __name__ == "__main__":
    main()
