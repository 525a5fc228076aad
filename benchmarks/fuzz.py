"""The language fuzzer of tests/test_fuzz.py, run longer: counts of what it finds.

    python benchmarks/fuzz.py --examples 5000        # or --minutes 10; --seed for another run

Prints statements tried, accepted, refused, internal errors, slow evaluations (over the 2 s
deadline), accepted patterns that fail a cycle later (within ``--cycles``; live, such a track
reverts to what it played, with a message), the slowest evaluation, and the first few
statements of each bad kind.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from test_fuzz import make_session, statements, try_statement  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cycles", type=int, default=64,
                        help="cycles an accepted pattern is queried for (the session checks 16)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["LATENTCODE_HOME"] = str(Path(tmp) / "home")
        folder = Path(tmp) / "sounds"
        folder.mkdir()
        session = make_session(folder)
        counts: Counter[str] = Counter()
        bad: dict[str, list[str]] = {}
        slowest = [0.0, ""]
        end = time.monotonic() + args.minutes * 60 if args.minutes else None

        @seed(args.seed)
        @settings(max_examples=args.examples if end is None else 10**9, deadline=None,
                  database=None, suppress_health_check=list(HealthCheck))
        @given(text=statements())
        def run(text: str) -> None:
            if end is not None and time.monotonic() > end:
                raise _TimeUp
            outcome, took, message = try_statement(session, text, cycles=args.cycles)
            session.tempo(0.5)
            counts[outcome] += 1
            if took > slowest[0]:
                slowest[:] = [took, text]
            if outcome not in ("accepted", "refused"):
                bad.setdefault(outcome, []).append(f"{text!r}: {message[:120]}")

        try:
            run()
        except _TimeUp:
            pass
        session.bank.close()
    tried = sum(counts.values())
    print(f"statements tried  {tried}")
    for outcome in ("accepted", "refused", "internal", "slow", "late failure"):
        print(f"{outcome:<17} {counts[outcome]}")
    print(f"slowest eval      {slowest[0]:.3f} s  {slowest[1]!r}")
    for outcome, examples in bad.items():
        print(f"\n{outcome}:")
        for line in examples[:10]:
            print(f"  {line}")


class _TimeUp(Exception):
    """--minutes ran out."""


if __name__ == "__main__":
    main()
