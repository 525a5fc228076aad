"""The words of the language, for the tools around it: highlighting, completion and ``:help``.

Everything is read from the language itself — the grammar's keywords, the function registry
(:data:`latentcode.patterns.registry.FUNCTIONS`) and the control table
(:data:`latentcode.controls.CONTROLS`) — so a function added to the library is coloured,
completed and documented with no change here.

>>> v = Vocabulary.of_language()
>>> v.kind("fast"), v.kind("gain"), v.kind("sine")
('function', 'control', 'signal')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

# Statements of the language, documented here because the grammar has no docstrings; only the
# ones the grammar really has (language.KEYWORDS) are shown.
STATEMENT_DOCS: dict[str, tuple[str, str, str]] = {
    "tempo": ("tempo CPS", "Set the tempo in cycles per second (bpm 120 at 4 beats = 0.5).",
              "tempo 0.5"),
    "bpm": ("bpm BPM", "Set the tempo in beats per minute, 4 beats a cycle.", "bpm 120"),
    "bank": ("bank \"FOLDER\"", "Add a folder of audio files to the bank (encoded once, cached).",
             'bank "~/sounds"'),
    "let": ("let NAME = EXPR", "Name a pattern or a value for later statements.",
            'let groove = "bell*2 ~ pad"'),
    "use": ("use NAME", "Load a library of patterns written in latentcode.", "use basics"),
    "hush": ("hush", "Stop every track's pattern; voices still sounding fade out within a "
             "second (Tidal's let them ring).", "hush"),
    "panic": ("panic", "Silence everything now: hush, drop every voice and every echo.",
              "panic"),
    "solo": ("solo TRACK", "Hear only the soloed tracks (solo several to hear them "
                        "together); unsolo undoes it.", "solo t2"),
    "unsolo": ("unsolo [TRACK]", "Undo solo (for one track or all).", "unsolo"),
    "mute": ("mute TRACK", "Silence a track's new sounds; its pattern keeps time.", "mute t3"),
    "unmute": ("unmute TRACK", "Let a muted track sound again (also one the circuit "
               "breaker muted for being too slow).", "unmute t3"),
    "silence": ("TRACK silence", "A pattern with no events: `t1 silence` stops track t1.",
                "t1 silence"),
    "now": ("now TRACK $ PAT", "Start the new pattern at once, not at the next cycle.",
            'now t1 $ "bell"'),
    "xfade": ("xfade CYCLES TRACK $ PAT",
              "Morph into the new pattern in latent space: its sounds start as the old\n"
              "pattern's sounds and become their own over CYCLES cycles (one timbre\n"
              "changing, not two sounds). Tidal's xfadeIn crossfades the gain of the two\n"
              "patterns instead. `now xfade 4 t1 $ ...` starts the morph at once. Each new\n"
              "sound, one that already mixes two (`# mix`) too, starts from the old one\n"
              "(`# morphfrom`, with `# morph` rising from 0 to 1) and keeps its own length.",
              'xfade 4 t1 $ "drone*2"'),
    # Tidal's tempo words, start quantisation, one-shots and transitions
    "setcps": ("setcps CPS", "Tidal's spelling of tempo: cycles per second.", "setcps 0.5"),
    "setbpm": ("setbpm BPM", "Tidal-style spelling of bpm: beats per minute, 4 beats a cycle.",
               "setbpm 120"),
    "resetCycles": ("resetCycles", "Make the next moment cycle 0: every pattern starts again "
                    "from its first cycle, and patterns waiting to start start there.",
                    "resetCycles"),
    "quant": ("quant CYCLES", "When new patterns start: at the next multiple of CYCLES cycles "
              "(1, the default: the next cycle; 0.25: the next beat; 0: at once).",
              "quant 0.25"),
    "once": ("once $ PAT", "Play the first cycle of a pattern once, now, on no track (offline: "
             "at the start of every render, until hush).", 'once $ "gong ~ gong"'),
    "xfadeIn": ("xfadeIn TRACK CYCLES $ PAT", "Crossfade the gain from the track's pattern to "
                "the new one over CYCLES cycles, equal-power: both play meanwhile (the latent "
                "`xfade` morphs the sounds themselves instead).", 'xfadeIn t1 4 $ "drone*2"'),
    "clutchIn": ("clutchIn TRACK CYCLES $ PAT", "Over CYCLES cycles, drop the old pattern's "
                 "events at random, more and more, while the new one's come in.",
                 'clutchIn t1 4 $ "hit*8"'),
    "clutch": ("clutch TRACK $ PAT", "clutchIn over 2 cycles.", 'clutch t1 $ "hit*8"'),
    "jumpIn": ("jumpIn TRACK CYCLES $ PAT", "Switch to the new pattern CYCLES cycles later.",
               'jumpIn t1 2 $ "bell*4"'),
    "jumpIn'": ("jumpIn' TRACK CYCLES $ PAT", "Switch CYCLES cycles later, at a cycle boundary "
                "(when quant starts it mid-cycle).", "jumpIn' t1 2 $ \"bell*4\""),
    "jumpMod": ("jumpMod TRACK N $ PAT", "Switch at the next cycle that is a multiple of N.",
                'jumpMod t1 4 $ "bell*4"'),
    "anticipateIn": ("anticipateIn TRACK CYCLES $ PAT", "Keep the old pattern CYCLES cycles "
                     "more, echoing closer and closer, then drop the new one in.",
                     'anticipateIn t1 4 $ "hit*4"'),
    "anticipate": ("anticipate TRACK $ PAT", "anticipateIn over 8 cycles.",
                   'anticipate t1 $ "hit*4"'),
    "interpolateIn": ("interpolateIn TRACK CYCLES $ PAT", "Play the new pattern at once, its "
                      "numeric controls moving from the old pattern's values to its own over "
                      "CYCLES cycles and its sound morphing from the old one in latent space.",
                      'interpolateIn t1 8 $ "drone" # lpf 4000'),
    "interpolate": ("interpolate TRACK $ PAT", "interpolateIn over 4 cycles.",
                    'interpolate t1 $ "drone" # lpf 4000'),
}


SAME_AS = "   -- same as "  # between an example and what it equals, as :help shows them


@dataclass(frozen=True)
class Word:
    """One word of the language and what ``:help`` says about it."""

    name: str
    kind: str  # keyword, function, signal or control
    signature: str
    doc: str
    example: str = ""

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    @property
    def usage(self) -> str:
        """The example's expression alone, without what it equals ("" without an example).

        >>> Vocabulary.of_language().words["fast"].usage
        'fast 2 $ "a b"'
        """
        return self.example.split(SAME_AS)[0]


class Vocabulary:
    """Name -> :class:`Word` for every keyword, function, signal and control."""

    def __init__(self, words: dict[str, Word]) -> None:
        self.words = words

    @classmethod
    def of_language(cls) -> Vocabulary:
        """The vocabulary of the language as installed (cached; the library is static)."""
        return _language_vocabulary()

    def kind(self, name: str) -> str | None:
        """keyword, function, signal, control, or None for a word the language does not know."""
        word = self.words.get(name)
        return word.kind if word else None

    def names(self, *kinds: str) -> list[str]:
        """Sorted names of the given kinds (all kinds when none is given)."""
        return sorted(n for n, w in self.words.items() if not kinds or w.kind in kinds)

    def help(self, name: str) -> str | None:
        """What ``:help NAME`` prints: signature, documentation and an example."""
        word = self.words.get(name)
        if word is None:
            return None
        lines = [f"{word.signature}    ({word.kind})", ""]
        doc = [line for line in word.doc.strip().splitlines() if not line.strip().startswith("lc>")]
        lines += [f"  {line}" if line.strip() else "" for line in doc]
        if word.example:
            lines += ["", f"  example: {word.example}"]
        text = "\n".join(line.rstrip() for line in lines).rstrip()
        return re.sub(r"\n{3,}", "\n\n", text)  # the lc> lines leave blank runs behind


def _keywords() -> list[str]:
    from latentcode.language.statements import KEYWORDS

    return sorted(KEYWORDS)


def _example(spec: object) -> str:
    examples = getattr(spec, "examples", [])
    if not examples:
        return ""
    left, right = examples[0]
    return left if left == right else f"{left}{SAME_AS}{right}"


@cache
def _language_vocabulary() -> Vocabulary:
    from latentcode.controls import ALIASES, CONTROLS
    from latentcode.patterns.registry import FUNCTIONS

    words: dict[str, Word] = {}
    for name in _keywords():
        sig, doc, example = STATEMENT_DOCS.get(name, (name, "A statement of the language.", ""))
        words[name] = Word(name, "keyword", sig, doc, example)
    control_names = set(CONTROLS) | set(ALIASES)
    for name, spec in FUNCTIONS.items():
        if name in words:
            continue
        if name in control_names:
            kind, sig = "control", f"# {name} PATTERN"
        elif not spec.params:
            kind, sig = "signal", name
        else:
            kind, sig = "function", spec.signature
        words[name] = Word(name, kind, sig, spec.doc, _example(spec))
    return Vocabulary(words)
