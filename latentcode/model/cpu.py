"""What this machine's CPU offers, as its flags say: the decoder's arithmetic is chosen by them.

Read from ``/proc/cpuinfo`` rather than timed, so that every process of a render, and every
run on the machine, decides alike.

>>> isinstance(flags(), str)
True
"""

from __future__ import annotations


def flags() -> str:
    """The first processor's flags in ``/proc/cpuinfo`` ('' where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return line.partition(":")[2]
    except OSError:
        pass
    return ""
