"""The short line each front end says after a statement was accepted: what changed, and when.

The REPL, ``--pipe`` and ``watch`` all say it (through :class:`~latentcode.shell.frontends.
Evaluator`), one line per statement, read from the session before and after the block ran:

- ``t1: new pattern from cycle 12 (in 1.4 s)`` (live: the cycle it waits for, and how long
  that is from what is heard now), ``t1: new pattern now``, ``t1: silence from cycle 12 ...``,
- ``tempo 0.5 cps (120 bpm)``, ``hush: every track stops``, ``t2: muted``,
- ``bank "sounds": 4 sounds in groups bell, drone, pad``, ``use rhythms: defined pulse, ...``.

A statement this module does not name still gets a line: a change to a track says its first
word and when it starts (``t1: xfadeIn 4 from cycle 12 (in 1.4 s)``), anything else ``ok:`` and
its text.

>>> from latentcode.language import parse
>>> class S:
...     tracks, env, cps, live_scheduler, engine, bank = {}, {}, 0.5, None, None, None
>>> confirmations(S(), parse("tempo 1\\nhush\\nmute t2"), snapshot(S()))
['tempo 1 cps (240 bpm)', 'hush: every track stops', 't2: muted']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from latentcode.patterns.time import Fraction
from latentcode.shell.listings import one_line

SHOWN = 60  # characters of a statement's text in a generic line
NAMES_SHOWN = 8  # names listed before "and N more"


@dataclass
class Before:
    """What a block may change, as it was before the block ran."""

    env: dict[str, Any] = field(default_factory=dict)
    additions: int = 0  # how many folders the bank had been given


def snapshot(session: Any) -> Before:
    """The session's state that :func:`confirmations` compares with (never raises)."""
    bank = getattr(session, "bank", None)
    return Before(dict(getattr(session, "env", None) or {}),
                  len(getattr(bank, "additions", ()) or ()))


def confirmations(session: Any, statements: list[Any], before: Before) -> list[str]:
    """One line per statement, saying what it changed (see the module's docstring)."""
    additions = list(getattr(getattr(session, "bank", None), "additions", ()) or ())
    added = iter(additions[before.additions:])
    defined = _defined(session, statements, before)
    lines = []
    for st in statements:
        kind = type(st).__name__
        if kind == "Play":
            lines.append(_play(session, st))
        elif kind == "Bank":
            lines.append(_bank(st, next(added, None)))
        elif kind == "Use":
            lines.append(f"use {st.name}: " + (f"defined {_names(defined)}" if defined
                                                else "nothing new defined"))
        elif kind in _SIMPLE:
            lines.append(_SIMPLE[kind](st))
        elif isinstance(getattr(st, "track", None), str):  # another change to a track
            lines.append(_track_change(session, st))
        else:  # a statement added since: its own text says what it was
            text = one_line(st.text) or kind.lower()
            lines.append(f"ok: {_short(text)}")
    return lines


_SIMPLE = {
    "Let": lambda st: f"{st.name}: defined",
    "Tempo": lambda st: f"tempo {st.cps:.4g} cps ({st.cps * 240:.4g} bpm)",
    "Hush": lambda st: "hush: every track stops",
    "Panic": lambda st: "panic: silence now",
    "Solo": lambda st: f"{st.track}: soloed",
    "Unsolo": lambda st: "unsolo: every track sounds",
    "Mute": lambda st: f"{st.track}: muted",
    "Unmute": lambda st: f"{st.track}: unmuted",
    "Quant": lambda st: ("quant 0: new patterns start at once" if not st.cycles else
                         f"quant {float(st.cycles):g}: new patterns start on the next "
                         f"multiple of {float(st.cycles):g} cycle{'s' if st.cycles != 1 else ''}"),
    "Once": lambda st: "once: one cycle of it, now",
    "ResetCycles": lambda st: "resetCycles: the next moment is cycle 0",
}


def _play(session: Any, st: Any) -> str:
    track = getattr(session, "tracks", {}).get(st.track)
    pending = getattr(track, "pending", None)
    silent = type(st.expr).__name__ == "Name" and getattr(st.expr, "name", "") == "silence"
    what = "silence" if silent else "new pattern"
    xfade = getattr(st, "xfade", None)
    if xfade and not silent:
        what = f"morphs into the new pattern over {xfade:g} cycles"
    return f"{st.track}: {what}{_start(session, pending, st.now)}"


def _track_change(session: Any, st: Any) -> str:
    """A statement of a kind this module does not name that changes a track (a transition):
    its first word and number of cycles as written, and when it starts."""
    word = (st.text.split() or [type(st).__name__.lower()])[0]
    cycles = getattr(st, "cycles", None)
    count = f" {float(cycles):g}" if isinstance(cycles, int | float | Fraction) else ""
    pending = getattr(getattr(session, "tracks", {}).get(st.track), "pending", None)
    return f"{st.track}: {word}{count}{_start(session, pending, False)}"


def _start(session: Any, pending: Any, now: bool) -> str:
    """`` now``, `` from cycle 12 (in 1.4 s)`` or nothing (no clock runs: no audio)."""
    at = pending[1] if isinstance(pending, tuple) and len(pending) > 1 else None
    if now or at is None:
        return " now" if now or getattr(session, "live_scheduler", None) is not None else ""
    return f" {_when(session, at)}"


def _when(session: Any, at: Fraction) -> str:
    """``from cycle 12 (in 1.4 s)``: the cycle a change waits for and how long that is from
    what is being heard."""
    live = session.live_scheduler
    cycle = f"from cycle {int(at)}" if at == int(at) else f"from cycle {float(at):.2f}"
    try:
        heard = getattr(getattr(session.engine, "stats", None), "position", None)
        heard = live.position if heard is None else heard
        seconds = (live.clock.sample_at(at) - heard) / live.clock.sample_rate
    except (AttributeError, TypeError, ZeroDivisionError):
        return cycle
    return f"{cycle} (in {max(seconds, 0.0):.1f} s)"


def _bank(st: Any, addition: Any) -> str:
    if addition is None:
        return f'bank "{st.path}": added'
    count = len(addition.names)
    sounds = f"{count} sound{'s' if count != 1 else ''}"
    groups = f" in groups {_names(list(addition.groups))}" if addition.groups else ""
    odd = list(getattr(addition, "untypeable", ()))
    if odd:  # a pattern string cannot hold their names: say how to reach them
        folder = addition.folder.name
        where = f" (write {folder}:N)" if folder in addition.groups else ""
        groups += f"; {_names(odd)} only by index{where}: rename to letters, digits and _"
    return f'bank "{st.path}": {sounds}{groups}'


def _defined(session: Any, statements: list[Any], before: Before) -> list[str]:
    """The names a ``use`` defined: new or changed in the session, less the block's lets."""
    lets = {st.name for st in statements if type(st).__name__ == "Let"}
    env = getattr(session, "env", None) or {}
    return sorted(n for n, v in env.items() if n not in lets and before.env.get(n) is not v)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."
