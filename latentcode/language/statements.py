"""Statements: ``grammar/latentcode.lark`` and a Transformer that turns text into statements.

Text becomes statements (:func:`parse`, pure: an error changes nothing); their expressions are
trees of :class:`Node` that :mod:`latentcode.language.evaluation` turns into patterns::

    >>> [type(s).__name__ for s in parse('tempo 0.5\\nt1 $ "bell*2" # stretch 4\\nhush')]
    ['Tempo', 'Play', 'Hush']

Operators, tightest first: application, ``.`` (composition, right), ``* /``, ``+ -``,
``<~ ~>``, ``#`` and the ``|+ +| |+|`` family (left), ``$`` (right). A binary minus needs a
space after it (``-1`` is a number).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, VisitError

from latentcode.errors import LanguageError, LatentcodeError
from latentcode.language.grammars import lark_error, load_grammar
from latentcode.language.mininotation import mini
from latentcode.language.nodes import App, BinOp, ListOf, Name, Node, Num, Section, Str, TupleOf
from latentcode.patterns.operators import MERGE_OPERATORS, fold
from latentcode.patterns.time import Fraction, read_fraction
from latentcode.patterns.transitions import TRANSITIONS

MIN_CPS, MAX_CPS = 0.001, 100  # the tempos a statement may set (cycles per second)
MAX_QUANT = MAX_TRANSITION = 1024  # cycles: more is a typo, and would wait for hours
KEYWORDS = ("let", "tempo", "bpm", "hush", "panic", "silence", "solo", "unsolo", "mute",
            "unmute", "bank", "use", "now", "xfade", "setcps", "setbpm", "resetCycles", "quant",
            "once", *TRANSITIONS)
OPERATORS = ("$", ".", "<~", "~>", "+", "-", "*", "/", *MERGE_OPERATORS)

_WORDS = {"NUMBER": "a number", "STRING": "a pattern string", "NAME": "a function name",
          "OP": "an operator", "DOLLAR": "'$'"}

# ---------------------------------------------------------------------------------------------
# statements


@dataclass(frozen=True)
class Statement:
    """A statement, with where it starts (1-based) and its source text."""

    line: int = field(default=0, kw_only=True)
    column: int = field(default=0, kw_only=True)
    text: str = field(default="", kw_only=True)


@dataclass(frozen=True)
class Play(Statement):
    """``t1 $ expr`` (or ``t1 silence``); ``now`` makes it take effect at once, ``xfade 4``
    morphs from the old pattern's sounds to the new one's in latent space over 4 cycles."""

    track: str
    expr: Node
    now: bool = False
    xfade: float | None = None


@dataclass(frozen=True)
class Let(Statement):
    """``let NAME = expr``: a name for a pattern or a function, for the statements after it
    (``let groove = "bell*2 ~ pad"``)."""

    name: str
    expr: Node


@dataclass(frozen=True)
class Tempo(Statement):
    """Cycles per second (``bpm X`` arrives as ``Tempo(X / 240)``)."""

    cps: float


@dataclass(frozen=True)
class ResetCycles(Statement):
    """``resetCycles``: the next block the producer makes is cycle 0."""


@dataclass(frozen=True)
class Quant(Statement):
    """``quant Q``: new patterns start at the next multiple of ``Q`` cycles (0: at once)."""

    cycles: Fraction


@dataclass(frozen=True)
class Once(Statement):
    """``once $ expr``: cycle 0 of the pattern, once, from the first sample not yet made."""

    expr: Node


@dataclass(frozen=True)
class Transition(Statement):
    """``xfadeIn t1 4 $ expr`` and Tidal's other transitions: ``kind`` is the word (a key of
    :data:`~latentcode.patterns.transitions.TRANSITIONS`), ``cycles`` its length."""

    kind: str
    track: str
    expr: Node
    cycles: Fraction


@dataclass(frozen=True)
class Hush(Statement):
    """``hush``: every track's pattern stops; voices still sounding fade out."""


@dataclass(frozen=True)
class Panic(Statement):
    """``panic``: silence now (hush, every voice dropped, the engine faded out)."""


@dataclass(frozen=True)
class Solo(Statement):
    """``solo t2``: only soloed tracks are heard."""

    track: str


