"""How close the model's reconstructions are to their originals, measured like a listener.

Every sound is played through the model as a voice plays it at stretch 1 (decode(mu) of frames
cut at the playback hop, overlap-added with the playback window: ``--framing ola``, the default;
``concat`` is the paper's non-overlapping frames, what ``latentcode train`` reports), then
compared with the original (see latentcode/model/quality.py for the definitions):

- SNR dB: waveform signal-to-noise ratio, pooled by summing energies;
- LSD dB: log-spectral distance (STFT 2048/512) on the frames that sound;
- MR-STFT: spectral convergence + log-magnitude distance at FFT 512, 1024, 2048;
- >8 kHz dB: energy above 8 kHz, reconstruction relative to original ("-" when the original
  has none: less than -60 dB of its energy there);
- hiss dB: energy added above the original's bandwidth, relative to its total energy.

Three sets: (a) the held-out files of the training corpus (pyo family aside), (b) a corpus
rebuilt with another seed (seed 1, 4 files per synthesized family, built into a temporary
folder), (c) pyo's own bundled recordings, one row each (marked when the corpus trains on
them). For (b) it also prints a brick-wall 4 kHz low-pass of each original, the plain baseline
the model should beat. ``--compare OLD`` shows every cell as old / new; ``--match`` shows
every cell as the model alone / as a voice plays it, through the spectral match the bank
measures on the same file (latentcode/model/match.py). ``--linear`` adds the best *linear*
code of the model's latent size (the principal components of the training files' frames, the
same frames and playback): how far any frame-by-frame code of that size gets when it is
linear, which for noise, whose frames share no structure, is about as far as a code can go.
``--morph`` adds how far each model's morph departs from a crossfade: for six pairs of
held-out sounds of different groups, frames 2048 samples apart, the decode of the latent mix
``(1 - α)·z_a + α·z_b`` against the same mix of the two decodes, in dB of that mix, at
α = 0.5 (between the sounds) and 1.5 and -0.5 (beyond them). A linear code is at -inf: a pure
crossfade. ``--pre-echo`` adds how early each model's decode of an attack is heard: every
held-out hit, wood, pluck and glass file and a decaying noise burst, each after 0.2 s of
silence, decoded as at stretch 1; "heard" is where the 1 ms RMS first comes within 30 dB of
its loudest, and the figure is how far before the original's that is (median and most, in
ms), with the loudest millisecond of the decode in the 23 ms before the original's onset (dB
of its peak). Markdown tables, ready to paste.

    python benchmarks/model_quality.py [--model PATH] [--compare OLD_MODEL_PATH] [--match]
        [--framing ola|concat] [--json OUT] [--corpus DIR] [--extra DIR] [--noise X]
        [--one-match] [--linear] [--morph] [--pre-echo]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from latentcode.model import corpus
from latentcode.model.audiofiles import find_audio, load_audio
from latentcode.model.encode import encode_audio, sound_levels
from latentcode.model.quality import (
    FRAMINGS,
    METRICS,
    FileQuality,
    lowpass,
    measure,
    pool,
    reconstruct,
)
from latentcode.model.vae import load_model

COLUMNS = {"snr_db": ("SNR dB", "{:.1f}"), "lsd_db": ("LSD dB", "{:.1f}"),
           "mr_stft": ("MR-STFT", "{:.2f}"), "high_db": (">8 kHz dB", "{:.1f}"),
           "hiss_db": ("hiss dB", "{:.1f}")}
EXTRA_SECONDS = 30  # longer files of --extra are measured on their first 30 s


class LinearCode:
    """The best linear code of ``k`` numbers a frame: the first ``k`` principal components of
    ``frames`` (rows of ``segment`` samples), with the model's encode/decode interface.

    >>> rng = np.random.default_rng(0)
    >>> code = LinearCode(rng.standard_normal((500, 16)).astype(np.float32), 16, 44100)
    >>> x = rng.standard_normal((3, 16)).astype(np.float32)
    >>> bool(np.allclose(code.decode(code.encode(x)[0]), x, atol=1e-4))  # all components
    True
    """

    def __init__(self, frames: np.ndarray, k: int, sample_rate: int) -> None:
        frames = np.asarray(frames, np.float64)
        self.segment, self.sample_rate = frames.shape[1], sample_rate
        self.mean = frames.mean(axis=0)
        centred = frames - self.mean
        _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
        self.basis = vectors[:, ::-1][:, :k].astype(np.float32)
        self.mean = self.mean.astype(np.float32)

    def encode(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = (np.asarray(frames, np.float32) - self.mean) @ self.basis
        return z, np.zeros_like(z)

    def decode(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, np.float32) @ self.basis.T + self.mean


def linear_code(files: list[Path], model) -> LinearCode:
    """:class:`LinearCode` of ``model``'s latent size, fitted on ``files``' frames, cut
    end to end (about 80 000 frames for the default corpus)."""
    seg = model.segment
    rows = []
    for p in files:
        x = load_audio(p, model.sample_rate, min_samples=seg)
        rows.append(x[: len(x) // seg * seg].reshape(-1, seg))
    return LinearCode(np.concatenate(rows), model.latent_dim, model.sample_rate)


MORPH_PAIRS = [("bell", "drone"), ("voice", "pluck"), ("sine2", "metal"), ("breath", "voice"),
               ("drone", "wood"), ("glass", "bell")]
MORPH_ALPHAS = (0.5, 1.5, -0.5)


def morph_departure(model, a: np.ndarray, b: np.ndarray, alpha: float, frames: int = 64
                    ) -> float:
    """dB of decode((1-α)·z_a + α·z_b) - ((1-α)·decode(z_a) + α·decode(z_b)) against the
    latter, over up to ``frames`` frames of ``a`` and ``b`` taken 2048 samples apart."""
    seg = model.segment
    n = min(frames, (len(a) - seg) // 2048 + 1, (len(b) - seg) // 2048 + 1)
    fa = np.stack([a[i * 2048:i * 2048 + seg] for i in range(n)])
    fb = np.stack([b[i * 2048:i * 2048 + seg] for i in range(n)])
    za, zb = model.encode(fa)[0], model.encode(fb)[0]
    crossfade = (1 - alpha) * model.decode(za) + alpha * model.decode(zb)
    morph = model.decode((1 - alpha) * za + alpha * zb)
    return 10 * math.log10(float(((morph - crossfade) ** 2).mean())
                           / float((crossfade ** 2).mean()))


def morph_table(models: dict, held: list[Path], sr: int) -> list[str]:
    first = {}
    for p in held:
        first.setdefault(corpus.family_of(p), p)
    pairs = [(a, b) for a, b in MORPH_PAIRS if a in first and b in first]
    sounds = {g: load_audio(first[g], sr) for pair in pairs for g in pair}
    lines = ["### How far a morph departs from a crossfade of the two decodes (dB, "
             f"mean of {len(pairs)} pairs)", "",
             "| model | " + " | ".join(f"α = {a:g}" for a in MORPH_ALPHAS) + " |",
             "|---|" + "---:|" * len(MORPH_ALPHAS)]
    for label, model in models.items():
        if label.endswith("matched") or label == "linear":
            continue  # the match filters after decoding; the linear code is a crossfade
        cells = [np.mean([morph_departure(model, sounds[a], sounds[b], al) for a, b in pairs])
                 for al in MORPH_ALPHAS]
        lines.append(f"| {label} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    return lines + [""]


ATTACK_GROUPS = ("hit", "wood", "pluck", "glass")
LEAD = 8820  # samples of silence before each attack (0.2 s)


def envelope(x: np.ndarray) -> np.ndarray:
    """The 1 ms RMS of ``x`` around each sample."""
    return np.sqrt(np.convolve(np.asarray(x, np.float64) ** 2, np.ones(44) / 44, "same"))


def heard_at(x: np.ndarray) -> int:
    """Where ``x`` is first heard: its 1 ms RMS within 30 dB of its loudest 1 ms."""
    env = envelope(x)
    return int(np.flatnonzero(env >= env.max() * 10 ** (-30 / 20))[0])


def pre_echo_table(models: dict, held: list[Path], sr: int, seg: int) -> list[str]:
    burst = np.random.default_rng(1).standard_normal(sr // 2) * np.exp(-8 * np.arange(sr // 2)
                                                                       / sr)
    attacks = [0.3 * burst] + [load_audio(p, sr)[:sr] for p in held
                               if corpus.family_of(p) in ATTACK_GROUPS]
    lines = [f"### How early an attack's decode is heard ({len(attacks)} attacks after 0.2 s of "
             "silence)", "", "| model | median ms | most ms | loudest before the onset, dB |",
             "|---|---:|---:|---:|"]
    for label, model in models.items():
        if label.endswith("matched") or label == "linear":
            continue
        early, before = [], []
        for a in attacks:
            x = np.concatenate([np.zeros(LEAD, np.float32), np.asarray(a, np.float32)])
            y = reconstruct(model, x)
            onset = heard_at(x)
            early.append((onset - heard_at(y)) / sr * 1000)
            env = envelope(y)
            before.append(20 * math.log10(env[onset - seg:onset - 44].max() / env.max() + 1e-9))
        lines.append(f"| {label} | {np.median(early):.1f} | {max(early):.1f} | "
                     f"{np.median(before):.1f} |")
    return lines + [""]


def split(folder: Path) -> tuple[list[Path], list[Path], str]:
    """(training files, evaluation files, how they were chosen) of a corpus folder."""
    files = find_audio(folder)
    training_split = getattr(corpus, "training_split", None)
    if training_split is not None:
        train, held = training_split(files)
        return list(train), list(held), "split by corpus.training_split"
    held = corpus.held_out(files)
    return [f for f in files if f not in held], held, \
        "split by corpus.held_out: there is no training_split yet"


def fmt(metric: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return COLUMNS[metric][1].format(value)


def evaluate(models: dict, items: list[tuple[str, np.ndarray]], args) -> dict:
    """{model label: {group: [FileQuality]}} for (group, audio) items."""
    out: dict[str, dict[str, list[FileQuality]]] = {label: {} for label in models}
    for group, x in items:
        for label, model in models.items():
            # "matched": the sound as a voice plays it, with the spectral match its bank
            # measures on the sound's own file
            match, quiet, steps = (sound_levels(x, encode_audio(x, model, model.segment)[0],
                                                model, model.segment)
                                   if label.endswith("matched") else (None, None, None))
            levels = (quiet, steps, model.segment) if quiet is not None and args.levels else None
            y = reconstruct(model, x, args.framing, noise=args.noise, match=match,
                            levels=levels)
            out[label].setdefault(group, []).append(measure(x, y, model.sample_rate))
    return out


def table(title: str, results: dict, labels: list[str], order: list[str]) -> list[str]:
    """A markdown table: one row per group and a pooled row; cells "old / new" if compared."""
    head = "| group | files | " + " | ".join(COLUMNS[m][0] for m in METRICS) + " |"
    lines = [f"### {title}", "", head, "|---|---:|" + "---:|" * len(METRICS)]
    groups = [g for g in order if g in results[labels[0]]]
    rows = [(g, {lab: pool(results[lab][g]) for lab in labels}) for g in groups]
    every = {lab: pool([q for g in groups for q in results[lab][g]]) for lab in labels}
    rows.append(("**pooled**", every))
    for name, pooled in rows:
        cells = [" / ".join(fmt(m, pooled[lab][m]) for lab in labels) for m in METRICS]
        lines.append(f"| {name} | {pooled[labels[0]]['files']} | " + " | ".join(cells) + " |")
    return lines + [""]


def baseline_table(items: list[tuple[str, np.ndarray]], model_results: dict,
                   order: list[str], sr: int) -> tuple[list[str], dict]:
    """The 4 kHz low-pass of each original, per family, and where the model beats it."""
    lows: dict[str, list[FileQuality]] = {}
    for group, x in items:
        lows.setdefault(group, []).append(measure(x, lowpass(x, 4000.0, sr), sr))
    head = "| family | " + " | ".join(COLUMNS[m][0] for m in METRICS) + " | model better on |"
    lines = ["### 4 kHz low-pass of the original (fresh-seed set): the baseline to beat", "",
             head, "|---|" + "---:|" * len(METRICS) + "---|"]
    summary = {}
    for g in [g for g in order if g in lows]:
        low, mod = pool(lows[g]), pool(model_results[g])
        better = [name for name, m, sign in (("SNR", "snr_db", 1), ("LSD", "lsd_db", -1),
                                              ("MR-STFT", "mr_stft", -1))
                  if sign * (mod[m] - low[m]) > 0]
        lines.append(f"| {g} | " + " | ".join(fmt(m, low[m]) for m in METRICS)
                     + f" | {', '.join(better) or 'none'} |")
        summary[g] = low
    return lines + [""], summary


def as_json(results: dict) -> dict:
    return {lab: {g: {"pooled": _plain(pool(qs)), "files": [_plain(q.__dict__) for q in qs]}
                  for g, qs in groups.items()} for lab, groups in results.items()}


def _plain(d: dict) -> dict:
    """NaN (no top end to measure) as null, so the file is standard JSON."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in d.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="checkpoint to measure (default: the shipped model)")
    ap.add_argument("--compare", metavar="OLD_MODEL_PATH", help="also measure this one: old / new")
    ap.add_argument("--framing", choices=FRAMINGS, default="ola", help="playback framing (ola)")
    ap.add_argument("--json", metavar="OUT", help="also write every figure, per file, as JSON")
    ap.add_argument("--corpus", metavar="DIR",
                    help="training corpus for set (a) (default: the builtin one)")
    ap.add_argument("--extra", metavar="DIR", help="also measure the audio files of DIR, each")
    ap.add_argument("--noise", type=float, default=0.0,
                    help="sampling noise (0: decode mu; the language's default noise is 1)")
    ap.add_argument("--match", action="store_true",
                    help="also measure each sound through its spectral match, as a voice "
                    "plays it (cells: raw decode / matched)")
    ap.add_argument("--one-match", dest="levels", action="store_false",
                    help="with --match: one match for the whole sound, not the quieter "
                    "frames' own (how it was before the match had levels)")
    ap.add_argument("--linear", action="store_true",
                    help="also measure the best linear code of the model's latent size, "
                    "fitted on the training files (last cell)")
    ap.add_argument("--morph", action="store_true",
                    help="also measure how far each model's morph departs from a crossfade")
    ap.add_argument("--pre-echo", action="store_true",
                    help="also measure how early each model's decode of an attack is heard")
    ap.add_argument("--seed", type=int, default=1, help="seed of the fresh corpus (1)")
    ap.add_argument("--files-per-family", type=int, default=4, help="of the fresh corpus (4)")
    args = ap.parse_args()
    t0 = time.perf_counter()

    models = {}
    if args.compare:
        models["old"] = load_model(args.compare)
    models["new"] = load_model(args.model)
    if args.match:
        models["new matched"] = models["new"]
    labels = list(models)
    sr = models["new"].sample_rate
    seg = models["new"].segment

    def read(path: Path) -> np.ndarray:
        return load_audio(path, sr, min_samples=seg)

    names = {lab: (args.compare if lab == "old" else args.model or "shipped default.pt")
             for lab in labels}
    print(f"models: {', '.join(f'{lab} = {names[lab]}' for lab in labels)}; framing "
          f"{args.framing}, noise {args.noise:g}")
    print()

    folder = Path(args.corpus) if args.corpus else corpus.default_corpus_dir()
    train, held, how = split(folder)
    if args.linear:
        models["linear"] = linear_code(train, models["new"])
        labels.append("linear")
        names["linear"] = f"the best linear code of {models['new'].latent_dim} numbers a frame"
        print(f"linear = {names['linear']}, fitted on the {len(train)} training files")
    held = [p for p in held if corpus.family_of(p) != "pyo"]
    order = list(dict.fromkeys(corpus.family_of(p) for p in held))
    set_a = [(corpus.family_of(p), read(p)) for p in held]
    t_build = time.perf_counter()
    synth = [f for f in corpus.FAMILIES if f != "pyo"]
    with tempfile.TemporaryDirectory(prefix="latentcode-quality-") as tmp:
        fresh = corpus.build_corpus(tmp, seed=args.seed, families=synth,
                                    files_per_family=args.files_per_family)
        set_b = [(corpus.family_of(p), read(p)) for p in fresh]
    t_build = time.perf_counter() - t_build
    trained = {p.name for p in train}
    set_c = []
    for i, src in enumerate(corpus._pyo_sound_files()):
        note = " (trained on)" if f"pyo_{i:02d}.wav" in trained else ""
        set_c.append((f"pyo_{i:02d} {src.stem}{note}", read(src)))
    sets = [(f"(a) held-out files of the training corpus {folder.name} ({how})", set_a, order),
            (f"(b) a fresh corpus, seed {args.seed}, {args.files_per_family} files per family",
             set_b, synth),
            ("(c) pyo's bundled recordings", set_c, [g for g, _ in set_c])]
    if args.extra:
        set_d = [(p.name, read(p)[: EXTRA_SECONDS * sr]) for p in find_audio(args.extra)]
        sets.append((f"(d) the files of {args.extra}", set_d, [g for g, _ in set_d]))

    report: dict = {"models": names, "framing": args.framing, "noise": args.noise, "sets": {}}
    for title, items, groups in sets:
        results = evaluate(models, items, args)
        print("\n".join(table(title, results, labels, groups)))
        report["sets"][title] = as_json(results)
        if items is set_b:
            lines, low = baseline_table(set_b, results["new"], synth, sr)
            report["lowpass_4khz"] = {g: _plain(v) for g, v in low.items()}
    print("\n".join(lines))
    if args.morph:
        print("\n".join(morph_table(models, held, sr)))
    if args.pre_echo:
        print("\n".join(pre_echo_table(models, held, sr, seg)))
    seconds = time.perf_counter() - t0
    minutes = sum(len(x) for _, items, _ in sets for _, x in items) / sr / 60
    print(f"measured {minutes:.1f} min of audio with {len(models)} model(s) in {seconds:.0f} s "
          f"(fresh corpus built in {t_build:.0f} s)")
    report["seconds"] = seconds
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=float))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
