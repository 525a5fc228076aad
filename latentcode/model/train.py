"""``latentcode train [AUDIO_DIR]``: train the paper's VAE on a folder of audio.

Defaults are the paper's model and framing (segment 1024, hop 128, latent 256, 2048 units,
kl_beta 1e-4 at 44.1 kHz) and its loss (``--loss paper``: MSE + kl_beta KL; ``--loss spectral``
adds a multi-resolution STFT term, see :mod:`latentcode.model.losses`); the optimiser settings
are ours, chosen for a CPU and minutes rather than a GPU and days (Adam, lr 5e-4 with a cosine
decay to lr/10, batch 256, gradient norm clipped at 1). Any setting can come from the original
``default.ini`` layout with ``--config`` and be overridden again by a flag:

    [audio]    sampling_rate hop_length segment_length
    [VAE]      latent_dim n_units kl_beta
    [training] epochs learning_rate batch_size checkpoint_interval loss stft_weight

Files are split with :func:`latentcode.model.corpus.training_split`; at the end the held-out
files are reconstructed (decode(mu) of non-overlapping frames, concatenated, as the paper
renders) and their SNR is printed, and a WAV of each original followed by its reconstruction is
written. Ctrl-C or SIGTERM keep a checkpoint to ``--resume`` from (:mod:`latentcode.model.loop`).
"""

from __future__ import annotations

import argparse
import configparser
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.dataset import Dataset, corpus_fingerprint, load_dataset
from latentcode.model.loop import PCA, TrainConfig, Trained, duration, train
from latentcode.model.losses import LOSSES
from latentcode.model.quality import snr_db
from latentcode.model.resume import TrainingInterrupted, read_resume, training_state
from latentcode.model.vae import LatentModel, ModelConfig, default_model_path, save_checkpoint

# the training loop's names, importable from here as before the loop had its own module
__all__ = ["Dataset", "TrainConfig", "Trained", "corpus_fingerprint", "evaluate", "load_dataset",
           "read_ini", "run", "snr_db", "train"]

# ini section/key -> (which config, field, type)
_INI_KEYS = {
    ("audio", "sampling_rate"): ("model", "sample_rate", int),
    ("audio", "hop_length"): ("model", "hop", int),
    ("audio", "segment_length"): ("model", "segment", int),
    ("vae", "latent_dim"): ("model", "latent_dim", int),
    ("vae", "n_units"): ("model", "n_units", int),
    ("vae", "kl_beta"): ("model", "kl_beta", float),
    ("training", "epochs"): ("train", "epochs", int),
    ("training", "learning_rate"): ("train", "learning_rate", float),
    ("training", "batch_size"): ("train", "batch_size", int),
    ("training", "checkpoint_interval"): ("train", "checkpoint_interval", int),
    ("training", "loss"): ("train", "loss", str),
    ("training", "stft_weight"): ("train", "stft_weight", float),
    ("training", "emphasis_weight"): ("train", "emphasis_weight", float),
}


def read_ini(path: str | Path, model: ModelConfig | None = None,
             train: TrainConfig | None = None) -> tuple[ModelConfig, TrainConfig]:
    """Apply an original-style ``default.ini`` over the given configs; other keys are ignored.

    >>> m, t = read_ini("default.ini")            # doctest: +SKIP
    >>> m.hop, t.batch_size                       # doctest: +SKIP
    (128, 131072)
    """
    p = Path(path)
    if not p.is_file():
        raise LatentcodeError(f"no such config file: {str(p)!r}: check the path")
    ini = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    try:
        ini.read(p)
    except configparser.Error as e:
        first = str(e).splitlines()[0]
        raise LatentcodeError(f"cannot parse {str(p)!r} as an ini file ({first})") from e
    changes: dict[str, dict] = {"model": {}, "train": {}}
    for section in ini.sections():
        for key, raw in ini.items(section):
            target = _INI_KEYS.get((section.lower(), key.lower()))
            if target is None or raw.strip() == "":
                continue
            which, field, kind = target
            try:
                changes[which][field] = kind(float(raw)) if kind is int else kind(raw)
            except ValueError as e:
                raise LatentcodeError(f"{str(p)!r}: [{section}] {key} = {raw!r} is not a "
                                      f"{kind.__name__}") from e
    return (replace(model or ModelConfig(), **changes["model"]),
            replace(train or TrainConfig(), **changes["train"]))


