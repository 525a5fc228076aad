"""Continuing, at the REPL's prompt, the statement that just ran.

In a block a statement continues on a line that starts with an operator (``# gain 0.5``). At
the prompt, Enter has already run ``t1 $ "bell"`` when the performer types ``# gain 0.5`` on
the next prompt; alone that line is no statement. It means "the last statement, continued":
the REPL evaluates the two together, and the track plays the longer statement from the next
cycle, as if it had been typed in one go. Only a line that starts with an operator does so, and
only when the two read as one statement.

>>> continued('t1 $ "bell"', "  # gain 0.5")
't1 $ "bell"\\n  # gain 0.5'
>>> continued('t1 $ "bell"', 't2 $ "pad"') is None, continued(None, "# gain 1") is None
(True, True)
"""

from __future__ import annotations

import re

# how a continuation line starts: an operator of the language (grammar/latentcode.lark's OP
# and DOLLAR), never a word, number or string
_OPERATOR_START = re.compile(r"\s*(\||[+\-*/%<>]\||[+\-*/](?=\s)|#|\$|<~|~>|\.(?!\d))")


def starts_with_operator(line: str) -> bool:
    """Whether ``line`` begins with an operator, as a continuation line does.

    >>> starts_with_operator("# gain 1"), starts_with_operator("|+ n 1"), starts_with_operator(".5")
    (True, True, False)
    """
    return _OPERATOR_START.match(line) is not None


def continued(previous: str | None, text: str) -> str | None:
    """``previous`` (the text of the statement that ran last) continued by ``text``, when
    ``text`` starts with an operator and the two parse as one statement; else None."""
    if previous is None or not starts_with_operator(text):
        return None
    joined = f"{previous}\n{text}"
    from latentcode import language

    try:
        return joined if len(language.parse(joined)) == 1 else None
    except Exception:  # noqa: BLE001 - not a continuation: evaluated alone, it shows its error
        return None


def last_statement(text: str) -> str | None:
    """The text of the last statement of an accepted block (what a continuation continues).

    >>> last_statement('tempo 1\\nt1 $ "bell"\\n  # gain 1')
    't1 $ "bell"\\n  # gain 1'
    """
    from latentcode import language

    try:
        statements = language.parse(text)
    except Exception:  # noqa: BLE001 - a block that cannot be parsed again has none
        return None
    return statements[-1].text if statements else None
