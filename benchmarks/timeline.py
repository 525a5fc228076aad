"""What the live producer waited for, call by call: a diagnostic for a run's underruns.

:func:`install` wraps ``Stream.produce`` (and the bank's jobs) in the running process. Each
producer call is then noted with its wall time, its own CPU time, its wait for a CPU (the
kernel's run-queue time of the thread, ``/proc/self/task/<tid>/schedstat``), and the CPU time
and the wait for a CPU of every other thread of the process meanwhile. What is left of the
wall time after its CPU and run-queue time, the producer slept: waiting for the GIL, or for
the decoder's second OpenMP thread, or for the hypervisor to give the machine's CPU back
(``stolen``, noted per call). :func:`report` prints, around every underrun, the calls
before it and the bank's jobs, and a summary of where the time went; in a call whose other
threads waited over 10 ms for a CPU in all, the three that waited longest, by name. Reading
the files costs about half a millisecond a call with 8 threads (1% of a usual 40 ms call;
measured with a test run busy).

With ``stacks``, a thread of its own also samples the producer's stack every 3 ms while a call
has run over 25 ms (``sys._current_frames``), and :func:`report` shows the samples of the calls
before each underrun: what a slow call was doing, not only that it was slow. Each sample
also says what the kernel says of the producer (running, or asleep and where:
:func:`kernel_side`) and which other threads were running, so that a sleep inside a call
names what it waited for. It wakes every
3 ms (taking the GIL for a few microseconds) and looks at the producer only in slow calls.

Each call also notes the garbage collection that ran in it (``gc.callbacks``: a collection
runs in whichever thread allocates past the threshold), the producer's page faults (pages
handed back by ``malloc_trim`` and touched again would show there, as kernel time on its own
CPU clock), and the model's rows it decoded and their CPU time (a heavy call decoded more
rows, or the same rows slower); any collection over 5 ms, in any thread, is an event, and so
is a rewind (made between calls), with the rows it decoded. :func:`report` ends with the
calls that took the most of their own CPU (:meth:`Timeline.heavy`): slow for their own work,
not for waiting.

Found with it (stop 43): a busy producer that kept to single blocks after a line's hold, and
stalls of 50-110 ms in single calls during the bank's rebuild in which the producer slept,
while no other thread of the process worked more than usual. Later (stop 55): the calls before
a busy soak's underrun ran 31-61 ms of their own CPU for two blocks with no collection and no
page fault in them: the piece's own work. ``soak.py --timeline`` uses it.

>>> t = Timeline(); t.summary()
'no producer calls noted'
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time

import numpy as np

SLOW_OTHERS = 0.01  # s: the other threads' wait for a CPU in a call, over which they are named
# the columns of Timeline.calls
COLUMNS = ("t", "wall", "cpu", "runqueue", "steps", "queued", "start", "others",
           "others_waited", "stolen", "gc", "faults", "rows", "decode")
SLOW_GC = 0.005  # s: a garbage collection this long, in any thread, is noted as an event
SLOW_AMEND = 0.001  # s: a rewind (Stream.amend) this long is an event even if it decoded nothing
TICK = 1 / os.sysconf("SC_CLK_TCK")  # s: a tick of /proc/stat


def stolen() -> float:
    """Seconds the hypervisor has taken this machine's CPUs away, all CPUs together (the
    ``steal`` column of /proc/stat, in ticks of 10 ms). A thread that loses its CPU so is
    neither running nor waiting in its own schedstat: its call shows it as a sleep."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[8]) * TICK


def _schedstat(tid: int | str) -> tuple[int, int]:
    """(ns on a CPU, ns waiting for one) of thread ``tid`` of this process."""
    with open(f"/proc/self/task/{tid}/schedstat") as f:
        on, wait, _ = f.read().split()
    return int(on), int(wait)


