"""Patterns: functions from a span of time (in cycles) to the events active in it.

The core (:mod:`~latentcode.patterns.time`, :mod:`~latentcode.patterns.core`) knows nothing of
the language: the mini-notation parser is handed to it by :mod:`latentcode.language`. The
registry (:mod:`~latentcode.patterns.registry`) turns plain Python functions into words of the
language and methods of :class:`Pattern`; the catalogue (:mod:`~latentcode.patterns.functions`),
the signals and the controls are registered when this package is imported.
"""

from latentcode.patterns import controls, functions, signals  # noqa: F401 - registers them
from latentcode.patterns.core import Event, Pattern, pure, silence, stack
from latentcode.patterns.time import Span

__all__ = ["Event", "Pattern", "Span", "pure", "silence", "stack"]
