"""The audio process: pyo's server, the graph and its callback, in a process of their own.

pyo computes every buffer holding its interpreter's lock, so in one process with the producer,
the REPL and the pattern queries, any of them that kept the lock (a garbage collection, a long
line redrawn, a decode's Python work) made the audio wait. Here the audio has an interpreter
to itself: the live :class:`~latentcode.audio.engine.Engine` starts ``python -m
latentcode.audio.player``, which boots the graph and plays a
:class:`~latentcode.audio.playout.Playout` of a ring in shared memory
(:mod:`latentcode.audio.shared`), while the producer fills the ring from the performer's
process. What crosses:

- the ring's samples, its positions, the board of counters, the gaps and the clock's stamp:
  shared memory, no copy, no message;
- the payloads of queued blocks (their controls): messages on a pipe, sent before the block
  is published, taken in by the callback after it reads the write position;
- a wake-up from the audio side when the ring runs low: a byte in a pipe;
- commands (start, stop, fade, delay, port names, record, close): a request and its answer.

If the audio process dies (a C object of pyo can take its process down), the engine notices
within a wake, tells the performer, and starts it again; what is queued and the clock go on,
and the track effects take up where they stood (the latest value of each is noted in shared
memory: :meth:`~latentcode.audio.graph.Mixer.restore`).
If the performer's process dies, the audio process finds its command pipe closed and exits.

>>> "stop" in COMMANDS and "close" in COMMANDS
True
"""

from __future__ import annotations

import gc
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, Pipe
from typing import IO, Any

import numpy as np

from latentcode.audio.backends import check_jack
from latentcode.audio.capture import Capture, capacity_for
from latentcode.audio.controls import TrackControls
from latentcode.audio.denormals import flush
from latentcode.audio.messages import Reporter
from latentcode.audio.playout import FIELDS, GAPS_KEPT, Board, Playout
from latentcode.audio.priority import AUDIO_NICE, raise_priority
from latentcode.audio.ring import AudioRing
from latentcode.audio.shared import PipeWake, SharedArrays, Stamp
from latentcode.errors import LatentcodeError

BOOT_TIMEOUT = 30.0  # s: pyo's import and a JACK client's start take about a second
ANSWER_TIMEOUT = 10.0  # s: a command the audio process does not answer in this is lost
STALL_SECONDS = 2.0  # s: playing, yet no buffer for this long: the audio process is stuck


