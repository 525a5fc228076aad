"""Syntax highlighting for the REPL: a prompt_toolkit lexer built from the language's words.

Which identifiers are keywords, functions, signals or controls comes from
:class:`~latentcode.language.vocabulary.Vocabulary` (the grammar's keywords and the function
registry), so a new library function is coloured the day it is registered. Inside mini-notation
strings, names the bank knows are coloured as sounds.

>>> lex = LatentLexer(sounds=lambda: {"bell"})
>>> [(style, text) for style, text in lex.tokens('t1 $ fast 2 "bell ~"') if text.strip()]
... # doctest: +NORMALIZE_WHITESPACE
[('class:track', 't1'), ('class:operator', '$'), ('class:function', 'fast'),
 ('class:number', '2'), ('class:string', '"'), ('class:sound', 'bell'),
 ('class:rest', '~'), ('class:string', '"')]

"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from prompt_toolkit.document import Document
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style

from latentcode.language.vocabulary import Vocabulary

Tokens = list[tuple[str, str]]

_CODE = re.compile(
    r"""(?P<comment>--.*$)
      | (?P<string>"[^"]*"?)
      | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?(?:%\d+)?)
      | (?P<word>[A-Za-z_][\w']*)
      | (?P<operator><~|~>|\|(?:\+\+|\*\*|[+\-*/<>])?\||(?:\+\+|\*\*|[+\-*/<>])\|
                     |\|(?:\+\+|\*\*|[+\-*/<>])|\+\+|\*\*|[$#.=+*/<>|-])
      | (?P<bracket>[()\[\],])
      | (?P<space>\s+)
      | (?P<other>.)""",
    re.VERBOSE,
)
_MINI = re.compile(
    r"""(?P<rest>[~]|(?<![\w.])-(?![\d.]))
      | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?)
      | (?P<word>[A-Za-z_][\w]*(?::\d+)?)
      | (?P<operator>[*/!@?%:_|,.<>{}\[\]()])
      | (?P<space>\s+)
      | (?P<other>.)""",
    re.VERBOSE,
)
_TRACK = re.compile(r"^(?:t|d)\d+$")
_CLOSED = re.compile(r'"[^"]*"|--[^\n]*')  # a closed string or a comment

STYLE = Style.from_dict({
    "keyword": "bold ansimagenta",
    "function": "ansicyan",
    "signal": "ansiblue",
    "control": "ansiyellow",
    "track": "bold",
    "number": "ansibrightmagenta",
    "string": "ansigreen",
    "sound": "bold ansigreen",
    "rest": "ansigray",
    "operator": "ansired",
    "comment": "italic ansigray",
    "bottom-toolbar": "noreverse bg:#222222 #cccccc",
    "bottom-toolbar.playing": "bold #88ff88",
    "bottom-toolbar.muted": "#888888",
    "bottom-toolbar.alert": "bold #ff6666",
})


def ends_in_string(text: str) -> bool:
    """Whether the end of ``text`` is inside a string literal (quotes in comments do not count;
    a string may span lines).

    >>> ends_in_string('t1 $ "a\\nb'), ends_in_string('t1 $ "a" -- "'), ends_in_string('"--"')
    (True, False, False)
    """
    # one regex over the whole text, in C: the completer asks on every key, and a loop over the
    # characters cost milliseconds on a long line or a pasted page. Taken left to right, closed
    # strings and comments are removed; a quote left over opens a string that never closes.
    return '"' in _CLOSED.sub("", text)


class LatentLexer(Lexer):
    """Colours latentcode line by line, knowing which lines start inside a string."""

    def __init__(
        self,
        vocabulary: Vocabulary | None = None,
        *,
        sounds: Callable[[], Collection[str]] = frozenset,
        tracks: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        self.vocabulary = vocabulary or Vocabulary.of_language()
        self.sounds = sounds
        self.tracks = tracks
        # the last document's lines and which of them start inside a string (see _starts)
        self._known: tuple[list[str], list[bool]] = ([], [False])

    def lex_document(self, document: Document) -> Callable[[int], Tokens]:
        lines = document.lines
        sounds, tracks = set(self.sounds()), set(self.tracks())

        in_string = self._starts(lines)
        done: dict[int, Tokens] = {}  # prompt_toolkit asks for a line several times a redraw

        def get_line(lineno: int) -> Tokens:
            if not 0 <= lineno < len(lines):
                return []
            if lineno not in done:
                done[lineno] = self.tokens(lines[lineno], sounds, tracks,
                                           in_string=in_string(lineno))
            return done[lineno]

        return get_line

    def _starts(self, lines: list[str]) -> Callable[[int], bool]:
        """Whether each line starts inside a string, worked out only as far as asked and kept
        for the next keystroke's document: typing at the end of a pasted page re-reads none of
        the lines before the one that changed."""
        old, states = self._known
        same = 0
        for a, b in zip(old, lines, strict=False):
            if a != b:
                break
            same += 1
        states = states[: same + 1]  # the state at the start of a line needs only the ones above
        self._known = (lines, states)

        def at(lineno: int) -> bool:
            while len(states) <= lineno:
                line = lines[len(states) - 1]
                states.append(ends_in_string(('"' if states[-1] else "") + line))
            return states[lineno]

        return at

    def tokens(self, line: str, sounds: Collection[str] | None = None,
               tracks: Collection[str] | None = None, *, in_string: bool = False) -> Tokens:
        """The (style, text) fragments of one line (``in_string``: it continues a string)."""
        sounds = set(self.sounds()) if sounds is None else sounds
        tracks = set(self.tracks()) if tracks is None else tracks
        out: Tokens = []
        if in_string:
            end = line.find('"') + 1 or len(line)
            out += self._string(line[:end], sounds, opened=True)
            line = line[end:]
        for m in _CODE.finditer(line):
            kind, text = m.lastgroup or "other", m.group()
            if kind == "string":
                out += self._string(text, sounds)
            elif kind == "word":
                out.append((self._word_style(text, tracks), text))
            elif kind in ("space", "other", "bracket"):
                out.append(("", text))
            else:
                out.append((f"class:{kind}", text))
        return out

    def _word_style(self, word: str, tracks: Collection[str]) -> str:
        kind = self.vocabulary.kind(word)
        if kind is not None:
            return f"class:{kind}"
        if word in tracks or _TRACK.match(word):
            return "class:track"
        return ""

    def _string(self, text: str, sounds: Collection[str], *, opened: bool = False) -> Tokens:
        """A mini-notation string: sounds the bank knows, rests and numbers stand out.
        ``opened``: the text continues a string from an earlier line (no opening quote)."""
        start = 0 if opened else 1
        closed = len(text) > start and text.endswith('"')
        body = text[start:-1] if closed else text[start:]
        out: Tokens = [] if opened else [("class:string", '"')]
        for m in _MINI.finditer(body):
            kind, word = m.lastgroup or "other", m.group()
            if kind == "word":
                known = word.split(":")[0] in sounds or word in sounds
                style = "class:sound" if known else "class:string"
            elif kind in ("rest", "number"):
                style = f"class:{kind}"
            else:
                style = "class:string"
            out.append((style, word))
        if closed:
            out.append(("class:string", '"'))
        return out
