"""Controls: pattern functions that name what a value means for the engine.

``gain 0.8`` is a pattern of ``{"gain": 0.8}``; ``#`` merges such patterns into the events of a
pattern of sounds: ``"bell*2" # stretch 8 # alpha sine`` gives events whose value is
``{"sound": "bell", "stretch": 8, "alpha": ...}``. Numbers from a continuous signal arrive as
:class:`latentcode.pattern.Sampled`, which the engine can re-sample along a long voice.
"""

from __future__ import annotations

import inspect
from typing import Any

from latentcode.library import register
from latentcode.pattern import Pattern, PatternError, Sampled, to_number

# name -> (kind, what it does). "sound" controls take names, "number" controls numbers.
CONTROLS: dict[str, tuple[str, str]] = {
    "sound": ("sound", "the sound to play: a group name of the bank, `bell:3` for its 4th"),
    "mix": ("sound", "the second sound of a latent interpolation (`alpha` moves between them)"),
    "alpha": ("number", "the interpolation position between `sound` (0) and `mix` (1)"),
    "stretch": ("number", "granular time-stretch factor of the latent trajectory (8 = 8x)"),
    "begin": ("number", "where to start within the sound, 0..1"),
    "end": ("number", "where to stop within the sound, 0..1"),
    "noise": ("number", "scale of the VAE's sampling noise: 0 = mean only, 1 = as trained"),
    "bias": ("number", "an offset added to latent dimension `dim`"),
    "scale": ("number", "a factor applied to latent dimension `dim`"),
    "dim": ("number", "which latent dimension `bias` and `scale` apply to"),
    "jitter": ("number", "random wandering of the latent trajectory"),
    "legato": ("number", "length of the sound relative to its event"),
    "gain": ("number", "loudness, 1 = unchanged"),
    "pan": ("number", "stereo position, 0 = left, 1 = right"),
    "lpf": ("number", "low-pass filter cutoff in Hz"),
    "hpf": ("number", "high-pass filter cutoff in Hz"),
    "room": ("number", "reverb amount, 0..1"),
    "delay": ("number", "delay send amount, 0..1"),
}
ALIASES = {"s": "sound"}


def _number_control(name: str) -> Any:
    def value(v: Any) -> dict:
        if isinstance(v, Sampled):
            return {name: v}
        try:
            return {name: to_number(v)}
        except PatternError:
            raise PatternError(f"{name}: needs numbers, got {v!r}") from None

    return value


def _sound_control(name: str) -> Any:
    def value(v: Any) -> dict:
        if isinstance(v, dict):
            v = v.get("sound", v)
        return {name: v if isinstance(v, str) else str(v)}

    return value


def _define(name: str, control: str, kind: str, what: str) -> None:
    make = _sound_control(control) if kind == "sound" else _number_control(control)

    def impl(pat: Pattern) -> Pattern:
        return pat.fmap(make)

    example = ('"bell" # mix "pad"  ==  "bell" # mix "pad"' if kind == "sound" and name != "s"
               and name != "sound" else
               f'{name} "bell pad"  ==  sound "bell pad"' if kind == "sound" else
               f'"bell" # {name} 0.5  ==  "bell" # {name} "0.5"')
    impl.__doc__ = f"Control: {what}.\n\nlc> {example}"
    impl.__signature__ = inspect.Signature([inspect.Parameter(
        "pat", inspect.Parameter.POSITIONAL_ONLY, annotation="Pattern")])
    globals()[name] = register(impl, name=name)


for _name, (_kind, _what) in CONTROLS.items():
    _define(_name, _name, _kind, _what)
for _alias, _target in ALIASES.items():
    _define(_alias, _target, CONTROLS[_target][0], f"short for `{_target}`")
