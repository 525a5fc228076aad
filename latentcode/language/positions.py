"""Where in a statement an error points: the token the user wrote that caused it.

Errors found below the language (an unknown sound met while a pattern is checked, a control's
value a voice refuses) know the text that caused them (their ``culprit``: ``nosuch``,
``stretch``) but not where it was written. :func:`blame` finds it in the statement's source,
so the caret sits under it; when it cannot be found the statement's start is blamed.

>>> from latentcode.language.statements import parse
>>> text = 'tempo 1\\nt1 $ "bell nosuch"'
>>> blame(text, parse(text)[1], "nosuch")
(2, 12, 't1 $ "bell nosuch"')
"""

from __future__ import annotations

import re
from typing import Any

# characters that continue a word (a name, a sound, a number): a culprit must not be part of
# a longer word, e.g. ``bell`` is not found inside ``bell_00`` or ``bells``
_WORD = r"A-Za-z0-9_'"


def find_token(text: str, culprit: str, start: int = 0) -> int | None:
    """The offset of the first whole-word occurrence of ``culprit`` in ``text`` from ``start``
    on, or None; a sound ``group:index`` not written as such is looked for as its ``group``.

    >>> find_token('"bell_00 bell nosuch:3"', "nosuch:3"), find_token('"bells"', "bell")
    (14, None)
    """
    for candidate in dict.fromkeys((culprit, culprit.partition(":")[0])):
        if not candidate.strip():
            continue
        pattern = re.compile(rf"(?<![{_WORD}]){re.escape(candidate)}(?![{_WORD}])")
        found = pattern.search(text, start)
        if found is not None:
            return found.start()
    return None


def find_culprit(text: str, culprit: str, after: str | None = None, start: int = 0) -> int | None:
    """:func:`find_token` from ``start`` on, but after the word ``after`` (the control or
    function the culprit was given to) where the culprit is written after it.

    >>> find_culprit('"drone" # gain "drone"', "drone", "gain"), find_culprit('"x"', "x", "gain")
    (16, 1)
    """
    given = find_token(text, after, start) if after else None
    if given is not None:
        found = find_token(text, culprit, given + len(after))
        if found is not None:
            return found
    return find_token(text, culprit, start)


def blame(text: str, statement: Any, culprit: str | None = None,
          after: str | None = None) -> tuple[int, int, str | None]:
    """(line, column, source line) of ``culprit`` inside ``statement`` (which ``text`` holds),
    both 1-based, or of the statement's start when there is no culprit or it is not found.
    With ``after`` (the control or function it was given to), the first ``culprit`` after
    that word, where there is one.

    >>> from latentcode.language.statements import parse
    >>> text = 't1 $ "drone" # gain "<1 drone>"'
    >>> blame(text, parse(text)[0], "drone")[1], blame(text, parse(text)[0], "drone", "gain")[1]
    (7, 25)
    """
    lines = text.split("\n")
    line, column = statement.line or 1, statement.column or 1
    offset = find_culprit(statement.text, culprit, after) if culprit and statement.text else None
    if offset is not None:
        before = statement.text[:offset]
        breaks = before.count("\n")
        column = column + offset if breaks == 0 else offset - before.rfind("\n")
        line += breaks
    source = lines[line - 1] if 0 < line <= len(lines) else None
    return line, column, source
