"""The decoder's arithmetic: how the two matrix products of a decode are carried out.

A decode is ``tanh(fc4(relu(fc3(z))))``; ``fc4`` (2048 → 1024) is four fifths of its work.
Three ways to do it, chosen once per process (``--precision``, or the environment variable
``LATENTCODE_PRECISION`` that the flag sets, so forks and helpers follow):

- ``int8x3`` (the default): ``fc3`` in fp32; ``fc4`` with its weights (per output column) and
  each row of its input split into two int8 parts, a 15-bit value each, and three int8
  products summed exactly in int32. Against fp32 the audio is 64-77 dB SNR, and the
  third-octave bands of the default sounds move by hundredths of a dB (99th percentile
  0.01-0.03 dB); it decodes 1.7-1.9x as many frames a second on one thread of this machine
  (``benchmarks/precision.py``). Integer sums are exact: the large product gives a row the same
  bits in any batch it comes in.
- ``fp32``: both products in fp32, the reference.
- ``bf16``: both products in bfloat16, about 4x as fast as fp32 on a CPU with native bf16 dot
  products (AVX-512 BF16, AMX), slower elsewhere. It adds a noise that follows the signal about
  48 dB under it, and that is enough to change what is chosen by comparing decoded audio: a
  stretched voice's grains are found by a search, and in a piece with stretched voices a tenth
  of the bands a listener hears moved by 7.5 dB or more against fp32 (same loudness, peak
  and top end). For the most voices, when that matters more than the detail.

>>> import torch; from latentcode.model.net import VAE
>>> chosen("fp32"), chosen(None) in PRECISIONS
('fp32', True)
>>> net, z, y = VAE(64, 32, 8).requires_grad_(False), torch.randn(16, 8), torch.empty(16, 64)
>>> make("int8x3", net)(z, y, Scratch())
>>> snr = 10 * torch.log10(net.decode(z).pow(2).sum() / (net.decode(z) - y).pow(2).sum())
>>> bool(snr > 60)
True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from latentcode.errors import LatentcodeError

if TYPE_CHECKING:  # torch is imported where a decoder is made: the CLI reads the names fast
    import torch

    from latentcode.model.net import VAE

PRECISIONS = ("int8x3", "fp32", "bf16")
DEFAULT = "int8x3"
ENV = "LATENTCODE_PRECISION"
# the low part of a split value is its remainder after the high part, times this
_LOW = 256


def chosen(name: str | None) -> str:
    """The precision to decode in: ``name``, else the environment's, else :data:`DEFAULT`;
    one clear line for a name that is not one of :data:`PRECISIONS`.

    >>> chosen("bf16")
    'bf16'
    """
    name = name or os.environ.get(ENV) or DEFAULT
    if name not in PRECISIONS:
        raise LatentcodeError(f"unknown decoder precision {name!r}: use one of "
                              f"{', '.join(PRECISIONS)}")
    return name


class Scratch(threading.local):
    """A thread's working arrays for decoding, by name, grown and never shrunk, so a decode
    in the audio's producer allocates no large array once warm (in fp32 and int8x3).

    >>> import torch
    >>> s = Scratch(); a = s.get("h", 4, 8, torch.float32); a.shape
    torch.Size([4, 8])
    >>> s.get("h", 2, 8, torch.float32).data_ptr() == a.data_ptr()
    True
    """

    def __init__(self) -> None:
        self.arrays: dict[str, torch.Tensor] = {}

    def get(self, name: str, rows: int, cols: int, dtype: torch.dtype) -> torch.Tensor:
        import torch

        buf = self.arrays.get(name)
        if buf is None or buf.shape[0] < rows or buf.shape[1] != cols or buf.dtype != dtype:
            buf = torch.empty((max(rows, 16), cols), dtype=dtype)
            self.arrays[name] = buf
        return buf[:rows]


Decode = Callable[[Any, Any, Scratch], None]  # (z, y, scratch): torch tensors


def make(precision: str, net: VAE) -> Decode:
    """A function ``(z, y, scratch)`` that writes the frames of latents ``z`` into ``y``, in
    ``precision``, for a network whose weights no longer change (they are read here once).
    Call it under ``torch.inference_mode()``."""
    return {"fp32": _fp32, "int8x3": _int8x3, "bf16": _bf16}[chosen(precision)](net)


def _fp32(net: VAE) -> Decode:
    import torch

    def decode(z: torch.Tensor, y: torch.Tensor, scratch: Scratch) -> None:
        h = scratch.get("h", z.shape[0], net.n_units, torch.float32)
        torch.addmm(net.fc3.bias, z, net.fc3.weight.t(), out=h)
        h.relu_()
        torch.addmm(net.fc4.bias, h, net.fc4.weight.t(), out=y)
        y.tanh_()

    return decode


def _split(x: torch.Tensor, scale: torch.Tensor, high: torch.Tensor, low: torch.Tensor,
           scaled: torch.Tensor, top: torch.Tensor) -> None:
    """x / scale (within ±127) as high + low/256, both int8: written into ``high``, ``low``;
    ``scaled`` and ``top`` are float32 arrays of x's shape to work in."""
    import torch

    torch.div(x, scale, out=scaled)
    torch.round(scaled, out=top)
    high.copy_(top)
    low.copy_(scaled.sub_(top).mul_(_LOW).round_().clamp_(-127, 127))


