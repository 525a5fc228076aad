"""The real ``latentcode`` program, driven as a performer would: a terminal (tmux) for the REPL,
pipes for ``--pipe`` and ``watch``, a UDP socket for ``--osc``. Default model and bank,
``--audio none``. Every wait has a deadline and every process is cleaned up.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from latentcode.shell.osc import message

LATENTCODE = str(Path(sys.executable).with_name("latentcode"))
STARTUP = 120.0  # s: the first start may build the default corpus cache


def env_for(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LATENTCODE_HISTORY"] = str(tmp_path / "history")
    env.pop("LATENTCODE_HOME", None)  # the default corpus cache is shared, built once
    return env


def wait_until(predicate, timeout: float, what: str, show=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; got:\n{show()}")


class Terminal:
    """A tmux session on a private server running one command."""

    def __init__(self, command: str, cwd: Path, env: dict[str, str]) -> None:
        # the tmux server is started here, so it (and the program) gets this environment
        self.socket = f"latentcode-test-{os.getpid()}-{time.monotonic_ns()}"
        self.status = cwd / "exit-status"
        # written aside, then renamed: the file never exists empty (a read in between once
        # found '' there)
        aside = f"{self.status}.tmp"
        script = f"{command}; echo $? > {aside}; mv {aside} {self.status}; sleep 60"
        self._tmux("new-session", "-d", "-s", "perf", "-x", "120", "-y", "45", "-c", str(cwd),
                   script, env=env)

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                             text=True, timeout=10, env=env)
        return out.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "perf")

    def type(self, *keys: str) -> None:
        """Type text literally; 'Enter' and 'C-d' style names are sent as keys."""
        for k in keys:
            if re.fullmatch(r"Enter|C-[a-z]|Escape|Tab", k):
                self._tmux("send-keys", "-t", "perf", k)
            else:
                self._tmux("send-keys", "-t", "perf", "-l", k)
            time.sleep(0.05)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        return wait_until(lambda: text in self.screen() and self.screen(), timeout,
                          repr(text), self.screen)

    def exit_status(self, timeout: float = 20.0) -> int:
        wait_until(self.status.exists, timeout, "the program to exit", self.screen)
        return int(self.status.read_text())

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


@pytest.fixture
def terminal(tmp_path):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed for the end-to-end REPL test")
    opened: list[Terminal] = []

    def open_terminal(command: str, **extra_env: str) -> Terminal:
        t = Terminal(command, tmp_path, {**env_for(tmp_path), **extra_env})
        opened.append(t)
        return t

    yield open_terminal
    for t in opened:
        t.close()


def test_a_short_performance_in_the_repl(terminal, tmp_path):
    t0 = time.monotonic()
    term = terminal(f"{LATENTCODE} --audio none")
    term.wait_for("lc>", STARTUP)
    startup = time.monotonic() - t0
    assert "Ctrl-D quits" in term.screen()

    term.type('t1 $ "bell*2 drone"', "Enter")
    wait_until(lambda: " t1" in term.screen().splitlines()[-1], 10, "t1 in the toolbar",
               term.screen)
    assert "0.5 cps (120 bpm)" in term.screen()

    term.type('t2 $ fast 2 ) "bell"', "Enter")
    screen = term.wait_for("unexpected ')'")
    lines = screen.splitlines()
    at = next(i for i, line in enumerate(lines) if "unexpected ')'" in line)
    assert lines[at + 1] == '  t2 $ fast 2 ) "bell"'
    assert lines[at + 2] == "  " + " " * 12 + "^"

    term.type('t2 $ fast "drone" "bell"', "Enter")
    term.wait_for("fast: argument 'factor'")

    term.type('t3 $ "drone" #', "Enter")  # incomplete: a continuation line
    term.wait_for("...  ")
    term.type(" gain 0.5", "Enter")
    wait_until(lambda: " t3" in term.screen().splitlines()[-1], 10, "t3 in the toolbar",
               term.screen)

    term.type(":help fast", "Enter")
    term.wait_for("fast factor pat")
    term.wait_for("example: fast 2")

    term.type('t1 $ "be', "C-c")  # Ctrl-C clears the line, the music goes on
    term.type(":tracks", "Enter")
    screen = term.wait_for("t3       playing")
    assert 't1       playing            t1 $ "bell*2 drone"' in screen
    assert "t2" not in screen.split(":tracks")[-1]
    assert "Traceback" not in screen

    term.type("C-d")
    assert term.exit_status() == 0
    assert "bye" in term.screen()
    print(f"launch to first prompt: {startup:.2f} s")


def test_messages_print_above_the_prompt_without_breaking_the_line(terminal):
    term = terminal(f"{LATENTCODE} --audio none --osc 0")
    screen = term.wait_for("lc>", STARTUP)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", screen).group(1))
    term.type('t1 $ "bell*2 dro')  # half a line, then code arrives over OSC
    time.sleep(0.3)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(message("/eval", "t2 $ fast 2 ) x"), ("127.0.0.1", port))
    # The message is printed first and the half line redrawn after it: wait for both, since
    # a capture can fall between the two.
    half_line = 'lc> t1 $ "bell*2 dro'
    wait_until(lambda: "unexpected ')'" in (s := term.screen()) and half_line in s
                        and s.index("unexpected ')'") < s.rindex(half_line) and s,
                        15, "the message above the redrawn half line", term.screen)
    term.type('ne"', "Enter", ":tracks", "Enter")
    term.wait_for('t1       playing            t1 $ "bell*2 drone"')
    term.type("C-d")
    assert term.exit_status() == 0


def test_record_under_audio_none_writes_what_plays(terminal, tmp_path):
    import soundfile

    term = terminal(f"{LATENTCODE} --audio none")
    term.wait_for("lc>", STARTUP)
    term.type('t1 $ "bell*4"', "Enter", ":record take.wav", "Enter")
    term.wait_for("recording to take.wav")
    time.sleep(2.5)
    term.type(":stop", "Enter")
    term.wait_for("wrote take.wav")
    term.type(":quit", "Enter")
    assert term.exit_status() == 0
    audio, sr = soundfile.read(tmp_path / "take.wav")
    assert sr == 44100 and len(audio) > sr and abs(audio).max() > 0.01


def test_live_audio_commands_and_toolbar_with_jack(terminal, tmp_path):
    """The REPL on a real engine (a private JACK server, dummy driver): the toolbar's clock and
    decode load move, :latency changes the engine, :record writes what was heard."""
    import soundfile
    from jackd import INSTALL_HINT, jackd_path, running_jackd

    if jackd_path() is None:
        pytest.fail(INSTALL_HINT)
    with running_jackd() as server:
        term = terminal(f"{LATENTCODE} --audio jack", JACK_DEFAULT_SERVER=server)
        term.wait_for("lc>", STARTUP)
        assert "audio: jack" in term.screen()
        term.type(":record take.wav", "Enter", 'now t1 $ "bell*4" # gain 0.8', "Enter")
        term.wait_for("recording to take.wav")
        term.type(":latency 50", "Enter")
        term.wait_for("ms ahead; at least")  # 50 ms, or more if the producer measured slow
        time.sleep(2.0)
        toolbar = term.screen().splitlines()[-1]
        assert re.search(r"cycle +\d+\.\d\d", toolbar) and "decode" in toolbar, toolbar
        assert " t1" in toolbar and "rec take.wav" in toolbar, toolbar
        term.type(":stop", "Enter")
        term.wait_for("wrote take.wav")
        term.type("panic", "Enter", "C-d")
        assert term.exit_status() == 0
    audio, sr = soundfile.read(tmp_path / "take.wav")
    assert sr == 44100 and len(audio) > 1.5 * sr and abs(audio).max() > 0.01


class Reader:
    """Lines of a process's output, collected by a thread (a read never blocks a test)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}; got:\n" + "\n".join(self.seen))


