"""The language: text becomes statements, expressions become patterns.

:mod:`~latentcode.language.mininotation` parses mini-notation strings,
:mod:`~latentcode.language.statements` the statements around them,
:mod:`~latentcode.language.evaluation` turns expressions into patterns.
:mod:`~latentcode.language.vocabulary` and :mod:`~latentcode.language.reference` describe every
word for the tools and the docs.

>>> [type(s).__name__ for s in parse('t1 $ "bell*2" # gain 0.8')]
['Play']

"""

from latentcode.language.evaluation import evaluate
from latentcode.language.mininotation import mini
from latentcode.language.statements import (
    KEYWORDS,
    Bank,
    Hush,
    Let,
    Mute,
    Node,
    Once,
    Panic,
    Play,
    Quant,
    ResetCycles,
    Solo,
    Statement,
    Tempo,
    Transition,
    Unmute,
    Unsolo,
    Use,
    is_complete,
    parse,
    parse_expression,
)

__all__ = ["KEYWORDS", "Bank", "Hush", "Let", "Mute", "Node", "Once", "Panic", "Play", "Quant",
           "ResetCycles", "Solo", "Statement", "Tempo", "Transition", "Unmute", "Unsolo", "Use",
           "evaluate", "is_complete", "mini", "parse", "parse_expression"]