def _int8x3(net: VAE) -> Decode:
    import torch

    w = net.fc4.weight.t().contiguous()  # (units, segment)
    col = (w.abs().amax(0) / 127).clamp_min(1e-30)
    high = torch.empty(w.shape, dtype=torch.int8)
    low = torch.empty(w.shape, dtype=torch.int8)
    _split(w, col, high, low, torch.empty_like(w), torch.empty_like(w))
    # [x_low, x_high] @ [w_high; w_low]: the two cross terms in one product
    cross = torch.cat([high, low]).contiguous()
    col = col / _LOW
    units = net.n_units

    def decode(z: torch.Tensor, y: torch.Tensor, scratch: Scratch) -> None:
        n = z.shape[0]
        h = scratch.get("h", n, units, torch.float32)
        torch.addmm(net.fc3.bias, z, net.fc3.weight.t(), out=h)
        h.relu_()
        # after the ReLU every value is ≥ 0: its row's largest is its scale
        row = h.amax(1, keepdim=True).clamp_min_(1e-30).div_(127)
        both = scratch.get("both", n, 2 * units, torch.int8)  # [x_low, x_high]
        _split(h, row, both[:, units:], both[:, :units],
               scratch.get("scaled", n, units, torch.float32),
               scratch.get("top", n, units, torch.float32))
        main = scratch.get("main", n, y.shape[1], torch.int32)
        rest = scratch.get("rest", n, y.shape[1], torch.int32)
        torch._int_mm(both[:, units:], high, out=main)
        torch._int_mm(both, cross, out=rest)
        # (main·256 + rest) overflows int32 for large rows: summed in fp32 instead (rounding
        # at 2^-24 of the value, 140 dB down, and per element, so still the same in any batch)
        y.copy_(main).mul_(_LOW).add_(rest).mul_(row).mul_(col).add_(net.fc4.bias).tanh_()

    return decode


def _bf16(net: VAE) -> Decode:
    import torch

    w3, w4 = net.fc3.weight.t().bfloat16(), net.fc4.weight.t().bfloat16()
    b3, b4 = net.fc3.bias.bfloat16(), net.fc4.bias.bfloat16()

    def decode(z: torch.Tensor, y: torch.Tensor, scratch: Scratch) -> None:
        h = torch.addmm(b3, z.bfloat16(), w3).relu_()
        y.copy_(torch.addmm(b4, h, w4)).tanh_()

    return decode
