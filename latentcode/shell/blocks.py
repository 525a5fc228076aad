"""Blocks: how a piece of text is cut into the units a front end evaluates.

A block ends at a blank line or at a line holding only ``;;`` (as in Tidal), so an editor can
send, and ``watch`` can re-evaluate, one block at a time. ``watch`` and ``--pipe`` evaluate
block by block; ``:load`` evaluates a whole file at once, with the ``;;`` lines read as blank.

>>> blocks('tempo 0.5\\n\\nt1 $ "a"\\n  # gain 1\\n;;\\nhush\\n\\n')
['tempo 0.5', 't1 $ "a"\\n  # gain 1', 'hush']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

SEPARATOR = ";;"


def _ends_a_block(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped == SEPARATOR


def read_blocks(lines: Iterable[str]) -> Iterator[str]:
    """Yield each block as soon as the line that ends it has been read (``--pipe`` reads
    standard input this way); lines lose their trailing space and newline.

    >>> list(read_blocks(iter(['t1 $ "a"\\n', '\\n', 'hush\\n', ';;\\n', 'tempo 1\\n'])))
    ['t1 $ "a"', 'hush', 'tempo 1']
    """
    current: list[str] = []
    for line in lines:
        if not _ends_a_block(line):
            current.append(line.rstrip())
        elif current:
            yield "\n".join(current)
            current = []
    if current:
        yield "\n".join(current)


def numbered_blocks(text: str) -> list[tuple[int, str]]:
    """The blocks of ``text``, each with the number of its first line in ``text`` (1-based),
    so that ``watch`` can name the file's own line in an error.

    >>> numbered_blocks('tempo 1\\n\\n\\nt1 $ "a"\\n  # gain 1')
    [(1, 'tempo 1'), (4, 't1 $ "a"\\n  # gain 1')]
    """
    found: list[tuple[int, str]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate([*text.splitlines(), ""], start=1):
        if not _ends_a_block(line):
            first = first if current else number
            current.append(line.rstrip())
        elif current:
            found.append((first, "\n".join(current)))
            current = []
    return found


def blocks(text: str) -> list[str]:
    """The blocks of ``text``, without the space around them."""
    return list(read_blocks(text.splitlines()))


def as_one_block(text: str) -> str:
    """``text`` with its ``;;`` lines blanked, to evaluate whole: every line keeps its number,
    so an error still points at the right line of the file.

    >>> as_one_block("tempo 1\\n;;\\nhush")
    'tempo 1\\n\\nhush'
    """
    return "\n".join("" if line.strip() == SEPARATOR else line for line in text.split("\n"))
