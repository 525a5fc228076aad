"""The training loop: batches, steps, time budget, checkpoints, stopping and resuming.

:func:`train` is what ``latentcode train`` runs (:mod:`latentcode.model.train` reads the flags
and evaluates the result). Written to keep a GPU busy: the data stays on the device, the loss is
read on the host only every :data:`SYNC_EVERY` steps, and a batch whose loss or gradient is not
finite is skipped inside the (fused) optimiser step rather than by a check that waits for it.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.dataset import load_dataset
from latentcode.model.linear_start import MAX_FRAMES, start_linear
from latentcode.model.losses import DEFAULT_STFT_WEIGHT, TrainingLoss
from latentcode.model.resume import (
    StopSignals,
    TrainingInterrupted,
    epoch_order,
    read_resume,
    rng_state,
    set_rng_state,
    training_state,
)
from latentcode.model.vae import VAE, ModelConfig, load_model, save_checkpoint

PCA = "pca"  # ``init`` that starts from the best linear code instead of a model file
GRAD_CLIP = 1.0  # max global gradient norm
SYNC_EVERY = 50  # steps between reads of the loss on the host (each read waits for the GPU)


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loss settings (the model's own are in :class:`ModelConfig`).

    >>> TrainConfig().loss, TrainConfig(loss="spectral").stft_weight > 0
    ('paper', True)
    """

    epochs: int = 30
    learning_rate: float = 5e-4
    batch_size: int = 256
    checkpoint_interval: int = 10
    seed: int = 0
    loss: str = "paper"
    stft_weight: float = DEFAULT_STFT_WEIGHT
    emphasis_weight: float = 0.0


@dataclass
class Trained:
    """What :func:`train` ends with. ``epochs`` counts whole epochs done (a run stopped by its
    time budget may be inside the next one, at ``step``); ``stopped_by`` is 'epochs' or
    'budget'; ``state`` is the ``training`` dict stored in the checkpoints."""

    net: VAE
    config: ModelConfig
    epochs: int
    step: int
    stopped_by: str
    seconds: float
    state: dict[str, Any] = field(default_factory=dict)


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


