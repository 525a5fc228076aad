"""Patterns: functions from a span of time (in cycles) to the events active in it.

Layered bottom-up, each module importing only those before it:

- :mod:`~latentcode.patterns.time` (cycles, spans, randomness),
  :mod:`~latentcode.patterns.sampled` (values read from signals) and
  :mod:`~latentcode.patterns.operators` (the one arithmetic table);
- :mod:`~latentcode.patterns.core`: events, :class:`Pattern` and its helpers;
- :mod:`~latentcode.patterns.timing` (scale, shift, reverse),
  :mod:`~latentcode.patterns.sequences` (cat, stack),
  :mod:`~latentcode.patterns.arguments` (patterned arguments) and
  :mod:`~latentcode.patterns.primitives` (fast, slow, euclid: what mini-notation needs);
- :mod:`~latentcode.patterns.registry`, which turns plain Python functions into words of the
  language and methods of :class:`Pattern`, and what it registers: the catalogue
  (:mod:`~latentcode.patterns.functions`, :mod:`~latentcode.patterns.more`,
  :mod:`~latentcode.patterns.slicing`, :mod:`~latentcode.patterns.echoes`,
  :mod:`~latentcode.patterns.ur`, :mod:`~latentcode.patterns.taking`,
  :mod:`~latentcode.patterns.arranging`), the signals (and
  :mod:`~latentcode.patterns.smoothing`: ``smooth``, a signal from keyframes;
  :mod:`~latentcode.patterns.along`: ``along``, a signal in each voice's own time), the controls
  and the controllers (:mod:`~latentcode.patterns.controllers`: ``cc``, ``ctrl``, ``on``),
  registered when this package is imported.

The core knows nothing of the language: the mini-notation parser is handed to it by
:mod:`latentcode.language`.
"""

from latentcode.patterns import (  # noqa: F401 - registers them
    along,
    arranging,
    controllers,
    controls,
    echoes,
    functions,
    more,
    signals,
    slicing,
    smoothing,
    taking,
    ur,
)
from latentcode.patterns.core import Event, Pattern, pure, silence
from latentcode.patterns.sequences import stack
from latentcode.patterns.time import Span

__all__ = ["Event", "Pattern", "Span", "pure", "silence", "stack"]
