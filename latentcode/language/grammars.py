"""Loading the lark grammars and turning lark's exceptions into errors a performer can read.

lark reports what it expected as terminal names (``RPAR``, ``NUMBER``); people want
"')' or a number". Both grammars (mini-notation and statements) share this.
"""

from __future__ import annotations

from collections.abc import Iterable

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from latentcode.errors import LanguageError
from latentcode.resources import data_path


def load_grammar(name: str, **options: object) -> Lark:
    """The LALR parser of ``grammar/<name>`` (callers keep it: building one takes a while)."""
    return Lark((data_path("grammar") / name).read_text(encoding="utf-8"), parser="lalr",
                **options)


def describe_expected(parser: Lark, names: Iterable[str], words: dict[str, str]) -> list[str]:
    """Terminal names as words: ``words`` for regex terminals, quoted text for literal ones."""
    names = list(names)
    patterns = {t.name: t.pattern for t in parser.terminals}
    out = []
    for name in names:
        if name in words:
            described = words[name]
        elif name == "$END":
            described = "the end"
        elif name in patterns and patterns[name].type == "str":
            described = f"'{patterns[name].value}'"
        else:
            continue  # an internal terminal nobody types (e.g. a new line inside a statement)
        if described and described not in out:
            out.append(described)
    if names and set(names) <= {"NAME"}:
        return ["a name"]
    return sorted(out, key=lambda d: (d.startswith("'"), d))


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of input"
    text = str(token)
    if text.strip() == "":
        return "end of line"
    return f"'{text}'"


def _unclosed_quote(text: str, at: int) -> bool:
    """Whether the character the lexer stopped at opens a string that never closes (a string
    is one token: the lexer sees a lone '"' only when no closing one follows)."""
    return text[at:at + 1] == '"' and '"' not in text[at + 1:]


def lark_error(exc: UnexpectedInput, text: str, parser: Lark, words: dict[str, str], *,
               what: str = "", base_line: int = 1, base_column: int = 1,
               source_line: str | None = None) -> LanguageError:
    """A LanguageError for a lark exception raised while parsing ``text``.

    ``base_line``/``base_column`` place ``text`` inside a larger source (a mini-notation string
    inside a statement), so the position is that of the whole line.
    """
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    if isinstance(exc, UnexpectedCharacters) and _unclosed_quote(text, exc.pos_in_stream):
        message = "unclosed quote: end the pattern string with '\"'"
        expected = []
    elif isinstance(exc, UnexpectedCharacters):
        message = f"unexpected character '{text[exc.pos_in_stream]}'"
        expected = describe_expected(parser, exc.allowed or (), words)
    elif isinstance(exc, UnexpectedEOF) or (
            isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        message = f"unexpected end of {what}" if what else "unexpected end of input"
        what = ""
        expected = describe_expected(parser, exc.expected, words)
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    elif isinstance(exc, UnexpectedToken):
        message = f"unexpected {_describe_token(exc.token)}"
        expected = describe_expected(parser, exc.expected, words)
    else:  # pragma: no cover - lark has no other kinds today
        message = str(exc)
        expected = []
    if line is None or line < 1:
        line, column = 1, 1
    own_line = text.split("\n")[line - 1] if line - 1 < len(text.split("\n")) else ""
    if line == 1:
        column = base_column + (column or 1) - 1
        own_line = source_line if source_line is not None else own_line
    line = base_line + line - 1
    if what:
        message = f"{message} in {what}"
    return LanguageError(message, line=line, column=column,
                         source_line=own_line,
                         expected=expected)
