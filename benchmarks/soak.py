"""A long live session with a busy performer: does the audio hold, does memory stay put?

Plays a 4-track session through jackd's dummy driver (period 256) for ``--minutes`` (10 by
default) while a scripted performer changes something every ``--every`` seconds (3): new
patterns, morphs, stretches, immediate changes, clusters of the bank's frames and whole sounds
(the first use of each clusters in the bank's worker), a ``bank "FOLDER"`` of new sounds
half-way (written for the run, then played), and a full garbage collection every 20 s. It
prints, a minute at a time, the engine's underruns, the producer's load and slowest block, the
voices and the resident memory (all of it, and the process's own: without the pages of mapped
cluster files, which the OS can drop); at the end the totals, and the growth of both from the
end of the first minute (when the caches have filled) to the end.

What it does not do yet: compare the live output with an offline render of the same script
(the cycle each change lands on would have to be recorded and replayed).

    python benchmarks/soak.py [--minutes 10] [--every 3] [--busy]
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

PIECE = """tempo 0.5
t1 $ "drone" # mix "voice" # alpha (slow 4 $ range -0.5 1.4 sine) # gain 0.5 # pan 0.2
t2 $ every 4 (fast 2) $ "bell(3,8)" # stretch 2 # room 0.3 # pan 0.8
t3 $ "pluck*4 [hit hit:2]" # lpf 2400 # delay 0.2 # gain 0.6
t4 $ "sine2/2" # stretch 8 # gain 0.4 # hpf 200
"""

# What the performer types, in turn (``{bank}`` becomes the new sounds once loaded).
CHANGES = [
    't3 $ "pluck*8" # lpf (range 800 4000 $ slow 4 sine) # gain 0.5',
    't1 $ "drone" # mix "bell" # alpha (slow 8 saw) # gain 0.5',
    'now t3 $ "hit(5,8)" # speed "1 2" # gain 0.5',
    't2 $ "bell:2(3,8)" # stretch "<2 4>" # room 0.4',
    't4 $ "cluster:{k}/4" # legato 1 # gain 0.4',
    't3 $ "pluck*4 [hit hit:2]" # lpf 2400 # delay 0.2 # gain 0.6',
    't1 $ "sounds:{s}" # mix "drone" # alpha (slow 2 sine) # gain 0.4',
    't2 $ every 4 (fast 2) $ "bell(3,8)" # stretch 2 # room 0.3 # pan 0.8',
    't4 $ "sine2/2" # stretch (range 4 8 $ slow 8 sine) # gain 0.4 # hpf 200',
    'xfade 4 t1 $ "drone" # mix "voice" # alpha (slow 4 $ range -0.5 1.4 sine) # gain 0.5',
]
AFTER_BANK = ['t3 $ "{bank}*4" # gain 0.5', 't2 $ "{bank}:1(3,8)" # stretch 2 # gain 0.4']


def write_folder(folder: Path) -> str:
    """A few short sounds (plucked tones and noise bursts) in ``folder``; their group name.
    One of them is pitched by the clock: no cache has seen the folder, so the bank's clusters
    are made again from every file, as for a performer's own new folder."""
    sr = 44100
    t = np.arange(int(0.6 * sr)) / sr
    rng = np.random.default_rng(0)
    for k, f in enumerate((220, 330, 495, 660, 200 + time.time_ns() % 1000)):
        tone = np.sin(2 * np.pi * f * t) * np.exp(-6 * t)
        noise = rng.standard_normal(len(t)) * np.exp(-20 * t) * 0.3
        sf.write(folder / f"soak_{k}.wav", (0.5 * (tone + noise)).astype(np.float32), sr)
    return "soak"


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory in MB: all of it (``VmRSS``), or the process's own (``RssAnon``),
    without the pages of mapped files (the bank's clusters), which the OS can drop."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def soak(args: argparse.Namespace, server: str, folder: Path) -> None:
    import os

    os.environ["JACK_DEFAULT_SERVER"] = server
    from latentcode.session import Session

    session = Session(tracks=5)
    session.eval(PIECE)
    session.render_dry(1)  # the piece's sounds encoded before the clock starts
    session.start("jack", buffersize=256, jack_client="lc-soak")
    engine = session.engine
    start = time.monotonic()
    end = start + 60 * args.minutes
    step, errors, minute, last_gc = 0, [], 1, start
    bank_at, bank = start + 30 * args.minutes, None
    before = engine.stats
    base_rss = base_anon = None
    print(f"{'min':>3} {'underruns':>9} {'load':>5} {'slowest ms':>10} {'voices':>6} "
          f"{'RSS MB':>7} {'own MB':>7}", flush=True)
    while time.monotonic() < end:
        now = time.monotonic()
        if bank is None and now >= bank_at:
            bank = write_folder(folder)
            text = f'bank "{folder}"'
        else:
            pool = CHANGES + (AFTER_BANK if bank else [])
            text = pool[step % len(pool)].format(k=step % 24, s=step % 8, bank=bank)
        try:
            session.eval(text)
        except Exception as e:  # noqa: BLE001 - a bad change is counted, the show goes on
            errors.append(f"{text}: {e}")
        step += 1
        if now - last_gc >= 20:
            gc.collect()
            last_gc = now
        time.sleep(max(0.0, args.every - (time.monotonic() - now)))
        if time.monotonic() - start >= 60 * minute:
            stats = engine.stats
            rss, anon = rss_mb(), rss_mb("RssAnon")
            if base_rss is None:
                base_rss, base_anon = rss, anon
            print(f"{minute:3} {stats.underruns - before.underruns:9} "
                  f"{stats.producer_load_recent:5.2f} {engine.worst_fill * 1000:10.1f} "
                  f"{len(session.live_scheduler.voices.voices):6} {rss:7.1f} {anon:7.1f}",
                  flush=True)
            minute += 1
    stats = engine.stats
    rss, anon = rss_mb(), rss_mb("RssAnon")
    session.stop()
    print(f"\n{args.minutes} min, {step} changes ({len(errors)} refused), "
          f"{stats.underruns - before.underruns} underruns, producer load "
          f"{stats.producer_load:.2f} (peak block {stats.producer_load_peak:.2f}), resident "
          f"memory {base_rss:.0f} MB after a minute -> {rss:.0f} MB "
          f"({rss - base_rss:+.1f} MB); its own (without mapped files) {base_anon:.0f} -> "
          f"{anon:.0f} MB ({anon - base_anon:+.1f} MB)")
    for e in errors[:5]:
        print("refused:", e)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--every", type=float, default=3.0)
    ap.add_argument("--busy", action="store_true", help="another process busy on one core")
    args = ap.parse_args()
    from jackd import running_jackd

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        with running_jackd(period=256) as server, tempfile.TemporaryDirectory() as tmp:
            soak(args, server, Path(tmp))
    finally:
        if busy is not None:
            busy.kill()


if __name__ == "__main__":
    main()
