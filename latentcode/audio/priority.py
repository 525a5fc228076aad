"""Who runs first for a core: the producer thread and the audio process ask for a lower nice
value than other programs.

On a machine that is never idle, a process busy on the producer's core shares it half and half
at equal nice, and the producer's blocks take twice as long (see ``benchmarks/realtime.py
--load``). Lowering it needs the right to (root, or an rtprio/nice limit as audio groups are
given); without it a thread keeps what it has. It is a nice value, not real-time scheduling: a
producer that cannot keep up must not take a core from the audio or the REPL for good.

>>> raise_priority(os.getpriority(os.PRIO_PROCESS, 0)) == os.getpriority(os.PRIO_PROCESS, 0)
True
"""

from __future__ import annotations

import os
import threading

PRODUCER_NICE = -10  # the producer thread (lower runs first)
AUDIO_NICE = -10  # the audio process, whose threads (JACK's among them) inherit it


def raise_priority(nice: int) -> int:
    """Give the calling thread the nice value ``nice`` if allowed; returns the one it has.
    Threads it starts later inherit it."""
    tid = threading.get_native_id()  # on Linux a thread's nice value is its own
    try:
        os.setpriority(os.PRIO_PROCESS, tid, nice)
    except (OSError, AttributeError):  # not permitted, or not on this system
        pass
    try:
        return os.getpriority(os.PRIO_PROCESS, tid)
    except (OSError, AttributeError):
        return 0
