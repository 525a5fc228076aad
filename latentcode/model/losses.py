"""What training minimises: the paper's loss, or the paper's loss plus a spectral term.

``paper``
    MSE + kl_beta · KL, exactly :func:`latentcode.model.vae.vae_loss`.
``spectral``
    the same plus ``stft_weight`` · a multi-resolution STFT distance between each reconstructed
    frame and its input (:func:`stft_distance`). The MSE alone is dominated by the loud low
    partials, so the model learns to leave out quiet high bands and to fill silent ones with
    hiss; a log-magnitude term weighs every band by its level relative to the frame, which is
    closer to what a listener hears. ``emphasis_weight`` adds the MSE of the first difference of
    the frames (:func:`emphasis_mse`): an error weighed by frequency, phase included, so unlike a
    magnitude term it can build up a quiet top end rather than only push hiss down.

>>> f = TrainingLoss("spectral", kl_beta=1e-4, stft_weight=1e-3)
>>> x = torch.randn(8, 1024) * 0.1
>>> total, mse, kl, stft = f(x, x, torch.zeros(8, 4), torch.zeros(8, 4))
>>> float(total), float(stft)
(0.0, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from latentcode.errors import LatentcodeError
from latentcode.model.vae import vae_loss

LOSSES = ("paper", "spectral")
STFT_SIZES = (128, 256, 512, 1024)
# Chosen by a short CPU comparison (4 corpus families, 1216 steps of batch 256, measured on
# held-out and fresh-seed files): 1e-3 lowered the hiss the model adds by 1.2-1.4 dB pooled
# (drone 3.7 dB) for 0.4-0.6 dB of SNR; 3e-3 cost 4 dB of SNR and silenced the noise family;
# 1e-2 and above stalled the MSE (training SNR under 1 dB while the paper's loss reached 8).
# The log term's gradient is about 2000 times the MSE's at the same weight, hence the scale.
DEFAULT_STFT_WEIGHT = 1e-3
# The log term compares bands down to this far below the loudest bin of the original frame, so
# hiss added 60 dB under a sound still costs; quieter differences stop counting (they are
# inaudible, and an unbounded log would spend the model on them).
FLOOR_DB = 80.0
# ...and never below this magnitude (in units where a full-scale sine peaks at 0.5, so -154 dB
# under it): low enough that in a quiet frame (a sine 60 dB under full scale peaks at 5e-4) a
# band 60 dB further down (5e-7) still counts, and a frame of digital silence has a finite log.
ABS_FLOOR = 1e-8


def stft_distance(recon: torch.Tensor, x: torch.Tensor, sizes: tuple[int, ...] = STFT_SIZES,
                  floor_db: float = FLOOR_DB) -> torch.Tensor:
    """Multi-resolution STFT distance of frames ``recon`` from frames ``x``, both (n, segment).

    For each FFT size (those longer than a frame are left out) with hop size/4 and a Hann
    window: spectral convergence ``‖|X|−|Y|‖_F / ‖|X|‖_F`` over the batch, plus the mean of
    ``|log(|X|+e) − log(|Y|+e)|`` where ``e`` is :data:`FLOOR_DB` below the frame's loudest bin
    (at least :data:`ABS_FLOOR`). Averaged over the sizes. ``center=False``: every window lies
    inside the frame, so no padding invents content at its edges (the MSE covers the edges).
    One batched ``torch.stft`` per size, no loop over frames.

    >>> x = torch.sin(torch.arange(1024.0) * 0.3).repeat(4, 1)
    >>> float(stft_distance(x, x))
    0.0
    >>> float(stft_distance(x * 0.5, x)) > 0.5
    True
    """
    segment = x.shape[-1]
    x = x.reshape(-1, segment)
    recon = recon.reshape(-1, segment)
    used = [n for n in sizes if n <= segment] or [segment]
    rel = 10.0 ** (-floor_db / 20.0)
    total = x.new_zeros(())
    for n in used:
        window = _hann(n, x.device, x.dtype)
        mx = _magnitude(x, n, window)
        my = _magnitude(recon, n, window)
        sc = torch.linalg.vector_norm(mx - my) / torch.linalg.vector_norm(mx).clamp_min(1e-12)
        eps = (mx.detach().amax(dim=(1, 2), keepdim=True) * rel).clamp_min(ABS_FLOOR)
        log_term = (torch.log(mx + eps) - torch.log(my + eps)).abs().mean()
        total = total + sc + log_term
    return total / len(used)


_WINDOWS: dict[tuple[int, str, torch.dtype], torch.Tensor] = {}


def _hann(n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A Hann window scaled so a full-scale sine peaks at 0.5 at every FFT size (cached)."""
    key = (n, str(device), dtype)
    w = _WINDOWS.get(key)
    if w is None:
        w = torch.hann_window(n, periodic=True, dtype=dtype, device=device)
        w = w / w.sum()
        _WINDOWS[key] = w
    return w


