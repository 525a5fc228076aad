"""The builtin training corpus: sounds synthesized offline with pyo, plus pyo's own sound files.

``latentcode corpus OUT_DIR [--seed N]`` writes 44.1 kHz mono WAV files named
``{family}_{index:02d}.wav``: ``drone``, ``bell`` (FM bells), ``pluck`` (plucked strings),
``noise`` (filtered noise textures), ``voice`` (formant vowels), ``hit`` (percussion), ``sine2``
(the paper's two-sine sonification sound) and ``pyo`` (the files in ``pyo.SNDS_PATH``).

Every random choice is drawn here with numpy from ``(seed, family, index)``; the pyo process only
renders fixed parameter lists (its noise comes from numpy tables, never from pyo's own random
objects, whose seeding depends on how many were created before). So the same seed gives the same
files, bit for bit, and building a subset of families gives the same files as the full build.

pyo allows one server per process and its C objects can take a process down, so rendering
(:mod:`latentcode.model.synth`) runs in a child process: the live engine can build the corpus
while it plays.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.synth import SAMPLE_RATE, VOWELS

FAMILIES = ("drone", "bell", "pluck", "noise", "voice", "hit", "sine2", "pyo")
SYNTH_FAMILIES = FAMILIES[:-1]
FILES_PER_FAMILY = 8
CORPUS_VERSION = "corpus-v1"
_MARKER = ".complete"


# --------------------------------------------------------------------------- planning (numpy)


def _rng(seed: int, family: str, index: int) -> np.random.Generator:
    """A generator that depends only on (seed, family, index), so subsets build identically."""
    return np.random.default_rng([seed, FAMILIES.index(family), index])


def _plan_drone(r: np.random.Generator, dur: float) -> dict[str, Any]:
    f0 = float(r.uniform(45, 160))
    return {
        "f0": f0,
        "source": str(r.choice(["supersaw", "blit", "sines"])),
        "detune": float(r.uniform(0.1, 0.7)),
        "harms": int(r.integers(8, 60)),
        "ratios": [1.0, float(r.choice([1.5, 2.0, 1.25, 3.0])), 0.5],
        "cutoff": float(r.uniform(250, 3500)),
        "res": float(r.uniform(0.0, 0.6)),
        "lfo": float(r.uniform(0.07, 0.6)),
        "lfo_depth": float(r.uniform(0.2, 0.8)),
        "fade": float(r.uniform(0.2, 1.0)),
    }


def _plan_bell(r: np.random.Generator, dur: float) -> dict[str, Any]:
    n = int(r.integers(1, 5))
    times = np.sort(r.uniform(0, dur * 0.6, n))
    times[0] = float(r.uniform(0, 0.1))
    base = float(r.uniform(150, 900))
    ratio = float(r.choice([1.4, 2.0, 2.76, 3.5, 1.21, 4.1, 1.0 + r.uniform(0, 3)]))
    strikes = [
        {
            "t": float(t),
            "f": base * float(r.choice([1, 1.5, 2, 0.75, 1.189, 1.335])),
            "decay": float(r.uniform(0.8, max(0.9, dur - t + 0.5))),
            "index": float(r.uniform(1.0, 5.0)),
            "amp": float(r.uniform(0.4, 1.0)),
        }
        for t in times
    ]
    return {"ratio": ratio, "strikes": strikes}


def _plan_pluck(r: np.random.Generator, dur: float) -> dict[str, Any]:
    scale = np.array([0, 2, 4, 7, 9, 12, 14, 16, 19])
    root = float(r.uniform(36, 64))
    n = int(r.integers(2, 8))
    times = np.sort(r.uniform(0.0, dur * 0.8, n))
    times[0] = 0.02
    notes = [
        {
            "t": float(t),
            "f": float(440 * 2 ** ((root + r.choice(scale) - 69) / 12)),
            "decay": float(r.uniform(0.5, 4.0)),
            "amp": float(r.uniform(0.5, 1.0)),
        }
        for t in times
    ]
    return {
        "notes": notes,
        "bright": float(r.uniform(800, 12000)),
        "burst": float(r.uniform(0.003, 0.02)),
        "noise_seed": int(r.integers(2**31)),
    }


def _plan_noise(r: np.random.Generator, dur: float) -> dict[str, Any]:
    return {
        "color": str(r.choice(["white", "pink", "brown"])),
        "filter": str(r.choice(["bandpass", "lowpass", "highpass", "resonant"])),
        "center": float(r.uniform(150, 6000)),
        "q": float(r.uniform(0.7, 12)),
        "sweep": float(r.uniform(0.05, 0.5)),
        "sweep_depth": float(r.uniform(0.1, 0.8)),
        "gust": float(r.uniform(0.1, 3.0)),
        "gust_depth": float(r.uniform(0.0, 0.9)),
        "noise_seed": int(r.integers(2**31)),
    }


def _plan_voice(r: np.random.Generator, dur: float) -> dict[str, Any]:
    n = int(r.integers(2, 5))
    vowels = [str(v) for v in r.choice(list(VOWELS), n)]
    return {
        "f0": float(r.uniform(85, 320)),
        "glide": float(r.uniform(0.8, 1.25)),
        "vowels": vowels,
        "shift": float(r.uniform(0.9, 1.2)),  # formant scale: bigger or smaller "singer"
        "vib_rate": float(r.uniform(4.0, 6.5)),
        "vib_depth": float(r.uniform(0.003, 0.025)),
        "harms": int(r.integers(20, 80)),
        "breath": float(r.uniform(0.0, 0.15)),
        "noise_seed": int(r.integers(2**31)),
    }


def _plan_hit(r: np.random.Generator, dur: float) -> dict[str, Any]:
    kinds = ["kick", "snare", "hat", "tom", "metal"]
    n = int(r.integers(4, 10))
    times = np.sort(r.uniform(0, max(0.05, dur - 0.3), n))
    times[0] = 0.01
    hits = [
        {
            "t": float(t),
            "kind": str(r.choice(kinds)),
            "f": float(r.uniform(0.6, 1.6)),
            "decay": float(r.uniform(0.5, 2.0)),
            "amp": float(r.uniform(0.4, 1.0)),
        }
        for t in times
    ]
    return {"hits": hits, "noise_seed": int(r.integers(2**31))}


def _gesture(r: np.random.Generator, dur: float, lo: float, hi: float, log: bool) -> list:
    """A slow breakpoint line: 3-7 points spread over the duration."""
    n = int(r.integers(3, 8))
    ts = np.concatenate([[0.0], np.sort(r.uniform(0.1, dur - 0.1, n - 2)), [dur]])
    if log:
        vs = np.exp(r.uniform(np.log(lo), np.log(hi), n))
    else:
        vs = r.uniform(lo, hi, n)
    return [[float(t), float(v)] for t, v in zip(ts, vs, strict=True)]


def _plan_sine2(r: np.random.Generator, dur: float) -> dict[str, Any]:
    return {
        "freqs": [_gesture(r, dur, 110, 1800, True) for _ in range(2)],
        "amps": [_gesture(r, dur, 0.05, 1.0, False) for _ in range(2)],
    }


_PLANNERS = {
    "drone": _plan_drone,
    "bell": _plan_bell,
    "pluck": _plan_pluck,
    "noise": _plan_noise,
    "voice": _plan_voice,
    "hit": _plan_hit,
    "sine2": _plan_sine2,
}


def plan_corpus(
    seed: int = 0,
    families: tuple[str, ...] | list[str] | None = None,
    files_per_family: int = FILES_PER_FAMILY,
    seconds: float | None = None,
) -> list[dict[str, Any]]:
    """The render jobs: one dict per synthesized file, all randomness already drawn.

    >>> jobs = plan_corpus(0, families=["bell"], files_per_family=2)
    >>> [j["name"] for j in jobs]
    ['bell_00', 'bell_01']
    """
    if seconds is not None and seconds < 0.5:
        raise LatentcodeError(f"corpus files must last at least 0.5 s (got {seconds})")
    fams = [f for f in (families or SYNTH_FAMILIES) if f != "pyo"]
    unknown = [f for f in fams if f not in _PLANNERS]
    if unknown:
        raise LatentcodeError(f"unknown corpus family {unknown[0]!r}: use some of {FAMILIES}")
    jobs = []
    for fam in fams:
        for i in range(files_per_family):
            r = _rng(seed, fam, i)
            dur = float(seconds if seconds is not None else r.uniform(3.5, 4.5))
            params = _PLANNERS[fam](r, dur)
            jobs.append(
                {
                    "name": f"{fam}_{i:02d}",
                    "family": fam,
                    "dur": dur,
                    "peak": float(r.uniform(0.5, 0.9)),
                    "params": params,
                }
            )
    return jobs


# --------------------------------------------------------------------------- building


def _pyo_sound_files() -> list[Path]:
    """The audio files that ship inside pyo (``pyo.SNDS_PATH``), found without importing pyo's
    GUI-probing package."""
    import importlib.util

    spec = importlib.util.find_spec("pyo")
    if spec is None or spec.origin is None:
        raise LatentcodeError("pyo is not installed: pip install pyo==1.1.0")
    snds = Path(spec.origin).parent / "lib" / "snds"
    # the formats pyo 1.1.0 ships, named here rather than audiofiles.audio_suffixes(): the
    # corpus must not change with what the local libsndfile reads
    return sorted(p for p in snds.iterdir() if p.suffix.lower() in (".wav", ".aif", ".aiff"))


def _write_pyo_family(out_dir: Path) -> list[Path]:
    """Convert pyo's own sound files to mono 44.1 kHz WAV as ``pyo_NN.wav``."""
    import soundfile as sf

    from latentcode.model.audiofiles import load_audio

    paths = []
    for i, src in enumerate(_pyo_sound_files()):
        x = load_audio(src, SAMPLE_RATE)
        dst = out_dir / f"pyo_{i:02d}.wav"
        sf.write(dst, x, SAMPLE_RATE, subtype="PCM_16")
        paths.append(dst)
    return paths


