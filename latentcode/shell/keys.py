"""Key bindings of the REPL: Enter asks the grammar whether the statement is complete.

Enter evaluates when the text is a complete statement and starts a new line when it is not
(an open bracket or string, a trailing ``$`` or ``#``): :func:`latentcode.language.is_complete`
decides, never a regex. Enter on an empty continuation line evaluates anyway (and so shows the
error), Alt-Enter always adds a line, Ctrl-C clears the line and Ctrl-D on an empty line quits.

>>> should_evaluate('t1 $ "bell', lambda text: False), should_evaluate(":help", lambda t: False)
(False, True)
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent


def grammar_is_complete(text: str) -> bool:
    """Ask the grammar whether ``text`` is complete; an unexpected failure counts as complete
    so that evaluating shows the error instead of the REPL waiting for more."""
    from latentcode import language

    try:
        return bool(language.is_complete(text))
    except Exception:  # noqa: BLE001 - the evaluation that follows reports the problem
        return True


def should_evaluate(text: str, is_complete: Callable[[str], bool] = grammar_is_complete,
                    answers: Callable[[str], object] = lambda text: None) -> bool:
    """Whether Enter evaluates ``text`` (True) or continues it on a new line (False).
    ``answers`` names the lone words the REPL answers at once (``help``, ``quit``, ``fast``)."""
    if not text.strip() or text.lstrip().startswith(":") or answers(text) is not None:
        return True
    if "\n" in text and not text.rsplit("\n", 1)[-1].strip():
        return True  # Enter on an empty continuation line: the performer wants it evaluated
    return is_complete(text)


def repl_bindings(is_complete: Callable[[str], bool] = grammar_is_complete,
                  answers: Callable[[str], object] = lambda text: None) -> KeyBindings:
    """The REPL's Enter and Alt-Enter (``answers``: see :func:`should_evaluate`)."""
    kb = KeyBindings()

    @kb.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        state = buffer.complete_state
        if state is not None and state.current_completion is not None:
            buffer.complete_state = None  # Enter picks the highlighted completion
            return
        if should_evaluate(buffer.text, is_complete, answers):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    @kb.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return kb
