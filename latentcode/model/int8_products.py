"""A layer's two int8 products, summed into fp32 as ``float(cross) + 256·float(high)``.

int8x3 (:mod:`latentcode.model.int8x3`) multiplies a layer's split rows by its split weights
twice: the high parts by the high parts (``high``), and both cross terms in one product with the
inner dimension doubled (``cross``). Their int32 sums are exact; the layer needs
``float32(cross) + 256·float32(high)``, rounded once. Two ways to that, with the same bits:

- **prepacked**, oneDNN's ``qlinear`` kernels, on a CPU with AMX (:func:`packs_well`) where
  torch has them: the weights are reordered for the CPU's int8 units once, when the decoder
  is made, and each product adds its fp32 result into the sum itself (oneDNN's "sum"
  post-op): the high product scaled by 256 (exact) onto zeros, then the cross product onto
  that. ``torch._int_mm`` reorders the weights on every call: on a Xeon with AMX its four
  products of a decode took 4.1 ms for 256 rows and 1.4 ms for 64, against 2.4 and 0.75
  prepacked (one thread each);
- **plain**: ``torch._int_mm`` into int32, then the sum in numpy.

A layer takes the prepacked way only once a check, when it is made, finds the very bits of the
plain way, on rows whose sums reach past fp32's 24 bits of mantissa (:func:`make`). Held to
AVX-512 without VNNI (``ONEDNN_MAX_CPU_ISA``), oneDNN's kernels failed it, sums off by up to
2·10^7.

>>> import numpy as np, torch
>>> w = np.array([[1, 2], [3, -4]], np.int8)                 # (out, in): high and low alike
>>> both = torch.tensor([[1, 0, 2, 1]], dtype=torch.int8)    # [x_low, x_high]
>>> total, scratch = torch.empty(1, 2), _Arrays()
>>> make(w, w)(both, total, scratch, "fc"); total.tolist()  # 256·(x_high·w) + cross terms
[[1029.0, 517.0]]
>>> Plain(w, w)(both, total, scratch, "fc"); total.tolist()  # torch._int_mm's way: the same
[[1029.0, 517.0]]
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from latentcode.model import cpu

if TYPE_CHECKING:
    import torch

# the high product's weight in the sum: its parts are the low parts' 256 times
HIGH = 256.0
# rows the prepacked kernels are chosen for: the decoder's chunk (vae.DECODE_ROWS); any count
# works, this one best
PACKED_ROWS = 256


class Products(Protocol):
    """``(both, total, scratch, name)``: ``both`` the rows' parts [x_low, x_high] (n, 2·in)
    int8; ``total`` (n, out) float32 gets ``float(cross) + 256·float(high)``; any working
    arrays come from the decoder's ``scratch`` (:class:`latentcode.model.precision.Scratch`,
    a thread's own), under names starting with the layer's ``name``."""

    def __call__(self, both: torch.Tensor, total: torch.Tensor, scratch: Any,
                 name: str) -> None: ...


def make(high: np.ndarray, low: np.ndarray, flags: str | None = None) -> Products:
    """The products of weights whose high and low int8 parts are ``high`` and ``low``, each
    (out, in): prepacked where the CPU has AMX (``amx_int8`` among ``flags``, by default those
    of ``/proc/cpuinfo``), torch has oneDNN's kernels and they give the plain bits; plain
    elsewhere."""
    plain = Plain(high, low)
    if not packs_well(flags):
        return plain
    try:
        packed = Packed(high, low)
    except (AttributeError, RuntimeError):  # (a torch without oneDNN's quantised kernels)
        return plain
    return packed if _same(packed, plain, *high.shape) else plain


def packs_well(flags: str | None = None) -> bool:
    """Whether oneDNN's prepacked int8 kernels are fast here: on a CPU with AMX, measured so
    (see the module's note), and not held to an older instruction set by ``ONEDNN_MAX_CPU_ISA``.
    Elsewhere they were not: held to AVX-512 VNNI on the AMX Xeon, 64 rows of the second layer
    took 11 s, with the right bits, so the check of :func:`make` could not tell.

    >>> packs_well("avx2 avx512_vnni amx_tile amx_int8"), packs_well("avx2 avx512_vnni")
    (True, False)
    """
    if flags is None:
        flags = cpu.flags()
    held = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    return "amx_int8" in flags.split() and (held == "ALL" or "AMX" in held)


class Plain:
    """The products by ``torch._int_mm``, the sum in numpy."""

    def __init__(self, high: np.ndarray, low: np.ndarray) -> None:
        import torch

        self.high = torch.from_numpy(np.ascontiguousarray(high.T))  # (in, out)
        # [x_low, x_high] @ [w_high; w_low]: the two cross terms in one product. Row-major
        # like ``high``: concatenating the transposed views gives a column-major array, which
        # torch._int_mm multiplied up to 3.5 times as slowly for a live block's 16 rows (Zen 4)
        self.cross = torch.from_numpy(np.ascontiguousarray(np.concatenate([high.T, low.T])))

    def __call__(self, both: torch.Tensor, total: torch.Tensor, scratch: Any,
                 name: str) -> None:
        import torch

        n, k = both.shape[0], both.shape[1] // 2
        # the int32 sums in the calling thread's scratch: the live producer and a dry render
        # may decode at once
        main = scratch.get(name + "main", n, total.shape[1], torch.int32)
        rest = scratch.get(name + "rest", n, total.shape[1], torch.int32)
        torch._int_mm(both[:, k:], self.high, out=main)
        torch._int_mm(both, self.cross, out=rest)
        t = total.numpy()
        np.multiply(main.numpy(), np.float32(HIGH), out=t, dtype=np.float32)
        np.add(t, rest.numpy(), out=t, dtype=np.float32)


class Packed:
    """The products by oneDNN's prepacked int8 kernels, each adding into ``total``."""

    def __init__(self, high: np.ndarray, low: np.ndarray) -> None:
        import torch

        out, k = high.shape
        self.op = torch.ops.onednn.qlinear_pointwise.binary
        prepack = torch.ops.onednn.qlinear_prepack
        self.high = prepack(torch.from_numpy(np.ascontiguousarray(high)), [PACKED_ROWS, k])
        cross = np.ascontiguousarray(np.concatenate([high, low], axis=1))  # (out, 2·in)
        self.cross = prepack(torch.from_numpy(cross), [PACKED_ROWS, 2 * k])
        self.by_high = torch.full((out,), HIGH)  # the weights' scales, per output column
        self.ones = torch.ones(out)
        self.zeros = torch.zeros(out, dtype=torch.int32)

    def __call__(self, both: torch.Tensor, total: torch.Tensor, scratch: Any,
                 name: str) -> None:
        import torch

        k = both.shape[1] // 2
        total.zero_()
        for x, w, scale in ((both[:, k:], self.high, self.by_high),
                            (both, self.cross, self.ones)):
            # (rows, their scale and zero point, weights, theirs, the sum's operand, no bias,
            # the output's scale and zero point and type, the operand's scale and zero point,
            # then "sum": into the operand, with nothing after)
            self.op(x, 1.0, 0, w, scale, self.zeros, total, None, 1.0, 0, torch.float32,
                    1.0, 0, "sum", 1.0, "none", [], "")


def _same(packed: Products, plain: Products, out: int, k: int) -> bool:
    """Whether ``packed`` gives ``plain``'s bits, for weights (out, k), on random rows and on
    rows of ±127, whose sums need more than fp32's 24 bits of mantissa."""
    import torch

    rng = np.random.default_rng(0)
    both = rng.integers(-127, 128, (48, 2 * k), dtype=np.int8)
    both[:16] = 127
    both[16:32:2] = -127
    x = torch.from_numpy(both)
    a, b = torch.empty(48, out), torch.empty(48, out)
    try:
        packed(x, a, None, "")
    except RuntimeError:
        return False
    plain(x, b, _Arrays(), "")
    return bool(np.array_equal(a.numpy().view(np.int32), b.numpy().view(np.int32)))


class _Arrays:
    """Working arrays made anew on every ask: :class:`~latentcode.model.precision.Scratch`'s
    interface for the one-off products here (that module imports this one's)."""

    def get(self, name: str, rows: int, cols: int, dtype: Any) -> torch.Tensor:
        import torch

        return torch.empty((rows, cols), dtype=dtype)