def duration(seconds: float) -> str:
    """A short readable duration.

    >>> duration(42.4), duration(150), duration(7200)
    ('42 s', '2.5 min', '2.0 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _say(bar: Any, text: str) -> None:
    """A line on stdout, above the progress bar, flushed so a pipe or a log sees it now."""
    bar.write(text, file=sys.stdout)
    sys.stdout.flush()


def _optimizer(net: VAE, lr: float) -> tuple[torch.optim.Adam, bool]:
    """Adam, fused where this torch has it: the fused step can skip a batch on a device-side
    flag (``found_inf``), so no step waits for the GPU to say whether its loss was finite."""
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True), True
    except (RuntimeError, TypeError, ValueError):  # an older torch without fused Adam here
        return torch.optim.Adam(net.parameters(), lr=lr), False


def _step(opt: torch.optim.Adam, fused: bool, ok: torch.Tensor) -> None:
    """One optimiser step, or none at all (weights, moments and step count untouched) when
    ``ok`` is false: a non-finite batch is skipped, never learned."""
    if fused:
        opt.found_inf = (~ok).float()  # read by the fused kernel on the device
        opt.step()
    elif bool(ok):
        opt.step()


def train(
    files: list[Path],
    out_dir: Path,
    model_cfg: ModelConfig | None = None,
    train_cfg: TrainConfig | None = None,
    *,
    device: str = "cpu",
    resume: Path | None = None,
    init: Path | str | None = None,
    max_minutes: float | None = None,
    progress: bool = True,
) -> Trained:
    """Train on ``files`` (already without the held-out ones).

    Checkpoints go to ``out_dir/checkpoint_EEEE.pt`` every ``checkpoint_interval`` epochs and
    ``out_dir/last.pt`` at the end (fp32, optimiser state and position, so ``resume``
    continues exactly). ``max_minutes`` is a budget for the whole run, resumed parts included:
    the learning rate decays with whichever runs out first, epochs or time, and the run stops
    at the step that reaches it. SIGINT or SIGTERM save ``last.pt`` and raise
    :class:`~latentcode.model.resume.TrainingInterrupted`. ``init`` (a model file) fine-tunes:
    its sizes and weights, then a fresh optimiser and schedule from epoch 1; ``init="pca"``
    starts from the best linear code of the latent size (:mod:`latentcode.model.linear_start`).

    >>> t = train(files, Path("runs/x"), train_cfg=TrainConfig(epochs=2))  # doctest: +SKIP
    >>> t.epochs, t.stopped_by                                             # doctest: +SKIP
    (2, 'epochs')
    """
    from tqdm import tqdm

    model_cfg = model_cfg or ModelConfig()
    tc = train_cfg or TrainConfig()
    device = _device(device)
    blob: dict[str, Any] = {}
    state: dict[str, Any] = {}
    if resume is not None:
        blob = read_resume(resume)
        state = training_state(blob)
        stored = blob.get("config")
        if isinstance(stored, dict):
            model_cfg = replace(ModelConfig.from_dict(stored), kl_beta=model_cfg.kl_beta)
    start_from = None
    if init is not None and init != PCA:  # a fine-tune keeps the model's sizes
        start_from = load_model(init)
        model_cfg = replace(start_from.config, kl_beta=model_cfg.kl_beta)
    loss_fn = TrainingLoss(tc.loss, model_cfg.kl_beta, tc.stft_weight,
                           emphasis_weight=tc.emphasis_weight)
    data = load_dataset(files, model_cfg, device)
    model_cfg = replace(model_cfg, corpus=data.fingerprint)
    torch.manual_seed(tc.seed)
    net = VAE(model_cfg.segment, model_cfg.n_units, model_cfg.latent_dim)
    n = len(data.starts)
    bs = min(tc.batch_size, n)
    steps = max(1, n // bs)  # drop the ragged last batch: every step sees a full batch
    total = tc.epochs
    start_epoch, start_step, seconds_before = int(blob.get("epoch", 0)), 0, 0.0
    if start_from is not None:
        net.load_state_dict(start_from.net.state_dict())
    elif init == PCA:
        # frames a segment apart (no sample counted twice), at most MAX_FRAMES of them
        every = max(1, model_cfg.segment // model_cfg.hop, -(-n // MAX_FRAMES))
        idx = torch.arange(0, n, every, device=data.starts.device)
        start_linear(net, data.batch(idx, model_cfg.segment).cpu())
    if resume is not None:
        sd = {k.removeprefix("module."): v.float() for k, v in blob["state_dict"].items()}
        try:
            net.load_state_dict(sd)
        except RuntimeError as e:
            raise LatentcodeError(f"cannot resume from {str(resume)!r}: its weights do not fit "
                                  "the model size given; drop the size flags") from e
        seconds_before = float(state.get("seconds", 0.0))
        if state.get("steps_per_epoch") == steps:
            start_step = int(state.get("step", 0))
        elif state.get("step"):
            print(f"note: the data or batch size changed since {Path(resume).name} was saved: "
                  f"continuing at the start of epoch {start_epoch + 1}")
        if start_epoch >= total:
            raise LatentcodeError(f"{str(resume)!r} has already run {start_epoch} epochs: give "
                                  f"--epochs above {start_epoch} to train further")
        if state and not set_rng_state(state.get("rng"), device):
            print("note: the checkpoint's random state does not fit this device: the run goes "
                  "on, but not bit for bit as it would have without the stop")
    net.to(device).train()
    opt, fused = _optimizer(net, tc.learning_rate)
    opt_state = blob.get("optimizer")
    if isinstance(opt_state, dict) and opt_state:
        try:
            # a checkpoint's groups carry their own implementation flags (the original code's
            # are not fused): keep ours, so the step can still skip on a device-side flag
            groups = [{**g, "fused": fused or None, "foreach": None}
                      for g in opt_state.get("param_groups", [])]
            opt.load_state_dict({**opt_state, "param_groups": groups})
        except (ValueError, KeyError, RuntimeError):
            print("note: the optimiser state in the checkpoint does not fit; starting it fresh")
    out_dir.mkdir(parents=True, exist_ok=True)

    budget = 60.0 * max_minutes if max_minutes else None
    if budget is not None and seconds_before >= budget:
        raise LatentcodeError(f"{str(resume)!r} has already used {duration(seconds_before)} of "
                              f"the {max_minutes:g} min budget: give a larger --max-minutes")
    print(f"training on {len(data.files)} files, {n} frames of {model_cfg.segment} at hop "
          f"{model_cfg.hop}; epochs {start_epoch + 1}..{total}, {steps} steps each, batch {bs}, "
          f"lr {tc.learning_rate:g}, loss {loss_fn.describe()}, device {device}, threads "
          f"{torch.get_num_threads()}"
          + (f"; resuming at step {start_step} of epoch {start_epoch + 1}" if start_step else "")
          + (f"; time budget {max_minutes:g} min" if budget else ""), flush=True)

    t0 = time.monotonic()
    deadline = t0 + budget - seconds_before if budget is not None else None
    mean_power = float(data.audio.pow(2).mean())
    all_steps = total * steps
    bar = tqdm(total=all_steps - start_epoch * steps - start_step, disable=not progress,
               unit="step", dynamic_ncols=True, mininterval=1.0)
    clock = _Clock(t0, deadline, all_steps, start_epoch * steps + start_step)

    def save(path: Path, epoch_done: int, step: int, stopped_by: str) -> dict[str, Any]:
        st = {"loss": loss_fn.to_dict(), "seed": tc.seed, "epochs": total,
              "learning_rate": tc.learning_rate, "batch_size": tc.batch_size,
              "checkpoint_interval": tc.checkpoint_interval, "max_minutes": max_minutes,
              "step": step, "steps_per_epoch": steps, "device": device,
              "seconds": seconds_before + time.monotonic() - t0, "stopped_by": stopped_by,
              "rng": rng_state(device)}
        save_checkpoint(path, net, model_cfg, epoch=epoch_done, optimizer=opt.state_dict(),
                        extra={"training": st})
        return st

    epoch, step, stopped_by = start_epoch, start_step, "epochs"
    acc = torch.zeros(4, device=device)  # sums over the epoch: mse, kl, stft, steps learned
    zero = torch.zeros((), device=device)
    params = list(net.parameters())
    with StopSignals() as stop:
        try:
            for epoch in range(start_epoch + 1, total + 1):
                order = epoch_order(n, tc.seed, epoch).to(device)
                acc.zero_()
                first = start_step if epoch == start_epoch + 1 else 0
                for s in range(first, steps):
                    # with a time budget the decay follows whichever runs out first, epochs or
                    # minutes, so a cut-short run still ends on a small learning rate
                    frac = (epoch - 1 + s / steps) / total
                    if budget is not None:
                        frac = max(frac, (seconds_before + time.monotonic() - t0) / budget)
                    for g in opt.param_groups:
                        g["lr"] = _lr_at(frac, 1, tc.learning_rate)
                    x = data.batch(order[s * bs:(s + 1) * bs], model_cfg.segment)
                    recon, mu, logvar = net(x)
                    loss, mse, kl, stft = loss_fn(recon, x, mu, logvar)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    # a rare huge gradient (logvar spiking) once turned every weight into NaN
                    norm = torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
                    ok = torch.isfinite(norm) & torch.isfinite(loss)
                    _step(opt, fused, ok)
                    parts = torch.stack([mse, kl, zero if stft is None else stft]).detach()
                    acc[:3] += torch.where(ok, parts, zero)
                    acc[3] += ok.float()
                    bar.update(1)
                    step = s + 1
                    done = (epoch - 1) * steps + step
                    if step == steps:
                        break  # the epoch is done: its end below checks for a stop too
                    if step % SYNC_EVERY == 0:
                        _show(bar, clock, acc.tolist(), epoch, done, budget is not None)
                    if stop.requested or (deadline is not None and time.monotonic() >= deadline):
                        break
                if step == steps:
                    step = 0
                    _end_epoch(bar, clock, acc.tolist(), epoch, total, epoch * steps,
                               steps - first, mean_power, params, budget is not None)
                    if epoch % max(1, tc.checkpoint_interval) == 0:
                        save(out_dir / f"checkpoint_{epoch:04d}.pt", epoch, 0, "epochs")
                    out_of_time = deadline is not None and time.monotonic() >= deadline
                    if not stop.requested and (epoch == total or not out_of_time):
                        continue  # (a budget spent in the last epoch did not end the run)
                else:
                    epoch -= 1  # stopped inside this epoch: the whole ones done are before it
                stopped_by = "interrupt" if stop.requested else "budget"
                break
        finally:
            bar.close()
        state = save(out_dir / "last.pt", epoch, step, stopped_by)
    if stopped_by == "interrupt":
        where = (f"epoch {epoch + 1}, step {step} of {steps}" if step
                 else f"the end of epoch {epoch}")
        raise TrainingInterrupted(out_dir / "last.pt", where, stop.signal_name or "signal")
    return Trained(net.cpu().eval(), model_cfg, epoch, step, stopped_by, state["seconds"], state)


@dataclass
class _Clock:
    """Speed and end estimates: the end is whichever comes first, the last epoch or the time
    budget (the step rate is measured after the first read, which pays the start-up costs)."""

    t0: float
    deadline: float | None
    all_steps: int
    start_done: int
    ref: tuple[float, int] | None = None
    told: bool = False

    def estimate(self, done: int) -> tuple[float, float, bool]:
        """(seconds per step, seconds to the end, True when the budget ends it first)."""
        now = time.monotonic()
        if self.ref is not None and done > self.ref[1]:
            per = (now - self.ref[0]) / (done - self.ref[1])
        else:
            per = (now - self.t0) / max(1, done - self.start_done)
            if self.ref is None:
                self.ref = (now, done)
        left = per * (self.all_steps - done)
        if self.deadline is not None and self.deadline - now < left:
            return per, max(0.0, self.deadline - now), True
        return per, left, False


def _show(bar: Any, clock: _Clock, sums: list[float], epoch: int, done: int,
          has_budget: bool) -> None:
    """Update the bar (its total shrinks to what the budget leaves time for) and, once, say
    how long the run will take."""
    per, left, by_budget = clock.estimate(done)
    if by_budget:
        bar.total = bar.n + int(left / max(per, 1e-9))
    info = {"epoch": epoch, "mse": f"{sums[0] / max(1.0, sums[3]):.2e}",
            "ends": "budget" if by_budget else "epochs"}
    bar.set_postfix(info, refresh=False)
    if not clock.told:
        clock.told = True
        whole = per * (clock.all_steps - done)
        if by_budget:
            _say(bar, f"the epochs would take about {duration(whole)} more: will stop after "
                      f"about {duration(clock.deadline - clock.t0)} (budget), near step "
                      f"{done + int(left / max(per, 1e-9))} of {clock.all_steps}")
        else:
            _say(bar, f"about {duration(left)} to go ({per * 1e3:.1f} ms a step)"
                      + (", within the time budget" if has_budget else ""))


def _end_epoch(bar: Any, clock: _Clock, sums: list[float], epoch: int, total: int, done: int,
               ran: int, mean_power: float, params: list[torch.Tensor],
               has_budget: bool) -> None:
    """The epoch's line (mean losses, time left and what ends the run), the divergence check."""
    skipped = ran - int(round(sums[3]))
    if skipped:
        _say(bar, f"epoch {epoch}: skipped {skipped} batches with a non-finite loss or gradient")
    if not bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
        raise LatentcodeError("training diverged (non-finite weights): lower --learning-rate "
                              "or resume from an earlier checkpoint")
    if not clock.told:
        _show(bar, clock, sums, epoch, done, has_budget)
    per, left, by_budget = clock.estimate(done)
    k = max(1.0, sums[3])
    mse = sums[0] / k
    snr = 10 * np.log10(mean_power / mse) if mse > 0 else float("inf")
    stft = f" stft {sums[2] / k:.3f}" if sums[2] else ""
    ends = "the time budget" if by_budget else "the last epoch"
    _say(bar, f"epoch {epoch}/{total}: mse {mse:.3e} kl {sums[1] / k:.1f}{stft} (approx. SNR "
              f"on training frames {snr:.1f} dB); {duration(time.monotonic() - clock.t0)} "
              f"so far, about {duration(left)} to {ends}")
