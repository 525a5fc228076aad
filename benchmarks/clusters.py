"""What the bank's clusters hold: frame clusters (``frames:N``) beside sound clusters
(``sounds:N``), on the default corpus or a folder.

For every cluster: its share of all frames, the families (file groups: bell, drone, ...) it
mixes and the share of its largest family; then the purity of each kind (frames in their
cluster's largest family) and how long the clusters took, built and from the cache.

    python benchmarks/clusters.py [--folder DIR] [--k 32]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from latentcode.model.bank import Bank, group_of
from latentcode.model.encode import cache_dir
from latentcode.model.vae import load_model


def table(title: str, rows: list[tuple[str, int, Counter]], total: int) -> float:
    print(f"\n{title}")
    print(f"{'cluster':>10} {'share':>6} {'largest family':>22} {'families (>=5%)':>16}  mix")
    pure = 0
    for name, frames, fam in rows:
        top, n = fam.most_common(1)[0]
        pure += n
        mixed = [f for f, c in fam.most_common() if c >= 0.05 * frames]
        print(f"{name:>10} {frames / total:6.1%} {top:>12} {n / frames:8.0%} {len(mixed):>16}  "
              + ", ".join(f"{f} {c / frames:.0%}" for f, c in fam.most_common(4)))
    print(f"purity (frames in their cluster's largest family): {pure / total:.0%}")
    return pure / total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", help="a folder of audio files (default: the shipped corpus)")
    ap.add_argument("--k", type=int, default=32, help="frame clusters")
    args = ap.parse_args()
    model = load_model()
    for p in cache_dir().glob("clusters-*"):
        p.unlink()
    bank = Bank(model, [args.folder] if args.folder else (), default=args.folder is None)
    t = time.monotonic()
    sounds = [bank.resolve(stem) for stem in sorted(bank._files)]
    print(f"{len(sounds)} sounds, {sum(s.frames for s in sounds)} frames "
          f"(encodings read in {time.monotonic() - t:.1f} s)")

    import numpy as np

    t = time.monotonic()
    labelled = bank._need(bank._frames_job(args.k), True)  # the bank's own clustering
    built = time.monotonic() - t
    by_name = {s.name: s for s in sounds}
    family = np.concatenate([[group_of(n)] * by_name[n].frames for n in labelled.stems])
    labels = labelled.labels
    rows = [(f"frames:{i}", int(np.sum(labels == c)), Counter(family[labels == c].tolist()))
            for i, c in enumerate(labelled.present)]
    silent = int(np.sum(labels >= args.k))
    table(f"frame clusters, k={args.k} (built in {built:.1f} s, unpaced; {silent / len(labels):.1%}"
          " of the frames are silent, in none)", rows, len(labels))

    t = time.monotonic()
    found = bank.sound_clusters()
    built = time.monotonic() - t
    rows = []
    for c in found:
        fam: Counter = Counter()
        for m in c.members:
            fam[group_of(m)] += bank.resolve(m).frames
        rows.append((c.name, c.frames, fam))
    table(f"sound clusters, k={len(found)} (built in {built:.1f} s)", rows, len(labels))
    for c in found:
        print(f"  {c.name}: {', '.join(c.members)}")

    for what, ask in (("frame", lambda b: b.clusters()), ("sound", lambda b: b.sound_clusters())):
        ask(bank)  # both cached now
        again = Bank(model, [args.folder] if args.folder else (), default=args.folder is None)
        t = time.monotonic()
        ask(again)
        print(f"{what} clusters in a new session, from the cache: {time.monotonic() - t:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
