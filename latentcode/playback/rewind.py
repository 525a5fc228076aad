"""An immediate change heard at once: one track's audio that is already queued, made again.

Live, the producer decodes ahead of what is heard (the lookahead, 93 ms by default), so a
change that waited for the first sample not yet made would be heard that late. ``now t1 $ ...``
asks for a rewind instead (:meth:`Scheduler.rewind`). Between two blocks the producer's stream
calls :meth:`Scheduler.amend` with ``at``, the first sample it can still change in time, and
:func:`rewind` makes the changed track's part of the queued span again:

1. the voices of that track that start at or after ``at`` (not heard yet) are taken out, made
   again from their events and rendered alone over the span: their audio is subtracted;
2. the track's pattern, switched to the new one at ``at``, is queried from there to the end of
   what is queued; its voices start and are rendered over the span: their audio is added, and
   they then play on with the others;
3. the track's effects (filters, sends) are worked out again for each block of the span.

The stream adds the difference into its ring and posts the controls (see
:meth:`~latentcode.audio.ring.AudioRing.amend`). Voices that started before ``at`` are left
alone and ring on, as they do when a pattern changes at a cycle. A voice made again is the same
voice (same events, same noise seed), filtered as it was (its render noted the match's
groups: :class:`~latentcode.playback.matched.Groups`), so the subtraction leaves only float
rounding; what it cannot take back is what went out already (events sent to other programs)
and a fade that the voice cap or ``hush`` gave a withdrawn voice meanwhile.

A knob that moves a track's effects (filters, sends: the audio side applies them, they are not
decoded) needs less: :func:`retouch` works out those settings again for the queued blocks, and
nothing is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from latentcode.patterns.controllers import CONTROLLERS
from latentcode.playback.tracks import Track
from latentcode.playback.voice import Voice, make_voice


@dataclass
class Amendment:
    """What a rewind changes in the queued audio of one track."""

    track: int  # the track's slot
    at: int  # the first sample that changes
    start: int  # where ``audio`` begins: the start of the queued block that holds ``at``
    audio: np.ndarray | None  # (channels, n): to add to the track's samples [start, start+n)
    controls: list[tuple[int, dict[str, Any]]]  # (from sample, {control: value}) per block
    only: frozenset[str] | None = None  # the controls it replaces (None: all the track's)


def block_of(at: int, end: int, block: int) -> int:
    """The start of the queued block that holds sample ``at``, the queue's blocks of ``block``
    samples ending at ``end``.

    >>> block_of(1500, 4096, 1024), block_of(3072, 4096, 1024)
    (1024, 3072)
    """
    return end - -(-(end - at) // block) * block


def rewind(s: Any, track: Track, at: int, end: int, block: int) -> Amendment | None:
    """Make ``track``'s audio in samples [at, end) again with its latest pattern, which takes
    over at ``at``; the queued blocks of ``block`` samples end at ``end``; ``s`` is the
    :class:`~latentcode.playback.scheduler.Scheduler` (which imports this module). None when
    a voice to take out cannot be made again (its sound has gone): the change then waits for
    ``end``."""
    first = block_of(at, end, block)
    try:  # before anything changes: everything that may fail
        again = [_again(v, s) for v in s.voices.voices
                 if v.track == track.slot and v.start >= at and v.origin is not None]
    except Exception:  # noqa: BLE001 - a bank changed meanwhile: no rewind, nothing lost
        return None
    cycle_at, slots = s.clock.cycle_at, s.tracks
    ghost = s.voices.spare()
    ghost.replay = s.voices.groups  # filtered as they were, so that they cancel exactly
    for v in again:
        ghost.add(v)
    minus = np.zeros((slots, s.channels, end - first), np.float32)
    ghost.render(minus, first, cycle_at, block)
    s.voices.withdraw(track.slot, at)
    s.effects.forget(track.slot, at)

    fresh = s.voices.spare()
    controls = []
    for b in range(first, end, block):
        lo, ctl = max(b, at), {}
        s._start_voices(track, lo, b + block - lo, cycle_at(lo), cycle_at(b + block), ctl,
                        into=fresh)
        s.effects.sample(track.slot, ctl, b, b + block, cycle_at)
        controls.append((lo, ctl))
    plus = np.zeros_like(minus)
    fresh.render(plus, first, cycle_at, block)
    s.voices.adopt(fresh, fresh.carried(slots) - ghost.carried(slots))
    return Amendment(track.slot, at, first, plus[track.slot] - minus[track.slot], controls)


def _again(v: Voice, s: Any) -> Voice:
    """Voice ``v`` as it was made, before it played (see :attr:`Voice.origin`)."""
    value, duration = v.origin
    return make_voice(value, bank=s.bank, track=v.track, start=v.start, duration=duration,
                      framing=s.framing, clock=s.clock)


def retouch(s: Any, slot: int, at: int, end: int, block: int) -> Amendment:
    """The effects of track ``slot`` that voices play as signals (``# lpf (cc 74)``), worked
    out again for samples [at, end) block by block, as the producer would now: a knob moved
    and they read it from ``at`` (see :meth:`Controllers.effects`). ``s`` is the
    :class:`~latentcode.playback.scheduler.Scheduler`."""
    names = frozenset(s.effects.moving(slot))
    first = block_of(at, end, block)
    controls = []
    for b in range(first, end, block):
        with CONTROLLERS.effects(slot):
            values = s.effects.settings(slot, max(b, at), b + block, s.clock.cycle_at)
        ctl = {k: v for k, v in values.items() if k in names}
        controls.append((max(b, at), ctl))
        s.effects.sent.update(((slot, k), v) for k, v in ctl.items())
    return Amendment(slot, at, at, None, controls, names)
