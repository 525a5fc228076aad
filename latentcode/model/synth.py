"""Rendering the corpus's planned sounds with pyo, in a child process.

:mod:`latentcode.model.corpus` draws every random choice with numpy and writes a list of jobs;
:func:`render_jobs` builds one pyo graph per job and runs pyo's manual server block by block,
so the same jobs give the same samples. Noise comes from numpy tables (:func:`_noise`), never
from pyo's random objects, whose seeding depends on how many were created before.

>>> from latentcode.model.corpus import plan_corpus
>>> spec = {"out_dir": "sounds", "jobs": plan_corpus(0, ["bell"], files_per_family=1)}
>>> render_jobs(spec)   # in a child process, as build_corpus runs it  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 44100

# (F1, F2, F3) in Hz and relative gains: a small vowel chart (Peterson & Barney averages).
VOWELS = {
    "a": ((730, 1090, 2440), (1.0, 0.5, 0.25)),
    "e": ((530, 1840, 2480), (1.0, 0.4, 0.25)),
    "i": ((270, 2290, 3010), (1.0, 0.25, 0.2)),
    "o": ((570, 840, 2410), (1.0, 0.45, 0.15)),
    "u": ((300, 870, 2240), (1.0, 0.3, 0.1)),
}


def _noise(seed: int, n: int, color: str = "white") -> np.ndarray:
    """Coloured noise in [-1, 1] from numpy (pink by spectral 1/sqrt(f), brown by leaky sum)."""
    w = np.random.default_rng(seed).standard_normal(n)
    if color == "pink":
        spec = np.fft.rfft(w)
        spec[1:] /= np.sqrt(np.arange(1, len(spec)))
        w = np.fft.irfft(spec, n)
    elif color == "brown":
        w = np.cumsum(w)
        w -= np.convolve(w, np.ones(2001) / 2001, mode="same")  # remove the drift
    return (w / (np.abs(w).max() + 1e-12)).astype(np.float32)


def _build(job: dict[str, Any], pyo: Any, keep: list) -> Any:
    """Create the pyo graph for one job; every object is appended to ``keep`` (pyo drops
    unreferenced objects). Returns the output object."""
    p, dur, fam = job["params"], job["dur"], job["family"]

    def k(obj: Any) -> Any:
        keep.append(obj)
        return obj

    def table(data: np.ndarray) -> Any:
        t = k(pyo.DataTable(size=len(data), init=data.tolist()))
        return k(pyo.TableRead(t, freq=t.getRate(), loop=True).play())

    def line(points: list) -> Any:
        return k(pyo.Linseg([tuple(x) for x in points]).play())

    def decay_env(t0: float, decay: float, amp: float, attack: float = 0.003) -> Any:
        pts = [(0, 0), (t0, 0), (t0 + attack, amp), (t0 + attack + decay, 0)]
        if t0 == 0:
            pts = pts[1:]
        return k(pyo.Expseg(pts, exp=4, inverse=True).play())

    if fam == "drone":
        fade = p["fade"]
        env = k(pyo.Fader(fadein=fade, fadeout=fade, dur=dur).play())
        srcs = []
        for j, ratio in enumerate(p["ratios"]):
            f = p["f0"] * ratio
            amp = 0.5 if j else 1.0
            if p["source"] == "supersaw":
                srcs.append(k(pyo.SuperSaw(freq=f, detune=p["detune"], bal=0.7, mul=amp)))
            elif p["source"] == "blit":
                srcs.append(k(pyo.Blit(freq=[f, f * (1 + p["detune"] / 100)], harms=p["harms"],
                                       mul=amp * 0.5)))
            else:
                det = [f * (1 + d * p["detune"] / 50) for d in (-1, 0, 1)]
                srcs.append(k(pyo.Sine(freq=det, mul=amp / 3)))
        mix = k(pyo.Mix(srcs, voices=1))
        lfo = k(pyo.Sine(freq=p["lfo"], mul=p["cutoff"] * p["lfo_depth"], add=p["cutoff"]))
        return k(pyo.MoogLP(mix, freq=lfo, res=p["res"], mul=env))

    if fam == "bell":
        outs = []
        for s in p["strikes"]:
            env = decay_env(s["t"], s["decay"], s["amp"])
            idx = k(pyo.Expseg([(0, 0), (s["t"], 0), (s["t"] + 0.002, s["index"]),
                                (s["t"] + s["decay"] * 0.7, 0.2)], exp=3).play())
            outs.append(k(pyo.FM(carrier=s["f"], ratio=p["ratio"], index=idx, mul=env)))
        return k(pyo.Mix(outs, voices=1))

    if fam == "pluck":
        src = table(_noise(p["noise_seed"], SAMPLE_RATE))
        bright = k(pyo.Tone(src, freq=p["bright"]))
        outs = []
        for n in p["notes"]:
            burst = decay_env(n["t"], p["burst"], n["amp"], attack=0.0005)
            exc = k(pyo.Sig(bright, mul=burst))
            outs.append(k(pyo.Waveguide(exc, freq=n["f"], dur=n["decay"], minfreq=20)))
        return k(pyo.DCBlock(k(pyo.Mix(outs, voices=1))))

    if fam == "noise":
        src = table(_noise(p["noise_seed"], 3 * SAMPLE_RATE, p["color"]))
        c = p["center"]
        sweep = k(pyo.Sine(freq=p["sweep"], mul=c * p["sweep_depth"], add=c))
        gust = k(pyo.Sine(freq=p["gust"], mul=p["gust_depth"] / 2, add=1 - p["gust_depth"] / 2))
        env = k(pyo.Fader(fadein=0.15, fadeout=0.3, dur=dur).play())
        amp = k(pyo.Sig(gust, mul=env))
        kind = {"bandpass": 2, "lowpass": 0, "highpass": 1}.get(p["filter"])
        if kind is None:
            return k(pyo.Resonx(src, freq=sweep, q=p["q"] * 3, stages=2, mul=amp))
        return k(pyo.Biquadx(src, freq=sweep, q=p["q"], type=kind, stages=2, mul=amp))

    if fam == "voice":
        vib = k(pyo.Sine(freq=p["vib_rate"], mul=p["vib_depth"], add=1))
        pitch = line([(0, p["f0"]), (dur, p["f0"] * p["glide"])])
        freq = k(pyo.Sig(pitch, mul=vib))
        src = k(pyo.Blit(freq=freq, harms=p["harms"], mul=0.6))
        breath = table(_noise(p["noise_seed"], SAMPLE_RATE) * p["breath"])
        exc = k(pyo.Mix([src, breath], voices=1))
        env = k(pyo.Fader(fadein=0.12, fadeout=0.25, dur=dur).play())
        steps = np.linspace(0, dur, len(p["vowels"]) + 1)
        outs = []
        for fi in range(3):
            fpts, gpts = [], []
            for t0, t1, v in zip(steps[:-1], steps[1:], p["vowels"], strict=True):
                f, g = VOWELS[v][0][fi] * p["shift"], VOWELS[v][1][fi]
                # hold each vowel for most of its slot, then glide to the next one
                fpts += [(float(t0), f), (float(t0 + 0.7 * (t1 - t0)), f)]
                gpts += [(float(t0), g), (float(t0 + 0.7 * (t1 - t0)), g)]
            fl, gl = line(fpts), line(gpts)
            outs.append(k(pyo.Biquadx(exc, freq=fl, q=8 + 4 * fi, type=2, stages=2,
                                      mul=gl)))
        return k(pyo.Mix(outs, voices=1, mul=env))

    if fam == "hit":
        noise = table(_noise(p["noise_seed"], SAMPLE_RATE))
        outs = []
        for h in p["hits"]:
            t, f, dec, amp = h["t"], h["f"], h["decay"], h["amp"]
            kind = h["kind"]
            if kind in ("kick", "tom"):
                top, bottom = (160 * f, 45 * f) if kind == "kick" else (300 * f, 140 * f)
                sweep = k(pyo.Expseg([(0, top), (t, top), (t + 0.08 * dec, bottom)],
                                     exp=3, inverse=True).play())
                env = decay_env(t, 0.35 * dec, amp, attack=0.001)
                outs.append(k(pyo.Sine(freq=sweep, mul=env)))
            elif kind == "snare":
                env = decay_env(t, 0.2 * dec, amp, attack=0.001)
                body = decay_env(t, 0.08 * dec, amp * 0.6, attack=0.001)
                outs.append(k(pyo.ButBP(noise, freq=2500 * f, q=0.8, mul=env)))
                outs.append(k(pyo.Sine(freq=185 * f, mul=body)))
            elif kind == "hat":
                env = decay_env(t, 0.06 * dec, amp * 0.7, attack=0.0005)
                outs.append(k(pyo.ButHP(noise, freq=7000 * f, mul=env)))
            else:  # metal: inharmonic partials, like a small gong or cowbell
                env = decay_env(t, 0.6 * dec, amp * 0.25, attack=0.001)
                ratios = (1.0, 1.47, 2.09, 2.56, 3.91)
                outs.append(k(pyo.Sine(freq=[400 * f * q for q in ratios], mul=env)))
        return k(pyo.Mix(outs, voices=1))

    if fam == "sine2":
        outs = []
        for fpts, apts in zip(p["freqs"], p["amps"], strict=True):
            # lines smoothed by a portamento: the gesture has no corners to click on
            f = k(pyo.Port(line(fpts), risetime=0.4, falltime=0.4, init=fpts[0][1]))
            a = k(pyo.Port(line(apts), risetime=0.4, falltime=0.4, init=apts[0][1]))
            outs.append(k(pyo.Sine(freq=f, mul=a)))
        env = k(pyo.Fader(fadein=0.05, fadeout=0.1, dur=dur).play())
        return k(pyo.Mix(outs, voices=1, mul=env))

    raise ValueError(fam)


def render_jobs(spec: dict[str, Any]) -> None:
    """Render every job of ``spec`` (``{"out_dir": ..., "jobs": [...]}``) to a WAV file with
    pyo's manual (offline) server. Run it in a child process: it boots pyo's one server."""
    import ctypes

    import pyo
    import soundfile as sf

    out_dir = Path(spec["out_dir"])
    server = pyo.Server(audio="manual", nchnls=1, sr=SAMPLE_RATE, buffersize=256, duplex=0)
    server.setVerbosity(1)
    server.boot()
    server.start()
    bs = server.getBufferSize()
    view = np.ctypeslib.as_array((ctypes.c_float * bs).from_address(
        int(server.getOutputAddr(), 16)))
    for _ in range(64):  # run past the server's start fade-in, which only the first file sees
        server.process()
    for job in spec["jobs"]:
        keep: list = []
        out = _build(job, pyo, keep)
        out.out()
        n = int(round(job["dur"] * SAMPLE_RATE))
        blocks = -(-n // bs)
        audio = np.empty(blocks * bs, np.float32)
        for b in range(blocks):
            server.process()
            audio[b * bs:(b + 1) * bs] = view
        for obj in keep:
            if hasattr(obj, "stop"):  # tables have no stop()
                obj.stop()
        server.process()  # let pyo drop the stopped objects before the next job
        del keep, out
        audio = audio[:n]
        peak = float(np.abs(audio).max())
        if peak > 0:
            audio *= job["peak"] / peak
        sf.write(out_dir / f"{job['name']}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    del view
    server.stop()
    server.shutdown()