class Player:
    """The performer's side of the audio process: its shared memory, pipes and commands.

    ``config`` is what :class:`~latentcode.audio.graph.Graph` needs (backend, tracks, sr,
    buffersize, delay, device, jack_client, stems, channels, inputs, input_ports), plus the
    ring's ``capacity`` and ``block``, and ``jack_server``. Raises
    :class:`~latentcode.errors.LatentcodeError` with the audio process's reason when it cannot
    boot.
    """

    def __init__(self, **config: Any) -> None:
        self.config = config
        tracks, channels = config["tracks"], config["channels"]
        layout = {"ring": ((channels * tracks, config["capacity"]), "float32"),
                  "pos": ((2,), "int64"), "board": ((len(FIELDS),), "int64"),
                  "gaps": ((GAPS_KEPT, 2), "int64"), "stamp": ((3,), "int64"),
                  "applied": ((tracks, len(TrackControls(config["sr"]).names)), "float64")}
        if config["inputs"]:
            layout["input"] = ((capacity_for(config["sr"]),), "float32")
            layout["input_stamp"] = ((3,), "int64")
        self.shared = SharedArrays(layout)
        self.shared["applied"].fill(np.nan)  # no control applied yet (Mixer.restore)
        self.wake = PipeWake()
        self.board = Board(self.shared["board"])
        self.capture = (Capture(len(self.shared["input"]), self.shared["input"],
                                Stamp(self.shared["input_stamp"]))
                        if config["inputs"] else None)
        self._send_lock = threading.Lock()
        self._command_lock = threading.Lock()
        self._errors_seen = 0
        self._kept: dict[str, tuple] = {}  # the latest of each KEPT command's arguments
        self._started = self._recording = False
        self._server_lost = False  # the JACK server has gone: waiting for it (watch)
        self._retrying = False  # the latest restart failed (watch tries again every second)
        self._started_at = 0.0  # time.monotonic() of the latest start
        self._ring: AudioRing | None = None  # the producer's twin, once made
        self.restarts = 0  # times the audio process was started again after it died
        self._proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self.sr = self.buffersize = self.limiter_delay = 0
        try:
            self._boot()
        except BaseException:
            self._release()
            raise
        self._rate = self.sr  # what the producer makes: a restart must play at it too

    # -- what the stream shares ----------------------------------------------------------------

    def ring(self) -> AudioRing:
        """The producer's twin of the audio process's ring."""
        tracks, channels = self.config["tracks"], self.config["channels"]
        self._ring = AudioRing(channels * tracks, self.config["capacity"],
                               data=self.shared["ring"], pos=self.shared["pos"],
                               send=self._send_payload)
        return self._ring

    def _send_payload(self, message: tuple) -> None:
        with self._send_lock:
            try:
                self._payloads.send(message)
            except (OSError, ValueError):  # the audio process died: Engine._watch restarts it
                pass

    def errors(self) -> list[str]:
        """The audio callback's errors not yet reported (asked for only when there are)."""
        if self.board.errors == self._errors_seen:
            return []
        self._errors_seen = self.board.errors
        try:
            return list(self.command("errors"))
        except LatentcodeError:
            return []

    # -- commands -------------------------------------------------------------------------------

    def command(self, name: str, *args: Any) -> Any:
        """Have the audio process carry out ``name`` (one of :data:`COMMANDS`); its answer."""
        with self._command_lock:
            conn = self._commands
            try:
                conn.send((name, args))
                if not conn.poll(ANSWER_TIMEOUT):
                    raise LatentcodeError(f"the audio process did not answer {name!r} in "
                                          f"{ANSWER_TIMEOUT:.0f} s")
                kind, value = conn.recv()
            except (OSError, EOFError, BrokenPipeError) as exc:
                raise LatentcodeError(f"the audio process is gone ({self.why()}): {exc}") from None
        if kind == "error":
            raise LatentcodeError(value)
        if name in KEPT:  # what a restarted process must be told again
            self._kept[name] = args
        elif name in ("start", "stop"):
            self._started = name == "start"
            self._started_at = time.monotonic()
        elif name in ("record", "stop_record"):
            self._recording = name == "record"
        return value

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def why(self) -> str:
        """How the audio process ended, in words, with the last line it wrote."""
        code = None if self._proc is None else self._proc.poll()
        if code is None:
            return "still running"
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        last = ""
        if self._log is not None:
            self._log.seek(0)
            lines = [ln for ln in self._log.read().decode(errors="replace").splitlines()
                     if ln.strip()]
            last = f"; it said: {lines[-1][:200]}" if lines else ""
        return how + last

    def stalled(self, last_buffer: float | None) -> bool:
        """Started, yet no buffer played (``last_buffer``: when the latest was, in
        ``time.monotonic()``) for :data:`STALL_SECONDS` since then or since the start: the
        audio process is stuck (stopped, or waiting on something that will not come)."""
        if not (self._started and self.alive):
            return False
        since = max(self._started_at, last_buffer or 0.0)
        return time.monotonic() - since > STALL_SECONDS

    def kill(self) -> None:
        """End a stuck audio process at once (a restart follows)."""
        if self.alive:
            self._proc.kill()
            self._proc.wait()

    def server_gone(self) -> str | None:
        """The JACK server's name when the audio plays through JACK and that server no
        longer runs; else None. A probe of a few ms that never starts a server."""
        if self.config["backend"] != "jack":
            return None
        name = (self.config.get("jack_server") or os.environ.get("JACK_DEFAULT_SERVER")
                or "default")
        try:
            check_jack(name)
        except LatentcodeError:
            return name
        return None

    def watch(self, last_buffer: float | None, reporter: Reporter) -> None:
        """Look after the audio process (the producer calls it between blocks; ``last_buffer``
        as for :meth:`stalled`): if it died or is stuck, tell the performer and start it again
        over the same ring. If the JACK server itself has gone, no restart can help: say so
        once, wait for it (a probe a second), and start the audio again when it is back."""
        stalled = self.stalled(last_buffer)
        if self.alive and not stalled:
            return
        if server := self.server_gone():
            if not self._server_lost:
                reporter.say(f"the JACK server '{server}' has stopped: start it again, and "
                             "the audio goes on")
                self._server_lost = True
            time.sleep(1.0)
            return
        if self._retrying:  # the last start failed and was told: try again, quietly
            pass
        elif self._server_lost:  # (its JACK client went with the old server)
            reporter.say("the JACK server is back: starting the audio again")
        elif stalled:
            reporter.say(f"the audio process played nothing for {STALL_SECONDS:.0f} s; "
                         "starting it again")
        else:
            reporter.say(f"the audio process stopped ({self.why()}); starting it again")
        self._server_lost = False
        self.kill()
        try:
            note = self.restart()
        except LatentcodeError as exc:  # once, then every second again
            reporter.once(str(exc), f"the audio could not be started again: {exc}")
            self._retrying = True
            time.sleep(1.0)
            return
        if self._retrying:
            reporter.say("the audio plays again")
            self._retrying = False
        if note:  # (a recording it was making ended)
            reporter.say(note)

    def restart(self) -> str | None:
        """Start the audio process again over the same ring, board and clock (it died), with
        the delay and port names it had, playing if it was. A recording it was making ends
        where it died: what to tell the performer of it, if so."""
        self._end(wait=0.5)
        self.restarts += 1
        self._boot()
        if self.sr != self._rate:  # (a JACK server started again at another rate)
            self._end(wait=1.0)
            wrong, self.sr = self.sr, self._rate
            raise LatentcodeError(
                f"the JACK server now runs at {wrong} Hz, not at the {self._rate} Hz the "
                f"session plays: start it at {self._rate} Hz again")
        for name, args in self._kept.items():
            self.command(name, *args)
        self.command("restore")  # the track effects as they stood, the latest of each
        if self._ring is not None:  # the controls of the blocks still queued
            self._ring.resend()
        if self._started:
            self.command("start")
        if self._recording:
            self._recording = False
            return ("the recording in progress ended when the audio process stopped: "
                    ":record again to go on in a new file")
        return None

    def close(self) -> None:
        """Close the graph in the audio process, let it exit, release the pipes."""
        if self._proc is None:
            return
        if self.alive:
            try:
                self.command("close")
            except LatentcodeError:
                pass
        self._end(wait=5.0)
        self._release()

    def _release(self) -> None:
        """Close the wake's pipe and the shared block's descriptor (the mapping stays while
        the arrays are referenced)."""
        self.wake.close()
        self.shared.close_fd()

    # -- internals --------------------------------------------------------------------------

    def _boot(self) -> None:
        """Start ``python -m latentcode.audio.player`` and wait until its graph plays."""
        payloads_in, self._payloads = Pipe(duplex=False)
        self._commands, commands_child = Pipe()
        config = dict(self.config, layout=self.shared.layout, shared_fd=self.shared.fd,
                      payloads_fd=payloads_in.fileno(), commands_fd=commands_child.fileno(),
                      wake_fd=self.wake.write_fd)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        if config.get("jack_server"):
            env["JACK_DEFAULT_SERVER"] = config["jack_server"]  # libjack reads it at open
        self._log = tempfile.TemporaryFile()
        fds = (self.shared.fd, payloads_in.fileno(), commands_child.fileno(), self.wake.write_fd)
        # A process group of its own, as the bank's helper has: Ctrl-C at the REPL is the
        # performer's, not the audio's. The same session: see docs/audio-engine.md.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "latentcode.audio.player", json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, env=env,
            pass_fds=fds, process_group=0)
        payloads_in.close()
        commands_child.close()
        try:
            ready = self._commands.poll(BOOT_TIMEOUT)
            answer = self._commands.recv() if ready else None
        except (EOFError, OSError):
            answer = None
        if answer is None or answer[0] != "ready":
            reason = answer[1] if answer else f"it ended ({self._wait_why()})"
            self._end(wait=1.0)
            raise LatentcodeError(reason if answer else f"the audio process did not start: "
                                  f"{reason}")
        self.sr, self.buffersize, self.limiter_delay = answer[1]

    def _wait_why(self) -> str:
        if self._proc is not None:
            try:
                self._proc.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
        return self.why()

    def _end(self, wait: float) -> None:
        for conn in (self._commands, self._payloads):
            conn.close()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- the audio process ----------------------------------------------------------------------------