def _faults(tid: int) -> int:
    """Page faults of thread ``tid`` so far, minor and major (``/proc/.../stat``): each is
    kernel time on the thread's own CPU clock, e.g. pages handed back and touched again."""
    with open(f"/proc/self/task/{tid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[7]) + int(fields[9])  # minflt, majflt (fields 10 and 12 of stat)


def _others(me: int) -> dict[int, np.ndarray]:
    """ns on a CPU and ns waiting for one, of each thread of this process but ``me``, so far.
    Among them is the decoder's second OpenMP thread, which the producer waits for at the end
    of every product: its wait for a CPU is the producer's too."""
    found = {}
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != me:
            try:
                found[int(tid)] = np.array(_schedstat(tid), dtype=float)
            except OSError:  # (a thread that just ended)
                pass
    return found


def _thread_name(tid: int) -> str:
    """A thread of this process by its Python name where it has one, else the system's."""
    for t in threading.enumerate():
        if t.native_id == tid:
            return t.name
    try:
        with open(f"/proc/self/task/{tid}/comm") as f:
            return f"{f.read().strip()} {tid}"
    except OSError:
        return str(tid)


class Timeline:
    """Producer calls and bank jobs, in ``time.monotonic()`` seconds from its making."""

    def __init__(self, size: int = 1 << 21) -> None:
        self.t0 = time.monotonic()
        self.calls = np.zeros((size, len(COLUMNS)))
        self.count = 0
        self.events: list[tuple[float, str]] = []
        # the call under way: (its index, its start, its thread's ident and native id), None
        # between calls
        self.current: tuple[int, float, int, int] | None = None
        self.stacks: list[tuple[int, float, str]] = []  # (call index, s into it, where)
        # call index -> the threads that waited longest for a CPU during it (SLOW_OTHERS)
        self.waiters: dict[int, str] = {}
        self.collecting: dict[int, float] = {}  # thread ident -> when its collection began
        self.gc_in_call = 0.0  # s of garbage collection in the producer's call under way
        # the model's decodes in the producer's call under way: rows, and their own CPU time
        self.rows_in_call, self.decode_in_call = 0, 0.0
        self.amending = 0  # the thread making a rewind (Stream.amend), 0 while none is

    def on_gc(self, phase: str, info: dict) -> None:
        """A ``gc.callbacks`` entry: time each collection; the producer's count against its
        call (a collection runs in whichever thread allocates past the threshold), and any
        long one is an event."""
        me = threading.get_ident()
        if phase == "start":
            self.collecting[me] = time.perf_counter()
            return
        took = time.perf_counter() - self.collecting.pop(me, time.perf_counter())
        current = self.current
        if current is not None and current[2] == me:
            self.gc_in_call += took
        if took > SLOW_GC:
            self.note(f"gc of generation {info['generation']} in "
                      f"{threading.current_thread().name}: {took * 1e3:.1f} ms, "
                      f"{info['collected']} collected")

    def note(self, text: str) -> None:
        """An event of the run (a typed line, a job's start or end)."""
        self.events.append((time.monotonic() - self.t0, text))

    def summary(self) -> str:
        """Where the producer's time went, as a line."""
        rows = self.calls[: self.count]
        if not len(rows):
            return "no producer calls noted"
        wall = rows[:, 1].sum()
        slept = rows[:, 1] - rows[:, 2] - rows[:, 3]
        cpu, queue, others, waited = (rows[:, k].sum() / wall for k in (2, 3, 7, 8))
        return (f"{len(rows)} producer calls, {wall:.1f} s: on a CPU {cpu:.0%}, waiting for one "
                f"{queue:.0%}, asleep {slept.sum() / wall:.0%}; {(slept > 0.02).sum()} calls "
                f"slept over 20 ms, the longest {slept.max() * 1e3:.0f} ms; other threads of "
                f"the process used {others:.2f} of a core meanwhile and waited for one "
                f"{waited:.2f} of the time (thread-seconds a second); the hypervisor took "
                f"{rows[:, 9].sum():.2f} s of the machine's CPUs during calls; garbage "
                f"collection {rows[:, 10].sum() * 1e3:.0f} ms in calls; page faults a call "
                f"median {np.median(rows[:, 11]):.0f}, the most {rows[:, 11].max():.0f}; "
                f"{self.sizes()}; {self.decoding()}")

    def decoding(self) -> str:
        """The model's rows a block, and the CPU time a row, over all calls.

        >>> t = Timeline(); t.calls[0, [4, 12, 13]] = (2, 128, 0.01152); t.count = 1
        >>> t.decoding()
        '64 rows decoded a block, 90 us of CPU a row'
        """
        rows = self.calls[: self.count]
        blocks, decoded = rows[:, 4].sum(), rows[:, 12].sum()
        if not decoded:
            return "no rows decoded"
        return (f"{decoded / max(blocks, 1):.0f} rows decoded a block, "
                f"{self.per_row() * 1e6:.0f} us of CPU a row")

    def per_row(self) -> float:
        """The CPU time of a decoded row over all calls (s; 0 when none was decoded)."""
        rows = self.calls[: self.count]
        return rows[:, 13].sum() / max(rows[:, 12].sum(), 1)

    def sizes(self) -> str:
        """How many calls made each number of blocks, and how low the queue was at their
        starts (the near misses: under two blocks of 1,024)."""
        rows = self.calls[: self.count]
        steps, queued = rows[:, 4].astype(int), rows[:, 5]
        made = ", ".join(f"{n} blocks {(steps == n).sum()}" for n in np.unique(steps))
        return (f"calls of {made}; queued at a call's start: the least {queued.min():.0f}, "
                f"under 2048 in {(queued < 2048).sum()}")

    def heavy(self, most: int = 8, times: float = 2.0) -> list[str]:
        """The ``most`` calls that took the most of their own CPU, of those over ``times`` the
        median: a call slow for its own work (a collection, pages faulted in, a first use),
        not for waiting, with the last event before it."""
        rows = self.calls[: self.count]
        if not len(rows):
            return []
        per_block = rows[:, 2] / np.maximum(rows[:, 4], 1)
        usual = np.median(per_block)
        lines = []
        for i in np.argsort(-per_block)[:most]:
            if per_block[i] <= times * usual:
                break
            r = rows[i]
            before = [text for at, text in self.events if at <= r[0]]
            lines.append(f"cpu {r[2] * 1e3:.1f} ms for {int(r[4])} blocks (usual "
                         f"{usual * 1e3:.1f} a block) in the call at t={r[0]:.3f} s: "
                         f"{self.decoded(r)}, gc {r[10] * 1e3:.1f} ms, {int(r[11])} page "
                         f"faults; after {before[-1] if before else 'nothing'}")
        return lines

    def decoded(self, r: np.ndarray) -> str:
        """A call's decode: its rows and their CPU time, against the run's usual a row (a
        call heavy for decoding more rows, or for decoding them slower)."""
        each = r[13] / r[12] if r[12] else 0.0
        return (f"decoded {int(r[12])} rows in {r[13] * 1e3:.1f} ms ({each * 1e6:.0f} us a row, "
                f"usual {self.per_row() * 1e6:.0f})")

    def sleeps(self, most: int = 8, over: float = 0.02) -> list[str]:
        """The first ``most`` calls that slept over ``over`` s (neither running nor waiting
        for a CPU), each with the other threads that waited in it and the last event before,
        then the stack samples (``stacks``) that found the producer not running in it: where
        it slept, and what ran meanwhile. A sleep need not end in an underrun (the queue may
        cover it), so these are shown whether one followed or not."""
        rows = self.calls[: self.count]
        slept = rows[:, 1] - rows[:, 2] - rows[:, 3]
        lines = []
        for i in np.flatnonzero(slept > over)[:most]:
            r = rows[i]
            before = [text for at, text in self.events if at <= r[0]]
            lines.append(f"slept {slept[i] * 1e3:.0f} ms in the call at t={r[0]:.3f} s (wall "
                         f"{r[1] * 1e3:.1f}, cpu {r[2] * 1e3:.1f}, runqueue {r[3] * 1e3:.1f}; "
                         f"others ran {r[7] * 1e3:.1f}, waited {r[8] * 1e3:.1f}; the machine's "
                         f"CPUs stolen {r[9] * 1e3:.0f}): "
                         f"{self.waiters.get(int(i), 'no other thread waited over 10 ms')}; "
                         f"after {before[-1] if before else 'nothing'}")
            lines += [f"    {into * 1e3:5.1f} ms in: {text}" for k, into, text in self.stacks
                      if k == i and "  [R" not in text]
        return lines

    def call_of(self, sample: int) -> int:
        """The index of the call that made ``sample`` (-1: none noted)."""
        return int(np.searchsorted(self.calls[: self.count, 6], sample, side="right")) - 1

    def around(self, sample: int, before: int = 6) -> list[str]:
        """The calls up to the one that made ``sample``, and the events of the 5 s before."""
        rows = self.calls[: self.count]
        i = self.call_of(sample)
        if i < 0:
            return []
        lines = [f"  t={r[0]:8.3f} s  wall {r[1] * 1e3:5.1f} ms  cpu {r[2] * 1e3:5.1f}  "
                 f"runqueue {r[3] * 1e3:5.1f}  asleep {(r[1] - r[2] - r[3]) * 1e3:5.1f}  "
                 f"others {r[7] * 1e3:5.1f} (waited {r[8] * 1e3:5.1f})  "
                 f"{int(r[4])} blocks, {int(r[5])} queued, stolen {r[9] * 1e3:.0f}, "
                 f"gc {r[10] * 1e3:.1f}, {int(r[11])} page faults, {int(r[12])} rows "
                 f"decoded in {r[13] * 1e3:.1f} ms"
                 for r in rows[max(0, i - before): i + 2]]
        shown = range(max(0, i - before), i + 2)
        lines += [f"    call at t={rows[k, 0]:8.3f} s: {self.waiters[k]}"
                  for k in shown if k in self.waiters]
        lines += [f"    call at t={rows[k, 0]:8.3f} s, {into * 1e3:5.1f} ms in: {where}"
                  for k, into, where in self.stacks if k in shown]
        t = rows[i, 0]
        return lines + [f"  {at:8.3f} s  {text}" for at, text in self.events if t - 5 <= at <= t]

    def sample(self, every: float = 0.003, after: float = 0.025, most: int = 100_000) -> None:
        """A daemon thread's target, until ``most`` samples are kept: every ``every`` s, the
        innermost frames of the producer if its call has run ``after`` s or more."""
        while len(self.stacks) < most:
            time.sleep(every)
            current = self.current
            if current is None or time.monotonic() - current[1] < after:
                continue
            frames = sys._current_frames()
            frame = frames.get(current[2])
            if frame is not None:
                text = f"{where(frame)}  [{kernel_side(current[3], frames)}]"
                self.stacks.append((current[0], time.monotonic() - current[1], text))


def kernel_side(tid: int, frames: dict) -> str:
    """What the kernel says of thread ``tid`` of this process: its state, and where it sleeps
    when it does (``futex_wait_queue`` for a lock such as the GIL or OpenMP's barrier, an
    rwsem for the address space's lock that a page fault takes, ``folio_wait`` for a page
    being read); and then which other threads are running (state R), each with its innermost
    Python frame where it has one: the GIL's holder is among them when ``tid`` waits for it.
    (Plain ``os`` reads, 15 us a file: the other threads are read only while ``tid`` sleeps.)

    >>> kernel_side(threading.get_native_id(), {}).startswith("R")
    True
    """
    def read(t: int | str, name: str) -> str:
        fd = os.open(f"/proc/self/task/{t}/{name}", os.O_RDONLY)
        try:
            return os.read(fd, 1024).decode()
        finally:
            os.close(fd)

    def state(t: int | str) -> tuple[str, str]:
        text = read(t, "stat")
        return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2]

    try:
        _, mine = state(tid)
        if mine == "R":
            return "R ; running: -"
        chan = read(tid, "wchan").strip()
    except OSError:
        return "gone"
    native = {t.native_id: t.ident for t in threading.enumerate()}
    running = []
    for other in os.listdir("/proc/self/task"):
        if int(other) in (tid, threading.get_native_id()):
            continue
        try:
            name, s = state(other)
        except OSError:
            continue
        if s == "R":
            frame = frames.get(native.get(int(other)))
            running.append(name + (f" in {where(frame, 1)}" if frame is not None else ""))
    return f"{mine} {chan}; running: {', '.join(running) or 'none'}"


