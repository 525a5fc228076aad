"""``latentcode map``: a picture of the bank's latent space, and of where a piece goes in it.

All frames of the bank (mu, every few frames) are projected to 2-D by their two principal
components and coloured by cluster (the ``cluster:N`` groups); each sound group is labelled at
the centre of its frames. With ``--piece``, the latent frames a piece decodes over ``--cycles``
cycles are drawn on top, one line per track, in the same projection.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from latentcode.errors import LatentcodeError

EVERY = 8  # plot every 8th frame (hop 128 -> one point per 1024 samples, as decoded)


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("-o", "--output", default="latent-map.png", help="PNG to write")
    parser.add_argument("--piece", help="also draw the trajectory this .lc piece traces")
    parser.add_argument("--cycles", type=float, default=4, help="cycles of the piece to trace")
    parser.add_argument("--bank", action="append", default=[], help="add a folder of sounds")
    parser.add_argument("--model", help="a checkpoint instead of the default model")
    parser.add_argument("--size", default="1200x900", help="picture size in pixels, WxH")


def projection(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the two principal axes of ``points`` (n, d).

    >>> x = np.array([[0, 0, 0], [2, 0, 0], [0, 1, 0], [2, 1, 0.0]])
    >>> mean, axes = projection(x); axes.shape, np.round(np.abs(axes[0]), 3).tolist()
    ((2, 3), [1.0, 0.0, 0.0])
    """
    mean = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - mean, full_matrices=False)
    return mean, vt[:2]


def trace(session, cycles: float) -> dict[int, np.ndarray]:
    """Latent frames the session decodes over ``cycles`` cycles, per track slot."""
    decoded: list[np.ndarray] = []

    def recording(z: np.ndarray) -> np.ndarray:
        decoded.append(z.copy())
        return session.model.decode(z)

    sched = session.scheduler(seed=0, snapshot=True, decode=recording)
    block = 1024
    buf = np.zeros((session.slots, 2, block), dtype=np.float32)
    paths: dict[int, list[np.ndarray]] = {}
    for start in range(0, session.samples_for(cycles), block):
        decoded.clear()
        sched.fill(buf, start)
        if not decoded:
            continue
        row = 0
        for track, count in sched.voices.planned:
            paths.setdefault(track, []).append(decoded[0][row : row + count])
            row += count
    return {t: np.concatenate(p) for t, p in paths.items() if p}


def draw(session, output: Path, *, size: tuple[int, int], piece_paths=None) -> Path:
    """Write the map PNG of ``session``'s bank (and trajectories) to ``output``."""
    from latentcode.shell.plot import pyplot

    bank = session.bank
    clusters = bank.clusters()
    points = np.concatenate([c.mu[::EVERY] for c in clusters])
    labels = np.concatenate([np.full(len(c.mu[::EVERY]), i) for i, c in enumerate(clusters)])
    mean, axes = projection(points)
    xy = (points - mean) @ axes.T

    plt = pyplot()
    dpi = 100
    fig, ax = plt.subplots(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab20", s=4, alpha=0.6, linewidths=0)
    for group, members in bank.groups().items():
        if group in bank.folder_groups:
            continue  # a whole folder: its label would sit in the middle of everything
        centre = np.concatenate([bank.resolve(m).mu[::EVERY] for m in members]).mean(axis=0)
        cx, cy = (centre - mean) @ axes.T
        ax.annotate(group, (cx, cy), fontsize=9, weight="bold", ha="center",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7})
    for track, z in (piece_paths or {}).items():
        pxy = (z - mean) @ axes.T
        ax.scatter(pxy[:, 0], pxy[:, 1], s=6, alpha=0.35, marker="x", linewidths=0.8,
                   label=f"track {track + 1}")
    if piece_paths:
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"latent space of the bank: {len(points)} frames, {len(clusters)} clusters "
                 "(first two principal components)")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    fig.tight_layout()
    fig.savefig(output, dpi=dpi)
    plt.close(fig)
    return output


def parse_size(text: str) -> tuple[int, int]:
    """``"1200x900"`` -> (1200, 900), or one clear line."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise LatentcodeError(
            f"--size wants WIDTHxHEIGHT in pixels, e.g. 1200x900, not {text!r}"
        ) from None
    if not (100 <= w <= 8000 and 100 <= h <= 8000):
        raise LatentcodeError("--size: width and height must be between 100 and 8000 pixels")
    return w, h


def run(args: argparse.Namespace) -> int:
    from latentcode.session import Session

    size = parse_size(args.size)
    session = Session(args.model)
    for folder in args.bank:
        session.bank.add_folder(folder)
    paths = None
    if args.piece:
        from latentcode.shell.render import read_piece

        session.eval(read_piece(args.piece), base=Path(args.piece).parent)
        paths = trace(session, args.cycles)
    out = draw(session, Path(args.output), size=size, piece_paths=paths)
    print(f"wrote {out}")
    return 0
