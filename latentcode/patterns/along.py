"""``along``: a signal read in each voice's own time, 0 at its onset and 1 at its end.

A signal such as ``saw`` is read at the cycle, so ``"bell(3,8)" # mix "drone" # alpha saw``
gives each bell whatever part of the ramp its onset falls on. ``alpha (along saw)`` gives every
bell the whole ramp over its own length: each one turns into the drone as it sounds, however
long it is and wherever it starts. ``gain (along $ smooth "0 1 0.6 0")`` is an envelope.

The voice's own time runs over the voice as it is heard (its ``legato``, ``stretch`` and
``speed`` included; with a moving ``stretch``, whose end is known only when the walk reaches
it, how far through its sound the voice has walked, or through its ``legato``, whichever ends
it) and ends on the signal's last value (``saw`` ends at 1, not back at 0); a cycle of
``smooth``'s keyframes is an envelope over the voice, its last keyframe on the voice's end, so
``along $ smooth "1 0"`` is a decay over the whole voice. It moves the controls that move
inside a voice (``alpha``, ``morph``, ``stretch``, ``noise``, ``jitter``, ``zscale``,
``bias``, ``gain``, ``pan``); any other (``speed``, a track's ``lpf`` or ``room``...) takes
its onset value. Arithmetic with numbers stays in the voice's time (``range 0.2 0.8 $ along
saw``); with a signal read at the cycle it cannot mix, so that goes inside: ``along (saw *
0.5)``.
"""

from __future__ import annotations

from latentcode.patterns.core import Pattern, signal
from latentcode.patterns.registry import register
from latentcode.patterns.sampled import Along
from latentcode.patterns.smoothing import WITHIN_CYCLE
from latentcode.patterns.time import Fraction, PatternError, to_number


@register
def along(pat: Pattern) -> Pattern:
    """Read a signal in each voice's own time: 0 at its onset, 1 at its end.

    ``"bell*2" # mix "drone" # alpha (along saw)`` turns every bell into the drone as it
    sounds; ``# gain (along $ smooth "0 1 0.6 0")`` is an envelope: 1 a third of the way in,
    0.6 two thirds in, 0 at the end (the last keyframe lands on the voice's end). An event
    carries the value at its voice's onset (so the example below); the voice reads the rest as
    it plays.

    lc> "bell*2" # alpha (along saw)  ==  "bell*2" # alpha 0
    """

    def at(t: float) -> float:
        token = WITHIN_CYCLE.set(True)  # keyframes: the voice is one cycle, with no wrap
        try:
            value = pat.sample(Fraction(t))
        finally:
            WITHIN_CYCLE.reset(token)
        if value is None:
            raise PatternError(f"along found nothing at {t:.3g} of the voice: give it a signal "
                               'or numbers with no rests, e.g. along saw, along "0 1"')
        return to_number(value)

    value = Along(at)  # the same for every voice: each binds it to its own start and length
    return signal(lambda t: value, 1)