def where(frame, depth: int = 3) -> str:
    """The innermost ``depth`` frames from ``frame`` outwards, as ``name (file:line)``.

    >>> where(sys._getframe(), 1).startswith("<module> (")
    True
    """
    names = []
    while frame is not None and len(names) < depth:
        code = frame.f_code
        names.append(f"{code.co_name} ({os.path.basename(code.co_filename)}:{frame.f_lineno})")
        frame = frame.f_back
    return " < ".join(names)


def install(stacks: bool = False) -> Timeline:
    """Note every producer call and bank job of this process from now on; with ``stacks``,
    sample the producer's stack during slow calls too (:meth:`Timeline.sample`). Install it
    before the session is made: its frame cache keeps the model's ``decode`` it was given,
    and rows decoded through one taken before are not counted."""
    from latentcode.audio import stream
    from latentcode.model import jobs, vae

    line = Timeline()
    produce, execute = stream.Stream.produce, jobs.Job.execute
    decode, amend = vae.LatentModel.decode, stream.Stream.amend

    def noted_decode(self, z, out=None):
        current = line.current
        me = threading.get_ident()
        if (current is None or current[2] != me) and line.amending != me:
            return decode(self, z, out)  # neither a producer's call nor a rewind: not counted
        cpu = time.thread_time()
        try:
            return decode(self, z, out)
        finally:
            line.decode_in_call += time.thread_time() - cpu
            line.rows_in_call += len(z)

    def noted_amend(self):
        # a rewind runs between the producer's calls: an event, with what it decoded
        line.amending, line.rows_in_call, line.decode_in_call = threading.get_ident(), 0, 0.0
        t = time.monotonic()
        try:
            amend(self)
        finally:
            line.amending = 0
            took = time.monotonic() - t
            if line.rows_in_call or took > SLOW_AMEND:  # (nothing to amend takes microseconds)
                line.note(f"rewind: {line.rows_in_call} rows decoded in "
                          f"{line.decode_in_call * 1e3:.1f} ms of CPU, {took * 1e3:.1f} ms in all")

    def noted_produce(self, generation=None, steps=None):
        me = threading.get_native_id()
        others, (_, waited) = _others(me), _schedstat(me)
        t, cpu, steal = time.monotonic(), time.thread_time(), stolen()
        queued, start = self.ring.available(), self.ring.write_pos
        faults = _faults(me)
        line.gc_in_call, line.rows_in_call, line.decode_in_call = 0.0, 0, 0.0
        line.current = (line.count, t, threading.get_ident(), me)
        try:
            produce(self, generation, steps)
        finally:
            line.current = None
        wall, cpu = time.monotonic() - t, time.thread_time() - cpu
        waited = (_schedstat(me)[1] - waited) / 1e9
        if line.count < len(line.calls):
            after = _others(me)
            each = {tid: (now - others.get(tid, 0.0)) / 1e9 for tid, now in after.items()}
            other_cpu, other_wait = sum(each.values(), np.zeros(2))
            line.calls[line.count] = (t - line.t0, wall, cpu, waited, steps or self.steps,
                                      queued, start, other_cpu, other_wait,
                                      stolen() - steal, line.gc_in_call,
                                      _faults(me) - faults, line.rows_in_call,
                                      line.decode_in_call)
            if other_wait > SLOW_OTHERS:  # which threads waited (names: only for these)
                worst = sorted(each.items(), key=lambda kv: -kv[1][1])[:3]
                line.waiters[line.count] = ", ".join(
                    f"{_thread_name(tid)} waited {w * 1e3:.1f} ms (ran {c * 1e3:.1f})"
                    for tid, (c, w) in worst if w > 0.001)
            line.count += 1

    def noted_execute(self, pace, *args, **kwargs):
        line.note(f"job {self.key} starts")
        try:
            execute(self, pace, *args, **kwargs)
        finally:
            line.note(f"job {self.key} ends ({self.seconds:.1f} s)")

    stream.Stream.produce, jobs.Job.execute = noted_produce, noted_execute
    vae.LatentModel.decode, stream.Stream.amend = noted_decode, noted_amend
    gc.callbacks.append(line.on_gc)
    if stacks:
        threading.Thread(target=line.sample, name="timeline-stacks", daemon=True).start()
    return line


