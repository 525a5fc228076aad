"""Shared helpers for tests that need real audio files on disk."""

from __future__ import annotations

import numpy as np
import soundfile as sf


def tone(path, freq: float, seconds: float = 0.5, sr: int = 44100) -> None:
    """Write a sine of ``freq`` Hz at half scale, ``seconds`` long, as a WAV file at ``path``."""
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32), sr)
