"""Silencing what C libraries print: ALSA, PortAudio and libjack write pages of noise straight to
file descriptor 2 while a backend or a MIDI system is probed, past Python's ``sys.stderr``.

>>> with quiet_stderr():
...     pass
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """File descriptor 2 goes to /dev/null for the duration, and comes back after."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
