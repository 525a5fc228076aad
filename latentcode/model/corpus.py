"""The builtin training corpus: sounds synthesized offline with pyo and numpy, plus pyo's own
sound files.

``latentcode corpus OUT_DIR [--seed N]`` writes 44.1 kHz mono WAV files named
``{family}_{index:02d}.wav`` and a manifest, ``corpus.json``. The families:

- one-shots, one event per file starting at its attack (within a few samples of the file's
  start) and decaying to silence: ``bell`` (FM bells), ``pluck`` (plucked strings), ``hit``
  (one drum of many kinds), ``metal`` (inharmonic struck metal), ``glass`` (high, long-ringing
  glassy tones), ``wood`` (marimba, xylophone, wood blocks);
- sustained textures, heard from their first milliseconds: ``drone``, ``noise`` (noise beds),
  ``voice`` (formant vowels), ``sine2`` (the paper's two-sine sonification sound), ``breath``
  and ``grain`` (granular clouds made from our own synthesized sounds);
- ``pyo``: the recordings that ship with pyo (``pyo.SNDS_PATH``). They are in the folder (the
  default bank plays them) but are never training data: :func:`training_split` keeps them for
  evaluation, to measure how the model meets sounds it never saw.

Every random choice is drawn with numpy from ``(seed, family, index)``; the renderer only turns
fixed parameter lists into samples, each job on its own. So the same seed gives the same files,
bit for bit, whichever child process renders them, and building a subset of families (or fewer
files per family) gives the same files as the full build.

pyo allows one server per process and its C objects can take a process down, so rendering
(:mod:`latentcode.model.synth`) runs in child processes, one per CPU core: the live engine can
build the corpus while it plays, and the default 30 minutes build in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from latentcode.errors import LatentcodeError
from latentcode.model.synth import FAMILY_SYNTHS, ONE_SHOTS, SAMPLE_RATE

SUSTAINED = ("drone", "noise", "voice", "sine2", "breath", "grain")
RECORDINGS = ("pyo",)  # families in the folder that are never training data
SYNTH_FAMILIES = ("drone", "bell", "pluck", "noise", "voice", "hit", "sine2", "metal", "glass",
                  "wood", "breath", "grain")
FAMILIES = SYNTH_FAMILIES + RECORDINGS
# One-shots are short (about 0.4-5 s), sustained files 3-6 s: more one-shot files keep the
# families' shares of audio comparable. The default build holds about 30 minutes.
# Hits and wood strikes are the shortest sounds, and hits the most varied: they get more files.
FILES_PER_FAMILY: dict[str, int] = {f: 64 if f in ONE_SHOTS else 40 for f in SYNTH_FAMILIES}
FILES_PER_FAMILY.update(hit=96, wood=96)
# two-digit indices: names sort in index order, so the bank's "hit:11" is hit_11
MAX_FILES_PER_FAMILY = 100
CORPUS_VERSION = "corpus-v2"
MANIFEST = "corpus.json"
MAX_PROCESSES = 16
_MARKER = ".complete"


# --------------------------------------------------------------------------- planning (numpy)


def _rng(seed: int, family: str, index: int) -> np.random.Generator:
    """A generator that depends only on (seed, family, index), so subsets build identically
    (the family enters by a checksum of its name, not its place in :data:`FAMILIES`)."""
    return np.random.default_rng([seed, zlib.crc32(family.encode()), index])


def _counts(fams: list[str], files_per_family: int | Mapping[str, int] | None) -> dict[str, int]:
    if files_per_family is None:
        files_per_family = FILES_PER_FAMILY
    counts = ({f: files_per_family.get(f, 0) for f in fams}
              if isinstance(files_per_family, Mapping) else dict.fromkeys(fams, files_per_family))
    for f, n in counts.items():
        if not isinstance(n, int) or not 1 <= n <= MAX_FILES_PER_FAMILY:
            raise LatentcodeError(f"files per family must be a whole number from 1 to "
                                  f"{MAX_FILES_PER_FAMILY} (got {n!r} for {f!r})")
    return counts


def plan_corpus(
    seed: int = 0,
    families: tuple[str, ...] | list[str] | None = None,
    files_per_family: int | Mapping[str, int] | None = None,
    seconds: float | None = None,
) -> list[dict[str, Any]]:
    """The render jobs: one dict per synthesized file, all randomness already drawn.

    ``files_per_family`` is a number for every family or a table (default
    :data:`FILES_PER_FAMILY`); ``seconds`` fixes every file's length (for small test corpora).

    >>> jobs = plan_corpus(0, families=["bell"], files_per_family=2)
    >>> [j["name"] for j in jobs], jobs[0]["oneshot"]
    (['bell_00', 'bell_01'], True)
    """
    if not 0 <= seed < 2**32:
        raise LatentcodeError(f"the corpus seed must be 0 to {2**32 - 1} (got {seed})")
    if seconds is not None and not 0.5 <= seconds <= 60:
        raise LatentcodeError(f"corpus files must last 0.5 to 60 s (got {seconds})")
    fams = [f for f in (families or SYNTH_FAMILIES) if f not in RECORDINGS]
    unknown = [f for f in fams if f not in FAMILY_SYNTHS]
    if unknown:
        raise LatentcodeError(f"unknown corpus family {unknown[0]!r}: use some of "
                              f"{', '.join(FAMILIES)}")
    jobs = []
    for fam, count in _counts(fams, files_per_family).items():
        planner = FAMILY_SYNTHS[fam][0]
        for i in range(count):
            r = _rng(seed, fam, i)
            peak = float(r.uniform(0.5, 0.9))
            dur, params = planner(r, seconds)
            jobs.append({"name": f"{fam}_{i:02d}", "family": fam, "dur": dur, "peak": peak,
                         "oneshot": fam in ONE_SHOTS, "params": params})
    return jobs


# --------------------------------------------------------------------------- rendering


def _cost(job: dict[str, Any]) -> float:
    src = job["params"].get("source") if job["family"] == "grain" else None
    return job["dur"] + (src["dur"] if src else 0.0)


def split_jobs(jobs: list[dict[str, Any]], parts: int) -> list[list[dict[str, Any]]]:
    """``jobs`` shared among ``parts`` processes, longest first to the least loaded, so they
    finish together; each part keeps the plan's order. Empty parts are dropped.

    >>> jobs = [{"name": str(i), "family": "bell", "dur": d, "params": {}}
    ...         for i, d in enumerate([3.0, 1.0, 2.0])]
    >>> [[j["name"] for j in part] for part in split_jobs(jobs, 2)]
    [['0'], ['1', '2']]
    """
    loads = [0.0] * max(1, parts)
    owner = {}
    for i in sorted(range(len(jobs)), key=lambda i: -_cost(jobs[i])):
        k = loads.index(min(loads))
        owner[i] = k
        loads[k] += _cost(jobs[i])
    parts_ = [[j for i, j in enumerate(jobs) if owner[i] == k] for k in range(len(loads))]
    return [p for p in parts_ if p]


def _render(jobs: list[dict[str, Any]], out: Path, processes: int | None) -> None:
    """Render ``jobs`` into ``out`` in child processes (one per core unless told)."""
    n = processes or min(os.cpu_count() or 1, MAX_PROCESSES)
    env = dict(os.environ, PYO_GUI_WX="0", OMP_NUM_THREADS="1")
    code = ("import json,sys; from latentcode.model.synth import render_jobs as r; "
            "r(json.loads(sys.stdin.read()))")
    children = []
    try:
        for part in split_jobs(jobs, n):
            err = tempfile.TemporaryFile()
            child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=err, env=env)
            children.append((child, err))
            try:
                child.stdin.write(json.dumps({"out_dir": str(out), "jobs": part}).encode())
                child.stdin.close()
            except BrokenPipeError:  # it died at start (no pyo?): its stderr says why
                pass
        failed = []
        for child, err in children:
            if child.wait() != 0:
                err.seek(0)
                lines = err.read().decode(errors="replace").strip().splitlines()
                failed.append((lines or [f"exit status {child.returncode}"])[-1])
    finally:
        for child, err in children:
            if child.poll() is None:  # interrupted: no orphan keeps rendering
                child.kill()
                child.wait()
            err.close()
    if failed:
        hint = ("check that pyo 1.1.0 is installed" if "pyo" in failed[0]
                else "please report this seed")
        raise LatentcodeError(f"rendering the corpus failed ({failed[0]}): {hint}")


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


def _write_manifest(out: Path, seed: int, paths: list[Path]) -> None:
    import soundfile as sf

    fams: dict[str, int] = {}
    for p in paths:
        fams[family_of(p)] = fams.get(family_of(p), 0) + 1
    manifest = {
        "version": CORPUS_VERSION,
        "seed": seed,
        "families": dict(sorted(fams.items())),
        "files": [p.name for p in paths],
        "seconds": round(sum(sf.info(p).duration for p in paths), 3),
        "recordings": [f for f in RECORDINGS if f in fams],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def build_corpus(
    out_dir: str | Path,
    seed: int = 0,
    *,
    families: tuple[str, ...] | list[str] | None = None,
    files_per_family: int | Mapping[str, int] | None = None,
    seconds: float | None = None,
    processes: int | None = None,
) -> list[Path]:
    """Synthesize the corpus into ``out_dir``; returns the files written, sorted.

    ``families``, ``files_per_family`` and ``seconds`` (a fixed length per file) make smaller
    corpora; the defaults give the builtin one (13 families, about 30 minutes). ``processes``
    renders in that many child processes (default: one per core, at most 16); the files are
    the same whatever it is. A manifest, ``corpus.json``, lists what was built.

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
    if processes is not None and not 1 <= processes <= MAX_PROCESSES:
        raise LatentcodeError(f"processes must be 1 to {MAX_PROCESSES} (got {processes})")
    jobs = plan_corpus(seed, fams, files_per_family, seconds)
    paths = [out / f"{j['name']}.wav" for j in jobs]
    if jobs:
        _render(jobs, out, processes)
    if any(f in fams for f in RECORDINGS):
        paths += _write_pyo_family(out)
    paths = sorted(paths)
    _write_manifest(out, seed, paths)
    return paths


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