@dataclass(frozen=True)
class Unsolo(Statement):
    """``unsolo``: every track is heard again."""


@dataclass(frozen=True)
class Mute(Statement):
    """``mute t3``: the track's new sounds are silent; its pattern keeps time."""

    track: str


@dataclass(frozen=True)
class Unmute(Statement):
    """``unmute t3``: the track sounds again (also after the circuit breaker muted it)."""

    track: str


@dataclass(frozen=True)
class Bank(Statement):
    """``bank "~/sounds"``: the audio files of a folder become sounds (``path`` without the
    quotes; relative to the piece's folder)."""

    path: str


@dataclass(frozen=True)
class Use(Statement):
    """``use rhythms``: the ``let`` names of a library of patterns (``library/NAME.lc``)."""

    name: str


# ---------------------------------------------------------------------------------------------
# parsing

_PRECEDENCE = {"$": (0, "right"), "<~": (5, "left"), "~>": (5, "left"), "+": (6, "left"),
               "-": (6, "left"), "*": (7, "left"), "/": (7, "left"), ".": (9, "right")}
_MERGE = (1, "left")


def _precedence(op: str) -> tuple[int, str]:
    return _PRECEDENCE.get(op, _MERGE)


class _Continuations:
    """Post-lexer: a new line ends a statement unless inside brackets, after an operator, or
    before a line that starts with an operator (``# gain 1``)."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        pending: Token | None = None
        prev: Token | None = None
        for tok in stream:
            if tok.type == "_NL":
                if prev is not None and depth == 0 and prev.type not in ("OP", "DOLLAR",
                                                                         "EQUAL"):
                    pending = pending or tok
                continue
            if pending is not None and tok.type not in ("OP", "DOLLAR"):
                yield pending
            pending = None
            if tok.type in ("LPAR", "LSQB"):
                depth += 1
            elif tok.type in ("RPAR", "RSQB") and depth:
                depth -= 1
            prev = tok
            yield tok


@functools.cache
def _parser() -> Any:
    return load_grammar("latentcode.lark", lexer="basic", postlex=_Continuations(),
                        propagate_positions=True, maybe_placeholders=True,
                        start=["start", "expression"])


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _const(node: Node) -> int | float | Fraction | None:
    """The value of a node made only of numbers and arithmetic, else None (``tempo 1/3``)."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, BinOp) and node.op in "+-*/" and len(node.op) == 1:
        a, b = _const(node.left), _const(node.right)
        if a is not None and b is not None:
            return fold(node.op, a, b)  # exact, and 1/0 is an error
    return None