class _Audio:
    """The audio process's side: the graph, the playout and the commands it answers."""

    def __init__(self, config: dict[str, Any]) -> None:
        from latentcode.audio.graph import Graph

        self.config = config
        shared = SharedArrays(config["layout"], fd=config["shared_fd"])
        self.payloads = Connection(config["payloads_fd"], writable=False)
        # asked every buffer whether a message has come: Connection.poll builds a selector
        # each time (8 us idle), a poll object made once answers in under 1
        self._arrived = select.poll()
        self._arrived.register(self.payloads.fileno(), select.POLLIN)
        wake = PipeWake((-1, config["wake_fd"]))
        tracks, channels = config["tracks"], config["channels"]
        ring = AudioRing(channels * tracks, config["capacity"], data=shared["ring"],
                         pos=shared["pos"], receive=self._receive)
        self.board = Board(shared["board"])
        self.playout = Playout(ring, self.board, config["block"], wake.set,
                               gaps=shared["gaps"], stamp=Stamp(shared["stamp"]))
        self.graph = Graph(config["backend"], tracks=tracks, sr=config["sr"],
                           buffersize=config["buffersize"],
                           delay=tuple(config["delay"]) if config["delay"] else None,
                           device=config["device"], jack_client=config["jack_client"],
                           stems=config["stems"], channels=channels, inputs=config["inputs"],
                           input_ports=config["input_ports"])
        self.graph.mixer.applied = shared["applied"]  # (noted in the performer's memory)
        if config["inputs"]:
            self.playout.capture = Capture(len(shared["input"]), shared["input"],
                                           Stamp(shared["input_stamp"]))
        self.playout.connect(self.graph)
        self.recording = False
        self._pacer: threading.Thread | None = None
        self._pacing = False

    def _receive(self) -> list[tuple]:
        """The payload messages that have come (the callback, after it read the position)."""
        out, conn, arrived = [], self.payloads, self._arrived.poll
        while arrived(0):  # (also at the pipe's end: recv then raises, as poll() made it)
            out.append(conn.recv())
        return out

    # the commands (each answers a value, or raises: its message goes back)
    def start(self) -> None:
        self.playout.reset()
        self.graph.mixer.fade(1.0, 0.005)
        self.graph.server.start()
        if self.config["backend"] == "none":
            self._pacing = True
            self._pacer = threading.Thread(target=self._pace, daemon=True)
            self._pacer.start()

    def stop(self) -> None:
        self._pacing = False
        pacer, self._pacer = self._pacer, None
        if pacer is not None:
            pacer.join(timeout=5.0)
        self.graph.server.stop()

    def fade(self, to: float, seconds: float) -> None:
        self.graph.mixer.fade(to, seconds)

    def set_delay(self, seconds: float, feedback: float) -> None:
        self.graph.mixer.set_delay(seconds, feedback)

    def restore(self) -> int:
        return self.graph.mixer.restore()

    def name_outputs(self, names: list[str]) -> None:
        self.graph.server.setJackOutputPortNames(names)

    def record(self, path: str) -> None:
        server = self.graph.server
        server.recordOptions(dur=-1, filename=path, fileformat=0, sampletype=3)
        server.recstart(path)
        self.recording = True

    def stop_record(self) -> None:
        if self.recording:
            self.graph.server.recstop()
        self.recording = False

    def errors(self) -> list[str]:
        return self.playout.take_errors()

    def close(self) -> None:
        self.stop()
        self.stop_record()
        self.graph.close()
        self.playout.disconnect()

    def _pace(self) -> None:
        """The clock of the "none" backend: process one buffer every buffer's duration, so
        time, recording and statistics run as with a sound card that nobody hears."""
        server, period = self.graph.server, self.graph.buffersize / self.graph.sr
        due = time.monotonic()
        while self._pacing:
            server.process()
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.5:
                due = time.monotonic()  # fell far behind (machine suspended): do not race