def _magnitude(frames: torch.Tensor, n: int, window: torch.Tensor) -> torch.Tensor:
    """|STFT| of every frame: (batch, n//2+1, windows)."""
    spec = torch.stft(frames, n, hop_length=n // 4, win_length=n, window=window, center=False,
                      return_complex=True)
    power = spec.real.square() + spec.imag.square()
    # the floor keeps sqrt's gradient finite where a band is exactly empty
    return power.clamp_min(1e-20).sqrt()


def emphasis_mse(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """MSE of the first differences of ``recon`` and ``x`` along the frame: the error seen
    through a filter whose gain rises 6 dB per octave (0.03 at 100 Hz, 1 at 7 kHz, 2 at
    Nyquist at 44.1 kHz), so the quiet top end weighs as much as the loud low partials.

    >>> x = torch.zeros(1, 8); y = x.clone(); y[0, 4] = 1.0
    >>> float(emphasis_mse(y, x))
    0.2857142984867096
    """
    return ((recon.diff(dim=-1) - x.diff(dim=-1)) ** 2).mean()


@dataclass(frozen=True)
class TrainingLoss:
    """The loss of a training run, callable on (recon, x, mu, logvar).

    Returns ``(total, mse, kl, stft)``; ``stft`` is None for the paper's loss, whose total is
    :func:`~latentcode.model.vae.vae_loss`'s, bit for bit.

    >>> TrainingLoss("paper", 1e-4).describe()
    'paper (MSE + 0.0001 KL)'
    """

    name: str = "paper"
    kl_beta: float = 1e-4
    stft_weight: float = DEFAULT_STFT_WEIGHT
    stft_sizes: tuple[int, ...] = STFT_SIZES
    floor_db: float = FLOOR_DB
    emphasis_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in LOSSES:
            raise LatentcodeError(f"unknown loss {self.name!r}: use one of {', '.join(LOSSES)}")
        w = self.stft_weight
        if not (isinstance(w, int | float) and 0 <= w < float("inf")):
            raise LatentcodeError(f"--stft-weight must be a number >= 0, not {w!r}")
        e = self.emphasis_weight
        if not (isinstance(e, int | float) and 0 <= e < float("inf")):
            raise LatentcodeError(f"--emphasis-weight must be a number >= 0, not {e!r}")

    def __call__(self, recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor,
                 logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                torch.Tensor | None]:
        total, mse, kl = vae_loss(recon, x, mu, logvar, self.kl_beta)
        if self.name == "paper":
            return total, mse, kl, None
        stft = None
        if self.stft_weight:  # 0 leaves the STFT out (an emphasis-only loss), at no cost
            stft = stft_distance(recon, x, self.stft_sizes, self.floor_db)
            total = total + self.stft_weight * stft
        if self.emphasis_weight:
            total = total + self.emphasis_weight * emphasis_mse(recon, x)
        return total, mse, kl, stft

    def describe(self) -> str:
        """One line for the training log."""
        base = f"MSE + {self.kl_beta:g} KL"
        if self.name == "paper":
            return f"paper ({base})"
        sizes = "/".join(str(n) for n in self.stft_sizes)
        emph = f" + {self.emphasis_weight:g} emphasis" if self.emphasis_weight else ""
        return f"spectral ({base} + {self.stft_weight:g} STFT at {sizes}{emph})"

    def to_dict(self) -> dict[str, Any]:
        """Plain types for the checkpoint (loads with ``weights_only=True``)."""
        return {"name": self.name, "kl_beta": float(self.kl_beta),
                "stft_weight": float(self.stft_weight), "stft_sizes": list(self.stft_sizes),
                "floor_db": float(self.floor_db),
                "emphasis_weight": float(self.emphasis_weight)}
