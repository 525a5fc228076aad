"""What ``:tracks`` and ``:bank`` print: one line per track or group, as wide as the terminal.

A track shows its state and the statement that gave it its pattern, joined on one line (a
statement written over several lines shows whole) and cut with an ellipsis at the terminal's
width. ``:bank`` shows the groups a pattern can name (see
:func:`latentcode.model.bank.typeable`): never an internal folder name such as ``corpus-v2``.

>>> fit("  t1       playing            t1 $ fast 2 $ \\"bell*2\\"", 30)
'  t1       playing           …'
"""

from __future__ import annotations

import shutil
import textwrap
from typing import Any

from latentcode.patterns.core import silence

ELLIPSIS = "…"
SHOWN_MEMBERS = 4  # sounds of a group shown in the :bank list


def one_line(code: str) -> str:
    """A statement written over several lines, on one line: its comments left out, its runs
    of space made one.

    >>> one_line('t1 $ "bell -- x" -- a comment\\n  # gain 0.5')
    't1 $ "bell -- x" # gain 0.5'
    """
    kept = []
    for line in code.split("\n"):
        at = line.find("--")
        while at != -1 and line.count('"', 0, at) % 2:  # inside a string: not a comment
            at = line.find("--", at + 2)
        kept.append(line if at == -1 else line[:at])
    return " ".join(" ".join(kept).split())


def width() -> int:
    """The terminal's width in characters (``$COLUMNS``, else 80 when it cannot be told)."""
    return shutil.get_terminal_size((80, 24)).columns


def fit(line: str, columns: int) -> str:
    """``line`` cut to ``columns`` characters, its end shown as an ellipsis when cut."""
    if len(line) <= columns:
        return line
    return line[:max(columns - 1, 0)] + ELLIPSIS


def wrap(title: str, names: list[str], columns: int) -> str:
    """``title:`` and the names, wrapped and indented."""
    body = textwrap.fill(" ".join(names), max(columns - 4, 20), initial_indent="  ",
                         subsequent_indent="  ")
    return f"{title}:\n{body}"


def track_lines(session: Any, sources: dict[str, str], columns: int) -> list[str]:
    """One line per track: name, state (playing, silence, stopped; muted, soloed) and code."""
    lines = []
    for name, track in session.tracks.items():
        pattern = track.latest() if hasattr(track, "latest") else track.pattern
        if pattern is None:
            state, source = "stopped (hush)", ""
        elif pattern is silence:
            state, source = "silence", sources.get(name, "")
        else:
            state, source = "playing", sources.get(name, "")
        if name in session.muted:
            state += ", muted"
        if name in session.soloed:
            state += ", soloed"
        source = one_line(str(source))  # a statement of several lines, on one
        lines.append(fit(f"  {name:<8} {state:<18} {source}".rstrip(), columns - 1))
    return lines


def bank_lines(bank: Any, group: str, columns: int) -> list[str]:
    """``:bank`` (every group a user can type, with a few of its sounds) or ``:bank GROUP``
    (the sounds of one group); an unknown group is an error line."""
    groups = bank.shown_groups() if hasattr(bank, "shown_groups") else bank.groups()
    if group:
        members = groups.get(group)
        if members is None:
            return [f"error: no group {group!r}: the groups are {', '.join(groups)}"]
        title = f"{group} ({len(members)} sounds; {group}:0 .. {group}:{len(members) - 1})"
        return [wrap(title, members, columns)]
    lines = [f"{len(groups)} groups (write GROUP or GROUP:N; :bank GROUP lists one):"]
    for name, members in groups.items():
        shown = " ".join(members[:SHOWN_MEMBERS])
        more = " ..." if len(members) > SHOWN_MEMBERS else ""
        lines.append(fit(f"  {name:<14} {len(members):>4}  {shown}{more}", columns - 1))
    lines.append(textwrap.fill(
        "also: frames:N or cluster:N (clusters of single frames), sounds:N (clusters of whole "
        "sounds), prior:N (the prior)", max(columns - 1, 40), initial_indent="  ",
        subsequent_indent="    "))
    return lines
