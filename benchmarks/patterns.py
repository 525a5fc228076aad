"""How fast patterns answer queries, the way the scheduler asks: one cycle at a time.

    python benchmarks/patterns.py [--cycles 1000]

Prints events per second for a set of realistic patterns (nested mini-notation, every/jux/off,
signals, ``#`` controls) queried one cycle at a time, and the mean and p99 time of one
one-cycle query of a typical performance pattern. The scheduler queries about 20 times a second
for several tracks, so one query must take well under a millisecond.
"""

from __future__ import annotations

import argparse
import statistics
import time
from fractions import Fraction

from latentcode.language import evaluate, parse_expression

PATTERNS = {
    "nested mini": '"drone bell*2 [pad pad:3] ~ <bell [pluck pluck]> {voice noise, hit}%4"',
    "euclid+alt": '"bell(<3 5>,8,<0 2>) [pad|pluck|hit] voice?"',
    "every/off": 'every 4 (fast 2) $ off 0.25 (# gain 0.6) $ "bell(3,8)" # stretch 8',
    "jux/chunk": 'jux rev $ chunk 4 (hurry 2) $ "pluck*4 [hit hit:2]" # pan 0.3',
    "signals": '"drone*8" # alpha (slow 8 $ range -1 1.3 sine) # pan (fast 2 tri)'
               ' # lpf (range 400 4000 perlin)',
    "performance": 'every 4 (fast 2) $ "bell(3,8) [pad pad:3] <drone voice>"'
                   ' # stretch 8 # noise 0.3 # gain 0.8 # pan sine',
}
TYPICAL = "performance"


def events_per_second(name: str, source: str, cycles: int) -> tuple[float, int]:
    pattern = evaluate(parse_expression(source))
    count = 0
    start = time.perf_counter()
    for c in range(cycles):
        count += len(pattern.query(c, c + 1))
    return count / (time.perf_counter() - start), count


def one_cycle_times(source: str, cycles: int, clock=time.perf_counter) -> list[float]:
    pattern = evaluate(parse_expression(source))
    times = []
    for c in range(cycles):
        t0 = clock()
        pattern.query(c, c + 1)
        times.append(clock() - t0)
    return times


def frame_time(source: str, cycles: int, frames: int = 16) -> float:
    pattern = evaluate(parse_expression(source))
    t0 = time.process_time()
    for i in range(cycles * frames):
        pattern.query(Fraction(i, frames), Fraction(i + 1, frames))
    return (time.process_time() - t0) / (cycles * frames)


def summary(times: list[float]) -> str:
    times = sorted(times)
    mean = statistics.fmean(times) * 1e3
    p99 = times[int(0.99 * (len(times) - 1))] * 1e3
    return f"mean {mean:.3f} ms, p99 {p99:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args()
    print(f"{'pattern':<14}{'events':>9}{'events/s':>12}")
    for name, source in PATTERNS.items():
        rate, count = events_per_second(name, source, args.cycles)
        print(f"{name:<14}{count:>9}{rate:>12,.0f}")
    print(f"\none-cycle query of '{TYPICAL}':")
    print(f"  wall time: {summary(one_cycle_times(PATTERNS[TYPICAL], args.cycles))}")
    # CPU time leaves out the moments another process had the core (a busy machine).
    cpu = one_cycle_times(PATTERNS[TYPICAL], args.cycles, time.process_time)
    print(f"  CPU time:  {summary(cpu)}")
    print("\nCPU time of a 1/16-cycle query (a ~50 ms scheduler frame at 1.25 cps):")
    for name, source in PATTERNS.items():
        print(f"  {name:<14}{frame_time(source, args.cycles) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
