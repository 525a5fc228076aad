"""Two latentcode players sharing tempo and phase over Ableton Link, heard through one JACK
server, all inside a network namespace the test made (only a loopback, with a multicast route
on it): no packet leaves the machine.

Run as ``unshare --net python tests/link_rig.py SECONDS`` (by tests/test_link.py and
benchmarks/link.py). Player A starts at tempo 0.5, player B two seconds later at tempo 0.6;
Link gives B A's session. A JACK client here captures A's right channel on in_1 and B's on
in_2 (each plays ``bell*4`` on the right). Prints one JSON line: the onsets of each, JACK's
xruns and each player's report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from jackd import running_jackd  # noqa: E402

from latentcode.audio.analysis import onsets  # noqa: E402

SR = 44100
PLAYER = str(HERE / "audio_scripts" / "link_jack.py")


def loopback_with_multicast() -> None:
    """Bring the namespace's loopback up and route multicast (Link's discovery) over it."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    subprocess.run(["ip", "route", "add", "224.0.0.0/4", "dev", "lo"], check=True)


# Not under jackd.listening(), unlike the other rigs: this one runs jackd in real time, and
# measured on this machine (3 runs each) JACK lost the capture's periods 49 to 337 times in a
# run with it, 8 to 36 without it.
def main() -> int:
    seconds = float(sys.argv[1])
    loopback_with_multicast()
    import jack

    # real-time scheduling where allowed, as a performer runs jackd: without it the dummy
    # driver itself loses periods on a busy machine
    with running_jackd(period=256, rate=SR, realtime=True) as server:
        env = dict(os.environ, JACK_DEFAULT_SERVER=server, PYO_GUI_WX="0")
        client = jack.Client("lc-link-capture", servername=server, no_start_server=True)
        ins = [client.inports.register(f"in_{i}") for i in (1, 2)]
        buf = np.zeros((2, int(SR * (seconds + 30))), np.float32)
        state = {"pos": 0, "on": False}
        xruns: list[int] = []

        @client.set_process_callback
        def process(frames: int) -> None:
            pos = state["pos"]
            if state["on"] and pos + frames <= buf.shape[1]:
                buf[0, pos:pos + frames] = ins[0].get_array()
                buf[1, pos:pos + frames] = ins[1].get_array()
                state["pos"] = pos + frames

        @client.set_xrun_callback
        def xrun(delay: float) -> None:
            xruns.append(state["pos"])

        players = []
        with client:
            # A plays on after B is done, so B reports with A still there
            for name, tempo, wait, more in (("lc-a", 0.5, 0.0, 6.0), ("lc-b", 0.6, 2.0, 0.0)):
                time.sleep(wait)
                proc = subprocess.Popen([sys.executable, PLAYER, name, str(tempo),
                                         str(seconds + more)], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                ready = json.loads(proc.stdout.readline() or "{}")
                players.append((proc, ready))
                if not ready.get("ready"):
                    break
                client.connect(f"{name}:output_2", ins[len(players) - 1])
            state["on"] = all(r.get("ready") for _, r in players)
            reports = []
            for proc, _ in players:
                try:
                    out, err = proc.communicate(timeout=seconds + 60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, err = proc.communicate()
                lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
                reports.append({"returncode": proc.returncode, "stderr": err[-2000:],
                                "result": lines[-1] if lines else {}})
            state["on"] = False
        audio = buf[:, :state["pos"]]
    found = [onsets(audio[i], threshold=1e-3, gap=4000).tolist() for i in (0, 1)]
    print(json.dumps({"onsets": found, "xruns": xruns, "players": reports,
                      "captured": audio.shape[1]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
