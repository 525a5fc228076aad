"""The live decoder's thread count follows the cores other programs leave free."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from latentcode.errors import LatentcodeError
from latentcode.model import threads
from latentcode.model.spare_cores import GROW_AFTER, THREADS_ENV, WINDOW, SpareCores, read_usage
from latentcode.model.threads import available_cores, live_threads, one_thread, set_live_threads
from latentcode.model.vae import load_model


class Machine:
    """A fake /proc: the others' load of each window is set by hand."""

    def __init__(self) -> None:
        self.t, self.busy, self.own = 0.0, 0.0, 0.0
        self.others, self.ours = 0.0, 0.5

    def read(self) -> tuple[float, float]:
        return self.busy, self.own

    def second(self, others: float) -> None:
        """One window passes with other programs keeping ``others`` cores busy."""
        self.t += WINDOW
        self.busy += (others + self.ours) * WINDOW
        self.own += self.ours * WINDOW


def _counts(most: int, loads: list[float]) -> list[int]:
    m = Machine()
    s = SpareCores(most, read=m.read, clock=lambda: m.t)
    counts = [s.threads()]
    for load in loads:
        m.second(load)
        counts.append(s.threads())
    return counts


def test_gives_up_a_thread_in_one_second_and_takes_it_back_after_a_quiet_spell():
    # a busy core for 2 s, then idle: one thread at once, two again after GROW_AFTER seconds
    counts = _counts(2, [0.05, 1.0, 1.0] + [0.05] * (GROW_AFTER + 1))
    assert counts[:4] == [2, 2, 1, 1]
    assert counts[4 : 4 + GROW_AFTER - 1] == [1] * (GROW_AFTER - 1)
    assert counts[3 + GROW_AFTER] == 2


def test_a_half_busy_core_keeps_whatever_count_it_finds():
    # between the two thresholds nothing changes, so a load near them does not flap
    assert _counts(2, [0.5] * 6) == [2] * 7
    assert _counts(2, [1.0] + [0.5] * 6) == [2] + [1] * 7


def test_a_quiet_second_between_busy_ones_does_not_bring_a_thread_back():
    assert _counts(2, [1.0, 0.05, 1.0, 0.05, 1.0, 0.05]) == [2] + [1] * 6


def test_many_cores_give_up_one_thread_per_busy_core_and_never_go_below_one():
    assert _counts(8, [2.0])[-1] == 6
    assert _counts(8, [30.0])[-1] == 1
    assert _counts(1, [0.0] * 5) == [1] * 6


def test_without_proc_it_decodes_on_every_core_and_looks_once_a_window():
    t, reads = [0.0], []
    s = SpareCores(3, read=lambda: reads.append(t[0]), clock=lambda: t[0])
    for step in range(10):  # ten decodes in one window, then one more a window later
        t[0] = step * WINDOW / 20
        assert s.threads() == 3
    t[0] = WINDOW
    assert s.threads() == 3
    assert reads == [0.0, WINDOW]


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads Linux's /proc/stat")
def test_read_usage_counts_another_process_as_others_and_this_one_as_ours():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        child = _ticks(busy.pid)
        before = read_usage()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.5:  # this process busy too, for half a second
            pass
        time.sleep(0.5)
        after = read_usage()
        child = (_ticks(busy.pid) - child) / os.sysconf("SC_CLK_TCK")
    finally:
        busy.kill()
        busy.wait()
    ours = after[1] - before[1]
    others = (after[0] - before[0]) - ours
    assert 0.2 <= ours <= 0.8, ours
    assert child >= 0.3 and others >= child - 0.1, (others, child)


def _ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.skipif(not os.path.exists("/proc/stat") or available_cores() < 2,
                    reason="needs Linux's /proc/stat and two cores")
def test_the_live_decoder_leaves_a_core_to_a_busy_program(monkeypatch):
    # a thread decoding after set_live_threads() goes down to fewer threads than cores while
    # another program keeps a core busy, and pinned to one inside one_thread
    m = load_model(precision="fp32")
    z = np.random.default_rng(0).standard_normal((64, m.latent_dim)).astype(np.float32)
    seen: dict[str, int] = {}
    monkeypatch.setenv(THREADS_ENV, "")  # no count chosen: the default

    def decode() -> None:
        m.decode(z)
        seen["start"] = threads._THREADS.n
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5 * WINDOW:
            m.decode(z)
            time.sleep(0.01)
        seen["busy"] = threads._THREADS.n
        with one_thread():
            m.decode(z)
            seen["one"] = threads._THREADS.n

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert set_live_threads() == available_cores()
        thread = threading.Thread(target=decode)
        thread.start()
        thread.join()
    finally:
        busy.kill()
        busy.wait()
        set_live_threads(1)
    assert threads.spare_cores() is None and torch.get_num_threads() == 1
    assert seen["start"] == available_cores()
    assert seen["busy"] < available_cores() and seen["one"] == 1, seen


def test_a_chosen_count_is_fixed_and_a_wrong_one_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "1")
    try:
        assert live_threads() == 1 and set_live_threads() == 1 and threads.spare_cores() is None
        for wrong in ("two", "0"):
            monkeypatch.setenv(THREADS_ENV, wrong)
            with pytest.raises(LatentcodeError, match=THREADS_ENV):
                live_threads()
    finally:
        set_live_threads(1)


def test_the_threads_flag_reaches_the_environment_and_refuses_nonsense(monkeypatch, capsys):
    from latentcode.shell.cli import build_parser
    from latentcode.shell.frontends import apply_model_options

    monkeypatch.setenv(THREADS_ENV, "")  # put back as it was after the test
    apply_model_options(build_parser().parse_args(["--threads", "1"]))
    assert os.environ[THREADS_ENV] == "1"
    # train has a --threads of its own (its torch threads): it does not choose the live count
    monkeypatch.setenv(THREADS_ENV, "")
    apply_model_options(build_parser("train").parse_args(["train", "--threads", "1"]))
    assert os.environ[THREADS_ENV] == ""
    with pytest.raises(LatentcodeError, match="--threads takes a number of threads"):
        apply_model_options(build_parser().parse_args(["--threads", "0"]))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--threads", "none"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--threads" in err and "'none'" in err

