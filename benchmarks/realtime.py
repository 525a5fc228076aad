"""Live capacity and latency under a real JACK server (dummy driver).

1. The largest number of simultaneous voices that plays for SECONDS with zero ring underruns,
   for plain concatenation and overlap-add, at stretch 1 and stretch 8. N voices are held
   steady by ``"prior*N" # legato N`` (N staggered onsets a cycle, each lasting one cycle);
   ``--sound drone`` plays a bank sound instead, whose spectral match each frame goes through
   (``--match 0`` turns it off, to see what it costs).
2. The time from ``Session.eval`` of an immediate change (``now t1 $ ...``) to its first
   sample leaving the engine, plus JACK's own output latency (2 periods); of it, the eval, and
   the engine's part (the rewind: docs/audio-engine.md), with the samples it came too late for.
3. The CPU share of the process while a 4-track piece plays.

Every voice samples its own noise (the default ``noise 1``, seeded by its onset), so no two
voices walk the same latent path and no cache can serve them. ``--load N`` keeps N other
processes busy, one core each, during every trial: a performer's machine is never idle.
``--realtime`` runs jackd with real-time scheduling, as the README asks of a performance:
without it, a busy core delays the JACK server's own clock (the dummy driver's timer), and
the audio side then takes its buffers late and in bursts, which every figure measures too.
``--threads N`` decodes on N threads instead of the engine's choice (every core others leave
free, looked at each second: latentcode.model.spare_cores); the column ``fewer`` says how
many seconds of a trial it decoded on fewer threads than cores.

Each trial runs in its own process (pyo can take a process down). Needs Debian's jackd2.

    python benchmarks/realtime.py [--seconds 30] [--max-voices 512] [--load 1] [--repeats 2]
                                  [--period 128] [--realtime]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

PERIOD = 256
LAST_EVAL_MS: list[float] = []  # the median time eval took, of the last latency measured
LAST_ENGINE_MS: list[float] = []  # and from its return until the change could be heard
LAST_HEARD_MS: list[float] = []  # from eval's start until the change could be heard
PIECE = """
tempo 0.5
t1 $ "drone" # mix "voice" # alpha (slow 4 $ range -0.5 1.4 sine) # pan 0.2
t2 $ every 4 (fast 2) $ "bell(3,8)" # stretch 2 # room 0.3 # pan 0.8
t3 $ "pluck*4 [hit hit:2]" # lpf 2400 # delay 0.2
t4 $ "sine2/2" # stretch 8 # gain 0.6 # hpf 200
"""


def audio_cpu(engine) -> float:
    """CPU seconds the engine's audio process has used (0 where it has none or no /proc)."""
    pid = getattr(engine, "audio_pid", None)
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trial(args: argparse.Namespace) -> dict:
    """One run in this process: play, then report stats as a dict."""
    import dataclasses

    from latentcode.session import Session

    if args.producer_nice is not None:
        from latentcode.audio import engine

        engine.PRODUCER_NICE = args.producer_nice  # (as the engine imported it)
    session = Session(tracks=5, framing=args.framing)
    session.voice_cap = args.max_voices  # the engine's own capacity, not the safety cap's
    session.bank.resolve(args.sound)
    if args.voices:
        n = args.voices
        session.eval(f'tempo 0.5\nt1 $ "{args.sound}*{n}" # legato {n} # stretch {args.stretch} '
                     f'# gain {1 / n:.6f} # match {args.match}')
    else:
        session.eval(PIECE)
        session.render_dry(1)  # encode the piece's sounds before the clock starts
    session.start("jack", buffersize=args.period, jack_client="lc-bench", block=args.block,
                  lookahead=args.lookahead)
    if args.threads:  # after start, which lets the decoder follow the spare cores
        from latentcode.model.threads import set_live_threads

        set_live_threads(args.threads)
    time.sleep(2)  # let the voice count reach its steady state
    from latentcode.model.threads import spare_cores

    spare = spare_cores()  # None with --threads: else the decoder follows the spare cores
    fewer0 = spare.fewer if spare is not None else 0.0
    before = session.engine.stats
    t0, c0 = time.monotonic(), time.process_time()
    a0 = audio_cpu(session.engine)
    peak_voices = 0
    latency = None
    while time.monotonic() - t0 < args.seconds:
        time.sleep(0.25)
        peak_voices = max(peak_voices, len(session.live_scheduler.voices.voices))
    if args.latency:
        latency = measure_latency(session, args.change)
    engine_latency = session.engine.latency * 1000
    spent = time.monotonic() - t0
    cpu = (time.process_time() - c0) / spent
    audio = (audio_cpu(session.engine) - a0) / spent  # the audio process's, besides
    after = session.engine.stats
    late = session.engine._stream.rewind_late
    fewer = spare.fewer - fewer0 if spare is not None else None
    session.stop()
    return {
        "underruns": after.underruns - before.underruns,
        "voices": peak_voices,
        "load": after.producer_load_recent,
        "load_peak": after.producer_load_peak,
        "cpu": cpu,
        "audio_cpu": audio,
        "latency_ms": latency,
        "engine_latency_ms": engine_latency,
        "eval_ms": LAST_EVAL_MS[-1] if LAST_EVAL_MS else None,
        "engine_ms": LAST_ENGINE_MS[-1] if LAST_ENGINE_MS else None,
        "heard_ms": LAST_HEARD_MS[-1] if LAST_HEARD_MS else None,
        "rewind_late": late,
        "fewer_threads_s": fewer,  # seconds the decoder spent on fewer threads than cores
        "stats": dataclasses.asdict(after),
    }


