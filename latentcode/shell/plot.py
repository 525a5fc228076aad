"""Pictures of sound: a waveform and a spectrogram of a rendered file, as one PNG, and under them
the control panel of what moved (from a :class:`~latentcode.playback.trace.Trace`).

matplotlib is an optional extra (``pip install -e ".[plot]"``); without it the command says how
to get it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def plot_audio(
    wav: str | Path, png: str | Path | None = None, controls: dict[str, Any] | None = None
) -> Path:
    """Write ``WAV.png``: the waveform above a log-frequency spectrogram of the mix and, given
    ``controls`` (a :class:`~latentcode.playback.trace.Trace` as ``to_dict()`` gives it), a
    control panel: one lane per track with the sounds it played and the controls that moved,
    on the same time axis."""
    import soundfile as sf

    wav = Path(wav)
    png = Path(png) if png is not None else wav.with_suffix(".png")
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    fig = audio_figure(audio, sr, wav.name, controls)
    fig.savefig(png, dpi=100)
    pyplot().close(fig)
    return png


def audio_figure(audio: np.ndarray, sr: int, title: str = "",
                 controls: dict[str, Any] | None = None) -> Any:
    """The figure :func:`plot_audio` writes, for ``audio`` (samples, channels) at ``sr`` Hz:
    waveform, spectrogram with its dB colour bar, and the control panel.

    >>> fig = audio_figure(np.zeros((4410, 2), np.float32), 44100); pyplot().close(fig)
    """
    mono = audio.mean(axis=1)
    lanes = list((controls or {}).get("tracks", {}).items())
    plt = pyplot()
    fig, axes = plt.subplots(2 + len(lanes), 1, figsize=(10, 6 + LANE * len(lanes)),
                             sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [1, 2] + [LANE / 2] * len(lanes)})
    top, bottom, *panel = axes[:, 0]
    t = np.arange(len(mono)) / sr
    top.plot(t, audio[:, 0], lw=0.4, color="#345")
    if audio.shape[1] > 1:
        top.plot(t, audio[:, 1], lw=0.4, color="#c63", alpha=0.6)
    top.set_ylabel("amplitude")
    top.set_ylim(-1, 1)
    with np.errstate(divide="ignore"):  # silent bins are -inf dB: drawn as the floor colour
        *_, image = bottom.specgram(mono + 1e-9, NFFT=2048, Fs=sr, noverlap=1536,
                                    cmap="magma", scale="dB")
    # the loudest bin at the top and DB_RANGE below it: near-silence (the 1e-9 floor reads
    # -200 dB) would otherwise stretch the colours so the music shows in a few shades
    # (a silent file keeps a dark picture: its top is never below QUIET)
    loudest = max(image.get_clim()[1], QUIET)
    image.set_clim(loudest - DB_RANGE, loudest)
    # the bar sits beside the spectrogram, inside its slot, so every panel keeps one time axis
    bar = fig.colorbar(image, cax=bottom.inset_axes([1.01, 0.0, 0.015, 1.0]))
    bar.set_label("dB")
    bottom.set_yscale("symlog", linthresh=200)
    bottom.set_ylim(30, sr / 2)
    bottom.set_ylabel("Hz")
    voices = (controls or {}).get("voices", [])
    for ax, (name, lane) in zip(panel, lanes, strict=True):
        _draw_lane(ax, name, lane, [v for v in voices if v["track"] == name], len(mono) / sr)
    axes[-1, 0].set_xlabel("seconds")
    axes[-1, 0].set_xlim(0, len(mono) / sr)
    top.set_title(title)
    fig.tight_layout()
    return fig


LANE = 0.9  # inches of figure per track of the control panel
DB_RANGE = 100.0  # dB of the spectrogram's colours, below its loudest bin
QUIET = -120.0  # dB: the colour bar's top is at least this (a -60 dBFS tone peaks near -80)
# one colour per control, the same in every lane
COLOURS = {"alpha": "#d62728", "pan": "#1f77b4", "gain": "#2ca02c", "stretch": "#9467bd",
           "lpf": "#8c564b", "hpf": "#e377c2", "room": "#17becf", "delay": "#bcbd22",
           "morph": "#ff7f0e"}
SOUND_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
                 "#8c8c8c", "#ccb974", "#64b5cd")


# for the controls without a colour of their own, in the order a lane meets them
SPARE_COLOURS = ("#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
                 "#f7b6d2", "#dbdb8d", "#9edae5")


def bounds(column: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """A trace's readings of one control (a number, ``[lowest, highest]`` where the voices
    sounding at once differ, or None) as two arrays, NaN where there is none.

    >>> [a.tolist() for a in bounds([0.5, [0.0, 1.0], None])]
    [[0.5, 0.0, nan], [0.5, 1.0, nan]]
    """
    low = [np.nan if x is None else x[0] if isinstance(x, list) else x for x in column]
    high = [np.nan if x is None else x[1] if isinstance(x, list) else x for x in column]
    return np.array(low, dtype=float), np.array(high, dtype=float)


def moved(values: np.ndarray) -> bool:
    """Whether a control's readings change at all over the piece (gaps do not count).

    >>> moved(np.array([0.5, np.nan, 0.5])), moved(np.array([0.0, 0.3]))
    (False, True)
    """
    finite = values[np.isfinite(values)]
    return finite.size > 1 and float(finite.max() - finite.min()) > 1e-6


def _draw_lane(
    ax: Any, name: str, lane: dict[str, Any], voices: list[dict[str, Any]], seconds: float
) -> None:
    """One track: its sounds as bars along the top (named where they change, if there is
    room), each moving control as a line scaled to the lane (its range in the legend), a band
    where the voices sounding at once differ (``jux``'s two pans), the constant ones listed in
    words."""
    times = np.asarray(lane["times"], dtype=float)
    still = []
    spare = [c for c in SPARE_COLOURS if c not in {COLOURS.get(k) for k in lane["controls"]}]
    for control, column in lane["controls"].items():
        low, high = bounds(column)
        if not moved(np.concatenate([low, high])):
            finite = low[np.isfinite(low)]
            if finite.size:
                still.append(f"{control} {finite[0]:g}")
            continue
        lo, hi = float(np.nanmin(low)), float(np.nanmax(high))
        colour = COLOURS.get(control) or (spare.pop(0) if spare else None)
        one = low == high  # one value (the voices sounding agree): a line, else a band
        ax.plot(times, (np.where(one, low, np.nan) - lo) / (hi - lo), lw=1.0, color=colour,
                label=f"{control} {lo:.3g}..{hi:.3g}")
        if (~one & np.isfinite(low)).any():
            ax.fill_between(times, (low - lo) / (hi - lo), (high - lo) / (hi - lo),
                            where=~one & np.isfinite(low), color=colour, alpha=0.3, lw=0)
    colours: dict[str, str] = {}
    previous, named_at = None, -seconds
    for v in voices:
        label = v["sound"] if v.get("mix") is None else f"{v['sound']}>{v['mix']}"
        if v.get("morphfrom") is not None:  # morphing from another sound (xfade's, or its own)
            label = f"{v['morphfrom']}~{label}"
        colour = colours.setdefault(label, SOUND_COLOURS[len(colours) % len(SOUND_COLOURS)])
        ax.plot([v["start"], v["end"]], [1.12, 1.12], lw=4, color=colour, alpha=0.8,
                solid_capstyle="butt")
        # name a sound where it changes, not at every hit, and never on top of the last name
        if label != previous and v["start"] - named_at > 0.06 * seconds:
            ax.text(v["start"], 1.2, label, fontsize=6, va="bottom", clip_on=True)
            named_at = v["start"]
        previous = label
    ax.set_ylim(-0.08, 1.45)
    ax.set_yticks([])
    ax.set_ylabel(name, rotation=0, ha="right", va="center")
    if still:
        ax.text(0.005, 0.04, ", ".join(still), transform=ax.transAxes, fontsize=6,
                color="#555", va="bottom")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6, frameon=False)