# --------------------------------------------------------------------------- evaluation


def reconstruct(model: LatentModel, x: np.ndarray) -> np.ndarray:
    """decode(mu) of consecutive non-overlapping frames, concatenated (the paper's rendering);
    the tail shorter than a frame is dropped, so the result has a whole number of frames."""
    from latentcode.model.audiofiles import frame

    frames = np.ascontiguousarray(frame(x, model.segment, model.segment))
    mu, _ = model.encode(frames)
    return model.decode(mu).reshape(-1)


def evaluate(model: LatentModel, files: list[Path], wav_path: Path | None = None
             ) -> tuple[float, dict[str, float]]:
    """Pooled SNR (dB) over ``files`` and the SNR of each; optionally a WAV of every original
    followed by its reconstruction (0.3 s of silence between)."""
    from latentcode.model.audiofiles import load_audio, write_wav

    per, sig, err, parts = {}, 0.0, 0.0, []
    gap = np.zeros(int(0.3 * model.sample_rate), np.float32)
    for f in files:
        x = load_audio(f, model.sample_rate, min_samples=model.segment)
        y = reconstruct(model, x)
        x = x[: len(y)]
        per[f.name] = snr_db(x, y)
        sig += float(np.sum(x.astype(np.float64) ** 2))
        err += float(np.sum((x.astype(np.float64) - y) ** 2))
        parts += [x, gap, y, gap, gap]
    if wav_path is not None and parts:
        write_wav(wav_path, np.concatenate(parts), model.sample_rate)
    pooled = float(10 * np.log10(sig / max(err, 1e-20))) if files else float("nan")
    return pooled, per


