"""``latentcode train [AUDIO_DIR]``: train the paper's VAE on a folder of audio.

Defaults are the paper's model and framing (segment 1024, hop 128, latent 256, 2048 units,
kl_beta 1e-4 at 44.1 kHz); the optimiser settings are ours, chosen for a CPU and minutes rather
than a GPU and days (Adam, lr 5e-4 with a cosine decay to lr/10, batch 256, gradient
norm clipped at 1). Any setting can come
from the original ``default.ini`` layout with ``--config`` and be overridden again by a flag:

    [audio]    sampling_rate hop_length segment_length
    [VAE]      latent_dim n_units kl_beta
    [training] epochs learning_rate batch_size checkpoint_interval

Files are split with :func:`latentcode.model.corpus.held_out`; at the end the held-out files are
reconstructed (decode(mu) of non-overlapping frames, concatenated, as the paper renders) and
their SNR is printed, and a WAV of each original followed by its reconstruction is written.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.vae import VAE, LatentModel, ModelConfig, save_checkpoint, vae_loss

GRAD_CLIP = 1.0  # max global gradient norm


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings (the model's own are in :class:`ModelConfig`)."""

    epochs: int = 30
    learning_rate: float = 5e-4
    batch_size: int = 256
    checkpoint_interval: int = 10
    seed: int = 0


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


# --------------------------------------------------------------------------- data


@dataclass
class Dataset:
    """All training audio in one tensor and the start of every frame in it."""

    audio: torch.Tensor  # 1-D float32, files one after another
    starts: torch.Tensor  # int64 start sample of each frame
    files: list[Path]
    fingerprint: str

    def batch(self, idx: torch.Tensor, segment: int) -> torch.Tensor:
        """Frames number ``idx`` as a (len(idx), segment) tensor (one gather, no loop)."""
        offs = self.starts[idx].unsqueeze(1) + torch.arange(segment, device=self.audio.device)
        return self.audio[offs]


