"""Time from launching ``latentcode`` to its first prompt and to its first sound.

Drives the real REPL in a tmux terminal: waits for the prompt, starts ``:record``, types a
pattern with ``now`` and finds the first audible sample of the recording. ``now`` switches the
pattern at once, but its first sound still waits for the pattern's next step: with
``"bell*16"`` at 0.5 cps that is 0 to 125 ms (62 ms on average) of the figure. Audio goes through a
private JACK server on the dummy driver (``--audio jack``), or ``--audio none`` when given.

    python benchmarks/startup.py [--audio none] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

LATENTCODE = str(Path(sys.executable).with_name("latentcode"))


def tmux(sock: str, *args: str) -> str:
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True,
                          timeout=10).stdout


def wait(sock: str, text: str, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in tmux(sock, "capture-pane", "-p", "-t", "b"):
            return time.monotonic()
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {text!r}:\n" + tmux(sock, "capture-pane", "-p"))


def once(audio: str, env: dict[str, str], folder: Path) -> tuple[float, float, float]:
    import numpy as np
    import soundfile

    sock = f"lc-bench-{os.getpid()}-{time.monotonic_ns()}"
    take = folder / "take.wav"
    take.unlink(missing_ok=True)
    t0 = time.monotonic()
    tmux(sock, "new-session", "-d", "-s", "b", "-x", "120", "-y", "40",
         f"{LATENTCODE} --audio {audio}; echo EXIT=$?; sleep 30")
    try:
        prompt = wait(sock, "lc>") - t0
        tmux(sock, "send-keys", "-t", "b", "-l", f":record {take}")
        tmux(sock, "send-keys", "-t", "b", "Enter")
        t_rec = wait(sock, "recording to")
        tmux(sock, "send-keys", "-t", "b", "-l", 'now t1 $ "bell*16"')
        t_enter = time.monotonic()
        tmux(sock, "send-keys", "-t", "b", "Enter")
        time.sleep(2.0)
        tmux(sock, "send-keys", "-t", "b", "C-d")
        wait(sock, "EXIT=", 20)
        if "EXIT=0" not in tmux(sock, "capture-pane", "-p", "-t", "b"):
            raise SystemExit("Ctrl-D did not exit cleanly:\n" + tmux(sock, "capture-pane", "-p"))
    finally:
        tmux(sock, "kill-server")
    audio_data, sr = soundfile.read(take)
    loud = np.flatnonzero(np.abs(audio_data).max(axis=1) > 1e-3)
    if not len(loud):
        raise SystemExit("the recording is silent")
    # the recording started at most ~the print before t_rec; the first sound is relative to it
    t_sound = t_rec + loud[0] / sr
    return prompt, t_sound - t_enter, prompt + (t_sound - t_enter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", default="jack", choices=["jack", "none"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        if args.audio == "jack":
            from jackd import running_jackd

            ctx = running_jackd()
        else:
            import contextlib

            ctx = contextlib.nullcontext(None)
        with ctx as server:
            if server:
                os.environ["JACK_DEFAULT_SERVER"] = server
            for run in range(args.runs):
                prompt, enter_to_sound, launch_to_sound = once(args.audio, env, Path(tmp))
                print(f"run {run} (exit 0 on Ctrl-D): first prompt {prompt:.2f} s after "
                      f"launch; first sound {enter_to_sound * 1000:.0f} ms after Enter "
                      f"({launch_to_sound:.2f} s after launch when typed at the prompt)")


if __name__ == "__main__":
    main()