@v_args(meta=True)
class _Builder(Transformer):
    """Parse tree -> statements with expression trees."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.lines = text.split("\n")

    def _at(self, tok: Token) -> dict:
        return {"line": tok.line, "column": tok.column, "source": self.lines[tok.line - 1]}

    def _stmt(self, meta: Any) -> dict:
        return {"line": meta.line, "column": meta.column,
                "text": self.text[meta.start_pos:meta.end_pos]}

    # -- expressions ---------------------------------------------------------------------------

    def number(self, meta: Any, children: list) -> Num:
        tok = children[0]
        return Num(_number(str(tok)), **self._at(tok))

    def string(self, meta: Any, children: list) -> Str:
        tok = children[0]
        text = str(tok)[1:-1]
        # Parse now so that an error in the string is a parse error, at its place in the line.
        try:
            mini(text, tok.line, tok.column + 1)
        except LanguageError as exc:
            if exc.line == tok.line:
                exc.source_line = self.lines[tok.line - 1]
            raise
        return Str(text, **self._at(tok))

    def name(self, meta: Any, children: list) -> Name:
        tok = children[0]
        return Name(str(tok), **self._at(tok))

    def paren(self, meta: Any, children: list) -> Node:
        return children[1]

    def right_section(self, meta: Any, children: list) -> Section:
        _, op, expr, _ = children
        return Section(str(op), None, expr, **self._at(op))

    def left_section(self, meta: Any, children: list) -> Section:
        lpar, chain, op, _ = children
        return Section(str(op), self._resolve(chain), None, **self._at(lpar))

    def tuple(self, meta: Any, children: list) -> TupleOf:
        items = [c for c in children if isinstance(c, Node)]
        return TupleOf(tuple(items), **self._at(children[0]))

    def list(self, meta: Any, children: list) -> ListOf:
        items = [c for c in children if isinstance(c, Node)]
        return ListOf(tuple(items), **self._at(children[0]))

    def operand(self, meta: Any, children: list) -> Node:
        if len(children) == 1:
            return children[0]
        head = children[0]
        return App(head, tuple(children[1:]), line=head.line, column=head.column,
                   source=head.source)

    def chain(self, meta: Any, children: list) -> list:
        if len(children) == 1:
            return [children[0]]
        return [*children[0], children[1], children[2]]

    def expr(self, meta: Any, children: list) -> Node:
        return self._resolve(children[0])

    def _resolve(self, chain: list) -> Node:
        """Operator precedence over a flat [operand, op, operand, ...] list."""
        pos = 0

        def parse(min_prec: int) -> Node:
            nonlocal pos
            left = chain[pos]
            pos += 1
            while pos < len(chain):
                op = chain[pos]
                prec, assoc = _precedence(str(op))
                if prec < min_prec:
                    break
                pos += 1
                right = parse(prec + 1 if assoc == "left" else prec)
                left = BinOp(str(op), left, right, **self._at(op))
            return left

        return parse(0)

    # -- statements ----------------------------------------------------------------------------

    def start(self, meta: Any, children: list) -> list:
        return [c for c in children if isinstance(c, Statement)]

    def expression(self, meta: Any, children: list) -> Node:
        return children[0]

    def play(self, meta: Any, children: list) -> Play:
        now, _, cycles, track, _, expr = children
        xfade = float(cycles) if cycles is not None else None
        return Play(str(track), expr, now is not None, xfade, **self._stmt(meta))

    def play_silence(self, meta: Any, children: list) -> Play:
        now, track, tok = children
        return Play(str(track), Name("silence", **self._at(tok)), now is not None,
                    **self._stmt(meta))

    def let(self, meta: Any, children: list) -> Let:
        return Let(str(children[0]), children[1], **self._stmt(meta))

    def _cps(self, meta: Any, node: Node, word: str) -> float:
        # bounded: below 0.001 cps the clock's exact fraction rounds to 0 and kills the
        # source; far above 100 one block spans thousands of cycles and never ends
        value = _const(node)
        scale = 240 if word in ("bpm", "setbpm") else 1  # bpm 120 is tempo 0.5
        low, high = MIN_CPS * scale, MAX_CPS * scale
        if value is None or not low <= value <= high:
            raise LanguageError(f"{word} needs a number from {low:g} to {high:g}",
                                line=meta.line, column=node.column or meta.column,
                                source_line=self.lines[meta.line - 1])
        return float(value)

    def tempo(self, meta: Any, children: list) -> Tempo:
        return Tempo(self._cps(meta, children[0], "tempo"), **self._stmt(meta))

    def bpm(self, meta: Any, children: list) -> Tempo:
        return Tempo(self._cps(meta, children[0], "bpm") / 240, **self._stmt(meta))

    def setcps(self, meta: Any, children: list) -> Tempo:
        return Tempo(self._cps(meta, children[0], "setcps"), **self._stmt(meta))

    def setbpm(self, meta: Any, children: list) -> Tempo:
        return Tempo(self._cps(meta, children[0], "setbpm") / 240, **self._stmt(meta))

    def reset_cycles(self, meta: Any, children: list) -> ResetCycles:
        return ResetCycles(**self._stmt(meta))

    def quant(self, meta: Any, children: list) -> Quant:
        node = children[0]
        value = _const(node)
        if value is None or not 0 <= value <= MAX_QUANT:
            raise LanguageError(f"quant needs a number of cycles from 0 to {MAX_QUANT}: 1 = the "
                                "next cycle, 0.25 = the next beat, 0 = at once",
                                line=meta.line, column=node.column or meta.column,
                                source_line=self.lines[meta.line - 1])
        return Quant(Fraction(value).limit_denominator(1_000_000), **self._stmt(meta))

    def once(self, meta: Any, children: list) -> Once:
        return Once(children[1], **self._stmt(meta))

    def transition(self, meta: Any, children: list) -> Transition:
        word, track, *rest = children
        kind = str(word)
        cycles = TRANSITIONS[kind][1]
        if cycles is None:
            tok = rest[0]
            value = read_fraction(str(tok)).limit_denominator(1_000_000)
            low = 0 if kind in ("jumpIn", "jumpIn'") else Fraction(1, 1_000_000)
            if not low <= value <= MAX_TRANSITION:
                least = "from 0" if low == 0 else "more than 0 and"
                raise LanguageError(f"{kind} needs a number of cycles {least} up to "
                                    f"{MAX_TRANSITION}, e.g. {kind} {track} 4 $ ...",
                                    line=tok.line, column=tok.column,
                                    source_line=self.lines[tok.line - 1])
            cycles = value
        return Transition(kind, str(track), rest[-1], cycles, **self._stmt(meta))

    def hush(self, meta: Any, children: list) -> Hush:
        return Hush(**self._stmt(meta))

    def panic(self, meta: Any, children: list) -> Panic:
        return Panic(**self._stmt(meta))

    def solo(self, meta: Any, children: list) -> Solo:
        return Solo(str(children[0]), **self._stmt(meta))

    def unsolo(self, meta: Any, children: list) -> Unsolo:
        return Unsolo(**self._stmt(meta))

    def mute(self, meta: Any, children: list) -> Mute:
        return Mute(str(children[0]), **self._stmt(meta))

    def unmute(self, meta: Any, children: list) -> Unmute:
        return Unmute(str(children[0]), **self._stmt(meta))

    def bank(self, meta: Any, children: list) -> Bank:
        return Bank(str(children[0])[1:-1], **self._stmt(meta))

    def use(self, meta: Any, children: list) -> Use:
        name = str(children[0])
        return Use(name[1:-1] if name.startswith('"') else name, **self._stmt(meta))


def checked_tempo(cps: Any) -> Any:
    """``cps`` when it is a tempo the clock can keep (see :data:`MIN_CPS`), else one line.

    >>> checked_tempo(0.5), checked_tempo(1e-7)
    Traceback (most recent call last):
    ...
    latentcode.errors.LatentcodeError: tempo needs a number from 0.001 to 100 cycles per \
