"""The ``int8x3`` decoder: each layer as three exact int8 products, the steps around them compiled.

Every weight (scaled per output column) and every value of a row of a layer's input (scaled
per row by its largest magnitude) is split into a high int8 part and a low one, the remainder
times 256: 15 bits each. Three int8 products (high·high, and the two cross terms in one
product with the inner dimension doubled) are summed exactly in int32, then scaled in fp32
(:mod:`latentcode.model.int8_products` makes them: oneDNN's prepacked kernels on a CPU with
AMX, ``torch._int_mm`` elsewhere). The low·low term, 2^-16 of the rest, is left out. Integer
sums are exact, and every other step works on one row at a time, so a row gets the same bits
in any batch.

The rows' scales, the splitting and the scaling back are compiled loops (:func:`largest`,
:func:`split`, :func:`combine`) rather than a dozen torch calls, each a pass over a whole
array. Where the int8 products are fast (AMX, on a Xeon: 3.3 ms of products for 256 frames)
those calls had taken another 2 ms: one thread decoded 42,900 frames a second, and now
55,200 (``benchmarks/precision.py``). On two threads, where torch shared those passes between
them, both decode 256 frames in 3.1 ms.

>>> import numpy as np
>>> x = np.array([[3.0, -0.625]], np.float32); both = np.zeros((1, 4), np.int8)
>>> split(x, np.array([1.0], np.float32), both)
>>> both[0, 2:], both[0, :2]  # the high parts, then the low: -0.625 = -1 + 96 / 256
(array([ 3, -1], dtype=int8), array([ 0, 96], dtype=int8))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from latentcode.model import int8_products as products
from latentcode.model.int8_products import Products

if TYPE_CHECKING:
    import torch

    from latentcode.model.net import VAE

# (precision.py imports this module, so its Scratch, the ``scratch`` below, is not imported)

# the low part of a split value is its remainder after the high part, times this
LOW = np.float32(256.0)
# compiled code kept on disk for the package's own import only (see grain_search.KEEP_COMPILED)
KEEP_COMPILED = __name__.startswith("latentcode.")


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def split(x: np.ndarray, scale: np.ndarray, both: np.ndarray) -> None:
    """Each row ``x[i]`` over ``scale[i]`` (within ±127) as ``high + low / 256``, both int8:
    the high parts into ``both[i, k:]``, the low into ``both[i, :k]`` (``k`` = x's columns),
    the layout the cross-term product takes. Rounded half to even, as numpy and torch round."""
    n, k = x.shape
    scaled = np.empty(k, np.float32)
    for i in range(n):
        s = scale[i]
        row = x[i]
        for j in range(k):  # the division alone: the loop below then runs on packed values
            scaled[j] = row[j] / s
        high = both[i, k:]
        low = both[i, :k]
        for j in range(k):
            v = scaled[j]
            top = np.rint(v)
            rest = np.rint((v - top) * LOW)
            high[j] = np.int8(np.int32(top))
            low[j] = np.int8(np.int32(min(max(rest, np.float32(-127.0)), np.float32(127.0))))


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def largest(x: np.ndarray, scale: np.ndarray) -> None:
    """``scale[i]`` = row i's largest magnitude / 127 (at least 1e-30 / 127): its split's scale."""
    n, k = x.shape
    for i in range(n):
        top = np.float32(1e-30)
        for j in range(k):
            top = max(top, abs(x[i, j]))
        scale[i] = top / np.float32(127.0)


@numba.njit(cache=KEEP_COMPILED, nogil=True)
def combine(total: np.ndarray, row: np.ndarray, col: np.ndarray, bias: np.ndarray,
            y: np.ndarray, relu: bool, scale: np.ndarray) -> None:
    """``y = total·row·col + bias``, ``total`` the products' sum in fp32 (see
    :mod:`latentcode.model.int8_products`). With ``relu`` the ReLU too, and ``scale`` gets each
    row's split scale for the next layer (after the ReLU every value is ≥ 0: its row's largest
    is its scale); without, it is left alone.

    The row's largest is found in a pass of its own over the values' bits as integers (for
    floats ≥ 0 they order alike): a float maximum kept in the loop that makes the values is a
    chain the compiler may not reorder, and it left that whole loop one value at a time
    (0.65 ms for 256 rows of 2048, against 0.24 with the pass of its own; the same bits)."""
    n, m = y.shape
    top = np.zeros(1, np.int32)
    as_float = top.view(np.float32)
    for i in range(n):
        r = row[i]
        out = y[i]
        sums = total[i]
        for j in range(m):
            v = bias[j] + (sums[j] * r) * col[j]
            out[j] = max(v, np.float32(0.0)) if relu else v
        if relu:
            bits = out.view(np.int32)
            largest_bits = np.int32(0)
            for j in range(m):
                largest_bits = max(largest_bits, bits[j])
            top[0] = largest_bits
            scale[i] = max(as_float[0], np.float32(1e-30)) / np.float32(127.0)


def weights(weight: torch.Tensor) -> tuple[Products, np.ndarray]:
    """A layer's weights (out, in) for :func:`product`: its products (their high and low int8
    parts, see :mod:`latentcode.model.int8_products`), and each output column's scale / 256."""
    w = weight.detach().float().contiguous().numpy()  # a row per output column
    col = np.empty(len(w), np.float32)
    largest(w, col)
    both = np.empty((len(w), 2 * w.shape[1]), np.int8)
    split(w, col, both)
    k = w.shape[1]
    return products.make(both[:, k:], both[:, :k]), col / LOW


def product(x: np.ndarray, row: np.ndarray, layer: tuple, bias: np.ndarray, y: np.ndarray,
            relu: bool, scale: np.ndarray, scratch: Any, name: str) -> None:
    """``y = x @ w + bias`` (then the ReLU, with ``relu``) in three exact int8 products: ``x``
    split by ``row``, each row's scale; the layer's weights made by :func:`weights`."""
    import torch

    multiply, col = layer
    n, k = x.shape
    both = scratch.get(name + "both", n, 2 * k, torch.int8)  # [x_low, x_high]
    split(x, row, both.numpy())
    total = scratch.get(name + "total", n, y.shape[1], torch.float32)
    multiply(both, total, scratch, name)
    combine(total.numpy(), row, col, bias, y, relu, scale)


def make(net: VAE) -> Callable[[Any, Any, Any], None]:
    """The int8x3 decode ``(z, y, scratch)`` of ``net``'s fixed weights (see
    :func:`latentcode.model.precision.make`)."""
    import torch

    first, second = weights(net.fc3.weight), weights(net.fc4.weight)
    b3, b4 = (b.detach().float().numpy().copy() for b in (net.fc3.bias, net.fc4.bias))
    units = net.n_units

    def decode(z: torch.Tensor, y: torch.Tensor, scratch: Any) -> None:
        n = z.shape[0]
        x = z.numpy()
        row = scratch.get("zrow", n, 1, torch.float32).numpy()[:, 0]
        largest(x, row)
        h = scratch.get("h", n, units, torch.float32).numpy()
        hrow = scratch.get("hrow", n, 1, torch.float32).numpy()[:, 0]
        product(x, row, first, b3, h, True, hrow, scratch, "fc3")
        out = y.numpy()
        product(h, hrow, second, b4, out, False, row, scratch, "fc4")
        # numpy's tanh: torch's took 0.51 ms for 256 frames of 1024 here, numpy's 0.05
        np.tanh(out, out=out)

    return decode
