"""A stretched voice's sound, put together from its decoded segments: the compiled
overlap-add gives the bits of numpy's slice-adds, in a stated order, clipped to the span."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latentcode.playback.grains import FRAME_GRID, SEARCH, grid_frames, needed, reconstruct


def slice_adds(source: dict[int, np.ndarray], lo: int, hi: int, hop: int) -> np.ndarray:
    """Each segment added into [lo, hi) by a clipped slice-add: latest frame first where the
    frames lie one grid step apart (and a segment is whole grid steps long), else in the
    order the voice kept them."""
    out = np.zeros(hi - lo, np.float32)
    frames = list(source)
    ordered = sorted(frames)
    length = len(source[frames[0]])
    if ordered == list(range(ordered[0], ordered[-1] + 1, FRAME_GRID)) and (
            length % (FRAME_GRID * hop) == 0):
        frames = ordered[::-1]
    for k in frames:
        at = k * hop - lo
        a, b = max(at, 0), min(at + length, len(out))
        if b > a:
            out[a:b] += source[k][a - at : b - at]
    return out


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 20), st.booleans(), st.booleans(),
       st.sampled_from([(128, 1024), (100, 1000), (64, 512), (128, 1000)]))
def test_reconstruct_matches_slice_adds_in_their_order(seed, count, on_grid, backwards, sizes):
    hop, length = sizes
    rng = np.random.default_rng(seed)
    first = int(rng.integers(0, 40)) * FRAME_GRID
    frames = (list(range(first, first + FRAME_GRID * count, FRAME_GRID)) if on_grid
              else sorted({int(k) for k in rng.integers(0, 90, count)}))
    if backwards:  # a voice played backwards keeps its segments latest first
        frames = frames[::-1]
    # levels far apart, so that another order of the adds shows in the bits
    source = {k: (rng.standard_normal(length) * 10.0 ** rng.integers(-4, 5)).astype(np.float32)
              for k in frames}
    lo = min(frames) * hop + int(rng.integers(-2000, 2000))
    hi = lo + int(rng.integers(1, 8000))
    got = reconstruct(source, lo, hi, hop)
    assert got.dtype == np.float32 and got.shape == (hi - lo,)
    assert got.tobytes() == slice_adds(source, lo, hi, hop).tobytes()


def test_nothing_decoded_yet_is_silence():
    assert not reconstruct({}, 10, 50, 128).any()


def test_a_compiled_module_run_as_a_file_keeps_nothing_under_its_own_name(tmp_path) -> None:
    """``python -m doctest grain_search.py`` imports the file as ``grain_search``; code numba
    kept on disk under that name broke the package's next import until removed by hand. Run
    so, the compiled modules keep nothing: their doctests pass and ``__pycache__`` holds no
    compiled entry."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import latentcode

    package = Path(latentcode.__file__).parent
    for path in ("playback/grain_search.py", "playback/overlap_add.py", "playback/posterior.py",
                 "model/int8x3.py"):
        name = Path(path).name
        shutil.copy(package / path, tmp_path / name)
        done = subprocess.run([sys.executable, "-m", "doctest", name], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    kept = [p.name for p in tmp_path.glob("__pycache__/*.nb*")]
    assert kept == []


def grains_one_by_one(starts: np.ndarray, hop: int, segment: int, last: int) -> list[int]:
    """The grid frames each grain reaches (within ``±SEARCH`` of its start), gathered."""
    frames: set[int] = set()
    for s in starts.tolist():
        frames.update(grid_frames(s - SEARCH, s + SEARCH + segment, hop, segment, last))
    return sorted(frames)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 200), st.sampled_from([8, 300, 2944, 20_000]),
       st.sampled_from([(128, 1024), (100, 1000)]))
def test_needed_frames_are_those_the_grains_reach(seed, count, spread, sizes):
    """A block's grains spread over more than two reaches (a render's long block, a fast
    voice) need exactly the frames each grain reaches, and none between."""
    hop, segment = sizes
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(-2000, 200_000, count) // spread * spread).astype(np.int64)
    last = int(rng.integers(1, 2500))
    assert needed(starts, hop, segment, last) == grains_one_by_one(starts, hop, segment, last)
