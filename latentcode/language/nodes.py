"""The expression trees of the language: what a statement's expressions parse into.

:mod:`latentcode.language.statements` builds them from the grammar;
:mod:`latentcode.language.evaluation` turns them into patterns.

>>> fast = App(Name("fast"), (Num(2), Str("a b")))     # fast 2 "a b"
>>> fast.function.name, [type(a).__name__ for a in fast.args]
('fast', ['Num', 'Str'])
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    """An expression node; ``line``/``column`` (1-based) say where it starts."""

    line: int = field(default=0, kw_only=True, compare=False)
    column: int = field(default=0, kw_only=True, compare=False)
    source: str = field(default="", kw_only=True, compare=False, repr=False)  # its line


@dataclass(frozen=True)
class Num(Node):
    value: int | float


@dataclass(frozen=True)
class Str(Node):
    text: str  # mini-notation, without the quotes


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class App(Node):
    function: Node
    args: tuple[Node, ...]


@dataclass(frozen=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Section(Node):
    """``(# speed 2)`` (left is None) or ``(0.25 <~)`` (right is None)."""

    op: str
    left: Node | None
    right: Node | None


@dataclass(frozen=True)
class ListOf(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class TupleOf(Node):
    items: tuple[Node, ...]
