"""The bank's helper process: a live bank's slow work runs there, never in the playing process."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

import bank_helpers
import pytest
from bank_helpers import wait_until
from sound_helpers import tone

from latentcode.errors import LatentcodeError
from latentcode.model import bank as bank_module
from latentcode.model import clusters as clustering
from latentcode.model import encode, pacing
from latentcode.model import worker as worker_module
from latentcode.model.bank import Bank, NotReady
from latentcode.model.helper import Helper
from latentcode.model.jobs import Job, Stale, stale


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "mysounds"
    d.mkdir()
    for i, f in enumerate((60, 80, 3000, 3600)):
        tone(d / f"s_{i}.wav", f, seconds=0.6)
    return d


@pytest.fixture
def bank(tiny_model, folder, latentcode_home, monkeypatch):
    """A live bank that encodes every file in its helper, as it does a large one."""
    monkeypatch.setattr(bank_module, "HELPER_BYTES", 0)
    b = Bank(tiny_model, default=False)
    b.add_folder(folder)
    return b


def when_ready(bank, name, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return bank.resolve(name, wait=False)
        except NotReady:
            assert time.monotonic() < deadline, f"{name} never got ready"
            time.sleep(0.02)


def test_a_live_banks_encoding_and_clustering_run_in_the_helper_process(bank, monkeypatch):
    def not_here(*args, **kwargs):
        raise AssertionError("k-means ran in the playing process")

    monkeypatch.setattr(clustering, "centres", not_here)
    misses = encode.cache_stats.misses
    for name in ("s:2", "cluster:1", "sounds:0"):
        with pytest.raises(NotReady):
            bank.resolve(name, wait=False)
        sound = when_ready(bank, name)
        assert len(sound.mu) > 0
    assert encode.cache_stats.misses == misses  # no file was encoded in this process
    helper = bank._worker.helper
    assert helper.started == 1 and helper.pid not in (None, os.getpid())
    # its own process group: Ctrl-C at the REPL (sent to the terminal's foreground group)
    # spares it; our session: where CPU is shared by session, its lower priority still counts
    assert os.getpgid(helper.pid) != os.getpgid(0) and os.getsid(helper.pid) == os.getsid(0)


def test_the_helper_rebuilds_the_same_model(bank, tiny_model):
    pid, fingerprint = bank._worker.helper.call(bank_helpers.where, report=print,
                                                check=lambda: None)
    assert pid != os.getpid() and fingerprint == tiny_model.fingerprint


def test_a_task_that_fails_fails_there_and_the_helper_goes_on(bank, folder):
    (folder / "broken.wav").write_text("not audio")
    bank.add_folder(folder)
    with pytest.raises(NotReady):
        bank.resolve("broken", wait=False)
    wait_until(lambda: bank._jobs[f"encode:{folder / 'broken.wav'}"].done.is_set())
    with pytest.raises(LatentcodeError, match="corrupt or not audio"):
        bank.resolve("broken", wait=False)
    assert when_ready(bank, "s:1") is not None
    assert bank._worker.helper.started == 1  # the same process did both


def test_a_helper_killed_mid_job_is_told_and_the_next_request_starts_again(bank, monkeypatch):
    said = []
    bank.report = said.append
    real = bank._worker.warm
    monkeypatch.setattr(bank._worker, "warm", bank_helpers.long_work)
    with pytest.raises(NotReady):
        bank.resolve("cluster:0", wait=False)
    wait_until(lambda: any(m.startswith("working in") for m in said))
    os.kill(bank._worker.helper.pid, signal.SIGKILL)
    wait_until(lambda: any("helper process was killed by signal 9" in m for m in said))
    monkeypatch.setattr(bank._worker, "warm", real)
    with pytest.raises(NotReady):  # dropped, not failed for good: asked again, it starts again
        bank.resolve("cluster:0", wait=False)
    assert len(when_ready(bank, "cluster:0").mu) > 0
    assert bank._worker.helper.started == 2


def test_files_changed_while_the_helper_worked_are_not_clustered_here(bank, folder,
                                                                      monkeypatch):
    # the helper's clusters are keyed by the files' contents: a file that changed before this
    # process read them leaves it with none, and it must not build them itself instead
    def not_here(*args, **kwargs):
        raise AssertionError("k-means ran in the playing process")

    monkeypatch.setattr(clustering, "centres", not_here)
    said = []
    bank.report = said.append
    real = Helper.call

    def then_a_file_changes(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        tone(folder / "s_0.wav", 99, seconds=0.6)
        return result

    monkeypatch.setattr(Helper, "call", then_a_file_changes)

    def told() -> bool:  # asked for as a playing track asks, block after block
        with contextlib.suppress(NotReady):
            bank.resolve("cluster:0", wait=False)
        return any("files changed while its helper" in m for m in said)

    wait_until(told)
    monkeypatch.setattr(Helper, "call", real)
    with pytest.raises(NotReady):  # asked again, the helper makes them again
        bank.resolve("cluster:0", wait=False)
    assert len(when_ready(bank, "cluster:0").mu) > 0


def test_a_live_bank_with_a_corrupt_file_gets_its_clusters_from_the_helper(bank, folder):
    # the file left out there must not look like a change here (see the test above)
    (folder / "broken.wav").write_text("not audio")
    bank.add_folder(folder)
    said = []
    bank.report = said.append
    for name in ("cluster:0", "sounds:0"):
        assert len(when_ready(bank, name).mu) > 0
    assert not any("files changed" in m for m in said), said
    assert any("clusters leave out broken" in m for m in said), said


def test_an_idle_helper_is_stopped_and_the_next_job_starts_one(bank, monkeypatch):
    monkeypatch.setattr(worker_module, "IDLE", 0.2)
    when_ready(bank, "s:0")
    helper = bank._worker.helper
    wait_until(lambda: not helper.running, timeout=10)
    when_ready(bank, "s:1")
    assert helper.started == 2


def test_a_short_file_is_encoded_here_at_once_with_no_helper_to_start(tiny_model, folder,
                                                                      latentcode_home):
    # starting a helper takes seconds: a sound of the default corpus must start sooner
    bank = Bank(tiny_model, default=False)
    bank.add_folder(folder)
    misses = encode.cache_stats.misses
    assert len(when_ready(bank, "s:3").mu) > 0
    assert encode.cache_stats.misses == misses + 1 and bank._worker.helper.started == 0


def test_a_model_from_a_file_is_loaded_there_from_the_file_and_checked(tmp_path, tiny_model):
    import shutil

    from latentcode.model.helper import Helper
    from latentcode.model.vae import default_model_path, load_model, save_checkpoint

    path = shutil.copy(default_model_path(), tmp_path / "mine.pt")
    model = load_model(path)
    helper = Helper(model)
    try:
        pid, fingerprint = helper.call(bank_helpers.where, report=print, check=lambda: None)
        assert pid != os.getpid() and fingerprint == model.fingerprint
        helper.close()
        save_checkpoint(path, tiny_model.net, tiny_model.config)  # another model, same name
        with pytest.raises(LatentcodeError, match="has changed since it was loaded"):
            helper.call(bank_helpers.where, report=print, check=lambda: None)
    finally:
        helper.close()


def test_the_helper_waits_while_the_live_producer_is_pressed_and_goes_on_when_it_is_not(bank):
    helper, quiet = bank._worker.helper, {"report": print, "check": lambda: None}
    assert helper.call(bank_helpers.paced, **quiet) < 0.5
    assert not os.path.exists(helper._gauge.path)  # mapped by both, named by neither
    bank.pace_by(lambda: 0.95)  # the producer's load, as a live session passes it
    assert helper.call(bank_helpers.paced, **quiet) >= pacing.HOLD - 0.1
    bank.pace_by(lambda: pacing.PRESSED - 0.2)
    assert helper.call(bank_helpers.paced, **quiet) < 0.5
    bank.pace_by(None)
    assert helper.call(bank_helpers.paced, **quiet) < 0.5


def test_once_the_music_plays_the_helper_takes_only_cpu_time_nothing_else_wants(bank):
    # a render (no live producer) keeps the helper at its nice value: it may be all the work
    # there is; live, a nice value still took CPU from the producer (underruns while a new
    # folder's clusters were made), an idle policy takes only what the music leaves
    helper, quiet = bank._worker.helper, {"report": print, "check": lambda: None}
    assert helper.call(bank_helpers.policy, **quiet) == os.SCHED_OTHER
    assert os.getpriority(os.PRIO_PROCESS, helper.pid) >= 10
    bank.pace_by(lambda: 0.4)  # the producer's load, as a live session passes it
    assert helper.call(bank_helpers.policy, **quiet) == os.SCHED_IDLE
    bank.pace_by(None)  # the session stops; the helper stays as it is until it is stopped
    assert helper.call(bank_helpers.policy, **quiet) == os.SCHED_IDLE
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # never the playing process's own


class WaitingHelper:
    """A helper that notes the priority of the thread that waits on it."""

    def __init__(self) -> None:
        self.pressure = None
        self.waited_at: list[int] = []

    def call(self, fn, *args, report, check):
        self.waited_at.append(_own_priority())
        for _ in range(3):  # as the real one does while it waits: look, then sleep
            check()
            time.sleep(0.01)

    def close(self) -> None:
        pass


def _own_priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_thread_that_waits_on_the_helper_keeps_the_priority_the_work_here_runs_lower():
    # a thread of the playing process that takes Python's lock must not run at a low priority
    # (the producer waited for it); what a job computes here still gives the producer its CPU
    helper, ran_at, reports = WaitingHelper(), [], []
    w = worker_module.Worker(reports.append, helper, "m:f", lambda: ())
    after_helper = Job("part:1", "part 1", "p1", lambda pace: (ran_at.append(_own_priority()),
                                                               stale()), ("part", 1))
    plain = Job("encode:x", "x", "x", lambda pace: ran_at.append(_own_priority()) or "sound")
    try:
        for job in (after_helper, plain):
            w.submit(job)
            assert job.done.wait(10.0)
    finally:
        w.close()
    base = _own_priority()
    assert helper.waited_at == [base]  # (only the job with a task asks the helper)
    assert ran_at == [min(19, base + worker_module.NICE)] * 2
    # the work after the helper's still knows it came after it: refused, not done here
    assert isinstance(after_helper.error, Stale) and plain.outcome() == "sound"
    assert reports and "files changed" in reports[0]


def test_lowered_runs_each_function_and_raises_its_error_in_the_caller():
    low = worker_module.Lowered()
    try:
        assert low.run(lambda: threading.get_native_id()) != threading.get_native_id()
        with pytest.raises(ZeroDivisionError):
            low.run(lambda: 1 / 0)
        assert low.run(lambda: "still there") == "still there"
    finally:
        low.close()


def test_a_pacer_waits_only_as_long_as_the_pressure_lasts():
    until = time.monotonic() + 0.3
    pacer = pacing.Pacer(duty=1.0, pressure=lambda: 0.9 if time.monotonic() < until else 0.2)
    t0 = time.monotonic()
    pacer()
    assert 0.25 <= time.monotonic() - t0 < 1.0 and 0.25 <= pacer.held < 1.0
    pacer()  # eased: no wait
    assert pacer.held < 1.0 and time.monotonic() - t0 < 1.0


def test_a_gauge_is_read_in_another_process_and_its_file_goes_with_it():
    import subprocess
    import sys

    gauge = pacing.Gauge()
    gauge.value = 0.625
    read = subprocess.run(
        [sys.executable, "-c", "import sys; from latentcode.model.pacing import Gauge; "
         "print(Gauge(sys.argv[1]).value)", gauge.path],
        capture_output=True, text=True, check=True).stdout
    assert float(read) == 0.625
    gauge.close()
    assert not os.path.exists(gauge.path) and gauge.value == 0.0


def test_a_live_session_paces_its_banks_work_by_its_producers_load(tiny_model, bank):
    from latentcode.session import Session

    session = Session(tiny_model, bank, tracks=1)
    session.eval('t1 $ "s:0*4"')
    session.start("none")
    try:
        engine = session.engine
        wait_until(lambda: engine.stats.blocks > 8)
        assert engine.stats.producer_load_recent > 0
        # the worker and the helper see the producer's load as it is now (it moves with
        # every block, so one of a few reads in a row lands between two blocks)
        for pressure in (bank._worker.pressure, bank._worker.helper.pressure):
            assert any(pressure() == engine.stats.producer_load_recent for _ in range(20))
    finally:
        session.stop()
    assert bank._worker.pressure is None and bank._worker.helper.pressure() == 0.0


def test_a_live_session_makes_its_decoder_before_the_audio_starts(tiny_model, bank):
    # made by the producer's first decode, the decoder (int8x3's compiled steps loaded, the
    # weights split) held it 0.1 s while the first sound played: underruns
    from latentcode.session import Session

    session = Session(tiny_model, bank, tracks=1)
    assert tiny_model._decode is None
    session.start("none")  # nothing plays: the producer decodes nothing
    try:
        assert tiny_model._decode is not None
    finally:
        session.stop()
