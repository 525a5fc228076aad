"""Mini-notation: Tidal's pattern strings, parsed by ``grammar/mini.lark``.

>>> [e.value for e in mini("bd*2 [sd sd] <hh cp>").query(0, 1)]
['bd', 'bd', 'sd', 'sd', 'hh']

Words are ``str`` (``bell:3`` stays the string "bell:3"; the bank resolves it); numbers are
``int`` when written as an integer, ``float`` otherwise. Each event keeps the (line, column,
end column) of the atoms that made it. Every ``?`` and ``|`` has its own seed, numbered in order
of appearance, so two of them in one string make independent choices. A string is parsed once:
patterns are cached.

Importing this module hands :func:`mini` to the pattern core
(:func:`~latentcode.patterns.core.set_string_parser`), so strings given where a pattern is
wanted (``fast(2, "a b")``) are read as mini-notation.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Any

from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from latentcode.errors import LanguageError, explain
from latentcode.language.grammars import lark_error, load_grammar
from latentcode.patterns.budget import check_count
from latentcode.patterns.core import Pattern, pure, set_string_parser, silence
from latentcode.patterns.primitives import euclid, fast, slow
from latentcode.patterns.sequences import choose_cycle, stack, weighted_cat
from latentcode.patterns.time import (
    SHORTHANDS,
    Fraction,
    PatternError,
    read_fraction,
    to_number,
    to_time,
)

_WORDS = {
    "NUMBER": "a number", "WORD": "a word", "REST": "'~'", "REPLICATE": "'!' and a count",
    "DEGRADE": "'?'",
}


def parse_number(text: str) -> tuple[int | float, Fraction]:
    """A mini-notation number as (value, exact Fraction).

    >>> parse_number("3h"), parse_number("1%3t")[1], parse_number("-2")
    ((1.5, Fraction(3, 2)), Fraction(1, 9), (-2, Fraction(-2, 1)))
    """
    body, factor = text, Fraction(1)
    if body[-1] in SHORTHANDS:
        body, factor = body[:-1], SHORTHANDS[body[-1]]
    if body in ("", "-"):
        body += "1"
    num, _, den = body.partition("%")
    exact = read_fraction(num) * factor
    if den:
        divisor = read_fraction(den)
        if divisor == 0:
            raise ValueError(f"division by zero in '{text}'")
        exact /= divisor
    value = int(exact) if re.fullmatch(r"-?\d+", text) else float(exact)
    return value, exact


@dataclass
class Step:
    """One step of a sequence: a pattern, its weight and its ``?`` degradations."""

    pattern: Pattern
    weight: Fraction = Fraction(1)
    filters: tuple[tuple[int, float], ...] = ()
    constant: Any = None  # the number, when the step is a plain number (for patterned args)
    # The first word below this step that is not a number. A step used as a patterned number
    # (``a/[2 3]``, ``a(3,<8 5>)``, ``{a b}%[4 3]``) must have none: found here, the mistake is
    # refused at eval like ``a/b`` instead of failing each time a cycle is played.
    word: str | None = None


@dataclass
class Layers:
    """Sequences separated by ``,`` (played together) or ``|`` (one chosen per cycle)."""

    sequences: list[list[Step]]
    choice_seed: int | None = None


def _first_word(steps: list[Step]) -> str | None:
    return next((s.word for s in steps if s.word is not None), None)


def _layers_word(layers: Layers) -> str | None:
    return next((w for seq in layers.sequences if (w := _first_word(seq)) is not None), None)


def _numbers(steps: list[Step], what: str) -> None:
    """Refuse a patterned number argument that could give a word (``what`` names its use)."""
    word = _first_word(steps)
    if word is not None:
        raise PatternError(f"{what} needs a number, got {word!r}", culprit=word)


def _weight(steps: list[Step]) -> Fraction:
    return sum((s.weight for s in steps), Fraction(0))


def _sequence_pattern(steps: list[Step]) -> Pattern:
    if len(steps) == 1 and steps[0].weight > 0 and not steps[0].filters:
        return steps[0].pattern
    return weighted_cat([(s.weight, s.pattern) for s in steps], [s.filters for s in steps])


def _combine(layers: Layers, pats: list[Pattern]) -> Pattern:
    if layers.choice_seed is not None:
        return choose_cycle(pats, layers.choice_seed)
    return stack(pats)


def _step_count(steps: list[Step], factor: Fraction | Pattern) -> Pattern:
    """A sequence played at ``factor`` steps a cycle (polymeter)."""
    total = _weight(steps)
    if total == 0:
        return silence
    base = _sequence_pattern(steps)
    if isinstance(factor, Pattern):
        return fast(factor.fmap(lambda n: to_time(n) / total), base)
    return fast(factor / total, base)


@v_args(inline=True)
class _Builder(Transformer):
    """Builds a Pattern bottom-up from the mini-notation tree."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__()
        self.line = line
        self.column = column
        self.seeds = 0

    def _seed(self) -> int:
        self.seeds += 1
        return self.seeds - 1

    def _source(self, tok: Token) -> tuple[int, int, int]:
        if tok.line == 1:
            col = self.column + tok.column - 1
            return (self.line, col, col + len(tok))
        return (self.line + tok.line - 1, tok.column, tok.column + len(tok))

    # -- atoms: each returns a one-step list --------------------------------------------------

    def number(self, tok: Token) -> Step:
        value, _ = parse_number(str(tok))
        return Step(pure(value, (self._source(tok),)), constant=value)

    def word(self, tok: Token) -> Step:
        try:
            to_number(str(tok))  # the ratio shorthands (``h``, ``q``...) are numbers too
            word = None
        except PatternError:
            word = str(tok)
        return Step(pure(str(tok), (self._source(tok),)), word=word)

    def rest(self, _tok: Token) -> Step:
        return Step(silence)

    def group(self, layers: Layers) -> Step:
        return Step(_combine(layers, [_sequence_pattern(s) if s else silence
                                      for s in layers.sequences]), word=_layers_word(layers))

    def alternation(self, layers: Layers) -> Step:
        return Step(_combine(layers, [_step_count(s, Fraction(1)) for s in layers.sequences]),
                    word=_layers_word(layers))

    def polymeter(self, layers: Layers, steps: Step | None = None) -> Step:
        if steps is None:
            count: Fraction | Pattern = _weight(layers.sequences[0])
        elif steps.constant is not None:
            count = to_time(steps.constant)
        else:
            _numbers([steps], "'%'")
            count = steps.pattern
        return Step(_combine(layers, [_step_count(s, count) for s in layers.sequences]),
                    word=_layers_word(layers))

    # -- steps ---------------------------------------------------------------------------------

    def step(self, term: Step, *mods: tuple[str, Any]) -> list[Step]:
        pattern, weight, filters, copies = term.pattern, Fraction(1), [], 1
        constant = term.constant if not mods else None
        for kind, arg in mods:
            if kind in ("fast", "slow"):
                _numbers([arg], f"{kind}: argument 'factor'")
                factor = to_time(arg.constant) if arg.constant is not None else arg.pattern
                pattern = (fast if kind == "fast" else slow)(factor, pattern)
            elif kind == "replicate":
                copies = check_count(copies * arg, "{} copies with '!'")
            elif kind == "weight":
                weight = arg
            elif kind == "degrade":
                filters.append((self._seed(), arg))
            else:  # euclid
                for seq in arg:
                    _numbers(seq, "euclid: each argument")
                args = [s[0].constant if len(s) == 1 and s[0].constant is not None
                        else _sequence_pattern(s) for s in arg]
                pattern = euclid(*args, *([0] if len(args) == 2 else []), pattern)
        one = Step(pattern, weight, tuple(filters), constant, term.word)
        return [one] * copies

    def fast(self, term: Step) -> tuple[str, Step]:
        return ("fast", term)

    def slow(self, term: Step) -> tuple[str, Step]:
        return ("slow", term)

    def replicate(self, tok: Token) -> tuple[str, int]:
        return ("replicate", int(tok[1:]))

    def weight(self, tok: Token) -> tuple[str, Fraction]:
        return ("weight", parse_number(str(tok))[1])

    def degrade(self, tok: Token) -> tuple[str, float]:
        return ("degrade", float(tok[1:]) if len(tok) > 1 else 0.5)

    def euclid(self, *seqs: list[Step]) -> tuple[str, list]:
        return ("euclid", list(seqs))

    def range(self, a: Step, b: Step) -> list[Step]:
        if a.constant is None or b.constant is None:
            raise ValueError("'..' needs a number on each side")
        lo, hi = int(a.constant), int(b.constant)
        check_count(abs(hi - lo) + 1, "a range '..' of {} steps")
        values = range(lo, hi + 1) if lo <= hi else range(lo, hi - 1, -1)
        return [Step(weighted_cat([(1, pure(v)) for v in values]))]

    def elongate(self) -> str:
        return "_"

    def repeat(self) -> str:
        return "!"

    def steps(self, *items: list[Step] | str) -> list[Step]:
        out: list[Step] = []
        for item in items:
            if isinstance(item, list):
                out.extend(item)
            elif not out:
                raise ValueError(f"'{item}' needs a step before it")
            elif item == "_":
                out[-1] = replace(out[-1], weight=out[-1].weight + 1)
            else:
                out.append(out[-1])
        check_count(len(out), "a sequence of {} steps")
        return out

    def sequence(self, *feet: list[Step]) -> list[Step]:
        if len(feet) == 1:
            return feet[0]
        return [Step(_sequence_pattern(f) if f else silence, word=_first_word(f)) for f in feet]

    def stack(self, *sequences: list[Step]) -> Layers:
        return Layers(list(sequences))

    def choice(self, *sequences: list[Step]) -> Layers:
        return Layers(list(sequences), choice_seed=self._seed())


