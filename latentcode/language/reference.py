"""The reference table of every function and control, generated from the registry.

``docs/reference.md`` is this module's output (a test keeps it in step), so the table never
goes stale when a function is added::

    python -m latentcode.language.reference > docs/reference.md
"""

from __future__ import annotations

import sys


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _example(spec) -> str:
    if not spec.examples:
        return ""
    left, right = spec.examples[0]
    return f"`{_cell(left)}` = `{_cell(right)}`"


def _continuous(spec) -> bool:
    """Whether a no-argument function is a signal (its events have no whole)."""
    events = spec.function().query(0, 1)
    return bool(events) and events[0].whole is None


def markdown() -> str:
    """The whole reference as markdown: controls, signals, then functions, each sorted."""
    from latentcode.controls import ALIASES, CONTROLS
    from latentcode.patterns.registry import FUNCTIONS

    lines = [
        "# latentcode reference",
        "",
        "Generated from the function registry by `python -m latentcode.language.reference`; "
        "do not edit.",
        "Every argument of every function may be a pattern. In the REPL, `:help NAME` shows the",
        "full text.",
        "",
        "## Controls",
        "",
        "Used after `#`: `\"bell*2\" # stretch 8 # alpha sine`.",
        "",
        "| control | takes | acts on | default | range | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for name, control in CONTROLS.items():
        shown = f"`{name}`" + "".join(f" (`{a}`)" for a in control.aliases)
        default = "" if control.default is None else f"{control.default:g}"
        lines.append(f"| {shown} | {control.kind} | {control.acts} | {default} | "
                     f"{control.range_text} | {_cell(control.doc)} |")
    signals = sorted(n for n, s in FUNCTIONS.items()
                     if not s.params and n not in CONTROLS and _continuous(s))
    lines += ["", "## Signals", "", "Continuous patterns, sampled where they are used.", "",
              "| signal | what it is | example |", "|---|---|---|"]
    for name in signals:
        spec = FUNCTIONS[name]
        lines.append(f"| `{name}` | {_cell(spec.summary)} | {_example(spec)} |")
    lines += ["", "## Functions", "", "| function | what it does | example |", "|---|---|---|"]
    for name in sorted(FUNCTIONS, key=str.lower):
        spec = FUNCTIONS[name]
        if name in signals or name in CONTROLS or name in ALIASES:
            continue
        lines.append(f"| `{_cell(spec.signature)}` | {_cell(spec.summary)} | {_example(spec)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