# --------------------------------------------------------------------------- command line


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Flags of ``latentcode train``."""
    from latentcode.model.audiofiles import formats_hint

    a = parser.add_argument
    a("audio_dir", nargs="?", metavar="AUDIO_DIR",
      help=f"folder of audio files ({formats_hint()}; the bank reads the same) "
           "(default: the builtin corpus, built on first use)")
    a("-o", "--out", default="runs/train", help="output folder (default runs/train)")
    a("--config", metavar="FILE.ini", help="settings in the original default.ini layout")
    a("--epochs", type=int, help="epochs to train (default 30); the same seed and epochs give "
                                 "the same schedule and, on a CPU, the same weights")
    a("--learning-rate", "--lr", type=float, dest="learning_rate")
    a("--batch-size", type=int)
    a("--checkpoint-interval", type=int, help="save a checkpoint every N epochs")
    a("--loss", choices=LOSSES,
      help="paper: MSE + kl_beta KL (default); spectral: plus a multi-resolution STFT term "
           "that keeps the top end and adds less hiss")
    a("--stft-weight", type=float,
      help=f"weight of the STFT term with --loss spectral (default {TrainConfig.stft_weight:g})")
    a("--emphasis-weight", type=float,
      help="with --loss spectral, weight of the MSE of the frames' first differences, which "
           "weighs the top end as much as the low partials (default 0)")
    a("--hop", type=int, help="frame hop in samples (paper: 128)")
    a("--segment", type=int, help="frame length in samples (paper: 1024)")
    a("--latent-dim", type=int)
    a("--n-units", type=int)
    a("--kl-beta", type=float)
    a("--sample-rate", type=int)
    a("--seed", type=int)
    a("--resume", metavar="CKPT",
      help="continue from a checkpoint where it stopped (position, optimiser and settings; "
           "flags given again override the settings)")
    a("--init", metavar="MODEL",
      help="fine-tune: start from this model's weights and sizes ('default': the shipped "
           "one) with a fresh optimiser and schedule; 'pca': start from the best linear code "
           "of the latent size (the principal components of the training frames)")
    a("--device", default="cpu", help="cpu or cuda")
    a("--threads", type=int, help="torch threads (default: torch's choice)")
    a("--max-minutes", type=float,
      help="time budget of the whole run (resumed parts included): the learning rate decays "
           "to fit it and training stops when it is spent")
    a("--fp16-export", metavar="PATH",
      help="also write a small fp16 copy of the final model (what ships as default.pt)")
    a("--no-progress", action="store_true", help="no progress bar (a line per epoch remains)")


def _configs(args: argparse.Namespace, model: ModelConfig | None = None,
             tr: TrainConfig | None = None) -> tuple[ModelConfig, TrainConfig]:
    """The settings: defaults (or ``model``/``tr``, e.g. a resumed run's), then the ini file,
    then the flags."""
    model, tr = model or ModelConfig(), tr or TrainConfig()
    if args.config:
        model, tr = read_ini(args.config, model, tr)
    m_flags = {"hop": args.hop, "segment": args.segment, "latent_dim": args.latent_dim,
               "n_units": args.n_units, "kl_beta": args.kl_beta, "sample_rate": args.sample_rate}
    t_flags = {"epochs": args.epochs, "learning_rate": args.learning_rate,
               "batch_size": args.batch_size, "checkpoint_interval": args.checkpoint_interval,
               "seed": args.seed, "loss": args.loss, "stft_weight": args.stft_weight,
               "emphasis_weight": args.emphasis_weight}
    model = replace(model, **{k: v for k, v in m_flags.items() if v is not None})
    tr = replace(tr, **{k: v for k, v in t_flags.items() if v is not None})
    for name in ("hop", "segment", "latent_dim", "n_units", "sample_rate"):
        if getattr(model, name) < 1:
            raise LatentcodeError(f"{name.replace('_', '-')} must be positive")
    if tr.epochs < 1 or tr.batch_size < 1 or tr.learning_rate <= 0:
        raise LatentcodeError("epochs, batch size and learning rate must be positive")
    if tr.loss not in LOSSES:
        raise LatentcodeError(f"unknown loss {tr.loss!r}: use one of {', '.join(LOSSES)}")
    if not 0 <= tr.stft_weight < float("inf"):
        raise LatentcodeError(f"--stft-weight must be a number >= 0, not {tr.stft_weight:g}")
    if not 0 <= tr.emphasis_weight < float("inf"):
        raise LatentcodeError(f"--emphasis-weight must be a number >= 0, not "
                              f"{tr.emphasis_weight:g}")
    for flag in ("stft_weight", "emphasis_weight"):
        if getattr(args, flag) is not None and tr.loss != "spectral":
            name = "--" + flag.replace("_", "-")
            raise LatentcodeError(f"{name} only applies with --loss spectral: add it, or drop "
                                  f"{name}")
    if args.max_minutes is not None and not 0 < args.max_minutes < float("inf"):
        raise LatentcodeError("--max-minutes must be a positive number of minutes")
    return model, tr


def _resumed_settings(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """A resumed run keeps the settings it was started with (flags given again override)."""
    blob = read_resume(Path(args.resume))
    state = training_state(blob)
    model = ModelConfig()
    stored = blob.get("config")
    if isinstance(stored, dict):
        model = replace(model, kl_beta=ModelConfig.from_dict(stored).kl_beta)
    loss = state.get("loss") if isinstance(state.get("loss"), dict) else {}
    kept = {"epochs": state.get("epochs"), "learning_rate": state.get("learning_rate"),
            "batch_size": state.get("batch_size"), "seed": state.get("seed"),
            "checkpoint_interval": state.get("checkpoint_interval"),
            "loss": loss.get("name"), "stft_weight": loss.get("stft_weight"),
            "emphasis_weight": loss.get("emphasis_weight")}
    tr = replace(TrainConfig(), **{k: v for k, v in kept.items() if v is not None})
    if args.max_minutes is None and state.get("max_minutes"):
        args.max_minutes = float(state["max_minutes"])
    return model, tr


def _resume_hint(args: argparse.Namespace, checkpoint: Path) -> str:
    """The command that continues an interrupted run."""
    words = ["latentcode", "train"]
    if args.audio_dir:
        words.append(args.audio_dir)
    words += ["-o", args.out, "--resume", str(checkpoint)]
    if args.device != "cpu":
        words += ["--device", args.device]
    return " ".join(shlex.quote(w) for w in words)


def run(args: argparse.Namespace) -> int:
    """``latentcode train [AUDIO_DIR] [-o OUT] [--config FILE.ini] [flags]``."""
    from latentcode.model.audiofiles import find_audio
    from latentcode.model.corpus import default_corpus_dir, training_split

    if args.init and args.resume:
        raise LatentcodeError("--init starts a fine-tune, --resume continues a run: give one")
    init: Path | str | None = None
    if args.init == PCA:
        init = PCA
    elif args.init:
        init = default_model_path() if args.init == "default" else Path(args.init).expanduser()
        if not init.is_file():
            raise LatentcodeError(f"--init {args.init}: no such model file")
    base = _resumed_settings(args) if args.resume else (None, None)
    model_cfg, train_cfg = _configs(args, *base)
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = Path(args.audio_dir) if args.audio_dir else default_corpus_dir()
    files = find_audio(folder)
    train_files, test = training_split(files)
    train_files = train_files or files  # one file alone: train on it, evaluate on it
    out = Path(args.out)
    try:
        done = train(train_files, out, model_cfg, train_cfg, device=args.device,
                     resume=Path(args.resume) if args.resume else None,
                     init=init,
                     max_minutes=args.max_minutes, progress=not args.no_progress)
    except TrainingInterrupted as stop:
        print(f"latentcode: {stop.signal_name}: stopped at {stop.where}, saved "
              f"{stop.checkpoint}; to go on: {_resume_hint(args, stop.checkpoint)}",
              file=sys.stderr, flush=True)
        return 130
    model = LatentModel(done.net, done.config)
    eval_files = test or train_files
    which = "held-out" if test else "training (no file held out)"
    snr, per = evaluate(model, eval_files, out / "heldout_reconstruction.wav")
    for name, v in per.items():
        print(f"  {name}: {v:.2f} dB")
    print(f"{which} reconstruction SNR {snr:.2f} dB over {len(eval_files)} files "
          "(decode(mu) of non-overlapping 1024-sample frames, concatenated)")
    summary = {k: v for k, v in done.state.items() if k != "rng"}  # what a model file keeps
    extra = {"heldout_snr_db": snr, "train_minutes": done.seconds / 60}
    save_checkpoint(out / "last.pt", done.net, done.config, epoch=done.epochs,
                    optimizer=torch.load(out / "last.pt", weights_only=True).get("optimizer"),
                    extra={**extra, "training": done.state})
    if args.fp16_export:
        p = save_checkpoint(args.fp16_export, done.net, done.config, epoch=done.epochs,
                            half=True, extra={**extra, "training": summary})
        print(f"fp16 model written to {p} ({p.stat().st_size / 1e6:.1f} MB)")
    total = train_cfg.epochs
    if done.stopped_by == "budget":
        ended = (f"the {args.max_minutes:g} min budget ended the run at epoch "
                 f"{done.epochs + 1}, step {done.step} (of {total} epochs)" if done.step else
                 f"the {args.max_minutes:g} min budget ended the run after epoch {done.epochs} "
                 f"of {total}")
    else:
        ended = f"the epochs ended the run ({done.epochs} of {total})"
    print(f"trained in {duration(done.seconds)}: {ended}; checkpoint {out / 'last.pt'}; "
          f"originals beside reconstructions in {out / 'heldout_reconstruction.wav'}")
    return 0
