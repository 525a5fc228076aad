"""Messages from the engine to the performer: a failing source, a bad control value, audio gaps.

The engine runs every block, so anything that goes wrong would go wrong hundreds of times a
second; a :class:`Reporter` says each thing once and never lets a broken printer stop audio.

>>> said = []
>>> reporter = Reporter(said.append)
>>> for _ in range(3):
...     reporter.once("lpf", "audio control lpf got nan; ignored")
>>> said, reporter.messages.qsize()
(['audio control lpf got nan; ignored'], 1)
"""

from __future__ import annotations

import queue
import traceback
from collections.abc import Callable
from pathlib import Path


class Reporter:
    """Puts messages on :attr:`messages` and passes them to ``on_message`` (any thread)."""

    def __init__(self, on_message: Callable[[str], None] | None = None) -> None:
        self.messages: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.on_message = on_message
        self._said: set[str] = set()

    def say(self, message: str) -> None:
        """Report ``message`` now."""
        self.messages.put(message)
        if self.on_message is not None:
            try:
                self.on_message(message)
            except Exception:  # a broken printer must not stop the audio
                pass

    def once(self, key: str, message: str) -> None:
        """Report ``message`` unless something was already reported under ``key``."""
        if key not in self._said:
            self._said.add(key)
            self.say(message)

    def exception(self, what: str, exc: BaseException) -> None:
        """Report an exception once per place it was raised from (not once per block)."""
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        self.once(f"{type(exc).__name__}@{where}",
                  f"{what}: {type(exc).__name__}: {exc} ({Path(where).name})")