def corpus_fingerprint(files: list[Path]) -> str:
    """A short hash of the names and contents of the training files."""
    h = hashlib.sha1()
    for f in sorted(files):
        h.update(f.name.encode())
        h.update(hashlib.sha1(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def load_dataset(files: list[Path], cfg: ModelConfig, device: str = "cpu") -> Dataset:
    """Read files and index their frames at ``cfg.hop``; silent or too-short files are skipped
    with a note, and having none left is an error."""
    from latentcode.model.audiofiles import load_audio, n_frames

    chunks, starts, used, pos = [], [], [], 0
    for f in files:
        try:
            x = load_audio(f, cfg.sample_rate, min_samples=cfg.segment)
        except LatentcodeError as e:
            if "silent" in str(e) or "too short" in str(e):
                print(f"skipping {f.name}: {e}")
                continue
            raise
        n = n_frames(len(x), cfg.segment, cfg.hop)
        starts.append(pos + np.arange(n, dtype=np.int64) * cfg.hop)
        chunks.append(x)
        used.append(f)
        pos += len(x)
    if not used:
        raise LatentcodeError("no training file is at least one segment long and not silent: "
                              f"give files longer than {cfg.segment} samples")
    audio = torch.from_numpy(np.concatenate(chunks)).to(device)
    return Dataset(audio, torch.from_numpy(np.concatenate(starts)).to(device), used,
                   corpus_fingerprint(used))


# --------------------------------------------------------------------------- evaluation


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    """Signal-to-noise ratio of ``est`` against ``ref`` in dB.

    >>> round(snr_db(np.ones(4), np.ones(4) * 0.9), 1)
    20.0
    """
    ref = np.asarray(ref, np.float64)
    err = np.sum((ref - np.asarray(est, np.float64)) ** 2)
    return float(10 * np.log10(np.sum(ref**2) / max(err, 1e-20)))


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


# --------------------------------------------------------------------------- training


def _device(name: str) -> str:
    if name == "cuda" and not torch.cuda.is_available():
        raise LatentcodeError("--device cuda: this torch has no CUDA GPU available; "
                              "use --device cpu")
    if name not in ("cpu", "cuda"):
        raise LatentcodeError(f"unknown device {name!r}: use cpu or cuda")
    return name


def _lr_at(epoch: float, total: int, base: float) -> float:
    """Cosine decay from ``base`` to ``base/10`` over ``total`` epochs."""
    t = min(1.0, epoch / max(1, total))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def train(
    files: list[Path],
    out_dir: Path,
    model_cfg: ModelConfig | None = None,
    train_cfg: TrainConfig | None = None,
    *,
    device: str = "cpu",
    resume: Path | None = None,
    max_minutes: float | None = None,
    progress: bool = True,
) -> tuple[VAE, ModelConfig, int]:
    """Train on ``files`` (already without the held-out ones); returns (net, config, epochs).

    Checkpoints go to ``out_dir/checkpoint_EEEE.pt`` every ``checkpoint_interval`` epochs and
    ``out_dir/last.pt`` at the end (fp32 with the optimiser state, so ``resume`` continues).
    """
    from tqdm import tqdm

    model_cfg = model_cfg or ModelConfig()
    train_cfg = train_cfg or TrainConfig()
    device = _device(device)
    start_epoch, opt_state = 0, None
    if resume is not None:
        blob = _read_resume(resume)
        stored = blob.get("config")
        if isinstance(stored, dict):
            model_cfg = replace(ModelConfig.from_dict(stored), kl_beta=model_cfg.kl_beta)
        start_epoch = int(blob.get("epoch", 0))
        opt_state = blob.get("optimizer")
    data = load_dataset(files, model_cfg, device)
    model_cfg = replace(model_cfg, corpus=data.fingerprint)
    torch.manual_seed(train_cfg.seed)
    net = VAE(model_cfg.segment, model_cfg.n_units, model_cfg.latent_dim)
    if resume is not None:
        sd = {k.removeprefix("module."): v.float() for k, v in blob["state_dict"].items()}
        try:
            net.load_state_dict(sd)
        except RuntimeError as e:
            raise LatentcodeError(f"cannot resume from {str(resume)!r}: its weights do not fit "
                                  "the model size given; drop the size flags") from e
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=train_cfg.learning_rate)
    if isinstance(opt_state, dict) and opt_state:
        try:
            opt.load_state_dict(opt_state)
        except (ValueError, KeyError):
            print("note: the optimiser state in the checkpoint does not fit; starting it fresh")
    out_dir.mkdir(parents=True, exist_ok=True)

    n = len(data.starts)
    bs = min(train_cfg.batch_size, n)
    steps = max(1, n // bs)  # drop the ragged last batch: every step sees a full batch
    total = train_cfg.epochs
    gen = torch.Generator(device="cpu").manual_seed(train_cfg.seed + start_epoch)
    deadline = time.monotonic() + 60 * max_minutes if max_minutes else None
    print(f"training on {len(data.files)} files, {n} frames of {model_cfg.segment} at hop "
          f"{model_cfg.hop}; epochs {start_epoch + 1}..{total}, batch {bs}, "
          f"lr {train_cfg.learning_rate:g}, device {device}, threads {torch.get_num_threads()}")
    bar = tqdm(total=max(0, total - start_epoch) * steps, disable=not progress,
               unit="step", dynamic_ncols=True, mininterval=1.0)
    epoch = start_epoch
    try:
        for epoch in range(start_epoch + 1, total + 1):
            perm = torch.randperm(n, generator=gen).to(device)
            run_mse, skipped = 0.0, 0
            for s in range(steps):
                # with a time budget the decay follows whichever runs out first, epochs or
                # minutes, so a cut-short run still ends on a small learning rate
                frac = (epoch - 1 + s / steps) / total
                if deadline is not None:
                    frac = max(frac, 1 - (deadline - time.monotonic()) / (60 * max_minutes))
                lr = _lr_at(frac, 1, train_cfg.learning_rate)
                for g in opt.param_groups:
                    g["lr"] = lr
                x = data.batch(perm[s * bs:(s + 1) * bs], model_cfg.segment)
                recon, mu, logvar = net(x)
                loss, mse, kl = vae_loss(recon, x, mu, logvar, model_cfg.kl_beta)
                opt.zero_grad(set_to_none=True)
                if not torch.isfinite(loss):
                    skipped += 1  # exp(logvar) overflowed on this batch: never let NaN in
                    bar.update(1)
                    continue
                loss.backward()
                # a rare huge gradient (logvar spiking) once turned every weight into NaN
                torch.nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
                opt.step()
                m = float(mse.detach())
                run_mse = 0.98 * run_mse + 0.02 * m if s else m
                bar.update(1)
                if s % 20 == 0:
                    info = {"epoch": epoch, "mse": f"{run_mse:.2e}",
                            "kl": f"{float(kl.detach()):.1f}"}
                    if deadline is not None:  # the bar's ETA assumes all epochs run
                        info["budget_left"] = f"{(deadline - time.monotonic()) / 60:.1f}min"
                    bar.set_postfix(info, refresh=False)
            if skipped:
                bar.write(f"epoch {epoch}: skipped {skipped} batches with a non-finite loss")
            if not all(torch.isfinite(p).all() for p in net.parameters()):
                raise LatentcodeError("training diverged (non-finite weights): lower "
                                      "--learning-rate or resume from an earlier checkpoint")
            bar.write(f"epoch {epoch}/{total}: mse {run_mse:.3e}  "
                      f"(approx. SNR on training frames "
                      f"{10 * np.log10(float(data.audio.pow(2).mean()) / run_mse):.1f} dB)")
            if epoch % max(1, train_cfg.checkpoint_interval) == 0:
                save_checkpoint(out_dir / f"checkpoint_{epoch:04d}.pt", net, model_cfg,
                                epoch=epoch, optimizer=opt.state_dict())
            if deadline is not None and time.monotonic() > deadline:
                bar.write(f"time budget of {max_minutes:g} min reached after epoch {epoch}")
                break
    finally:
        bar.close()
    save_checkpoint(out_dir / "last.pt", net, model_cfg, epoch=epoch, optimizer=opt.state_dict())
    return net.cpu().eval(), model_cfg, epoch


def _read_resume(path: Path) -> dict:
    from latentcode.model.vae import _read_checkpoint, _state_dict_of

    p = Path(path)
    blob = _read_checkpoint(p)
    sd, cfg = _state_dict_of(blob, p)
    if not (isinstance(blob, dict) and "state_dict" in blob):
        blob = {"state_dict": sd}
    return blob


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
    a("--epochs", type=int)
    a("--learning-rate", "--lr", type=float, dest="learning_rate")
    a("--batch-size", type=int)
    a("--checkpoint-interval", type=int, help="save a checkpoint every N epochs")
    a("--hop", type=int, help="frame hop in samples (paper: 128)")
    a("--segment", type=int, help="frame length in samples (paper: 1024)")
    a("--latent-dim", type=int)
    a("--n-units", type=int)
    a("--kl-beta", type=float)
    a("--sample-rate", type=int)
    a("--seed", type=int)
    a("--resume", metavar="CKPT", help="continue from a checkpoint (epoch and optimiser too)")
    a("--device", default="cpu", help="cpu or cuda")
    a("--threads", type=int, help="torch threads (default: torch's choice)")
    a("--max-minutes", type=float, help="stop after the epoch that passes this time budget")
    a("--fp16-export", metavar="PATH",
      help="also write a small fp16 copy of the final model (what ships as default.pt)")
    a("--no-progress", action="store_true", help="no progress bar")


def _configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    model, tr = ModelConfig(), TrainConfig()
    if args.config:
        model, tr = read_ini(args.config, model, tr)
    m_flags = {"hop": args.hop, "segment": args.segment, "latent_dim": args.latent_dim,
               "n_units": args.n_units, "kl_beta": args.kl_beta, "sample_rate": args.sample_rate}
    t_flags = {"epochs": args.epochs, "learning_rate": args.learning_rate,
               "batch_size": args.batch_size, "checkpoint_interval": args.checkpoint_interval,
               "seed": args.seed}
    model = replace(model, **{k: v for k, v in m_flags.items() if v is not None})
    tr = replace(tr, **{k: v for k, v in t_flags.items() if v is not None})
    for name in ("hop", "segment", "latent_dim", "n_units", "sample_rate"):
        if getattr(model, name) < 1:
            raise LatentcodeError(f"{name.replace('_', '-')} must be positive")
    if tr.epochs < 1 or tr.batch_size < 1 or tr.learning_rate <= 0:
        raise LatentcodeError("epochs, batch size and learning rate must be positive")
    return model, tr


def run(args: argparse.Namespace) -> int:
    """``latentcode train [AUDIO_DIR] [-o OUT] [--config FILE.ini] [flags]``."""
    from latentcode.model.audiofiles import find_audio
    from latentcode.model.corpus import default_corpus_dir, held_out

    model_cfg, train_cfg = _configs(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = Path(args.audio_dir) if args.audio_dir else default_corpus_dir()
    files = find_audio(folder)
    test = held_out(files)
    train_files = [f for f in files if f not in test] or files
    out = Path(args.out)
    t0 = time.monotonic()
    net, model_cfg, epochs = train(
        train_files, out, model_cfg, train_cfg, device=args.device,
        resume=Path(args.resume) if args.resume else None, max_minutes=args.max_minutes,
        progress=not args.no_progress)
    minutes = (time.monotonic() - t0) / 60
    model = LatentModel(net, model_cfg)
    eval_files = test or train_files
    which = "held-out" if test else "training (no file held out)"
    snr, per = evaluate(model, eval_files, out / "heldout_reconstruction.wav")
    for name, v in per.items():
        print(f"  {name}: {v:.2f} dB")
    print(f"{which} reconstruction SNR {snr:.2f} dB over {len(eval_files)} files "
          "(decode(mu) of non-overlapping 1024-sample frames, concatenated)")
    extra = {"heldout_snr_db": snr, "train_minutes": minutes}
    save_checkpoint(out / "last.pt", net, model_cfg, epoch=epochs, extra=extra,
                    optimizer=torch.load(out / "last.pt", weights_only=True).get("optimizer"))
    print(f"trained {epochs} epochs in {minutes:.1f} min; checkpoint {out / 'last.pt'}; "
          f"originals beside reconstructions in {out / 'heldout_reconstruction.wav'}")
    if args.fp16_export:
        p = save_checkpoint(args.fp16_export, net, model_cfg, epoch=epochs, half=True,
                            extra=extra)
        print(f"fp16 model written to {p} ({p.stat().st_size / 1e6:.1f} MB)")
    return 0
