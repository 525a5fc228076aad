"""The bank's helper process: slow work (encoding a file, building clusters) runs here, in
another process, so that its CPU time, its memory and its hold on Python's lock never belong
to the process that plays.

A cluster build reads every frame of the bank: 1 GB at its peak for the default bank, and a
live process that did it itself kept hundreds of MB of it afterwards. Here the work leaves
only files behind (the encodings, the clusters' labels and their parts, all kept on disk by
the caches of :mod:`~latentcode.model.encode`, :mod:`~latentcode.model.clusters` and
:mod:`~latentcode.model.part_cache`), and the live process reads them. The process is started
on the first job (a fresh interpreter: nothing of the live process's threads, pyo or JACK is
copied into it), runs at a lower priority on one thread (once the music plays, on CPU time
nothing else wants), paces itself, waits while the live producer is pressed for time (its
load, passed on through a :class:`~.pacing.Gauge`), and is stopped when the bank has had
nothing to do for a while (:meth:`Helper.close`).

A task is a function the helper can import, called as ``fn(model, pace, report, *args)``: the
model, a function to call between blocks of work, and one to send a line to the performer.
Its return value and any exception come back pickled. If the process dies (killed, out of
memory), :meth:`Helper.call` raises :class:`~latentcode.model.jobs.Dropped`, which says so, and
the next call starts a new one.

>>> Helper(None).running
False
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Any

from latentcode.errors import LatentcodeError
from latentcode.model.jobs import Dropped, give_back_memory
from latentcode.model.pacing import Gauge, Pacer, be_idle, be_nice

NICE = 10  # steps below the live process: its producer's CPU comes first
DUTY = 0.5  # share of the time the helper may compute (it sleeps the rest)
POLL = 0.1  # s: how often a waiting call checks that it should go on
_LENGTH = 8  # bytes of each message's length, before its pickle


def _send(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(_LENGTH, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read(fd: int, n: int) -> bytes:
    parts, left = [], n
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _receive(fd: int) -> Any:
    return pickle.loads(_read(fd, int.from_bytes(_read(fd, _LENGTH), "little")))


def _model_of(model: Any) -> tuple:
    """How the helper gets the same model: the file it was loaded from, or else its weights.

    Pickling the default model's 11 MB of weights held Python's lock for 20-30 ms, from a
    thread of low priority: with another program busy, the producer waited for it long
    enough to run dry. A file name is a few bytes; the helper checks the fingerprint.
    """
    source = getattr(model, "source", None)
    if source is not None:
        return ("file", str(source), model.config, model.fingerprint)
    return ("weights", model.config, {k: v.numpy() for k, v in model.net.state_dict().items()})


class Helper:
    """The parent's side: starts the helper process when a task comes, and stops it.

    ``call`` blocks its caller (the bank's worker thread, never the audio path) until the task
    ends, calling ``check`` about every :data:`POLL` seconds; whatever ``check`` raises stops
    the helper and unwinds the call. The model is sent once per process. Each poll passes
    ``pressure()`` (the live producer's load, see :meth:`Bank.pace_by
    <latentcode.model.bank.Bank.pace_by>`; the worker sets it) on to the helper's pacing.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.pressure: Callable[[], float] = lambda: 0.0
        self._proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None
        self._gauge: Gauge | None = None
        self.started = 0  # processes started (a test, or a curious user, can count them)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running else None

    def _start(self) -> subprocess.Popen:
        if self.running:
            assert self._proc is not None
            return self._proc
        self.close()
        self._log = tempfile.TemporaryFile()
        # what this process can import, the child can; one thread for every maths library
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        # A process group of its own: Ctrl-C at the REPL interrupts the performer's line, not
        # this. Not a session of its own: where the system groups CPU time by session
        # (autogroup, as on Ubuntu), a new session shared the CPU with the whole live process
        # as an equal, whatever its nice value, and the producer ran dry.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "latentcode.model.helper"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, env=env, process_group=0)
        self.started += 1
        assert self._proc.stdin is not None
        self._gauge = Gauge()
        _send(self._proc.stdin.fileno(), (os.getpid(), _model_of(self.model), self._gauge.path))
        return self._proc

    def call(self, fn: Callable[..., Any] | str, *args: Any, report: Callable[[str], None],
             check: Callable[[], None]) -> Any:
        """``fn(model, pace, report, *args)`` run in the helper; its result or its error here.
        ``fn`` is a module's function, or its name as ``"module:function"``; what it returns
        must pickle."""
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        out = proc.stdout.fileno()
        try:
            self._pass_on()
            _send(proc.stdin.fileno(), (fn, args))
            while True:
                check()
                self._pass_on()
                if not select.select([out], [], [], POLL)[0]:
                    continue
                kind, value = _receive(out)
                if kind != "report":
                    break
                report(value)
        except (EOFError, BrokenPipeError):
            raise Dropped(self._death()) from None
        except BaseException:
            self.close()  # stopped mid-task: its late answer must not reach the next call
            raise
        if kind == "error":
            raise value  # the task's own error: the helper is fine and goes on
        return value

    def _pass_on(self) -> None:
        """Tell the helper's pacing the producer's load now."""
        if self._gauge is not None:
            self._gauge.value = self.pressure()

    def _death(self) -> str:
        """What to tell the performer when the helper process went away mid-task."""
        proc, code = self._proc, None
        if proc is not None:
            try:
                code = proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:  # it closed its end but lives on: end it
                proc.kill()
                code = proc.wait()
        last = ""
        if self._log is not None:
            self._log.seek(0)
            lines = self._log.read().decode(errors="replace").strip().splitlines()
            last = f": {lines[-1]}" if lines else ""
        self.close()
        how = f"was killed by signal {-code}" if code is not None and code < 0 else \
            f"ended with code {code}"
        return (f"the bank's helper process {how}{last}; the work was dropped and starts "
                "again when the sound is asked for again")

    def close(self) -> None:
        """Stop the helper process (now, if it is in the middle of a task)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for f in (proc.stdin, proc.stdout):
                if f is not None:
                    f.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._gauge is not None:
            self._gauge.close()
            self._gauge = None


def _rebuild(how: tuple) -> Any:
    """The model :func:`_model_of` describes (an error where its file has changed since)."""
    import torch

    from latentcode.model.vae import VAE, LatentModel, load_model

    if how[0] == "file":
        _, path, config, fingerprint = how
        try:
            model = load_model(path, config)
        except LatentcodeError:  # gone, or another model's sizes
            model = None
        if model is None or model.fingerprint != fingerprint:
            raise LatentcodeError(f"the model file {path!r} has changed since it was loaded: "
                                  "start latentcode again to use it")
        return model
    _, config, weights = how
    net = VAE(config.segment, config.n_units, config.latent_dim)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return LatentModel(net, config)


def main() -> None:
    """The helper process: tasks in on stdin, reports and results out on stdout."""
    inp, out = sys.stdin.fileno(), os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not enter the pipe
    be_nice(NICE)
    import torch

    torch.set_num_threads(1)
    parent, how, load = _receive(inp)
    try:
        model, failure = _rebuild(how), None
    except Exception as e:  # noqa: BLE001 - every task gets it as its answer
        model, failure = None, e
    gauge = Gauge(load)  # the live producer's load, as the parent last saw it
    with contextlib.suppress(OSError):  # both have it mapped: no name is left behind, even
        os.unlink(load)  # if the live process is killed before it can remove it
    pacer = Pacer(DUTY, pressure=lambda: gauge.value)
    idle = False

    def pace() -> None:
        nonlocal idle
        if os.getppid() != parent:  # the live process is gone: so is the reason to work
            os._exit(0)
        if not idle and gauge.value > 0:  # the music plays: from now on, spare CPU only
            be_idle()
            idle = True
        pacer()

    def report(line: str) -> None:
        _send(out, ("report", line))

    while True:
        try:
            fn, args = _receive(inp)
        except EOFError:
            return
        try:
            if failure is not None:
                raise failure
            if isinstance(fn, str):  # "module:function": a module the caller does not import
                module, _, name = fn.partition(":")
                fn = getattr(importlib.import_module(module), name)
            reply: tuple[str, Any] = ("done", fn(model, pace, report, *args))
        except Exception as e:  # noqa: BLE001 - handed to the caller, who decides
            reply = ("error", e)
        try:
            pickle.loads(pickle.dumps(reply))
        except Exception:  # noqa: BLE001 - an error or result that cannot cross: its text can
            reply = ("error", LatentcodeError(str(reply[1])))
        _send(out, reply)
        give_back_memory()


if __name__ == "__main__":
    main()
