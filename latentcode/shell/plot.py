"""Pictures of sound: a waveform and a spectrogram of a rendered file, as one PNG.

matplotlib is an optional extra (``pip install -e ".[plot]"``); without it the command says how
to get it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentcode.errors import LatentcodeError


def pyplot():
    """matplotlib's pyplot on a file-only backend, or one clear line saying how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LatentcodeError(
            "pictures need matplotlib: pip install 'latentcode[plot]' (or pip install matplotlib)"
        ) from None
    return plt


def plot_audio(wav: str | Path, png: str | Path | None = None) -> Path:
    """Write ``WAV.png``: the waveform above a log-frequency spectrogram of the mix."""
    import soundfile as sf

    wav = Path(wav)
    png = Path(png) if png is not None else wav.with_suffix(".png")
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 2]})
    t = np.arange(len(mono)) / sr
    top.plot(t, audio[:, 0], lw=0.4, color="#345")
    if audio.shape[1] > 1:
        top.plot(t, audio[:, 1], lw=0.4, color="#c63", alpha=0.6)
    top.set_ylabel("amplitude")
    top.set_ylim(-1, 1)
    bottom.specgram(mono + 1e-9, NFFT=2048, Fs=sr, noverlap=1536, cmap="magma", scale="dB")
    bottom.set_yscale("symlog", linthresh=200)
    bottom.set_ylim(30, sr / 2)
    bottom.set_ylabel("Hz")
    bottom.set_xlabel("seconds")
    top.set_title(wav.name)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
