"""A voice's own stream of standard normal numbers: its latent noise and its jitter.

Every voice samples its latents with noise of its own (``# noise``, 1 by default), a row of
``latent`` numbers a frame, so that what other tracks play never changes its sound. With many
voices the drawing was a tenth of the producer's time: numpy's generator gave about 10 ns a
float32 number here (its other bit generators no faster), torch's 3 ns (``normal_``, a
Mersenne Twister, its numbers made 16 at a time from 16 uniforms). So a voice's stream is a
torch generator's.

A voice draws a block's rows, or 32 blocks' at once in a render, and must get the same numbers
either way. torch makes each run of 16 numbers from its own 16 uniforms when a call fills a
multiple of 16 of them, so every row is drawn as a multiple of 16 (the latent's width rounded
up; the extra numbers are dropped): a row's numbers never depend on how many rows a call asks
for. (torch's own code chooses how the 16 are computed, by the CPU's vector units, so the
numbers, like the decoder's arithmetic, are the same on one machine, not on every one.)

>>> a, b = Normals([7, 1, 0]), Normals([7, 1, 0])
>>> whole = a.draw(3, 5)                        # three rows of a latent five wide
>>> parts = np.concatenate([b.draw(1, 5), b.draw(2, 5)])
>>> whole.dtype, whole.shape, bool((whole == parts).all())
(dtype('float32'), (3, 5), True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RUN = 16  # numbers torch makes together from as many uniforms


class Normals:
    """Standard normal float32 numbers, drawn row by row from a stream seeded by ``entropy``
    (numbers, as numpy's ``SeedSequence`` takes them: different entropy, another stream)."""

    def __init__(self, entropy: Sequence[int]) -> None:
        import torch  # (where it is used, as elsewhere in playback)

        seed = int(np.random.SeedSequence(list(entropy)).generate_state(1, np.uint64)[0])
        self._torch = torch.Generator().manual_seed(seed)

    def fill(self, out: np.ndarray) -> None:
        """Fill ``out`` (rows, width), float32, with the stream's next rows."""
        rows, width = out.shape
        if _drawn(width) == width and out.flags.c_contiguous:
            import torch

            torch.from_numpy(out).normal_(generator=self._torch)
        elif rows:
            out[:] = self.draw(rows, width)

    def draw(self, rows: int, width: int) -> np.ndarray:
        """The stream's next ``rows`` rows of ``width`` numbers, a new float32 array."""
        import torch

        padded = torch.empty((rows, _drawn(width)), dtype=torch.float32)
        if rows:
            padded.normal_(generator=self._torch)
        return padded.numpy()[:, :width]


def _drawn(width: int) -> int:
    """The numbers drawn for a row ``width`` wide: rounded up to a whole run.

    >>> _drawn(256), _drawn(5)
    (256, 16)
    """
    return -(-width // RUN) * RUN
