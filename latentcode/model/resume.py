"""Stopping a training run and continuing it exactly where it stopped.

A first Ctrl-C (SIGINT) or SIGTERM only raises a flag (:class:`StopSignals`): the training loop
finishes its step, saves ``last.pt`` with its position (epoch, step inside the epoch, elapsed
time, random-number states, optimiser state) and raises :class:`TrainingInterrupted`. A second
signal stops at once. Resuming from that checkpoint reproduces the uninterrupted run: the batch
order of each epoch is drawn from (seed, epoch) alone, and the generator states come back.

>>> with StopSignals() as stop:      # doctest: +SKIP
...     while not stop.requested:
...         step()
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import torch

from latentcode.errors import LatentcodeError


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving ``checkpoint``; ``where`` says at what point
    (e.g. 'epoch 3, step 12 of 40')."""

    def __init__(self, checkpoint: Path, where: str, signal_name: str) -> None:
        super().__init__(f"{signal_name}: stopped at {where}; checkpoint {checkpoint}")
        self.checkpoint = checkpoint
        self.where = where
        self.signal_name = signal_name


class StopSignals:
    """While active, SIGINT and SIGTERM set :attr:`requested` instead of stopping the process;
    a second one raises KeyboardInterrupt. Outside the main thread (where Python cannot install
    handlers) it does nothing.

    >>> with StopSignals() as stop:
    ...     stop.requested
    False
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._old: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal_name is not None:
            raise KeyboardInterrupt  # asked twice: the user does not want to wait for the step
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old.clear()


def rng_state(device: str) -> dict[str, torch.Tensor]:
    """The global generator states the training step draws from (the VAE's sampling noise)."""
    state = {"cpu": torch.get_rng_state()}
    if device == "cuda":
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Any, device: str) -> bool:
    """Restore :func:`rng_state`'s output; False when ``state`` is missing or does not fit."""
    if not isinstance(state, dict) or not isinstance(state.get("cpu"), torch.Tensor):
        return False
    try:
        torch.set_rng_state(state["cpu"])
        if device == "cuda":
            if not isinstance(state.get("cuda"), torch.Tensor):
                return False
            torch.cuda.set_rng_state(state["cuda"])
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of the ``n`` frames in ``epoch`` (1-based): from (seed, epoch) alone, so a run
    resumed at any epoch and step sees the same batches as an uninterrupted one.

    >>> torch.equal(epoch_order(10, 0, 3), epoch_order(10, 0, 3))
    True
    >>> torch.equal(epoch_order(10, 0, 3), epoch_order(10, 0, 4))
    False
    """
    gen = torch.Generator(device="cpu").manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=gen)


def read_resume(path: Path) -> dict[str, Any]:
    """A checkpoint to continue from, as ``{'state_dict', 'epoch', ...}``: ours, the original
    ``rawaudiovae`` layout or a bare state_dict (then epoch 0, no optimiser state)."""
    from latentcode.model.vae import _read_checkpoint, _state_dict_of

    p = Path(path)
    blob = _read_checkpoint(p)
    sd, _ = _state_dict_of(blob, p)
    if not (isinstance(blob, dict) and "state_dict" in blob):
        blob = {"state_dict": sd}
    epoch = blob.get("epoch", 0)
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise LatentcodeError(f"cannot resume from {str(p)!r}: its epoch is {epoch!r}, not a "
                              "count of epochs")
    return blob


def training_state(blob: dict[str, Any]) -> dict[str, Any]:
    """The ``training`` dict of a checkpoint ({} for checkpoints from before it, or foreign)."""
    state = blob.get("training")
    return state if isinstance(state, dict) else {}
