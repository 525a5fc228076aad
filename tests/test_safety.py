"""Issue 16: files are safe, ports trust no one, configs are validated.

Each case is one that lost or exposed something before: a render over its own piece, a take
replaced or never written, a WAV left with no data after SIGTERM, a checkpoint config that
crashed pyo, the OSC port loading files, escape sequences from outside reaching the terminal.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
import torch

from latentcode.errors import LatentcodeError
from latentcode.shell import cli
from latentcode.shell.commands import Commands, free_name
from latentcode.shell.frontends import Evaluator, printable, say, stop_on_sigterm
from latentcode.shell.osc import message
from latentcode.shell.pipe import make_block_runner

STARTUP = 120.0  # s: a subprocess loads the default model and bank


# -- model configs --------------------------------------------------------------------------------


def _checkpoint(tmp_path: Path, **config) -> Path:
    from latentcode.model.vae import VAE, ModelConfig

    net = VAE(64, 32, 8)
    stored = {**ModelConfig(segment=64, n_units=32, latent_dim=8).to_dict(), **config}
    path = tmp_path / "odd.pt"
    torch.save({"state_dict": net.state_dict(), "config": stored, "format": "latentcode-vae-1"},
               path)
    return path


@pytest.mark.parametrize(("field", "value", "accepted"), [
    ("sample_rate", 10**9, "an integer from 8000 to 192000"),
    ("sample_rate", 0, "an integer from 8000 to 192000"),
    ("hop", -1, "an integer from 1 to 65536"),
    ("segment", "1024", "an integer from 16 to 65536"),
    ("latent_dim", True, "an integer from 1 to 8192"),
    ("n_units", 2.5, "an integer from 1 to 65536"),
    ("kl_beta", float("nan"), "a number from 0 to 1e+06"),
])
def test_a_checkpoint_config_out_of_range_is_one_line_naming_the_field(tmp_path, field, value,
                                                                       accepted):
    from latentcode.model.vae import load_model

    path = _checkpoint(tmp_path, **{field: value})
    with pytest.raises(LatentcodeError) as e:
        load_model(path)
    message = str(e.value)
    assert f"{field} is {value!r}" in message and accepted in message
    assert str(path) in message and "\n" not in message


def test_a_sane_config_still_loads_and_integral_floats_are_integers(tmp_path):
    from latentcode.model.vae import ModelConfig, load_model

    m = load_model(_checkpoint(tmp_path, sample_rate=22050.0))
    assert m.sample_rate == 22050 and isinstance(m.sample_rate, int)
    assert ModelConfig.from_dict({"hop": 64, "future_key": 1}).hop == 64


def test_the_command_line_refuses_such_a_model_before_anything_is_allocated(tmp_path, capsys):
    piece = tmp_path / "p.lc"
    piece.write_text('t1 $ "bell"\n')
    model = _checkpoint(tmp_path, sample_rate=10**9)
    assert cli.main(["render", str(piece), "-o", str(tmp_path / "p.wav"),
                     "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sample_rate is 1000000000" in err
    assert not (tmp_path / "p.wav").exists()


# -- render: flags and files ----------------------------------------------------------------------


@pytest.fixture
def piece(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "piece.lc"
    p.write_text('tempo 1\n\nt1 $ "bell*2"\n')
    return p


def _one_line(capsys, *argv: str) -> str:
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" not in err, err
    return err


@pytest.mark.parametrize(("argv", "said"), [
    (["-o", "piece.lc"], "refusing to write audio over 'piece.lc'"),
    (["-o", "other.lc", "--force"], "refusing to write audio over 'other.lc'"),
    (["-o", "x.flac"], "give -o a name ending in .wav"),
    (["-o", "nofolder/x.wav"], "there is no folder 'nofolder'"),
    (["--tail", "1e12"], "--tail must be a number of seconds from 0 to 600, not 1e+12"),
    (["--tail", "-100"], "--tail must be a number of seconds from 0 to 600, not -100"),
    (["--tail", "nan"], "--tail must be a number of seconds from 0 to 600, not nan"),
    (["--cycles", "inf"], "--cycles must be a positive number of at most 100000, not inf"),
    (["--cycles", "0"], "--cycles must be a positive number"),
    (["--cycles", "nan"], "--cycles must be a positive number"),
    (["--seed", "-1"], "--seed must be a whole number from 0"),
])
def test_render_refuses_bad_outputs_and_numbers_in_one_line(piece, capsys, argv, said):
    before = piece.read_bytes()
    err = _one_line(capsys, "render", "piece.lc", *argv)
    assert said in err
    assert piece.read_bytes() == before
    assert sorted(p.name for p in piece.parent.iterdir()) == ["piece.lc"]


def test_render_asks_for_force_over_an_existing_file_and_writes_atomically(piece, capsys):
    out = piece.parent / "piece.wav"
    out.write_bytes(b"an earlier render")
    err = _one_line(capsys, "render", "piece.lc", "--cycles", "0.25")
    assert "'piece.wav' exists: add --force" in err
    assert out.read_bytes() == b"an earlier render"
    assert cli.main(["render", "piece.lc", "--cycles", "0.25", "--force"]) == 0
    audio, sr = sf.read(out)
    assert sr == 44100 and len(audio) == 11025
    # the hidden file it was written to became piece.wav: nothing else is left
    assert sorted(p.name for p in piece.parent.iterdir()) == ["piece.lc", "piece.wav"]


def test_render_refuses_more_than_a_wav_file_holds_before_rendering(piece, capsys):
    err = _one_line(capsys, "render", "piece.lc", "--cycles", "100000")
    assert "the render would last 27.8 h, more than a WAV file holds (3.4 h" in err
    assert sorted(p.name for p in piece.parent.iterdir()) == ["piece.lc"]


@pytest.mark.parametrize(("argv", "said"), [
    (["--osc", "70000"], "--osc takes a UDP port from 0 to 65535"),
    (["--osc", "-1", "--pipe"], "--osc takes a UDP port from 0 to 65535"),
    (["--osc-files", "--pipe"], "--osc-files only makes sense with --osc PORT"),
    (["--buffer", "1000000000", "--pipe", "--audio", "none"], "--buffer must be a number from 16"),
    (["--device", "-3", "--pipe", "--audio", "none"], "--device must be a number from 0"),
    (["run", "piece.lc", "--buffer", "0"], "--buffer must be a number from 16"),
    (["run", "piece.lc", "--duration", "nan"], "--duration must be a number from 0.001"),
    (["run", "piece.lc", "--duration", "-5"], "--duration must be a number from 0.001"),
])
def test_live_flags_out_of_range_are_one_line(piece, capsys, argv, said):
    assert said in _one_line(capsys, *argv)


def test_a_signal_inside_a_pyo_callback_is_raised_after_it():
    """Offline, pyo calls Playout.on_buffer in the main thread and it swallows every exception:
    a SIGTERM landing there would be lost and the render would go on to the end."""
    swallowed = []

    def on_buffer():  # named like the callback, catching everything like it
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10000):
                pass
        except BaseException:  # noqa: B036
            swallowed.append(True)

    before = signal.getsignal(signal.SIGTERM)
    restore = stop_on_sigterm()
    try:
        with pytest.raises(KeyboardInterrupt):
            on_buffer()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.001)
    finally:
        restore()
    assert swallowed == []
    assert signal.getsignal(signal.SIGTERM) is before


def _data_size(path: Path) -> int:
    raw = path.read_bytes()
    at = raw.find(b"data")
    return struct.unpack("<I", raw[at + 4 : at + 8])[0]


def test_sigterm_ends_a_render_with_no_file_left(tmp_path):
    (tmp_path / "piece.lc").write_text('tempo 1\n\nt1 $ "bell*4"\n')
    err = tmp_path / "err.txt"
    with err.open("wb") as stderr:
        p = subprocess.Popen([sys.executable, "-m", "latentcode.shell.cli", "render",
                              "piece.lc", "-o", "out.wav", "--cycles", "300"],
                             cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + STARTUP
            while b"buf/s" not in err.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)
            hidden = [f.name for f in tmp_path.iterdir() if f.name.startswith(".out.wav")]
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=30) == 130
        finally:
            if p.poll() is None:
                p.kill()
    assert hidden, "the render should write a hidden partial file while it runs"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["err.txt", "piece.lc"]
    assert "latentcode: interrupted" in err.read_text()


# -- :record --------------------------------------------------------------------------------------


class FakeEngine:
    """What Commands needs of the engine; pyo creates the file at once, or (``opens=False``)
    only prints that it could not."""

    def __init__(self, opens: bool = True) -> None:
        self.opens = opens
        self.recording: Path | None = None

    def record(self, path) -> None:
        if self.opens:
            Path(path).write_bytes(b"RIFF take")
        self.recording = Path(path)

    def stop_record(self) -> None:
        self.recording = None


class FakeSession:
    tracks: dict = {}
    muted: set = set()
    soloed: set = set()

    def __init__(self, engine=None) -> None:
        self.engine = engine
        self.evaluated: list[str] = []

    def eval(self, text, base=None):
        if "bad" in text:
            raise LatentcodeError("unexpected 'bad'")
        self.evaluated.append(text)


def _commands(engine=None, **options):
    said: list[str] = []
    session = FakeSession(engine)
    return Commands(session, Evaluator(session, said.append), said.append, **options), said


def test_record_into_a_missing_folder_fails_at_once(tmp_path):
    engine = FakeEngine()
    commands, said = _commands(engine)
    commands.run(f":record {tmp_path}/nonexistent/dir/take.wav")
    assert said == [f"error: cannot record to '{tmp_path}/nonexistent/dir/take.wav': there is "
                    f"no folder '{tmp_path}/nonexistent/dir'"]
    assert commands.recording is None and engine.recording is None
    commands.run(":stop")
    assert said[-1] == "not recording"


def test_record_reports_a_file_pyo_could_not_open(tmp_path):
    commands, said = _commands(FakeEngine(opens=False))
    commands.run(f":record {tmp_path}/take.wav")
    assert said == [f"error: cannot record to '{tmp_path}/take.wav': the file could not be "
                    "opened"]
    assert commands.recording is None


def test_a_second_take_of_the_same_name_gets_a_number_and_force_replaces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands, said = _commands(FakeEngine())
    commands.run(":record take.wav")
    assert said[-1] == "recording to take.wav (:stop to finish)"
    assert (tmp_path / ".take.recording.wav").exists() and not (tmp_path / "take.wav").exists()
    commands.run(":stop")
    assert said[-1].startswith("wrote take.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]

    commands.run(":record take")  # the same name again: a new file, the first take is kept
    assert said[-1] == ("recording to take-2.wav (take.wav exists; :record take.wav force "
                        "replaces it) (:stop to finish)")
    commands.run(":record take.wav")  # while recording: the running take is finished first
    assert said[-2].startswith("wrote take-2.wav")
    assert said[-1].startswith("recording to take-3.wav")
    commands.close()  # quitting keeps the take
    assert said[-1].startswith("wrote take-3.wav")

    (tmp_path / "take.wav").write_bytes(b"old")
    commands.run(":record take.wav force")
    commands.run(":stop")
    assert (tmp_path / "take.wav").read_bytes() == b"RIFF take"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take-2.wav", "take-3.wav",
                                                          "take.wav"]
    commands.run(":record take.wav please")
    assert said[-1].startswith("error: :record needs a file name")
    assert free_name(tmp_path / "take.wav") == tmp_path / "take-4.wav"


def _wait_for(fd: int, text: bytes, seen: bytearray, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                return False
            if text in seen:
                return True
    return False


def test_the_repl_refuses_osc_files_escapes_osc_text_and_keeps_a_take_on_sigterm(tmp_path):
    """The REPL in a pseudo-terminal, as a performer runs it, with an OSC port: hostile text
    and a :record arrive over OSC, the performer records, then SIGTERM mid-take."""
    master, slave = pty.openpty()
    env = {**os.environ, "LATENTCODE_HISTORY": str(tmp_path / "history"), "TERM": "xterm"}
    p = subprocess.Popen([sys.executable, "-m", "latentcode.shell.cli", "--audio", "none",
                          "--osc", "0"],
                         cwd=tmp_path, stdin=slave, stdout=slave, stderr=slave, env=env,
                         start_new_session=True)
    os.close(slave)
    seen = bytearray()
    try:
        assert _wait_for(master, b"lc>", seen, STARTUP), seen.decode(errors="replace")
        port = int(re.search(rb"127\.0\.0\.1:(\d+)", seen).group(1))
        assert b":record and bank are refused over OSC" in seen
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(message("/eval", "t9 $ \x1b]0;owned\x07\x1b[2J )"), ("127.0.0.1", port))
            udp.sendto(message("/eval", ":record stolen.wav"), ("127.0.0.1", port))
        assert _wait_for(master, b":record is refused over OSC", seen, 20)
        assert b"\x1b]0;owned" not in seen and b"\x1b[2J" not in seen
        assert b"t9 $ \\x1b]0;owned\\x07\\x1b[2J )" in seen
        os.write(master, b't1 $ "bell*4"\r')
        time.sleep(0.5)
        os.write(master, b":record take.wav\r")
        assert _wait_for(master, b"recording to take.wav", seen, 20)
        time.sleep(1.5)
        p.send_signal(signal.SIGTERM)
        assert _wait_for(master, b"stopped by SIGTERM", seen, 20), seen.decode(errors="replace")
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    assert b"wrote take.wav" in seen
    assert not (tmp_path / "stolen.wav").exists()
    info = sf.info(str(tmp_path / "take.wav"))
    assert info.samplerate == 44100 and info.duration > 1.0
    assert _data_size(tmp_path / "take.wav") == info.frames * 2 * 4
    assert not any(f.name.startswith(".take") for f in tmp_path.iterdir())


def test_sighup_to_the_pipe_while_recording_keeps_a_whole_take(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "latentcode.shell.cli", "--pipe", "--audio",
                          "none"], cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, bufsize=1)
    try:
        p.stdin.write('t1 $ "bell*4"\n\n:record take.wav\n\n')
        p.stdin.flush()
        for line in p.stdout:
            if line.startswith(("recording", "error")):
                break
        assert line.startswith("recording to take.wav"), line
        time.sleep(1.5)
        p.send_signal(signal.SIGHUP)
        rest = p.stdout.read()
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
    assert "wrote take.wav" in rest and rest.rstrip().endswith("stopped")
    info = sf.info(str(tmp_path / "take.wav"))
    assert info.duration > 1.0 and _data_size(tmp_path / "take.wav") == info.frames * 8


# -- what comes from outside ----------------------------------------------------------------------


def test_load_never_shows_a_line_of_a_file_that_is_not_a_piece(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    commands, said = _commands()
    commands.run(f":load {secret}")
    assert said == [f"error: :load reads pieces (.lc files), and '{secret}' is not one"]
    assert commands.session.evaluated == []
    piece = tmp_path / "p.lc"
    piece.write_text('t1 $ "bell"\n')
    commands.run(f":load {piece}")
    assert said[-1] == f"loaded {piece}"


def test_over_osc_file_commands_and_bank_are_refused_unless_allowed(tmp_path):
    (tmp_path / "p.lc").write_text('t1 $ "bell"\n')
    said: list[str] = []
    session = FakeSession(FakeEngine())
    _, run_block, run_remote = make_block_runner(session, said.append)
    for block in (f":load {tmp_path}/p.lc", ":reload", f":record {tmp_path}/x.wav",
                  f'bank "{tmp_path}"\nt1 $ "bell"'):
        said.clear()
        assert run_remote(block) is True
        assert len(said) == 1 and "is refused over OSC" in said[0], said
        assert "--osc-files" in said[0]
    assert session.evaluated == [] and not list(tmp_path.glob("*.wav"))
    run_remote('t1 $ "bell"')  # code itself plays
    run_remote(":tracks")  # and commands that touch no file run
    assert session.evaluated == ['t1 $ "bell"'] and said[-1] == "no track plays yet"
    run_block(f":load {tmp_path}/p.lc")  # typed by the performer: allowed
    assert said[-1] == f"loaded {tmp_path}/p.lc"

    said.clear()
    _, _, allowed = make_block_runner(session, said.append, osc_files=True)
    allowed(f":load {tmp_path}/p.lc")
    assert said[-1] == f"loaded {tmp_path}/p.lc" and not any("refused" in x for x in said)


def test_text_from_outside_is_shown_with_control_characters_escaped(capsys):
    hostile = "t1 $ \x1b]0;owned\x07\x1b[2J\x9b31m \"bell\"\r"
    say(f"error: {hostile}\n  next line\ttabbed")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\r" not in out
    assert out == ("error: t1 $ \\x1b]0;owned\\x07\\x1b[2J\\x9b31m \"bell\"\\r\n"
                   "  next line\ttabbed\n")
    assert printable("plain text, été") == "plain text, été"
