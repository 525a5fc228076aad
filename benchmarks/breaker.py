"""What a heavy, stuck or exploding track does to the others, live through JACK.

Runs ``tests/audio_scripts/breaker_jack.py`` for each case on a private JACK server (dummy
driver, period 256): a steady track of four bells a cycle plays on the right while the case
plays on the left. Prints, per case, the engine's underruns, the voices sounding, the voices the
cap stole, the steady track's onsets and how many of their spacings left the grid (a gap or a
stall), and the breaker's and the cap's messages. ``--busy`` adds a process busy on one core.

    python benchmarks/breaker.py [--busy] [--cases stuck,slow,line,heavy,pile]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))
SCRIPT = str(TESTS / "audio_scripts" / "breaker_jack.py")
SECONDS = {"pile": "16"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", action="store_true", help="a process busy on one core")
    parser.add_argument("--cases", default="stuck,slow,line,heavy,pile")
    args = parser.parse_args()

    from jack_capture import SR, capture_script, spacings_clear_of_xruns
    from jackd import running_jackd

    from latentcode.audio.analysis import onsets

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    print(f"jackd dummy, period 256, {'one core busy' if args.busy else 'idle'}")
    try:
        for case in args.cases.split(","):
            with running_jackd(period=256, rate=SR, realtime=True) as server:
                played = capture_script(server, SCRIPT, [case, SECONDS.get(case, "8")],
                                        source="lc-breaker", seconds=40)
            if played.returncode != 0:
                print(f"  {case}: failed\n{played.stderr[-2000:]}")
                continue
            r = played.result
            found = onsets(played.audio[1], threshold=1e-4, gap=4000)
            clean = spacings_clear_of_xruns(found, played.xruns)
            off = sum(abs(d - 22050) > 2 for d in clean)
            print(f"  {case:<6} underruns {r['stats']['underruns']:>4}  voices {r['voices']}  "
                  f"stolen {r['stolen']}  steady onsets {len(found)}, off the grid {off}")
            for m in r["messages"][:4]:
                print(f"         {m}")
    finally:
        if busy is not None:
            busy.kill()


if __name__ == "__main__":
    main()
