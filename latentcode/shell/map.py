"""``latentcode map``: a picture of the bank's latent space, and of where a piece goes in it.

All frames of the bank (mu, every few frames) are projected to 2-D by their two principal
components and coloured by cluster (the ``cluster:N`` groups); each sound group is labelled at
the centre of its frames. With ``--piece``, the latent frames a piece decodes over ``--cycles``
cycles are drawn on top, one line per track, in the same projection.

The axes hold the bulk of the frames (:func:`robust_limits`), not the few far ones, which are
drawn on the edge and counted in a corner note; labels are placed so that none covers another
(:func:`place_labels`).
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
    from latentcode.shell.frontends import add_model_options

    add_model_options(parser)
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
    centres: dict[str, np.ndarray] = {}
    frames: dict[str, int] = {}
    for group, members in bank.groups().items():
        if group in bank.folder_groups:
            continue  # a whole folder: its label would sit in the middle of everything
        mu = np.concatenate([bank.resolve(m).mu[::EVERY] for m in members])
        centres[group], frames[group] = (mu.mean(axis=0) - mean) @ axes.T, len(mu)
    # the biggest groups are placed first, so they keep their own spot when labels crowd
    centres = dict(sorted(centres.items(), key=lambda kv: -frames[kv[0]]))
    paths = {f"track {t + 1}": (z - mean) @ axes.T for t, z in (piece_paths or {}).items()}
    title = (f"latent space of the bank: {len(points)} frames, {len(clusters)} clusters "
             "(first two principal components)")
    plt = pyplot()
    fig = picture((points - mean) @ axes.T, labels, centres, paths, size=size, title=title)
    fig.savefig(output, dpi=fig.dpi)
    plt.close(fig)
    return output


LOW, HIGH, MARGIN = 1.0, 99.0, 0.05  # axes: percentiles of the bank's frames, plus a margin


def robust_limits(xy: np.ndarray, low: float = LOW, high: float = HIGH,
                  margin: float = MARGIN) -> np.ndarray:
    """Axis limits ``[[x0, x1], [y0, y1]]`` that hold the bulk of ``xy`` (n, 2): the ``low``
    to ``high`` percentiles on each axis, widened by ``margin`` of that span on each side, so
    a few far frames cannot squeeze all the others into a corner.

    >>> xy = np.c_[np.arange(101.0), np.zeros(101)]; xy[-1] = 1e6  # one far outlier
    >>> robust_limits(xy, 0, 99, 0.1).round(1).tolist()
    [[-9.9, 108.9], [-0.5, 0.5]]
    """
    lo, hi = np.percentile(xy, [low, high], axis=0)
    pad = margin * (hi - lo)
    # a flat axis (all frames equal on it) still gets a visible range around them
    pad = np.where(hi > lo, pad, 0.5 * np.maximum(np.abs(lo), 1.0))
    return np.stack([lo - pad, hi + pad], axis=1)


def place_labels(sizes, anchors, area, obstacles=(), rings: int = 8, gap: float = 2.0):
    """Greedy label placement, in pixels: each box of ``sizes[i]`` (w, h) goes centred on
    ``anchors[i]`` (x, y) if it overlaps nothing placed before (nor ``obstacles``, boxes
    ``(x0, y0, x1, y1)``) and fits in ``area`` (a box); else at the first free spot on rings
    around the anchor, one box height apart; else nowhere (None). Returns box centres.

    >>> place_labels([(40, 10), (40, 10)], [(50, 50), (50, 50)], (0, 0, 100, 100))
    [(50.0, 50.0), (50.0, 62.0)]
    """
    directions = [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)]
    taken = [tuple(map(float, b)) for b in obstacles]
    placed: list[tuple[float, float] | None] = []
    for (w, h), (ax, ay) in zip(sizes, anchors, strict=True):
        spot = None
        steps = [(0.0, 0.0)] + [(r * dx * (w / 2 + gap) if dy == 0 else r * dx * w / 2,
                                 r * dy * (h + gap)) for r in range(1, rings + 1)
                                for dx, dy in directions]
        for dx, dy in steps:
            box = (ax + dx - w / 2, ay + dy - h / 2, ax + dx + w / 2, ay + dy + h / 2)
            inside = (box[0] >= area[0] and box[1] >= area[1] and box[2] <= area[2]
                      and box[3] <= area[3])
            if inside and not any(_overlap(box, t, gap) for t in taken):
                spot = (float(ax + dx), float(ay + dy))
                taken.append(box)
                break
        placed.append(spot)
    return placed


def _overlap(a, b, gap: float) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def picture(xy: np.ndarray, colours: np.ndarray, centres: dict[str, np.ndarray],
            paths: dict[str, np.ndarray], *, size: tuple[int, int], title: str = ""):
    """The map as a matplotlib figure: the frames ``xy`` (n, 2) coloured by ``colours``, a
    label per group at its centre (moved aside, or left out, rather than drawn over another),
    and each trajectory of ``paths`` on top. The axes hold the bulk of the frames; frames
    beyond are drawn on the edge, and a note in the corner says how many.

    >>> from latentcode.shell.plot import pyplot
    >>> fig = picture(np.random.default_rng(0).normal(size=(500, 2)), np.zeros(500),
    ...               {"a": np.zeros(2)}, {}, size=(400, 300)); pyplot().close(fig)
    """
    from latentcode.shell.plot import pyplot

    plt = pyplot()
    dpi = 100
    fig, ax = plt.subplots(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    limits = robust_limits(xy)
    inside = _within(xy, limits)
    ax.scatter(xy[inside, 0], xy[inside, 1], c=colours[inside], cmap="tab20", s=4, alpha=0.6,
               linewidths=0, vmin=colours.min(), vmax=colours.max())
    edge = np.clip(xy[~inside], limits[:, 0], limits[:, 1])
    ax.scatter(edge[:, 0], edge[:, 1], s=5, color="#777", marker="s", linewidths=0, alpha=0.5)
    beyond = {"frames": (int((~inside).sum()), len(xy))}
    for name, pxy in paths.items():
        beyond[name] = (int((~_within(pxy, limits)).sum()), len(pxy))
        ax.scatter(*np.clip(pxy, limits[:, 0], limits[:, 1]).T, s=6, alpha=0.35, marker="x",
                   linewidths=0.8, label=name)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    legend = ax.legend(loc="upper right", fontsize=8) if paths else None
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    note = ax.text(0.01, 0.01, _note(beyond), transform=ax.transAxes, fontsize=7,
                   color="#333", va="bottom", bbox={"fc": "white", "alpha": 0.8, "lw": 0})
    fig.tight_layout()  # before placing labels: they are placed in the final pixels
    left_out = _label(fig, ax, centres, limits, [a for a in (legend, note) if a is not None])
    if left_out:
        note.set_text(note.get_text() + f"\n{len(left_out)} label(s) left out for lack of "
                      f"room: {', '.join(left_out)}")
    return fig


def _within(xy: np.ndarray, limits: np.ndarray) -> np.ndarray:
    return ((xy >= limits[:, 0]) & (xy <= limits[:, 1])).all(axis=1)


def _note(beyond: dict[str, tuple[int, int]]) -> str:
    """The corner note: what the axes hold, and how much of each thing lies beyond them.

    >>> print(_note({"frames": (3, 100), "track 1": (0, 9), "track 2": (4, 9)}))
    axes: percentiles 1 to 99 of the bank's frames, plus 5%; 3 of 100 frames beyond, drawn on the edge (grey)
    piece frames beyond the axes, drawn on the edge: track 2: 4 of 9
    """  # noqa: E501
    n, total = beyond["frames"]
    text = (f"axes: percentiles {LOW:g} to {HIGH:g} of the bank's frames, plus {MARGIN:.0%}; "
            f"{n} of {total} frames beyond, drawn on the edge (grey)")
    far = [f"{name}: {n} of {total}" for name, (n, total) in beyond.items()
           if n and name != "frames"]
    return text + ("\npiece frames beyond the axes, drawn on the edge: " + ", ".join(far)
                   if far else "")


def _label(fig, ax, centres: dict[str, np.ndarray], limits: np.ndarray, obstacles) -> list[str]:
    """Annotate each group at its centre, placed by :func:`place_labels`; a moved label gets
    a thin line to its centre. Returns the groups left out."""
    style = {"fontsize": 9, "weight": "bold", "ha": "center", "va": "center",
             "bbox": {"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7}}
    renderer = fig.canvas.get_renderer()
    names = [g for g, c in centres.items() if _within(np.asarray(c)[None], limits)[0]]
    outside = [g for g in centres if g not in names]
    sizes = []
    for name in names:  # measure each label (with its box) once, then take it away again
        probe = ax.text(0, 0, name, **style)
        probe.draw(renderer)
        box = probe.get_bbox_patch().get_window_extent(renderer)
        sizes.append((box.width, box.height))
        probe.remove()
    anchors = [tuple(ax.transData.transform(centres[g])) for g in names]
    taken = [tuple(a.get_window_extent(renderer).extents) for a in obstacles]
    spots = place_labels(sizes, anchors, tuple(ax.bbox.extents), taken)
    ax.scatter(*np.array([centres[g] for g in names]).reshape(-1, 2).T, s=10, color="black",
               edgecolors="white", linewidths=0.5, zorder=3)
    pt = 72 / fig.dpi  # pixels -> points, for the offsets
    for name, anchor, spot in zip(names, anchors, spots, strict=True):
        if spot is None:
            outside.append(name)
            continue
        offset = ((spot[0] - anchor[0]) * pt, (spot[1] - anchor[1]) * pt)
        moved = offset != (0.0, 0.0)
        ax.annotate(name, centres[name], xytext=offset, textcoords="offset points", zorder=4,
                    arrowprops={"arrowstyle": "-", "lw": 0.6, "color": "#333"} if moved else None,
                    **style)
    return outside


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