second, got 1e-07
    """
    try:
        ok = MIN_CPS <= cps <= MAX_CPS
    except TypeError:
        ok = False
    if not ok:
        raise LatentcodeError(f"tempo needs a number from {MIN_CPS:g} to {MAX_CPS:g} cycles "
                              f"per second, got {cps!r}"[:160])
    return cps


def _parse(text: str, start: str) -> Any:
    parser = _parser()
    try:
        tree = parser.parse(text, start=start)
    except UnexpectedInput as exc:
        words = dict(_WORDS)
        if "LET" in getattr(exc, "expected", ()) or "LET" in (getattr(exc, "allowed", ()) or ()):
            words["NAME"] = "a track name"
        raise lark_error(exc, text, parser, words) from None
    try:
        return _Builder(text).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, LanguageError):
            raise exc.orig_exc from None
        raise
    except RecursionError:
        raise LanguageError("nested too deeply", line=1, column=1) from None


def parse(text: str) -> list[Statement]:
    """The statements of a block of text. Raises LanguageError (naming line and column).

    >>> parse("bpm 120")
    [Tempo(line=1, column=1, text='bpm 120', cps=0.5)]
    """
    return _parse(text, "start")


def parse_expression(text: str) -> Node:
    """One expression, e.g. ``fast 2 $ "a b"``."""
    return _parse(text, "expression")


def is_complete(text: str) -> bool:
    """Whether ``text`` is a whole block, or needs more lines (open bracket or quote, or a
    trailing operator). A block with an error is complete: submitting it shows the error.

    >>> is_complete('t1 $ "a b"'), is_complete('t1 $ (fast 2'), is_complete('t1 $')
    (True, False, False)
    """
    try:
        _parser().parse(text, start="start")
    except UnexpectedCharacters as exc:
        return text[exc.pos_in_stream] != '"'
    except UnexpectedInput as exc:
        token = getattr(exc, "token", None)
        return token is not None and token.type != "$END"
    return True
