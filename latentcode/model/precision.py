"""The decoder's arithmetic: how the two matrix products of a decode are carried out.

A decode is ``tanh(fc4(relu(fc3(z))))``; ``fc4`` (2048 → 1024) is four fifths of its work.
Three ways to do it, chosen once per process (``--precision``, or the environment variable
``LATENTCODE_PRECISION`` that the flag sets, so forks and helpers follow):

- ``int8x3`` (the default on a CPU with VNNI, see :func:`default`; made in
  :mod:`latentcode.model.int8x3`): both layers with their weights (per output column) and each
  row of their input split into two int8 parts, a 15-bit value each, and three int8 products
  summed exactly in int32. Against fp32 the audio is 67-76 dB SNR, and the
  third-octave bands of the default sounds move by hundredths of a dB (99th percentile
  0.02-0.03 dB); it decodes 2.4x as many frames a second on one thread of a VNNI machine
  (``benchmarks/precision.py``). Integer sums are exact: both products give a row the same bits
  in any batch it comes in.
- ``fp32``: both products in fp32, the reference, and the default elsewhere: without VNNI
  (an AVX2-only CPU) torch's int8 product takes a slow generic path, 70 ms for the 64 x 512 x
  2048 product that fp32 does in 0.8 ms, and int8x3 decodes 54 frames a second instead of
  tens of thousands.
- ``bf16``: both products in bfloat16, about 4x as fast as fp32 on a CPU with native bf16 dot
  products (AVX-512 BF16, AMX), slower elsewhere. It adds a noise that follows the signal about
  48 dB under it, and that is enough to change what is chosen by comparing decoded audio: a
  stretched voice's grains are found by a search, and in a piece with stretched voices a tenth
  of the bands a listener hears moved by 7.5 dB or more against fp32 (same loudness, peak
  and top end). For the most voices, when that matters more than the detail.

>>> import torch; from latentcode.model.net import VAE
>>> chosen("fp32"), chosen(None) in PRECISIONS, default() in PRECISIONS
('fp32', True, True)
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
from latentcode.model.cpu import flags as cpu_flags

if TYPE_CHECKING:  # torch is imported where a decoder is made: the CLI reads the names fast
    import torch

    from latentcode.model.net import VAE

PRECISIONS = ("int8x3", "fp32", "bf16")
ENV = "LATENTCODE_PRECISION"
# Rows per group of a decode's products, by precision (zero rows fill the last group): a
# multiple of the kernels' row blocks, so that a row gets the same bits in any batch. 16 does
# in fp32 (and int8x3's integer sums are exact anyway). In bf16, on a Xeon with AMX, batches of
# 16 and 32 rows took another kernel, whose sums, rounded to bf16, differed from a larger
# batch's in one value in a few thousand; from 48 rows on they agreed.
ALIGN = {"int8x3": 16, "fp32": 16, "bf16": 64}


def default(flags: str | None = None) -> str:
    """The default precision for this CPU: ``int8x3`` where it has VNNI, the int8 dot products
    (``avx512_vnni`` or ``avx_vnni`` among ``flags``, by default those of ``/proc/cpuinfo``)
    that make torch's int8 product fast, else ``fp32``. Read from the CPU's flags, not timed,
    so that every process of a render, and every run on the machine, decodes alike.

    >>> default("fpu sse2 avx2 fma"), default("avx2 avx512f avx512_vnni")
    ('fp32', 'int8x3')
    """
    if flags is None:
        flags = cpu_flags()
    return "int8x3" if {"avx512_vnni", "avx_vnni"} & set(flags.split()) else "fp32"


def chosen(name: str | None) -> str:
    """The precision to decode in: ``name``, else the environment's, else this CPU's
    :func:`default`; one clear line for a name that is not one of :data:`PRECISIONS`.

    >>> chosen("bf16")
    'bf16'
    """
    name = name or os.environ.get(ENV) or default()
    if name not in PRECISIONS:
        raise LatentcodeError(f"unknown decoder precision {name!r}: use one of "
                              f"{', '.join(PRECISIONS)}")
    return name


class Scratch(threading.local):
    """A thread's working arrays for decoding, by name, each made at its first use with room
    for ``rows`` rows (the decoder's chunk), so a decode in the audio's producer allocates
    nothing after its first (in fp32 and int8x3).

    They grew with the batch before: a batch larger than any yet, when voices were added or the
    producer caught up, made 80 MB of arrays anew inside one block, which took 77-100 ms
    instead of 29 and made a gap.

    >>> import torch
    >>> s = Scratch(32); a = s.get("h", 4, 8, torch.float32); a.shape
    torch.Size([4, 8])
    >>> s.get("h", 32, 8, torch.float32).data_ptr() == a.data_ptr()
    True
    """

    def __init__(self, rows: int = 16) -> None:
        self.rows = rows
        self.arrays: dict[str, torch.Tensor] = {}

    def get(self, name: str, rows: int, cols: int, dtype: torch.dtype) -> torch.Tensor:
        import torch

        buf = self.arrays.get(name)
        if buf is None or buf.shape[0] < rows or buf.shape[1] != cols or buf.dtype != dtype:
            buf = torch.empty((max(rows, self.rows), cols), dtype=dtype)
            self.arrays[name] = buf
        return buf[:rows]


Decode = Callable[[Any, Any, Scratch], None]  # (z, y, scratch): torch tensors


def make(precision: str, net: VAE) -> Decode:
    """A function ``(z, y, scratch)`` that writes the frames of latents ``z`` into ``y``, in
    ``precision``, for a network whose weights no longer change (they are read here once).
    Call it under ``torch.inference_mode()``."""
    name = chosen(precision)
    if name == "int8x3":  # its compiled steps are loaded only by the processes that decode so
        from latentcode.model import int8x3

        return int8x3.make(net)
    return {"fp32": _fp32, "bf16": _bf16}[name](net)


def _fp32(net: VAE) -> Decode:
    import torch

    def decode(z: torch.Tensor, y: torch.Tensor, scratch: Scratch) -> None:
        h = scratch.get("h", z.shape[0], net.n_units, torch.float32)
        torch.addmm(net.fc3.bias, z, net.fc3.weight.t(), out=h)
        h.relu_()
        torch.addmm(net.fc4.bias, h, net.fc4.weight.t(), out=y)
        y.tanh_()

    return decode


def _tanh(y: torch.Tensor) -> None:
    """tanh in place, by numpy: torch's took 0.51 ms for 256 frames of 1024 here, numpy's 0.05."""
    import numpy as np

    a = y.numpy()
    np.tanh(a, out=a)


def _bf16(net: VAE) -> Decode:
    import torch

    w3, w4 = net.fc3.weight.t().bfloat16(), net.fc4.weight.t().bfloat16()
    b3, b4 = net.fc3.bias.bfloat16(), net.fc4.bias.bfloat16()

    def decode(z: torch.Tensor, y: torch.Tensor, scratch: Scratch) -> None:
        h = torch.addmm(b3, z.bfloat16(), w3).relu_()
        _tanh(y.copy_(torch.addmm(b4, h, w4)))

    return decode
