"""A long live session with a busy performer: does the audio hold, does memory stay put?

Plays a 4-track session through jackd's dummy driver (period 256) for ``--minutes`` (10 by
default) while a scripted performer changes something every ``--every`` seconds (3): new
patterns, morphs, stretches, immediate changes, clusters of the bank's frames and whole sounds
(the first use of each clusters in the bank's worker), a ``bank "FOLDER"`` of new sounds
half-way (written for the run, then played), and a full garbage collection every 20 s. It
prints, a minute at a time, the engine's underruns, the producer's load and slowest block, the
voices and the resident memory (all of it; the process's own, without the pages of mapped
cluster files, which the OS can drop; and that again once the C allocator has handed back what
it holds freed, ``malloc_trim``; and the bank's helper process's, where the clusters are built);
at the end the totals, the growth of each from the end of the first minute (when the caches
have filled) to the end, and the peaks, and which typed changes the underruns came after
(and how long after).

Then it checks that the live output is the offline render of the same script. The run records
what it played (``:record``: the master, after the limiter) and every track keeps a log of
where each change landed (``Track.log``). A fresh session renders the script offline through
the same graph (:class:`~latentcode.session.replay.Replay`): each change on its logged cycle,
the new folder joining the bank at the sample where the live producer was when it did. The
take is lined up with the render across its gaps (``EngineStats.gaps``) and compared a second
at a time: how many seconds are the same bits, and how loud the difference is otherwise,
counted apart before any gap, after one (the graph's reverb and delay then hold other
states), and after the new folder (live, its sounds are silent while they are being made).
The first use of each cluster is such a sound too: ``--warm`` makes them all before the start,
and ``--wait`` has the performer wait after the new folder until its sounds and the clusters
made again are ready, as one waits for the ready line.

    python benchmarks/soak.py [--minutes 10] [--every 3] [--busy] [--lookahead 4096] [--warm]
                              [--wait] [--keep DIR] [--timeline] [--stacks] [--threads N]
                              [--live-only]

``--timeline`` notes every producer call (benchmarks/timeline.py) and prints, around each
underrun, what the producer waited for; ``--stacks`` adds what it was doing (its stack,
sampled during slow calls).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PIECE = """tempo 0.5
t1 $ "drone" # mix "voice" # alpha (slow 4 $ range -0.5 1.4 sine) # gain 0.5 # pan 0.2
t2 $ every 4 (fast 2) $ "bell(3,8)" # stretch 2 # room 0.3 # pan 0.8
t3 $ "pluck*4 [hit hit:2]" # lpf 2400 # delay 0.2 # gain 0.6
t4 $ "sine2/2" # stretch 8 # gain 0.4 # hpf 200
"""

# What the performer types, in turn (``{bank}`` becomes the new sounds once loaded).
CHANGES = [
    't3 $ "pluck*8" # lpf (range 800 4000 $ slow 4 sine) # gain 0.5',
    't1 $ "drone" # mix "bell" # alpha (slow 8 saw) # gain 0.5',
    'now t3 $ "hit(5,8)" # speed "1 2" # gain 0.5',
    't2 $ "bell:2(3,8)" # stretch "<2 4>" # room 0.4',
    't4 $ "cluster:{k}/4" # legato 1 # gain 0.4',
    't3 $ "pluck*4 [hit hit:2]" # lpf 2400 # delay 0.2 # gain 0.6',
    't1 $ "sounds:{s}" # mix "drone" # alpha (slow 2 sine) # gain 0.4',
    't2 $ every 4 (fast 2) $ "bell(3,8)" # stretch 2 # room 0.3 # pan 0.8',
    't4 $ "sine2/2" # stretch (range 4 8 $ slow 8 sine) # gain 0.4 # hpf 200',
    'xfade 4 t1 $ "drone" # mix "voice" # alpha (slow 4 $ range -0.5 1.4 sine) # gain 0.5',
]
AFTER_BANK = ['t3 $ "{bank}*4" # gain 0.5', 't2 $ "{bank}:1(3,8)" # stretch 2 # gain 0.4']


def script_names(bank: str | None = None) -> list[str]:
    """The sounds the script names that slow work makes: its clusters, and the new group's."""
    names = [f"cluster:{k}" for k in range(24)] + [f"sounds:{s}" for s in range(8)]
    return names + ([f"{bank}:{i}" for i in range(4)] if bank else [])


