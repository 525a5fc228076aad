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
    "corpus": ("latentcode.model.corpus", "synthesize the builtin training corpus into a folder"),
    "train": ("latentcode.model.train", "train the VAE on a folder of audio (default: the corpus)"),
    "encode": ("latentcode.model.encode", "encode audio files to latent sequences (cached)"),
    "render": ("latentcode.shell.render",
               "render a piece (.lc) to a WAV file, faster than real time"),
    "run": ("latentcode.shell.frontends", "play a piece (.lc) live"),
    "watch": ("latentcode.shell.frontends", "play a piece live and re-evaluate it on every save"),
    "map": ("latentcode.shell.map", "draw the bank's latent space as a PNG"),
}


def add_repl_options(parser: argparse.ArgumentParser) -> None:
    """The flags of the REPL (``latentcode`` with no command) and of ``--pipe``."""
    from latentcode.shell.frontends import add_audio_options  # a light module: argparse only

    add_audio_options(parser)
    parser.add_argument("--list-devices", action="store_true",
                        help="list the audio backends and output devices, then exit")
    parser.add_argument("--pipe", action="store_true",
                        help="evaluate blocks read from standard input (separated by blank "
                             "lines or ;; lines) instead of the REPL")
    parser.add_argument("--osc", type=int, metavar="PORT", default=None,
                        help="also evaluate code sent to OSC address /eval on 127.0.0.1:PORT "
                             "(0: a free port)")
    parser.add_argument("--osc-files", action="store_true",
                        help="let code from the OSC port touch files too (:load, :reload, "
                             ":record, bank); without it they are refused")
    parser.add_argument("--midi-in", choices=("auto", "jack", "alsa", "none"), default="auto",
                        help="where MIDI controllers and notes come from (default auto: "
                             "opened when a pattern first uses cc or on, JACK MIDI when the "
                             "audio plays through JACK, else ALSA where mido and python-rtmidi "
                             "are installed; jack or alsa open it at start)")
    parser.add_argument("--midi-in-connect", metavar="PORT", default=None,
                        help="connect the MIDI sources matching PORT (a glob such as 'a2j:*')")
    parser.add_argument("--send-osc", metavar="[HOST:]PORT", action="append", default=[],
                        help="send every event that starts a voice as OSC to HOST:PORT (host "
                             "127.0.0.1 unless given; as with :send osc)")
    parser.add_argument("--send-midi", metavar="JACK-PORT", nargs="?", const="", default=None,
                        help="send events as MIDI notes on a JACK MIDI output, connected to "
                             "JACK-PORT if given (as with :send midi)")
    from latentcode.shell.stage import add_stage_options

    add_stage_options(parser)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand's module is imported."""
    parser = argparse.ArgumentParser(
        prog="latentcode",
        description="live coding in the latent space of a raw-audio VAE; "
                    "with no command, the REPL",
    )
    add_repl_options(parser)
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
    command = next((a for a in argv if a in COMMANDS), None)
    try:
        parser = build_parser(command if command in COMMANDS else None)
        args = parser.parse_args(argv)
        from latentcode.shell.frontends import apply_model_options

        apply_model_options(args)
        if args.command is None:
            return _no_command(args)
        module = importlib.import_module(args._module)
        return int(module.run(args) or 0)
    except LatentcodeError as e:
        print(f"latentcode: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("latentcode: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a bug of ours: one line, the traceback on request
        import os

        if os.environ.get("LATENTCODE_DEBUG"):
            raise
        print(f"latentcode: internal error: {type(e).__name__}: {e} "
              "(LATENTCODE_DEBUG=1 shows the traceback; please report it)", file=sys.stderr)
        return 1


def _no_command(args: argparse.Namespace) -> int:
    """``latentcode`` alone: the REPL, or ``--pipe``, or ``--list-devices``."""
    from latentcode.errors import LatentcodeError

    if args.osc is not None and not 0 <= args.osc <= 65535:
        raise LatentcodeError(f"--osc takes a UDP port from 0 to 65535 (0: any free one), "
                              f"not {args.osc}")
    if args.osc_files and args.osc is None:
        raise LatentcodeError("--osc-files only makes sense with --osc PORT")
    if args.midi_in_connect and args.midi_in == "none":
        raise LatentcodeError("--midi-in-connect needs a MIDI input: not --midi-in none")
    from latentcode.ports.events_out import parse_destination

    for destination in args.send_osc:
        parse_destination(destination)  # a bad one stops here, before the audio starts
    from latentcode.shell.frontends import check_audio_options

    check_audio_options(args)
    if args.list_devices:
        from latentcode.shell.frontends import list_devices

        return list_devices()
    if not args.pipe and not sys.stdin.isatty():
        print("latentcode: standard input is not a terminal: reading blocks as with --pipe",
              file=sys.stderr)
        args.pipe = True
    if args.pipe:
        from latentcode.shell.pipe import run
    else:
        from latentcode.shell.repl import run
    return int(run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
