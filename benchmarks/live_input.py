"""Live input (``in``): how late it is heard, what encoding it costs, how close it sounds.

A private jackd (dummy driver, period 256) runs ``tests/audio_scripts/input_jack.py``, which
plays ``t1 $ "in" # noise 0``; our JACK client plays a test phrase (a gliding harmonic tone with
breath noise) into its input port and captures its output. For each lookahead and each load
(``--load N``: N other processes busy, one core each) it prints:

- the latency the session reports (and the toolbar shows), and the one measured: the shift at
  which the output best matches the model's own reconstruction of the phrase;
- the encoder's cost: seconds spent encoding per second of input, in the live process;
- how close the output is to an offline encode and decode of the same phrase, and to the
  phrase itself, as the mean difference of third-octave band levels (dB, levels matched):
  as the model decodes it (``# match 0``), and with the input's own spectral match (the
  default), measured as it comes;
- underruns.

Usage::

    python benchmarks/live_input.py [--seconds 8] [--lookahead 4096 1024] [--load 0 1]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from jack_capture import capture_script  # noqa: E402
from jackd import running_jackd  # noqa: E402
from test_live_input import distance, phrase, reconstruction  # noqa: E402

SR = 44100
SCRIPT = str(Path(__file__).resolve().parent.parent / "tests" / "audio_scripts" / "input_jack.py")


def trial(server: str, model, seconds: float, lookahead: int, match: bool) -> dict:
    x = phrase(4.0)
    play = np.concatenate([np.zeros(SR, np.float32), x])
    options = [f"lookahead={lookahead}"] + ([] if match else ["match=0"])
    cap = capture_script(server, SCRIPT, [str(seconds), *options],
                         source="lc-input", seconds=seconds + 5, play=play,
                         play_to="lc-input:input_1", timeout=300)
    if cap.returncode != 0:
        raise SystemExit(cap.stderr[-2000:])
    r = cap.result
    out, reference = cap.audio[0], reconstruction(model, x)
    tries = {d: distance(out[SR + d : SR + d + 3 * SR], reference[: 3 * SR])
             for d in range(0, r["latency"] + 2048, 64)}
    lag = min(tries, key=tries.get)
    heard = out[SR + lag : SR + lag + 3 * SR]
    return {"reported": 1000 * r["latency"] / SR, "measured": 1000 * lag / SR,
            "cost": r["encode_seconds"] / max(r["encoded"] * 256 / SR, 1e-9),
            "to_recon": tries[lag], "to_input": distance(heard, x[: 3 * SR]),
            "underruns": r["stats"]["underruns"], "xruns": len(cap.xruns)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--lookahead", type=int, nargs="+", default=[4096, 1024])
    ap.add_argument("--load", type=int, nargs="+", default=[0, 1])
    args = ap.parse_args()
    from latentcode.model.vae import load_model

    model = load_model()
    print("load  lookahead  reported ms  measured ms  encode s/s  to recon dB  to input dB  "
          "matched: to input dB  encode s/s  underruns  xruns")
    with running_jackd() as server:
        for load in args.load:
            busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(load)]
            try:
                for lookahead in args.lookahead:
                    t = trial(server, model, args.seconds, lookahead, match=False)
                    m = trial(server, model, args.seconds, lookahead, match=True)
                    print(f"{load:4d}  {lookahead:9d}  {t['reported']:11.1f}  "
                          f"{t['measured']:11.1f}  {t['cost']:10.4f}  {t['to_recon']:11.2f}  "
                          f"{t['to_input']:11.2f}  {m['to_input']:20.2f}  {m['cost']:10.4f}  "
                          f"{t['underruns'] + m['underruns']:9d}  {t['xruns'] + m['xruns']:5d}",
                          flush=True)
            finally:
                for p in busy:
                    p.kill()
                    p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
