"""Training audio in memory: every file in one tensor (on the training device) and the start
of every frame in it, so a batch is one gather.

>>> data = load_dataset([Path("drone_00.wav")], ModelConfig())     # doctest: +SKIP
>>> data.batch(torch.tensor([0, 5]), 1024).shape                   # doctest: +SKIP
torch.Size([2, 1024])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.vae import ModelConfig


@dataclass
class Dataset:
    """All training audio in one tensor and the start of every frame in it."""

    audio: torch.Tensor  # 1-D float32, files one after another
    starts: torch.Tensor  # int64 start sample of each frame
    files: list[Path]
    fingerprint: str
    _offsets: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)

    def batch(self, idx: torch.Tensor, segment: int) -> torch.Tensor:
        """Frames number ``idx`` as a (len(idx), segment) tensor (one gather, no loop).

        >>> d = Dataset(torch.arange(10.0), torch.tensor([0, 4]), [], "")
        >>> d.batch(torch.tensor([1]), 3).tolist()
        [[4.0, 5.0, 6.0]]
        """
        offs = self._offsets.get(segment)
        if offs is None:  # made once: a new arange every step is an allocation on the GPU
            offs = self._offsets[segment] = torch.arange(segment, device=self.audio.device)
        return self.audio[self.starts[idx].unsqueeze(1) + offs]


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