def wait_until_made(bank, group: str) -> float:
    """Wait, as a performer waiting for the ready line, until every sound the rest of the
    script names is made, in the bank's background worker as live (never in this thread: its
    work would hold the GIL from the producer). Returns the seconds waited."""
    from latentcode.model.jobs import NotReady

    t0 = time.monotonic()
    todo = script_names(group)
    while todo:
        still = []
        for name in todo:
            try:
                bank.resolve(name, wait=False)
            except NotReady:
                still.append(name)
        todo = still
        if todo:
            time.sleep(0.5)
    return time.monotonic() - t0


def write_folder(folder: Path) -> str:
    """A few short sounds (plucked tones and noise bursts) in ``folder``; their group name.
    One of them is pitched by the clock: no cache has seen the folder, so the bank's clusters
    are made again from every file, as for a performer's own new folder."""
    sr = 44100
    t = np.arange(int(0.6 * sr)) / sr
    rng = np.random.default_rng(0)
    for k, f in enumerate((220, 330, 495, 660, 200 + time.time_ns() % 1000)):
        tone = np.sin(2 * np.pi * f * t) * np.exp(-6 * t)
        noise = rng.standard_normal(len(t)) * np.exp(-20 * t) * 0.3
        sf.write(folder / f"soak_{k}.wav", (0.5 * (tone + noise)).astype(np.float32), sr)
    return "soak"


def rss_mb(field: str = "VmRSS", pid: int | str = "self") -> float:
    """Resident memory in MB: all of it (``VmRSS``), or the process's own (``RssAnon``),
    without the pages of mapped files (the bank's clusters), which the OS can drop; of this
    process or of ``pid`` (NaN once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def helper_rss(helper) -> float:
    """The resident memory of the bank's helper process (0 while none runs)."""
    pid = getattr(helper, "pid", None)
    return 0.0 if pid is None else np.nan_to_num(rss_mb("VmRSS", pid))


class MemoryWatch(threading.Thread):
    """Samples the process's own memory (``RssAnon``) five times a second, to find when it
    jumps and what the performer had just typed (:meth:`jumps`)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.typed: list[tuple[float, str]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.samples.append((time.monotonic(), rss_mb("RssAnon")))

    def jumps(self, count: int = 3, window: float = 2.0) -> list[str]:
        """The ``count`` largest rises over ``window`` seconds, each with the change typed
        last before its top."""
        rises = []
        for i, (t, mb) in enumerate(self.samples):
            top, at = max((m, u) for u, m in self.samples[i:] if u - t <= window)
            rises.append((top - mb, t, mb, at))
        out, taken = [], []
        for rise, t, mb, at in sorted(rises, reverse=True):
            if len(out) == count or rise <= 0:
                break
            if any(abs(t - u) < window for u in taken):
                continue
            taken.append(t)
            before = [text for u, text in self.typed if u <= at]
            start = self.samples[0][0]
            out.append(f"+{rise:.0f} MB from {mb:.0f} MB at {t - start:.0f} s, after "
                       f"{before[-1] if before else 'nothing'!r}")
        return out


def audio_rss(pid: int | None) -> float:
    """The resident memory of the engine's audio process (0 where it has none)."""
    return 0.0 if pid is None else float(np.nan_to_num(rss_mb("VmRSS", pid)))