@functools.cache
def _parser() -> Any:
    return load_grammar("mini.lark", propagate_positions=False, maybe_placeholders=True)


@functools.lru_cache(maxsize=4096)
def _build(text: str, line: int, column: int) -> Pattern:
    parser = _parser()
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        raise lark_error(exc, text, parser, _WORDS, what="pattern string", base_line=line,
                         base_column=column) from None
    try:
        result = _Builder(line, column).transform(tree)
    except VisitError as exc:
        cause = exc.orig_exc
        kind = type(cause) if isinstance(cause, LanguageError) else LanguageError
        what = cause.message if isinstance(cause, LanguageError) else explain(cause)
        raise kind(f"in pattern string: {what}", line=line, column=column,
                   source_line=text.split("\n")[0]) from None
    except RecursionError:
        raise LanguageError("pattern string nested too deeply", line=line, column=column,
                            source_line=text.split("\n")[0]) from None
    if isinstance(result, Layers):
        return _Builder(line, column).group(result).pattern
    return result.pattern


def mini(text: str, line: int = 1, column: int = 1) -> Pattern:
    """The Pattern a mini-notation string describes (cached: a string is parsed once).

    ``line`` and ``column`` say where the string's first character sits in a larger source,
    so errors and event sources point into it.

    >>> [(str(e.whole), e.value) for e in mini("a <b c>").query(1, 2)]
    [('1→3/2', 'a'), ('3/2→2', 'c')]
    """
    if not isinstance(text, str):
        raise LanguageError(f"mini-notation must be a string, not {type(text).__name__}")
    return _build(text, line, column)


set_string_parser(mini)
