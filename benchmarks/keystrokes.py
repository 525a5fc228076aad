"""Underruns while the performer types and pastes, in the real REPL, with music playing.

Drives ``latentcode --audio jack`` in a tmux terminal on a private JACK server (dummy driver,
period 256), starts two tracks, then

1. idles, for the baseline;
2. types at the end of a 4,000-character line, one key every 50 ms (a fast typist, or a held
   key's auto-repeat: every key redraws the whole line);
3. floods a 4,000-character line in, a few keys every few tens of milliseconds (a paste into
   a terminal without bracketed paste);
4. pastes 5,000 lines at once (a bracketed paste, as terminals send a clipboard).

and reads the toolbar's underrun counter after each phase. ``--busy`` runs a competing process
busy on one core throughout, as a performer's machine always has one.

    python benchmarks/keystrokes.py [--busy] [--chars 4000] [--lines 5000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

LATENTCODE = str(Path(sys.executable).with_name("latentcode"))
PIECE = ['t1 $ "bell*4 drone"', 't2 $ "pluck*4" # alpha sine # mix "noise"']


class Terminal:
    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.sock = f"lc-typing-{os.getpid()}-{time.monotonic_ns()}"
        self.tmux("new-session", "-d", "-s", "b", "-x", "120", "-y", "40",
                  f"{command}; echo EXIT=$?; sleep 30", env=env)

    def tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True,
                              timeout=30, env=env).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "b")

    def wait(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.screen():
                return
            time.sleep(0.05)
        raise SystemExit(f"timed out waiting for {text!r}:\n{self.screen()}")

    def keys(self, text: str) -> None:
        self.tmux("send-keys", "-t", "b", "-l", text)

    def key(self, name: str) -> None:
        self.tmux("send-keys", "-t", "b", name)

    def underruns(self) -> int:
        found = re.findall(r"underruns (\d+)", self.screen())
        return int(found[-1]) if found else 0

    def close(self) -> None:
        self.tmux("kill-server")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", action="store_true", help="a process busy on one core")
    parser.add_argument("--chars", type=int, default=4000)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--keys", type=int, default=200, help="keys typed one by one")
    parser.add_argument("--burst", type=int, default=8, help="keys per burst of the flood")
    parser.add_argument("--gap", type=float, default=0.03, help="seconds between bursts")
    args = parser.parse_args()

    from jackd import running_jackd

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        with running_jackd(period=256) as server, tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, JACK_DEFAULT_SERVER=server,
                       LATENTCODE_HISTORY=str(Path(tmp) / "history"))
            term = Terminal(f"{LATENTCODE} --audio jack", env)
            try:
                run(term, args, Path(tmp))
            finally:
                term.close()
    finally:
        if busy is not None:
            busy.kill()


def run(term: Terminal, args: argparse.Namespace, tmp: Path) -> None:
    term.wait("lc>")
    for line in PIECE:
        term.keys(line)
        term.key("Enter")
        time.sleep(0.3)
    time.sleep(4.0)  # the tracks start, first decodes settle
    print(f"jackd dummy, period 256{', one core busy' if args.busy else ', idle'}")
    print("  toolbar:", term.screen().strip().splitlines()[-1].strip())

    def phase(name: str, action) -> None:
        before = term.underruns()
        t0 = time.monotonic()
        action()
        seconds = time.monotonic() - t0
        time.sleep(1.0)  # what the last keys cost reaches the counter
        print(f"  {name:<38} {seconds:5.1f} s  underruns {term.underruns() - before}")

    def idle() -> None:
        time.sleep(8.0)

    text = ("# alpha 0.5 " * (args.chars // 12 + 1))[: args.chars]

    def bracketed(block: str) -> None:
        clip = tmp / "clip.txt"
        clip.write_text(block)
        term.tmux("load-buffer", "-b", "clip", str(clip))
        term.tmux("paste-buffer", "-p", "-b", "clip", "-t", "b")  # -p: bracketed paste

    def typing() -> None:
        for c in text[-args.keys:]:
            t0 = time.monotonic()
            term.keys(c)
            time.sleep(max(0.0, 0.05 - (time.monotonic() - t0)))

    def flood() -> None:
        for i in range(0, len(text), args.burst):
            term.keys(text[i : i + args.burst])
            time.sleep(args.gap)

    def paste() -> None:
        bracketed("\n".join(f'-- line {i} of a long paste, t9 $ "bell*2"' for i in
                             range(args.lines)))
        time.sleep(6.0)

    phase("idle (baseline, 8 s)", idle)
    bracketed(text[: -args.keys])
    time.sleep(2.0)
    phase(f"typing {args.keys} keys at 20/s, {args.chars}-char line", typing)
    term.key("C-c")  # drop the typed line
    time.sleep(1.0)
    phase(f"flooding a {args.chars}-character line", flood)
    term.key("C-c")
    time.sleep(1.0)
    phase(f"pasting {args.lines} lines (+6 s)", paste)
    term.key("C-c")
    time.sleep(0.5)
    term.key("C-d")


if __name__ == "__main__":
    main()
