"""The errors latentcode shows to people.

Every error a user can cause is a :class:`LatentcodeError`: the command line and the REPL print
its message as one line (no traceback) and carry on. Language errors add where in the text the
problem is, so the REPL can draw a caret under it.
"""

from __future__ import annotations


class LatentcodeError(Exception):
    """A problem caused by input (a file, a flag, a line of code), told in one line.

    ``culprit`` is the text the user wrote that caused it (a sound name, a control), when the
    error is found below the language: the session finds it in the statement, so the caret can
    point at it rather than at the statement's start. ``after`` is a word written before it
    that the error knows (the control or function it was given to), so that a culprit which
    also appears earlier, as a sound, is found where it was given: in
    ``"drone" # gain "drone"`` the second ``drone``.

    >>> e = LatentcodeError("unknown sound 'nosuch'", culprit="nosuch")
    >>> str(e), e.culprit, e.after
    ("unknown sound 'nosuch'", 'nosuch', None)
    """

    culprit: str | None = None
    after: str | None = None

    def __init__(self, *args: object, culprit: str | None = None,
                 after: str | None = None) -> None:
        super().__init__(*args)
        if culprit is not None:
            self.culprit = culprit
            self.after = after


class LanguageError(LatentcodeError):
    """An error in latentcode code: parsing or evaluating a statement.

    ``line`` and ``column`` are 1-based (None when unknown), ``source_line`` is the text of that
    line and ``expected`` the tokens the parser would have accepted there. ``file`` names the
    file the code came from (``watch``, ``:load``); then ``line`` is the file's own line.

    >>> e = LanguageError("unexpected ')'", line=1, column=5, source_line='fast )', expected=['('])
    >>> print(e.pretty())
    line 1, column 5: unexpected ')' (expected: ()
      fast )
          ^

    >>> e.file = "piece.lc"; e.headline()
    "piece.lc, line 1, column 5: unexpected ')' (expected: ()"
    """

    file: str | None = None

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        expected: list[str] | None = None,
        culprit: str | None = None,
        after: str | None = None,
    ) -> None:
        super().__init__(message, culprit=culprit, after=after)
        self.message = message
        self.line = line
        self.column = column
        self.source_line = source_line
        self.expected = list(expected or [])

    def headline(self) -> str:
        """The one-line form: file, position, message and what was expected."""
        where = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        if self.file is not None:
            where = f"{self.file}, {where}" if where else f"{self.file}: "
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


class InternalError(LatentcodeError):
    """A bug: an exception latentcode did not expect, told in one line as one to report.

    >>> str(InternalError.of(KeyError("x")))
    "internal error: KeyError: 'x' (please report this, with the code that caused it: \
LATENTCODE_DEBUG=1 shows the traceback)"
    """

    @classmethod
    def of(cls, error: BaseException) -> InternalError:
        what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        made = cls(f"internal error: {what} (please report this, with the code that caused it: "
                   "LATENTCODE_DEBUG=1 shows the traceback)")
        made.__cause__ = error
        return made


def explain(error: BaseException) -> str:
    """One line, in the language's terms, for an exception a user's numbers can cause inside
    Python (huge, zero, not a number), else the exception's own words.

    >>> explain(ZeroDivisionError("division by zero")), explain(OverflowError("int too large"))
    ('division by zero', 'a number too large to use (int too large)')
    """
    if isinstance(error, LatentcodeError):
        return error.message if isinstance(error, LanguageError) else str(error)
    if isinstance(error, ZeroDivisionError):
        return "division by zero"
    if isinstance(error, OverflowError):
        return f"a number too large to use ({error})"
    if isinstance(error, MemoryError):
        return "too large to fit in memory: use smaller numbers"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error) or type(error).__name__


USER_CAUSED = (ZeroDivisionError, OverflowError, MemoryError, RecursionError)
"""Python exceptions that a user's numbers cause: language errors, not bugs (see explain)."""
