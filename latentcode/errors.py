"""The errors latentcode shows to people.

Every error a user can cause is a :class:`LatentcodeError`: the command line and the REPL print
its message as one line (no traceback) and carry on. Language errors add where in the text the
problem is, so the REPL can draw a caret under it.
"""

from __future__ import annotations


class LatentcodeError(Exception):
    """A problem caused by input (a file, a flag, a line of code), told in one line.

    >>> str(LatentcodeError("no audio files in 'x/': give a folder with .wav or .flac files"))
    "no audio files in 'x/': give a folder with .wav or .flac files"
    """


class LanguageError(LatentcodeError):
    """An error in latentcode code: parsing or evaluating a statement.

    ``line`` and ``column`` are 1-based (None when unknown), ``source_line`` is the text of that
    line and ``expected`` the tokens the parser would have accepted there.

    >>> e = LanguageError("unexpected ')'", line=1, column=5, source_line='fast )', expected=['('])
    >>> print(e.pretty())
    line 1, column 5: unexpected ')' (expected: ()
      fast )
          ^
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        expected: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        self.expected = list(expected or [])

    def headline(self) -> str:
        """The one-line form: position, message and what was expected."""
        where = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        exp = f" (expected: {', '.join(self.expected)})" if self.expected else ""
        return f"{where}{self.message}{exp}"

    def pretty(self) -> str:
        """The headline, then the offending line with a caret under the column."""
        text = self.headline()
        if self.source_line is not None and self.column is not None:
            text += f"\n  {self.source_line}\n  {' ' * (self.column - 1)}^"
        return text

    def __str__(self) -> str:
        return self.headline()