def trimmed_mb() -> float:
    """The process's own resident memory after glibc's ``malloc_trim(0)``: without what the
    allocator has been given back but still holds (NaN where there is no glibc). Measured
    after the other figures of the minute: it tells retention from a leak."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return float("nan")
    return rss_mb("RssAnon")


def soak(args: argparse.Namespace, server: str, folder: Path) -> None:
    import os

    os.environ["JACK_DEFAULT_SERVER"] = server
    from latentcode.session import Session

    line = None
    if args.timeline or args.stacks:
        import timeline

        line = timeline.install(stacks=args.stacks)
    session = Session(tracks=5)
    session.eval(PIECE)
    session.render_dry(1)  # the piece's sounds encoded before the clock starts
    if args.warm:  # every cluster the script names, made before: live, none is silent then
        for name in script_names():
            session.bank.resolve(name)
    for track in session.tracks.values():
        track.log = []  # where each change lands, to render the same offline
    session.start("jack", buffersize=256, jack_client="lc-soak", lookahead=args.lookahead)
    if args.threads:  # after start, which lets the decoder follow the spare cores
        from latentcode.model.threads import set_live_threads

        set_live_threads(args.threads)
    engine = session.engine
    clock_start = time.monotonic()  # about source sample 0: where each gap fell in time
    live_wav = folder / "live.wav"
    # the new sounds in a folder of their own: the take, still growing, must not join the bank
    # (it did, and every cluster key made with its digest was stale a moment later)
    sounds = folder / "new"
    sounds.mkdir()
    engine.record(live_wav)
    bank_sample = None
    start = time.monotonic()
    end = start + 60 * args.minutes
    step, errors, minute, last_gc = 0, [], 1, start
    bank_at, bank = start + 30 * args.minutes, None
    before = engine.stats
    base_rss = base_anon = base_trim = None
    peak_own = peak_helper = 0.0  # sampled at every change
    helper = getattr(getattr(session.bank, "_worker", None), "helper", None)
    audio_pid = engine.audio_pid  # the audio process (latentcode/audio/player.py)
    base_audio = peak_audio = 0.0
    watch = MemoryWatch()
    watch.start()
    print(f"{'min':>3} {'underruns':>9} {'load':>5} {'slowest ms':>10} {'voices':>6} "
          f"{'RSS MB':>7} {'own MB':>7} {'trimmed':>7} {'helper':>7} {'audio':>6}", flush=True)
    while time.monotonic() < end:
        now = time.monotonic()
        if bank is None and now >= bank_at:
            bank = write_folder(sounds)
            text = f'bank "{sounds}"'
        else:
            pool = CHANGES + (AFTER_BANK if bank else [])
            text = pool[step % len(pool)].format(k=step % 24, s=step % 8, bank=bank)
        watch.typed.append((time.monotonic(), text))
        if line is not None:
            line.note(f"typed {text}")
        try:
            # the new folder's sample is where the producer stood at the commit: the line's
            # hold (Engine.holding) kept over the reading, or the producer, filling its queue
            # again from the line's end, would be blocks further on
            with session.engine.holding():
                session.eval(text)
                if text.startswith("bank") and bank_sample is None:
                    bank_sample = session.live_scheduler.position  # its next block
            if text.startswith("bank") and args.wait:
                waited = wait_until_made(session.bank, bank)
                print(f"    waited {waited:.1f} s for the new folder's sounds and clusters",
                      flush=True)
        except Exception as e:  # noqa: BLE001 - a bad change is counted, the show goes on
            errors.append(f"{text}: {e}")
        step += 1
        if now - last_gc >= 20:
            gc.collect()
            last_gc = now
        peak_own = max(peak_own, rss_mb("RssAnon"))
        helper_mb = helper_rss(helper)
        peak_helper = max(peak_helper, helper_mb)
        peak_audio = max(peak_audio, audio_rss(audio_pid))
        time.sleep(max(0.0, args.every - (time.monotonic() - now)))
        if time.monotonic() - start >= 60 * minute:
            stats = engine.stats
            rss, anon = rss_mb(), rss_mb("RssAnon")
            trim = trimmed_mb()
            if base_rss is None:
                base_rss, base_anon, base_trim = rss, anon, trim
                base_audio = audio_rss(audio_pid)
            print(f"{minute:3} {stats.underruns - before.underruns:9} "
                  f"{stats.producer_load_recent:5.2f} {engine.worst_fill * 1000:10.1f} "
                  f"{len(session.live_scheduler.voices.voices):6} {rss:7.1f} {anon:7.1f} "
                  f"{trim:7.1f} {helper_rss(helper):7.1f} {audio_rss(audio_pid):6.1f}",
                  flush=True)
            minute += 1
    stats = engine.stats
    rss, anon = rss_mb(), rss_mb("RssAnon")
    trim = trimmed_mb()
    audio_mb = audio_rss(audio_pid)
    engine.stop_record()
    stream = engine._stream  # (its rewind counters: not in EngineStats)
    rewinds, late, lates = stream.rewinds, stream.rewind_late, list(stream.late_rewinds)
    from latentcode.session.replay import logs as switches

    logs = switches(session)
    said = []
    while not engine.messages.empty():
        said.append(engine.messages.get_nowait())
    lowered = [m for m in said if "voice cap" in m or "budget" in m]
    cap = session.voice_cap
    session.stop()
    print(f"\n{args.minutes} min, {step} changes ({len(errors)} refused), "
          f"{stats.underruns - before.underruns} underruns, producer load "
          f"{stats.producer_load:.2f} (peak block {stats.producer_load_peak:.2f}), resident "
          f"memory {base_rss:.0f} MB after a minute -> {rss:.0f} MB "
          f"({rss - base_rss:+.1f} MB); its own (without mapped files) {base_anon:.0f} -> "
          f"{anon:.0f} MB ({anon - base_anon:+.1f} MB); trimmed (see trimmed_mb) "
          f"{base_trim:.0f} -> {trim:.0f} MB ({trim - base_trim:+.1f} MB); its own at its "
          f"peak {peak_own:.0f} MB; the bank's helper process at its peak {peak_helper:.0f} MB; "
          f"the audio process {base_audio:.0f} -> {audio_mb:.0f} MB "
          f"({audio_mb - base_audio:+.1f} MB), at its peak {peak_audio:.0f} MB")
    watch.stop.set()
    for jump in watch.jumps():
        print("own memory rose", jump)
    for said in blame(stats.gaps, watch.typed, clock_start):
        print(said)
    if line is not None:
        timeline.report(line, stats.gaps)
    for e in errors[:5]:
        print("refused:", e)
    print(f"immediate changes: {rewinds} rewinds, {late} samples of them heard too late")
    from latentcode.model.threads import spare_cores

    spare = spare_cores()
    if spare is not None:  # the default: the decoder followed the cores others left free
        print(f"decoder threads: up to {spare.most}; {spare.changes} changes, "
              f"{spare.fewer:.0f} s on fewer")
    if lowered:
        print(f"live only: {len(lowered)} messages of the voice cap or the time budget, e.g. "
              f"{lowered[0]!r}")
    if args.live_only:
        return
    rendered = folder / "offline.wav"
    frames = sf.info(str(live_wav)).frames
    t0 = time.monotonic()
    replay(logs, bank_sample, f'bank "{sounds}"', cap, frames, rendered)
    print(f"offline render of the same script: {frames / 44100:.0f} s in "
          f"{time.monotonic() - t0:.0f} s")
    if args.keep:
        import shutil

        Path(args.keep).mkdir(parents=True, exist_ok=True)
        for wav in (live_wav, rendered):
            shutil.copy(wav, Path(args.keep) / wav.name)
        import json

        (Path(args.keep) / "landed.json").write_text(json.dumps(
            {name: [[str(c), str(x)] for c, _, x in log] for name, log in logs.items()}))
    if stats.underruns > len(stats.gaps):
        print(f"{stats.underruns} gaps, more than the engine keeps the places of: the take "
              "cannot be lined up with the render")
        return
    compare(sf.read(str(live_wav), dtype="float32")[0], sf.read(str(rendered), dtype="float32")[0],
            stats.gaps, lates, bank_sample)


def blame(gaps: tuple, typed: list[tuple[float, str]], start: float, sr: int = 44100
          ) -> list[str]:
    """Which change each underrun came after: the changes typed last before the most gaps,
    with how many and how long after the typing (the gaps' places are samples of the source,
    sample 0 about ``start``)."""
    after: dict[str, list[float]] = {}
    for at, _ in gaps:
        t = start + at / sr
        before = [(u, text) for u, text in typed if u <= t]
        u, text = before[-1] if before else (start, "nothing")
        after.setdefault(text, []).append(t - u)
    ranked = sorted(after.items(), key=lambda kv: -len(kv[1]))[:6]
    return [f"{len(d):4} underruns after {text!r} ({min(d):.1f}-{max(d):.1f} s after)"
            for text, d in ranked]


def replay(logs: dict, bank_at: int | None, bank_text: str, cap: int, frames: int,
           path: Path) -> None:
    """Render the live run's script offline to ``path``: a fresh session, the live switches
    (:class:`~latentcode.session.replay.Replay`), the new folder at ``bank_at``."""
    from latentcode.audio.engine import Engine
    from latentcode.session import Session
    from latentcode.session.replay import Replay

    again = Session(tracks=5)
    again.eval(PIECE)
    evals = [(bank_at, bank_text)] if bank_at is not None else []
    Engine("offline", tracks=5, buffersize=256).render(Replay(again, logs, evals, cap), frames,
                                                       str(path))


def compare(live: np.ndarray, offline: np.ndarray, gaps: tuple, lates: list,
            bank_at: int | None, sr: int = 44100) -> None:
    """Line the live take up with the offline render, a second of the source at a time, and
    print how far apart they are. The take begins where pyo's recorder did (found on its
    first seconds); each gap (``gaps``: the engine's, see ``EngineStats.gaps``) delays what
    follows by its length. After a gap, or a rewind that came too late (``lates``: its first
    sample, the samples it missed), the graph's reverb, delay and filters hold other states
    than offline, so those seconds are counted apart; so are those after the new folder
    joined the bank (live, its sounds are silent while they are being made)."""
    n = 5 * sr
    a, b = live[:n].mean(axis=1), offline[:n].mean(axis=1)
    corr = np.fft.irfft(np.fft.rfft(a, 2 * n) * np.conj(np.fft.rfft(b, 2 * n)), 2 * n)
    offset = int(np.argmax(np.r_[corr[-sr:], corr[:sr]])) - sr  # take sample of source 0
    places = np.array([at for at, _ in gaps] or [1 << 62])
    shift = np.concatenate([[0], np.cumsum([k for _, k in gaps])])
    first_gap = min([int(places.min()), *(at for at, _ in lates)])
    rows = []  # (second, dB, bit for bit, after a gap or late rewind, after the folder)
    for k in range(len(offline) // sr):
        p0 = k * sr
        if ((places > p0) & (places < p0 + sr)).any():
            continue  # a gap inside: no one shift lines it up
        at = p0 + offset + int(shift[np.searchsorted(places, p0, side="right")])
        x, y = live[at:at + sr] if at >= 0 else live[:0], offline[p0:p0 + sr]
        if len(x) < sr:
            break
        diff = np.sqrt(np.mean((x - y) ** 2)) / (np.sqrt(np.mean(y ** 2)) + 1e-12)
        rows.append((k, 20 * np.log10(max(diff, 1e-12)), bool(np.array_equal(x, y)),
                     p0 + sr > first_gap, bank_at is not None and p0 + sr > bank_at))
    print(f"live against offline ({len(rows)} s compared; the take's sample of source sample "
          f"0: {offset}; {len(gaps)} gaps and {len(lates)} late rewinds"
          + (f", the first at {first_gap / sr:.1f} s):" if gaps or lates else "):"))
    for name, keep in (("before any gap and the new folder", lambda r: not r[3] and not r[4]),
                       ("after a gap or late rewind, before it", lambda r: r[3] and not r[4]),
                       ("after the new folder joined the bank", lambda r: r[4])):
        part = [r for r in rows if keep(r)]
        if part:
            db = np.array([r[1] for r in part])
            same = sum(r[2] for r in part)
            print(f"  {name:37} {len(part):4} s, {same:4} of them bit for bit; difference "
                  f"median {np.median(db):6.1f} dB, worst {db.max():6.1f} dB (second "
                  f"{part[int(db.argmax())][0]})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--every", type=float, default=3.0)
    ap.add_argument("--busy", action="store_true", help="another process busy on one core")
    ap.add_argument("--lookahead", type=int, default=4096,
                    help="samples decoded ahead (the default's; :latency sets it live)")
    ap.add_argument("--warm", action="store_true",
                    help="make the clusters the script names before it starts")
    ap.add_argument("--wait", action="store_true",
                    help="after the new folder, type nothing until its sounds and the "
                    "clusters made again are ready (live, they are silent until then)")
    ap.add_argument("--keep", help="a folder to keep the live take and the offline render in")
    ap.add_argument("--threads", type=int, default=0,
                    help="the live decoder's threads instead of the engine's (the spare cores)")
    ap.add_argument("--timeline", action="store_true",
                    help="note every producer call; print what came before each underrun")
    ap.add_argument("--stacks", action="store_true",
                    help="--timeline, and sample the producer's stack during its slow calls")
    ap.add_argument("--live-only", action="store_true",
                    help="stop after the live run: no offline render of the script to compare")
    args = ap.parse_args()
    from jackd import running_jackd

    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        with running_jackd(period=256) as server, tempfile.TemporaryDirectory() as tmp:
            soak(args, server, Path(tmp))
    finally:
        if busy is not None:
            busy.kill()


if __name__ == "__main__":
    main()