def build_corpus(
    out_dir: str | Path,
    seed: int = 0,
    *,
    families: tuple[str, ...] | list[str] | None = None,
    files_per_family: int = FILES_PER_FAMILY,
    seconds: float | None = None,
) -> list[Path]:
    """Synthesize the corpus into ``out_dir``; returns the files written, sorted.

    ``families``, ``files_per_family`` and ``seconds`` (a fixed length per file) make smaller
    corpora for tests; the defaults give the builtin one (8 families, about 3.8 minutes).

    >>> paths = build_corpus(tmp, seed=0, families=["bell"], files_per_family=1)  # doctest: +SKIP
    >>> [p.name for p in paths]  # doctest: +SKIP
    ['bell_00.wav']
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LatentcodeError(f"cannot create corpus folder {str(out)!r}: {e.strerror}") from e
    fams = list(families or FAMILIES)
    jobs = plan_corpus(seed, fams, files_per_family, seconds)
    paths = [out / f"{j['name']}.wav" for j in jobs]
    if jobs:
        spec = json.dumps({"out_dir": str(out), "jobs": jobs})
        env = dict(os.environ, PYO_GUI_WX="0")
        code = "import json,sys; from latentcode.model.synth import render_jobs as r; " \
               "r(json.loads(sys.stdin.read()))"
        proc = subprocess.run([sys.executable, "-c", code], input=spec, text=True,
                              capture_output=True, env=env)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise LatentcodeError(f"rendering the corpus with pyo failed ({tail}): "
                                  "check that pyo 1.1.0 is installed")
    if "pyo" in fams:
        paths += _write_pyo_family(out)
    return sorted(paths)


def default_corpus_dir() -> Path:
    """The builtin corpus (seed 0), built once into the user data folder and reused.

    It is built in a private temporary folder that is renamed into place with its completion
    marker inside, so an interrupted build is never mistaken for a corpus and two processes
    building at once cannot mix their files.
    """
    import shutil

    from latentcode.resources import user_data_dir

    path = user_data_dir() / CORPUS_VERSION
    if (path / _MARKER).exists():
        return path
    tmp = path.with_name(f"{CORPUS_VERSION}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    build_corpus(tmp, seed=0)
    (tmp / _MARKER).write_text("seed 0\n")
    if path.exists() and not (path / _MARKER).exists():
        shutil.rmtree(path, ignore_errors=True)  # left over from an interrupted build
    try:
        os.rename(tmp, path)
    except OSError:  # another process finished first: use its corpus
        shutil.rmtree(tmp, ignore_errors=True)
        if not (path / _MARKER).exists():
            raise LatentcodeError(f"cannot create the corpus folder {str(path)!r}: check "
                                  "that the folder is writable") from None
    return path


_NAME = re.compile(r"^(?P<family>.+)_(?P<index>\d+)$")


def family_of(path: str | Path) -> str:
    """The group a corpus file belongs to: its stem before the last underscore.

    >>> family_of("corpus/bell_03.wav")
    'bell'
    """
    stem = Path(path).stem
    m = _NAME.match(stem)
    return m.group("family") if m else stem


def held_out(paths: list[Path] | list[str]) -> list[Path]:
    """The files kept out of training to measure reconstruction: in each family (see
    :func:`family_of`), every 8th file in sorted order starting with the 8th (``bell_07``...).
    When that picks none and there are two files or more, the last file is held out.

    >>> [p.name for p in held_out([Path(f"bell_{i:02d}.wav") for i in range(9)])]
    ['bell_07.wav']
    >>> [p.name for p in held_out(["a.wav", "b.wav"])]
    ['b.wav']
    """
    ps = sorted(Path(p) for p in paths)
    groups: dict[str, list[Path]] = {}
    for p in ps:
        groups.setdefault(family_of(p), []).append(p)
    out = [p for g in groups.values() for i, p in enumerate(g) if i % 8 == 7]
    if not out and len(ps) >= 2:
        out = [ps[-1]]
    return sorted(out)


# --------------------------------------------------------------------------- command line


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Flags of ``latentcode corpus``."""
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the WAV files into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run(args: argparse.Namespace) -> int:
    """``latentcode corpus OUT_DIR [--seed N]``."""
    import soundfile as sf

    t0 = time.perf_counter()
    paths = build_corpus(args.out_dir, seed=args.seed)
    secs = sum(sf.info(p).duration for p in paths)
    fams = sorted({family_of(p) for p in paths})
    print(f"wrote {len(paths)} files ({secs / 60:.1f} min of audio, families: "
          f"{', '.join(fams)}) to {args.out_dir} in {time.perf_counter() - t0:.1f} s")
    return 0
