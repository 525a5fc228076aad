"""Completion for the REPL: functions, controls, tracks, sounds and :commands, by context.

What is offered depends on where the cursor is:

- inside a mini-notation string: the bank's sounds and groups (``bell:`` offers ``bell:0`` …);
- right after ``#`` (or an operator such as ``|+|``): the controls;
- at the start of a statement: track names and statement keywords;
- anywhere else: functions, signals, keywords and the names made with ``let``;
- on a ``:`` line: the commands (from the table of :mod:`latentcode.shell.commands`), then for
  ``:help`` every word and for a command taking a FILE (``:load``, ``:record``) paths.

>>> c = LatentCompleter(tracks=lambda: ["t1"], sounds=lambda: {"bell": ["bell_00", "bell_01"]})
>>> [x.text for x in c.candidates('t1 $ "be')]
['bell', 'bell_00', 'bell_01']
>>> [x.text for x in c.candidates('t1 $ "a" # ga')]
['gain']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from latentcode.language.vocabulary import Vocabulary
from latentcode.model.bank import SPECIAL
from latentcode.shell.commands import COMMANDS, NAMES, find
from latentcode.shell.lexer import ends_in_string

_MINI_WORD = re.compile(r"[\w:]*$")
_CODE_WORD = re.compile(r"[A-Za-z_][\w']*$|$")
_OP = r"(?:\+\+|\*\*|[+\-*/<>])"  # the arithmetic of the operators, |++ and |** included
_AFTER_HASH = re.compile(rf"(?:#|\|{_OP}?\||{_OP}\||\|{_OP})$")
_TAIL = 200  # characters: more than any word
STATEMENT_STARTERS = ("tempo", "bpm", "bank", "let", "use", "hush", "panic", "solo", "unsolo",
                      "mute", "unmute")


class LatentCompleter(Completer):
    """Completes latentcode by context; every source of names is a callable read live."""

    def __init__(
        self,
        vocabulary: Vocabulary | None = None,
        *,
        tracks: Callable[[], Iterable[str]] = list,
        sounds: Callable[[], Mapping[str, list[str]]] = dict,
        names: Callable[[], Iterable[str]] = list,
    ) -> None:
        self.vocabulary = vocabulary or Vocabulary.of_language()
        self.tracks = tracks
        self.sounds = sounds  # group -> sound names, as Bank.groups()
        self.names = names  # names bound with let
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor
        if text.lstrip().startswith(":"):
            yield from self._command(document, event)
        else:
            yield from self.candidates(text)

    def candidates(self, text: str) -> list[Completion]:
        """The completions for code ending in ``text`` (sorted, each with a meta line)."""
        # the regexes below look only at the end: searched over a pasted page, a pattern
        # anchored with $ is tried at every position, on every key
        tail = text[-_TAIL:]
        if ends_in_string(text):
            word = _MINI_WORD.search(tail).group()
            return self._sounds(word)
        word = _CODE_WORD.search(tail).group()
        before = text[: len(text) - len(word)]
        if _AFTER_HASH.search(before.rstrip()[-4:]):  # an operator is at most 4 characters
            return self._words(word, self.vocabulary.names("control"))
        last = before.rpartition("\n")[2].rstrip()
        if not last or last.endswith(";"):
            if "\n" not in text:
                return self._statement_start(word)
            # a later line may continue a statement or start one: offer both
            return self._statement_start(word) + self._words(
                word, self.vocabulary.names("function", "signal", "control"))
        return self._words(word, [*self.vocabulary.names("function", "signal", "control"),
                                  *self._keywords(), *self.names()])

    def _keywords(self) -> list[str]:
        return self.vocabulary.names("keyword")

    def _statement_start(self, word: str) -> list[Completion]:
        tracks = list(self.tracks())
        out = [Completion(t, -len(word), display_meta="track") for t in tracks
               if t.startswith(word)]
        return out + self._words(word, self._keywords())

    def _words(self, word: str, names: Iterable[str]) -> list[Completion]:
        out = []
        for name in sorted(set(names)):
            if not name.startswith(word) or name == word and not word:
                continue
            entry = self.vocabulary.words.get(name)
            if entry is None:
                command = find(name)
                meta = command.what if command is not None else "let"
            else:
                meta = entry.signature if entry.kind == "function" else entry.summary
            out.append(Completion(name, -len(word), display_meta=meta))
        return out

    def _sounds(self, word: str) -> list[Completion]:
        groups = self.sounds()
        group, colon, _ = word.partition(":")
        if colon:
            members = groups.get(group, [])
            return [Completion(f"{group}:{i}", -len(word), display_meta=stem)
                    for i, stem in enumerate(members) if f"{group}:{i}".startswith(word)]
        out: dict[str, Completion] = {}
        home: dict[str, str] = {}  # a sound's own group: the smallest group holding it
        for g, members in sorted(groups.items(), key=lambda item: -len(item[1])):
            if g.startswith(word):
                out[g] = Completion(g, -len(word), display_meta=f"group, {len(members)} sounds")
            home.update((stem, g) for stem in members if stem.startswith(word))
        for stem, g in home.items():
            if stem not in out:
                out[stem] = Completion(stem, -len(word), display_meta=f"in {g}")
        for special, what in SPECIAL.items():
            if special.startswith(word) and special not in out:
                out[special] = Completion(special, -len(word), display_meta=what)
        return [out[k] for k in sorted(out)]

    def _command(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        text = document.text_before_cursor.lstrip()
        name, space, arg = text.partition(" ")
        if not space:
            for command in COMMANDS:
                if command.name.startswith(name):
                    yield Completion(command.name, -len(name), display_meta=command.what)
            return
        command = find(name)
        if command is None:
            return
        if command.name == ":help":
            names: Collection[str] = [*self.vocabulary.names(), *NAMES]
            yield from self._words(arg, names)
        elif command.takes_file:
            yield from self.paths.get_completions(Document(arg, len(arg)), event)