# --------------------------------------------------------------------------- splits

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


def training_split(paths: list[Path] | list[str]) -> tuple[list[Path], list[Path]]:
    """``(train_files, eval_files)``: the evaluation files are the :func:`held_out` files of the
    synthesized families plus every file of a :data:`RECORDINGS` family (pyo's recordings are
    never trained on); the rest is for training. In a folder without such files (a user's own
    sounds) this is the plain :func:`held_out` split; in one holding nothing else, the
    recordings are split like any family.

    >>> names = [f"bell_{i:02d}.wav" for i in range(8)] + ["pyo_00.wav", "pyo_01.wav"]
    >>> train, ev = training_split(names)
    >>> len(train), [p.name for p in ev]
    (7, ['bell_07.wav', 'pyo_00.wav', 'pyo_01.wav'])
    """
    ps = sorted(Path(p) for p in paths)
    synth = [p for p in ps if family_of(p) not in RECORDINGS]
    recorded = [p for p in ps if family_of(p) in RECORDINGS]
    ev = sorted(held_out(synth) + recorded) if synth else held_out(ps)
    kept = set(ev)
    return [p for p in ps if p not in kept], ev


# --------------------------------------------------------------------------- command line


def _family_list(text: str) -> list[str]:
    fams = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in fams if f not in FAMILIES]
    if not fams or unknown:
        raise LatentcodeError(f"--families: unknown family {(unknown or [text])[0]!r}; "
                              f"use some of {', '.join(FAMILIES)}, separated by commas")
    return fams


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    """Flags of ``latentcode corpus``."""
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the WAV files into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--families", metavar="A,B,...",
                        help=f"only these families (of {', '.join(FAMILIES)})")
    parser.add_argument("--files-per-family", type=int, metavar="N",
                        help="N files in every family (default: 64 per one-shot family, "
                             "40 per sustained one)")


def run(args: argparse.Namespace) -> int:
    """``latentcode corpus OUT_DIR [--seed N] [--families A,B] [--files-per-family N]``."""
    import soundfile as sf

    fams = _family_list(args.families) if args.families else None
    t0 = time.perf_counter()
    paths = build_corpus(args.out_dir, seed=args.seed, families=fams,
                         files_per_family=args.files_per_family)
    secs = sum(sf.info(p).duration for p in paths)
    found = sorted({family_of(p) for p in paths})
    print(f"wrote {len(paths)} files ({secs / 60:.1f} min of audio, families: "
          f"{', '.join(found)}) to {args.out_dir} in {time.perf_counter() - t0:.1f} s")
    return 0
