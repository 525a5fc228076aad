"""Control functions: one pattern function per row of :data:`latentcode.controls.CONTROLS`.

``gain 0.8`` is a pattern of ``{"gain": 0.8}``; ``#`` merges such patterns into the events of a
pattern of sounds: ``"bell*2" # stretch 8 # alpha sine`` gives events whose value is
``{"sound": "bell", "stretch": 8, "alpha": ...}``. Numbers from a continuous signal arrive as
:class:`~latentcode.patterns.core.Sampled`, which a voice can re-sample along its length.

>>> from latentcode.patterns.core import pure
>>> gain(pure(0.8)).query(0, 1)[0].value
{'gain': 0.8}
"""

from __future__ import annotations

import inspect
from typing import Any

from latentcode.controls import CONTROLS, Control
from latentcode.patterns.core import Pattern, Sampled
from latentcode.patterns.registry import register
from latentcode.patterns.time import PatternError, to_number


def _number_control(name: str) -> Any:
    def value(v: Any) -> dict:
        if isinstance(v, Sampled):
            return {name: v}
        if isinstance(v, str):
            # a word where a number is wanted: not even Tidal's ratio shorthands (``h`` = 0.5
            # is for times, ``fast "h"``), since ``# stretch "x"`` is a slip, not a sixth
            try:
                return {name: float(v)}
            except ValueError:
                raise PatternError(f"{name} needs a number, got the word {v!r}: e.g. "
                                   f"# {name} 2, or # {name} \"1 2\"",
                                   culprit=v, after=name) from None
        try:
            return {name: to_number(v)}
        except PatternError:
            raise PatternError(f"{name} needs a number, got {v!r}: e.g. # {name} 2",
                               culprit=v if isinstance(v, str) else None, after=name) from None

    return value


def _sound_control(name: str) -> Any:
    def value(v: Any) -> dict:
        if isinstance(v, dict):
            v = v.get("sound", v)
        if not isinstance(v, str):
            raise PatternError(f"{name} needs a sound's name, got the number {v!r}: e.g. "
                               f"{'# ' if name != 'sound' else ''}{name} \"bell:3\""
                               f"{' (n picks by number: # n 3)' if name == 'sound' else ''}")
        return {name: v}

    return value


def _define(word: str, control: Control) -> None:
    """Register the pattern function ``word`` (the control's name or an alias)."""
    make = (_sound_control if control.kind == "sound" else _number_control)(control.name)

    def impl(pat: Pattern) -> Pattern:
        return pat.fmap(make)

    if control.kind == "number":
        example = f'"bell" # {word} 0.5  ==  "bell" # {word} "0.5"'
    elif control.name == "sound":
        example = f'{word} "bell pad"  ==  sound "bell pad"'
    else:
        example = f'"bell" # {word} "pad"  ==  "bell" # {word} "pad"'
    what = control.doc if word == control.name else f"short for `{control.name}`"
    impl.__doc__ = f"Control: {what}.\n\nlc> {example}"
    impl.__signature__ = inspect.Signature([inspect.Parameter(
        "pat", inspect.Parameter.POSITIONAL_ONLY, annotation="Pattern")])
    globals()[word] = register(impl, name=word)


for _control in CONTROLS.values():
    for _word in (_control.name, *_control.aliases):
        _define(_word, _control)