@pytest.fixture
def spawn(tmp_path):
    procs: list[subprocess.Popen] = []

    def start(*args: str, stdin=subprocess.DEVNULL) -> tuple[subprocess.Popen, Reader]:
        p = subprocess.Popen([LATENTCODE, *args], cwd=tmp_path, env=env_for(tmp_path),
                             stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, bufsize=1)
        procs.append(p)
        return p, Reader(p)

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)


def test_pipe_evaluates_blocks_as_they_arrive_and_osc_too(spawn):
    proc, out = spawn("--pipe", "--audio", "none", "--osc", "0", stdin=subprocess.PIPE)
    port = int(out.wait_for(r"listening for OSC /eval on 127\.0\.0\.1:\d+", STARTUP)
               .rsplit(":", 1)[1])
    out.wait_for("reading blocks from standard input")

    def send(text: str) -> None:
        proc.stdin.write(text)
        proc.stdin.flush()

    send('t1 $ "bell*2"\n  # gain 0.8\n\n')  # a block ends at a blank line ...
    out.wait_for(r"^t1: new pattern")
    send('t2 $ fast 2 ) "x"\n;;\n')  # ... or at a ;; line
    out.wait_for(r"^error: line 1, column 13: unexpected '\)'")
    assert out.wait_for(r"^  t2 \$ fast 2 \) \"x\"$")
    assert out.wait_for(r"^  {13}\^$")

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(message("/eval", 't3 $ "drone"'), ("127.0.0.1", port))
        udp.sendto(message("/nonsense", 1), ("127.0.0.1", port))
    out.wait_for(r"osc: ignored /nonsense")
    send(":tracks\n\n")
    out.wait_for(r"^  t1 +playing")
    out.wait_for(r"^  t3 +playing +t3 \$ \"drone\"")
    proc.stdin.close()
    out.wait_for("^stopped$")
    assert proc.wait(timeout=20) == 0
    assert not any("Traceback" in line for line in out.seen)


