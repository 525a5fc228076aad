"""The ``latentcode`` command: one entry point, a subcommand per job.

Each subcommand lives in the module that does the job; that module defines
``configure(parser)`` to add its flags and ``run(args) -> int`` to do it. Modules are imported
only when their command is used, so ``latentcode --help`` stays fast and torch is not loaded
for commands that do not need it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "corpus": ("latentcode.corpus", "synthesize the builtin training corpus into a folder"),
    "train": ("latentcode.train", "train the VAE on a folder of audio (default: the corpus)"),
    "encode": ("latentcode.encode", "encode audio files to latent sequences (cached)"),
    "render": ("latentcode.render", "render a piece (.lc) to a WAV file, faster than real time"),
    "run": ("latentcode.live", "play a piece (.lc) live"),
    "watch": ("latentcode.live", "play a piece live and re-evaluate it on every save"),
    "map": ("latentcode.map", "draw the bank's latent space as a PNG"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="latentcode", description="live coding in the latent space of a raw-audio VAE"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        if only == name:
            importlib.import_module(module_name).configure(p, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from latentcode.errors import LatentcodeError

    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(command if command in COMMANDS else None)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        module = importlib.import_module(args._module)
        return int(module.run(args) or 0)
    except LatentcodeError as e:
        print(f"latentcode: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("latentcode: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
