"""The other front ends' parts, without a model: OSC decoding and server, --pipe blocks,
watch, the audio fallback and the command line's routing."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from latentcode.errors import LanguageError, LatentcodeError
from latentcode.shell import cli
from latentcode.shell.blocks import as_one_block, blocks, read_blocks
from latentcode.shell.frontends import Evaluator, Watcher, describe_error, start_audio
from latentcode.shell.osc import OscError, OscServer, message, parse

# -- OSC -----------------------------------------------------------------------------------------


def osc_string(s: str) -> bytes:
    raw = s.encode() + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


def test_osc_message_roundtrip_with_every_padding():
    for code in ("", "a", "ab", "abc", "abcd", 't1 $ "bell*2" # gain 0.8'):
        assert parse(message("/eval", code)) == [("/eval", [code])]


def test_osc_decodes_numbers_blobs_and_constants():
    data = (osc_string("/x") + osc_string(",ifdbTFNhs")
            + struct.pack(">i", -3) + struct.pack(">f", 0.5) + struct.pack(">d", 0.25)
            + struct.pack(">i", 3) + b"abc\0" + struct.pack(">q", 2**40) + osc_string("z"))
    assert parse(data) == [("/x", [-3, 0.5, 0.25, b"abc", True, False, None, 2**40, "z"])]


def test_osc_bundles_nest():
    inner = message("/eval", "hush")
    bundle = b"#bundle\0" + bytes(8) + struct.pack(">i", len(inner)) + inner
    outer = b"#bundle\0" + bytes(8) + struct.pack(">i", len(bundle)) + bundle \
        + struct.pack(">i", len(inner)) + inner
    assert parse(outer) == [("/eval", ["hush"]), ("/eval", ["hush"])]


@pytest.mark.parametrize("data", [
    b"",                                           # nothing
    b"eval\0\0\0\0",                               # no leading slash
    osc_string("/eval") + osc_string(",s"),        # the string is missing
    osc_string("/eval") + osc_string(",i") + b"\0",  # truncated int
    osc_string("/eval") + osc_string(",q"),        # unknown tag
    b"#bundle\0" + bytes(8) + struct.pack(">i", 99) + b"abc",  # element too long
])
def test_osc_rejects_bad_packets(data):
    with pytest.raises(OscError):
        parse(data)


def test_osc_server_listens_on_localhost_only_and_evaluates():
    got, said = [], []
    server = OscServer(0, got.append, said.append).start()
    try:
        assert server.sock.getsockname()[0] == "127.0.0.1"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(message("/eval", 't1 $ "bell"'), ("127.0.0.1", server.port))
            udp.sendto(b"garbage", ("127.0.0.1", server.port))
            udp.sendto(message("/eval", 1, 2), ("127.0.0.1", server.port))
        deadline = time.monotonic() + 5
        while len(said) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        server.close()
    assert got == ['t1 $ "bell"']
    assert said[0].startswith("osc: ignored a bad packet")
    assert said[1].startswith("osc: ignored /eval [1, 2]: send /eval with one string")


def nested_bundle(depth: int, inner: bytes) -> bytes:
    for _ in range(depth):
        inner = b"#bundle\0" + bytes(8) + struct.pack(">i", len(inner)) + inner
    return inner


def test_osc_deeply_nested_bundles_are_one_error_not_a_recursion_error():
    hush = message("/eval", "hush")
    assert parse(nested_bundle(8, hush)) == [("/eval", ["hush"])]
    with pytest.raises(OscError, match="nested more than 8 deep"):
        parse(nested_bundle(3000, hush))


def test_osc_server_survives_hostile_packets_counts_them_and_still_evaluates():
    got, said = [], []
    server = OscServer(0, got.append, said.append).start()
    hostile = [
        nested_bundle(3000, message("/eval", "hush")),  # a RecursionError before
        b"garbage",
        message("/eval", "t1 $ 1")[:9],  # truncated
        b"#bundle\0" + bytes(8) + struct.pack(">i", 4) + b"\xff\xfe\x00\x00",
        message("/\x1b]0;owned\x07", 1),  # an address made to drive the terminal
        *[b"\x00" * n for n in range(200)],  # a flood
    ]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for packet in hostile:
                udp.sendto(packet, ("127.0.0.1", server.port))
                time.sleep(0.0005)  # leave the kernel's receive buffer room
            udp.sendto(message("/eval", 't1 $ "bell"'), ("127.0.0.1", server.port))
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got == ['t1 $ "bell"'] and server.serving
    finally:
        server.close()
    assert server.dropped == len(hostile)
    # the first drop is told at once, the rest in a line a second at most
    assert said[0] == "osc: ignored a bad packet (OSC bundles nested more than 8 deep)"
    assert 2 <= len(said) <= 4, said
    told = 1 + sum(int(line.split()[2]) if line.split()[2].isdigit() else 1 for line in said[1:])
    assert told == len(hostile)
    assert not any("\x1b" in line or "\x07" in line for line in said)


def test_osc_server_keeps_serving_when_the_front_end_fails():
    said = []

    def broken(code):
        raise ZeroDivisionError("boom")

    server = OscServer(0, broken, said.append)
    server.handle(message("/eval", "hush"))
    assert said == ["osc: /eval failed: ZeroDivisionError: boom"]
    server.close()


def test_osc_port_in_use_is_one_clear_error():
    first = OscServer(0, print)
    try:
        where = f"cannot listen for OSC on 127.0.0.1:{first.port}"
        with pytest.raises(LatentcodeError, match=where):
            OscServer(first.port, print)
    finally:
        first.close()


# -- blocks: --pipe and watch --------------------------------------------------------------------


def test_pipe_blocks_end_at_blank_lines_and_double_semicolons():
    lines = ['t1 $ "a"\n', "  # gain 1\n", "\n", "\n", "hush\n", ";;\n", "tempo 1\n", "  ;;  \n",
             ":tracks\n"]
    assert list(read_blocks(iter(lines))) == ['t1 $ "a"\n  # gain 1', "hush", "tempo 1", ":tracks"]


def test_pipe_yields_a_block_before_the_next_one_is_read():
    def lines():
        yield 't1 $ "a"\n'
        yield "\n"
        raise AssertionError("read past the block that was ready")

    assert next(read_blocks(lines())) == 't1 $ "a"'


def test_watch_blocks_split_like_pipe_blocks():
    assert blocks('a\n;;\nb\n\n\nc\n  d') == ["a", "b", "c\n  d"]


def test_a_whole_file_reads_separators_as_blank_lines_keeping_line_numbers():
    text = 'tempo 1\n  ;;  \nt1 $ "a"\n\nhush\n'
    assert as_one_block(text) == 'tempo 1\n\nt1 $ "a"\n\nhush\n'
    assert blocks(as_one_block(text)) == blocks(text)


class Recorder:
    """A session that records what it evaluates and fails on 'bad'."""

    def __init__(self):
        self.evaluated = []

    def eval(self, text, base=None):
        if "bad" in text:
            raise LanguageError("unexpected 'bad'", line=1, column=6, source_line=text)
        self.evaluated.append(text)
        self.base = base


def test_watcher_evaluates_only_changed_blocks(tmp_path):
    piece = tmp_path / "p.lc"
    piece.write_text('tempo 1\n\nt1 $ "a"\n')
    said, session = [], Recorder()
    w = Watcher(session, piece, said.append)
    assert w.poll() == 2 and w.poll() == 0
    piece.write_text('tempo 1\n\nt1 $ "b"\n\nt2 $ bad\n')
    assert w.poll() == 1
    assert session.evaluated == ["tempo 1", 't1 $ "a"', 't1 $ "b"']
    assert session.base == tmp_path  # relative paths in the file start at its folder
    # the file's name and its own line (the block starts at line 5), not the block's
    assert said[-1] == f"error: {piece}, line 5, column 6: unexpected 'bad'\n  t2 $ bad\n       ^"


def test_evaluator_never_raises_and_names_internal_errors():
    class Broken:
        def eval(self, text):
            raise ZeroDivisionError("boom")

    said = []
    assert Evaluator(Broken(), said.append).run("t1 $ 1") is False
    assert said == ["error: internal error: ZeroDivisionError: boom (please report this, with "
                    "the code that caused it: LATENTCODE_DEBUG=1 shows the traceback)"]
    assert describe_error(LatentcodeError("x")) == "error: x"


# -- audio fallback ------------------------------------------------------------------------------


class Starts:
    """A session whose start succeeds only for the backends given."""

    def __init__(self, *working):
        self.working, self.calls = working, []

    def start(self, backend, **options):
        self.calls.append((backend, sorted(options)))
        if backend not in self.working:
            raise LatentcodeError(f"no {backend} here")


def test_audio_falls_back_to_none_in_one_line():
    said, s = [], Starts("none")
    assert start_audio(s, "jack", say=said.append) == "none"
    assert said == ["no audio output (no jack here); playing silently (--audio none)"]
    assert [c[0] for c in s.calls] == ["jack", "none"]
    assert s.calls[0] == ("jack", ["buffersize", "device", "outputs"])


def test_without_any_backend_the_front_end_still_starts():
    said = []
    assert start_audio(Starts(), "portaudio", say=said.append) == "off"
    assert len(said) == 1 and said[0].startswith("no audio at all (no portaudio here; none:")


# -- the command line ----------------------------------------------------------------------------


def test_no_command_starts_the_repl_with_its_flags(monkeypatch):
    import latentcode.shell.repl

    seen = {}
    monkeypatch.setattr(latentcode.shell.repl, "run",
                        lambda args: seen.setdefault("args", args) and 0)
    monkeypatch.setattr(cli.sys, "stdin", type("TTY", (), {"isatty": lambda self: True})())
    assert cli.main(["--audio", "none", "--buffer", "512", "--osc", "7000"]) == 0
    args = seen["args"]
    assert (args.audio, args.buffer, args.osc, args.pipe, args.device) == ("none", 512, 7000,
                                                                          False, None)


def test_pipe_flag_starts_the_pipe(monkeypatch):
    import latentcode.shell.pipe

    seen = []
    monkeypatch.setattr(latentcode.shell.pipe, "run", lambda args: seen.append(args.audio) or 0)
    assert cli.main(["--pipe", "--audio", "none"]) == 0 and seen == ["none"]


def test_input_from_a_pipe_is_read_as_blocks(monkeypatch, capsys):
    import latentcode.shell.pipe

    seen = []
    monkeypatch.setattr(latentcode.shell.pipe, "run", lambda args: seen.append(args.pipe) or 0)
    monkeypatch.setattr(cli.sys, "stdin", type("Pipe", (), {"isatty": lambda self: False})())
    assert cli.main(["--audio", "none"]) == 0 and seen == [True]
    assert "not a terminal" in capsys.readouterr().err


def test_subcommands_keep_their_own_flags():
    args = cli.build_parser("run").parse_args(["run", "x.lc", "--audio", "none"])
    assert args.command == "run" and args.audio == "none" and args.piece == "x.lc"


def test_bad_flags_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--audio", "alsa"])
    assert e.value.code == 2
    assert "invalid choice: 'alsa'" in capsys.readouterr().err