CHANGE = '"bell*128" # gain 0.05 # legato 1'  # the immediate change measured (see below)


def measure_latency(session, change: str = CHANGE, repeats: int = 10) -> float:
    """Median ms from eval of an immediate change to its first sample heard (leaving the
    engine, plus the limiter's delay and JACK's two periods).

    The change is ``now t9 $ {change}``, by default ``"bell*128"``: onsets every 1/128 cycle
    (15.6 ms at 0.5 cycles a second), so about 8 ms of the figure is the wait for the pattern's
    next onset, and a few ms the eval itself (it rehearses the line's one cycle of 128 events
    before it commits: its period; ``--change`` measures another line). The medians of
    the eval, of the engine's part (from eval's return until the first sample the change
    could alter is heard: what the rewind takes) and of the two together (from the eval's
    start: the latency of the change itself, whatever pattern it brings) are kept in
    ``LAST_EVAL_MS``, ``LAST_ENGINE_MS`` and ``LAST_HEARD_MS``.
    """
    samples, evals, engine, heard = [], [], [], []
    stream = session.engine._stream
    starts: list[tuple[int, int]] = []  # (track slot, onset) of every voice started
    session.live_scheduler.on_start.append(
        lambda track, event, onset, n: starts.append((track.slot, onset)))
    for _ in range(repeats):
        starts.clear()
        rewinds = stream.rewinds
        t0 = time.monotonic()
        session.eval(f"now t9 $ {change}")
        t1 = time.monotonic()
        evals.append((t1 - t0) * 1000)
        slot = session.tracks["t9"].slot
        # a block being made as the eval ended may start the new pattern late; the rewind
        # then takes those voices out again: look once it has happened
        while stream.rewinds == rewinds and time.monotonic() - t1 < 0.5:
            time.sleep(0.0002)
        # the voices a rewind made and that end within it are never in ``voices``: the
        # scheduler's listeners hear of every start
        onset = None
        while onset is None:
            onset = min((o for t, o in list(starts) if t == slot), default=None)
            time.sleep(0.0002)
        at = stream.rewound_at if stream.rewinds > rewinds else onset
        onset = min(o for t, o in list(starts) if t == slot and o >= at)
        at_heard = heard_at(session.engine, at)
        engine.append((at_heard - t1) * 1000)
        heard.append((at_heard - t0) * 1000)
        samples.append((heard_at(session.engine, onset) - t0) * 1000)
        session.eval("now t9 silence")
        time.sleep(0.3)
    LAST_EVAL_MS.append(sorted(evals)[len(evals) // 2])
    LAST_ENGINE_MS.append(sorted(engine)[len(engine) // 2])
    LAST_HEARD_MS.append(sorted(heard)[len(heard) // 2])
    return sorted(samples)[len(samples) // 2]


def heard_at(engine, sample: int) -> float:
    """``time.monotonic()`` when ``sample`` is heard: once the audio side has taken the buffer
    that holds it, from that buffer's stamp (when it was taken, plus the limiter's delay), the
    sample's place in the buffer, and JACK's two periods of output latency.

    The stamp, not the clock's position: the position passes a sample once the buffer before
    it is copied, a buffer before the sample itself is (5.8 ms at 256: figures measured by the
    position until 2026-12 were that much too short)."""
    while engine.position <= sample:
        time.sleep(0.0002)
    stamped, t = engine.heard_stamp()
    return t + (sample - stamped + 2 * engine.buffersize) / engine.sample_rate


TRIAL_ARGS: dict = {}  # given to every trial besides its own (--threads, --period, --change)


def run_trial(server: str, **kw) -> dict:
    cmd = [sys.executable, __file__, "--trial"]
    for key, value in {**TRIAL_ARGS, **kw}.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = {"JACK_DEFAULT_SERVER": server, "PYO_GUI_WX": "0"}
    import os

    done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=600)
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": done.stderr[-500:] or f"exit {done.returncode}"}
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--max-voices", type=int, default=512)
    ap.add_argument("--start-voices", type=int, default=16)
    ap.add_argument("--configs", default="concat:1,concat:8,ola:1,ola:8",
                    help="framing:stretch pairs to measure")
    ap.add_argument("--trial", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--voices", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--framing", default="ola")
    ap.add_argument("--sound", default="prior:0",
                    help="what the voices play (prior:0; a bank sound such as drone has a "
                    "spectral match to filter by)")
    ap.add_argument("--match", type=float, default=1.0, help="the voices' # match (1)")
    ap.add_argument("--stretch", type=float, default=1)
    ap.add_argument("--latency", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--change", default=CHANGE,
                    help="the pattern of the immediate change whose latency is measured "
                         f"(now t9 $ ...; {CHANGE}: its eval rehearses its one cycle, 128 events)")
    ap.add_argument("--no-piece", action="store_true", help="skip the 4-track piece")
    ap.add_argument("--block", type=int, default=1024, help="the producer's block (samples)")
    ap.add_argument("--period", type=int, default=PERIOD,
                    help=f"jackd's period, the audio buffer (samples; {PERIOD})")
    ap.add_argument("--lookahead", type=int, default=4096, help="samples queued ahead")
    ap.add_argument("--sweep", default="",
                    help="instead: BLOCK:LOOKAHEAD pairs (e.g. 1024:1024,512:512) measured "
                         "with --sweep-voices voices: underruns and eval -> first sample")
    ap.add_argument("--sweep-voices", type=int, default=64)
    ap.add_argument("--producer-nice", type=int, default=None,
                    help="the producer thread's nice value instead of the engine's")
    ap.add_argument("--refine", type=int, default=2,
                    help="trials that halve the gap between the last good count and the first "
                         "that had underruns (2)")
    ap.add_argument("--realtime", action="store_true",
                    help="jackd with real-time scheduling (-R -P 70, as the README asks of a "
                         "performance), where the system allows it")
    ap.add_argument("--load", type=int, default=0,
                    help="other processes kept busy (one core each) during the trials")
    ap.add_argument("--threads", type=int, default=0,
                    help="the live decoder's threads instead of the engine's (the spare cores)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="trials of each voice count; it is good only if every one has zero "
                         "underruns (one slow block decides a single trial)")
    args = ap.parse_args()
    if args.trial:
        print(json.dumps(trial(args)), flush=True)
        return
    if args.threads:
        TRIAL_ARGS["threads"] = args.threads
    if args.period != PERIOD:
        TRIAL_ARGS["period"] = args.period
    if args.change != CHANGE:
        TRIAL_ARGS["change"] = args.change
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.load)]
    try:
        measure_all(args)
    finally:
        for p in busy:
            p.kill()


def jack_mode(args: argparse.Namespace) -> str:
    """How the trials' jackd is scheduled, for the header."""
    return ", real-time" if args.realtime else ", not real-time"


def measure_all(args: argparse.Namespace) -> None:
    if args.sweep:
        sweep(args)
        return

    from jackd import running_jackd

    with running_jackd(period=args.period, realtime=args.realtime) as server:
        from latentcode.model.precision import chosen

        print(f"jackd dummy{jack_mode(args)}, 44.1 kHz, period {args.period}; "
              f"{args.seconds:.0f} s a trial; "
              f"{args.load} other busy process(es); decoder precision {chosen(None)}, on "
              f"{f'{args.threads} thread(s)' if args.threads else 'the spare cores'}")
        print(f"{'framing':8} {'stretch':>7} {'voices':>7} {'underruns':>9} {'load':>6} "
              f"{'peak':>6} {'cpu':>5} {'audio':>5} {'fewer':>5}")
        for config in filter(None, args.configs.split(",")):  # "": the piece alone
            framing, stretch = config.split(":")[0], float(config.split(":")[1])
            best, failed = 0, None
            n = args.start_voices
            while n <= args.max_voices:
                ok = _capacity_trials(server, args, n, framing, stretch)
                if ok is None:
                    break
                if not ok:
                    failed = n
                    break
                best = n
                n = int(n * (2 if n < 128 else 1.25))
            for _ in range(args.refine if failed else 0):  # bisect between best and failed
                n = (best + failed) // 2
                if n <= best:
                    break
                ok = _capacity_trials(server, args, n, framing, stretch)
                if ok is None:
                    break
                best, failed = (n, failed) if ok else (best, n)
            print(f"=> {framing}, stretch {stretch}: {best} voices with zero underruns")
        if args.no_piece:
            return
        r = run_trial(server, voices=0, framing="ola", seconds=args.seconds, latency=1)
        if "error" in r:
            print(f"4-track piece: error: {r['error']}")
        else:
            print(f"4-track piece (ola): cpu {r['cpu']:.2f} of one core (the audio process "
                  f"{r.get('audio_cpu', 0.0):.2f}), underruns "
                  f"{r['underruns']}, decode load {r['load']:.2f}; eval -> first sample "
                  f"{r['latency_ms']:.1f} ms (incl. JACK's 2 periods)")


def _capacity_trials(server: str, args: argparse.Namespace, n: int, framing: str,
                     stretch: float) -> bool | None:
    """``--repeats`` trials of n voices, stopping at the first that fails; True when none
    had underruns, None on an error."""
    for _ in range(max(1, args.repeats)):
        ok = _capacity_trial(server, args, n, framing, stretch)
        if not ok:
            return ok
    return True


def _capacity_trial(server: str, args: argparse.Namespace, n: int, framing: str,
                    stretch: float) -> bool | None:
    """One trial of n voices, printed; True with zero underruns, None on an error."""
    r = run_trial(server, voices=n, framing=framing, stretch=stretch, seconds=args.seconds,
                  sound=args.sound, match=args.match)
    if "error" in r:
        print(f"{framing:8} {stretch:7} {n:7} error: {r['error']}")
        return None
    fewer = r.get("fewer_threads_s")
    print(f"{framing:8} {stretch:7} {r['voices']:7} {r['underruns']:9} {r['load']:6.2f} "
          f"{r['load_peak']:6.2f} {r['cpu']:5.2f} {r.get('audio_cpu', 0.0):5.2f} "
          f"{'-' if fewer is None else f'{fewer:.0f}':>5}", flush=True)
    return r["underruns"] == 0


def sweep(args: argparse.Namespace) -> None:
    """Underruns and the latency of an immediate change for each block and lookahead."""
    from jackd import running_jackd

    with running_jackd(period=args.period, realtime=args.realtime) as server:
        print(f"jackd dummy{jack_mode(args)}, period {args.period}; {args.sweep_voices} voices, "
              f"{args.seconds:.0f} s; {args.load} other busy process(es)")
        print(f"{'block':>6} {'lookahead':>9} {'underruns':>9} {'load':>5} {'peak':>5} "
              f"{'now -> heard':>12} {'change':>9} {'of it eval':>10} {'engine':>9} {'late':>5} "
              f"{'Engine.latency':>14}")
        for pair in args.sweep.split(","):
            block, lookahead = (int(x) for x in pair.split(":"))
            extra = {} if args.producer_nice is None else {"producer_nice": args.producer_nice}
            r = run_trial(server, voices=args.sweep_voices, seconds=args.seconds, latency=1,
                          block=block, lookahead=lookahead, max_voices=args.max_voices, **extra)
            if "error" in r:
                print(f"{block:6} {lookahead:9} error: {r['error']}")
                continue
            print(f"{block:6} {lookahead:9} {r['underruns']:9} {r['load']:5.2f} "
                  f"{r['load_peak']:5.2f} {r['latency_ms']:9.1f} ms {r['heard_ms']:6.1f} ms "
                  f"{r['eval_ms']:7.1f} ms "
                  f"{r['engine_ms']:6.1f} ms {r['rewind_late']:5} "
                  f"{r['engine_latency_ms']:11.1f} ms", flush=True)


if __name__ == "__main__":
    main()
