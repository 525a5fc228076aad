"""Words a newcomer types alone out of habit, and what the REPL answers at once.

From Python, a shell or another REPL, ``help``, ``quit``, ``exit`` or ``clear`` come to the
fingers first; typed alone they are not statements of the language, and waiting for more lines
after them would swallow the next line too.
"""

from __future__ import annotations

from latentcode.language.vocabulary import Vocabulary

# the answer to each (None: the REPL runs :help itself)
BARE_WORDS = {
    "help": None,
    "exit": "to leave, type :quit or press Ctrl-D (the music stops); hush stops only the music",
    "quit": "to leave, type :quit or press Ctrl-D (the music stops); hush stops only the music",
    "clear": "Ctrl-L clears the screen; hush stops the music; Ctrl-C clears the line",
}


def bare_word(text: str, vocabulary: Vocabulary) -> str | None:
    """What to say for ``text`` when it is one word that cannot be a statement by itself: a
    habit from another REPL, or a function, signal or control of the language; else None
    (a track's name alone may go on with ``$`` on the next line).

    >>> v = Vocabulary.of_language()
    >>> bare_word("quit", v)[:22], bare_word("t1", v)
    ('to leave, type :quit o', None)
    >>> bare_word("along", v)
    'along is a function, not a statement: e.g. t1 $ "bell*2" # alpha (along saw) (:help along)'
    """
    word = text.strip()
    if word in BARE_WORDS:
        return BARE_WORDS[word] or ":help"
    kind = vocabulary.kind(word)
    if kind in ("function", "signal", "control"):
        # a function's own tested example: where it goes differs (fast before a pattern,
        # along inside a control), and a template written here said "t1 $ along ... $ ..."
        use = {"function": vocabulary.words[word].usage or f'{word} ... $ "bell"',
               "signal": f'"bell" # pan {word}',
               "control": f'"bell" # {word} 0.5'}[kind]
        return f"{word} is a {kind}, not a statement: e.g. t1 $ {use} (:help {word})"
    return None
