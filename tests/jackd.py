"""Start and stop a private JACK server (dummy driver) for tests and benchmarks.

The dummy driver clocks like a sound card without one. ``-r`` before ``-d`` turns real-time
scheduling off, which containers often refuse. Each server gets a unique name, so parallel
runs and a user's own jackd are left alone; clients find it through ``JACK_DEFAULT_SERVER``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator

# s: how long another thread of a listening test may keep the GIL (Python's default is 5 ms)
LISTEN_SWITCH = 0.001

INSTALL_HINT = (
    "jackd not found: install Debian's jackd2 "
    "(DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends jackd2)"
)


def jackd_path() -> str | None:
    """The jackd executable, or None."""
    return shutil.which("jackd") or (os.path.exists("/usr/bin/jackd") and "/usr/bin/jackd") or None


def wait_for_server(name: str, timeout: float = 10.0) -> bool:
    """Poll with ``jack_lsp`` until the server named ``name`` answers."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True)
        if done.returncode == 0 and "system:playback_1" in done.stdout:
            return True
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def running_jackd(period: int = 256, rate: int = 44100, realtime: bool = False) -> Iterator[str]:
    """Run ``jackd -n NAME -r -d dummy -r RATE -p PERIOD -C 2 -P 2``; yield NAME.

    ``realtime=True`` asks for real-time scheduling instead (``-R -P 70``), where allowed.

    >>> with running_jackd() as name:       # doctest: +SKIP
    ...     subprocess.run(["jack_lsp"], env=dict(os.environ, JACK_DEFAULT_SERVER=name))
    """
    exe = jackd_path()
    if exe is None:
        raise RuntimeError(INSTALL_HINT)
    name = f"lc-test-{uuid.uuid4().hex[:8]}"
    scheduling = ["-R", "-P", "70"] if realtime else ["-r"]
    cmd = [exe, "-n", name, *scheduling, "-d", "dummy", "-r", str(rate), "-p", str(period),
           "-C", "2", "-P", "2"]
    # jackd writes a line per xrun: into a pipe nobody reads, the pipe fills and jackd hangs
    # (seen at -p 128 under load), so its output goes to a file, read only if it fails.
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        if not wait_for_server(name):
            proc.kill()
            proc.wait()
            log.seek(0)
            raise RuntimeError(f"jackd did not start: {log.read()[-2000:]}")
        yield name
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@contextlib.contextmanager
def listening() -> Iterator[None]:
    """Keep the test's own process from starving its JACK client while it listens.

    A JACK-Client process callback runs Python, so every period (5.8 ms at 256) it waits for
    the GIL. Measured on this 2-core machine (10 s captures of ``live_jack.py``), JACK lost
    the capture's periods 416 times with one busy Python thread in the test's process, and
    1 to 5 times with the GIL handed over every :data:`LISTEN_SWITCH`; a full garbage
    collection of a large process (3 million objects, 0.2 s) lost 1 or 2, and none once the
    objects built so far were frozen out of the collector. A test suite's process grows large,
    so both hold while a rig listens, as the engine does for its own audio thread. (Not for a
    real-time jackd: the Link rig lost more periods with it; see ``link_rig.py``.)

    >>> with listening(): sys.getswitchinterval() == LISTEN_SWITCH
    True
    """
    switch = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(LISTEN_SWITCH)
    try:
        yield
    finally:
        sys.setswitchinterval(switch)
        gc.unfreeze()