KEPT = ("set_delay", "name_outputs")  # settings a restarted audio process is given again
COMMANDS = ("start", "stop", "fade", "set_delay", "restore", "name_outputs", "record",
            "stop_record", "errors", "close")


def main(argv: list[str]) -> int:
    """The audio process: boot the graph, say ready, answer commands until closed or orphaned."""
    config = json.loads(argv[1])
    commands = Connection(config["commands_fd"])
    raise_priority(AUDIO_NICE)  # before any thread starts: they inherit it
    flush()  # so does the JACK thread that computes the graph (audio.denormals)
    try:
        audio = _Audio(config)
    except Exception as exc:  # its reason goes to the performer, in one line
        commands.send(("error", str(exc) if isinstance(exc, LatentcodeError)
                       else f"the audio process could not boot: {type(exc).__name__}: {exc}"))
        return 1
    commands.send(("ready", (audio.graph.sr, audio.graph.buffersize, audio.graph.limiter_delay)))
    sys.setswitchinterval(0.001)  # the command thread never keeps the callback waiting long
    gc.collect()
    gc.freeze()
    try:
        while True:
            try:
                name, args = commands.recv()
            except (EOFError, OSError):  # the performer's process is gone
                break
            if name not in COMMANDS:
                commands.send(("error", f"unknown audio command {name!r}"))
                continue
            try:
                value = getattr(audio, name)(*args)
            except Exception as exc:
                commands.send(("error", f"{name}: {type(exc).__name__}: {exc}"))
                continue
            commands.send(("ok", value))
            if name == "close":
                return 0
    finally:
        if audio.graph.server is not None:
            audio.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
