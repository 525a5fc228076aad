"""Keep the REPL's drawing to a small share of the interpreter, so typing never gaps the audio.

The REPL shares one Python interpreter (one GIL) with the audio engine's producer thread and
pyo's audio callback. Every key redraws the input, and the cost of a redraw grows with the text:
about 1 ms for a short line, 15-20 ms for a 4,000-character one. Redrawn on every key, a long
line kept the interpreter busy enough to starve the producer (over a thousand underruns in ten
seconds of typing at 20 keys a second).

:func:`pace_redraws` spaces redraws by what the last one cost: after a redraw of ``d`` seconds
the next waits at least ``d * (1 - share) / share``, so drawing takes at most ``share`` of the
time, whatever the line's length. Short lines still redraw at once (1 ms costs a 4 ms wait at
the default share); a 4,000-character line redraws about 12 times a second. Keys are never
dropped or delayed: only the picture of them is.

>>> pause_after(0.001), pause_after(0.02), pause_after(1.0)
(0.004, 0.08, 0.25)
"""

from __future__ import annotations

import time
from typing import Any

SHARE = 0.2  # the most of the interpreter's time the REPL's drawing may take
LONGEST_PAUSE = 0.25  # s: however slow a redraw, the screen follows the keys at least this often


def pause_after(seconds: float, share: float = SHARE) -> float:
    """The least time between redraws after one that took ``seconds``, rounded to 0.1 ms."""
    return round(min(LONGEST_PAUSE, seconds * (1.0 - share) / share), 4)


def pace_redraws(app: Any, share: float = SHARE) -> None:
    """Make ``app`` (a prompt_toolkit Application) wait between redraws in proportion to their
    cost, through its ``min_redraw_interval`` (which prompt_toolkit honours only when it is
    not zero, so it starts just above).

    >>> class App:                      # the parts of an Application this uses
    ...     min_redraw_interval = None
    ...     class _E(list):
    ...         def add_handler(self, f): self.append(f)
    ...     before_render, after_render = _E(), _E()
    >>> app = App(); pace_redraws(app); app.min_redraw_interval
    0.0001
    """
    started = [0.0]
    app.min_redraw_interval = 0.0001

    def before(_: Any) -> None:
        started[0] = time.perf_counter()

    def after(_: Any) -> None:
        app.min_redraw_interval = max(0.0001, pause_after(time.perf_counter() - started[0],
                                                          share))

    app.before_render.add_handler(before)
    app.after_render.add_handler(after)