def test_watch_reevaluates_changed_blocks_on_save(spawn, tmp_path):
    piece = tmp_path / "piece.lc"
    piece.write_text('tempo 0.5\n\nt1 $ "bell*2"\n')
    proc, out = spawn("watch", str(piece), "--audio", "none", "--duration", "30")
    out.wait_for(r"^t1: new pattern", STARTUP)
    out.wait_for(r"^playing piece\.lc")
    time.sleep(0.05)
    before_save = len(out.seen)
    piece.write_text('tempo 0.5\n\nt1 $ "bell*2"\n\nt2 $ "drone" # stretch 8\n\nt3 $ fast (\n')
    out.wait_for(r"^t2: new pattern")
    out.wait_for(rf"^error: {re.escape(str(piece))}, line 7, column 12")  # the file's line
    after_save = out.seen[before_save:]
    assert not any(line.startswith("t1:") for line in after_save)  # unchanged block
    assert not any(line.startswith("tempo") for line in after_save)
    proc.terminate()  # as an editor stops it: cleanly
    out.wait_for("^stopped$")
    assert proc.wait(timeout=20) == 0


def test_run_plays_a_piece_and_stops_after_its_duration(spawn, tmp_path):
    piece = tmp_path / "piece.lc"
    piece.write_text('t1 $ "bell drone"\n')
    proc, out = spawn("run", str(piece), "--audio", "none", "--duration", "1")
    out.wait_for(r"^playing piece\.lc", STARTUP)
    out.wait_for("^stopped$")
    assert proc.wait(timeout=20) == 0


def test_run_reports_a_bad_piece_in_one_line(spawn, tmp_path):
    piece = tmp_path / "bad.lc"
    piece.write_text('t1 $ "bell" #\n')
    proc, out = spawn("run", str(piece), "--audio", "none", "--duration", "1")
    assert proc.wait(timeout=STARTUP) == 1
    out.wait_for("^error: ")
    assert not any("Traceback" in line for line in out.seen)


def test_list_devices_names_the_backends(spawn):
    proc, out = spawn("--list-devices")
    out.wait_for("^audio backends available now: .*none", 60)
    assert proc.wait(timeout=30) == 0