def states(stacks: list[tuple[int, float, str]]) -> str:
    """How the samples of slow calls (:meth:`Timeline.sample`) found the producer: running, or
    asleep and where, each as a share of the samples.

    >>> states([(0, 0.03, "f (a.py:1)  [R ; running: none]"),
    ...         (0, 0.04, "f (a.py:1)  [S futex_wait_queue; running: x]")])
    'producer in 2 samples of slow calls: R 50%, S futex_wait_queue 50%'
    """
    kinds: dict[str, int] = {}
    for _, _, text in stacks:
        if "  [" in text:
            kind = text.rsplit("  [", 1)[1].split(";")[0].strip()
            kinds[kind] = kinds.get(kind, 0) + 1
    total = sum(kinds.values())
    if not total:
        return "no samples of slow calls"
    ranked = sorted(kinds.items(), key=lambda kind: -kind[1])
    shares = ", ".join(f"{k} {n / total:.0%}" for k, n in ranked)
    return f"producer in {total} samples of slow calls: {shares}"


def report(line: Timeline, gaps: tuple, most: int = 8) -> None:
    """Print the summary and, for the first ``most`` underruns apart by over a second, what
    came before each (``gaps``: ``EngineStats.gaps``, (source sample, length) pairs)."""
    print(line.summary())
    if line.stacks:
        print(states(line.stacks))
    shown, last = 0, -np.inf
    for at, _ in gaps:
        i = line.call_of(at)
        if i < 0 or line.calls[i, 0] - last < 1.0:
            continue
        last = line.calls[i, 0]
        print(f"underrun at source sample {at}:")
        for text in line.around(at):
            print(text)
        shown += 1
        if shown == most:
            break
    for text in line.sleeps(most):
        print(text)
    for text in line.heavy(most):
        print(text)
