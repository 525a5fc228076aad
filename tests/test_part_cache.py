"""The disk cache of built clusters keeps to its size: the parts used least recently go."""

from __future__ import annotations

import os

import numpy as np

from latentcode.model import part_cache
from latentcode.model.encode import cache_dir
from latentcode.model.sound import Sound


def _sound(name: str, frames: int) -> Sound:
    mu = np.full((frames, 16), 0.5, np.float32)
    return Sound(name, mu, np.zeros_like(mu), 128, ("a", "b"))


def _aged(path, seconds_ago: float) -> None:
    t = os.stat(path.with_suffix(".npy")).st_mtime - seconds_ago
    os.utime(path.with_suffix(".npy"), (t, t))


def test_a_write_over_the_cap_removes_the_parts_used_least_recently(latentcode_home,
                                                                    monkeypatch):
    cache_dir().mkdir(parents=True)
    paths = [cache_dir() / f"part-k-x-{i}" for i in range(4)]
    for i, path in enumerate(paths[:3]):
        part_cache.kept(path, lambda i=i: _sound(f"frames:{i}", 1000))
        _aged(path, 100 - 10 * i)  # part 0 the oldest
    size = sum(f.stat().st_size for f in cache_dir().glob("part-k-x-0.*"))
    part_cache.read(paths[0])  # used again now: part 1 is now the one used least recently
    monkeypatch.setenv("LATENTCODE_PART_CACHE_MB", str(3.5 * size / 1e6))
    part_cache.kept(paths[3], lambda: _sound("frames:3", 1000))
    left = sorted(p.name for p in cache_dir().glob("part-*"))
    assert left == sorted(f"{p.name}{s}" for p in (paths[0], paths[2], paths[3])
                          for s in (".npy", ".npz"))
    assert part_cache.read(paths[1]) is None  # gone, so built again on its next use
    assert part_cache.kept(paths[1], lambda: _sound("frames:1", 1000)).name == "frames:1"


def test_the_part_just_written_stays_even_when_alone_it_is_over_the_cap(latentcode_home,
                                                                         monkeypatch):
    cache_dir().mkdir(parents=True)
    monkeypatch.setenv("LATENTCODE_PART_CACHE_MB", "0.001")
    old, new = cache_dir() / "part-k-x-0", cache_dir() / "part-k-x-1"
    part_cache.kept(old, lambda: _sound("frames:0", 500))
    sound = part_cache.kept(new, lambda: _sound("frames:1", 500))
    assert sound.name == "frames:1" and not sound.mu.flags.writeable  # read back mapped
    assert part_cache.read(old) is None and part_cache.read(new) is not None


def test_a_mapped_part_plays_on_after_it_is_pruned(latentcode_home):
    cache_dir().mkdir(parents=True)
    path = cache_dir() / "part-k-x-0"
    sound = part_cache.kept(path, lambda: _sound("frames:0", 300))
    assert part_cache.prune(cap=0) == [path]
    assert not path.with_suffix(".npy").exists()
    assert float(sound.mu.sum()) == 0.5 * 300 * 16  # the mapping still reads the frames


def test_the_cap_reads_the_environment_and_falls_back_on_nonsense(monkeypatch):
    monkeypatch.setenv("LATENTCODE_PART_CACHE_MB", "250")
    assert part_cache.cap_bytes() == 250_000_000
    monkeypatch.setenv("LATENTCODE_PART_CACHE_MB", "lots")
    assert part_cache.cap_bytes() == part_cache.DEFAULT_CAP_MB * 1_000_000
    monkeypatch.delenv("LATENTCODE_PART_CACHE_MB")
    assert part_cache.cap_bytes() == part_cache.DEFAULT_CAP_MB * 1_000_000


def _member(name: str, frames: int, value: float, onset: float) -> Sound:
    mu = np.full((frames, 16), value, np.float32) + np.arange(frames, dtype=np.float32)[:, None]
    match = np.linspace(value, 1.0, 641).astype(np.float32)
    return Sound(name, mu, -mu, 128, onset=onset, match=match)


def test_a_sound_cluster_is_written_a_member_at_a_time_and_reads_back_as_if_put_together(
        latentcode_home):
    import gc
    import weakref

    cache_dir().mkdir(parents=True)
    sounds = {"a": (3000, 0.1, 2.5), "b": (2500, 0.7, 0.0), "c": (10, 0.3, 1.0)}
    given, most = [], [0]

    def load(name):
        gc.collect()
        most[0] = max(most[0], sum(r() is not None for r in given))
        sound = _member(name, *sounds[name])
        given.append(weakref.ref(sound))
        return sound

    joined = part_cache.Joined.of("sounds:1", 128, ("a", "b", "c"), load)
    stored = part_cache.kept(cache_dir() / "part-k-x-1", lambda: joined)
    assert most[0] <= 1 and len(given) == 3  # never two members held at once
    whole = joined.sound()
    assert not stored.mu.flags.writeable  # read back, mapped
    assert np.array_equal(stored.mu, whole.mu) and np.array_equal(stored.logvar, whole.logvar)
    assert (stored.name, stored.members, stored.onset) == ("sounds:1", ("a", "b", "c"), 2.5)
    assert np.array_equal(stored.match, whole.match) and stored.frames == 5510
    assert not list(cache_dir().glob("*.tmp"))  # the halves are gone


def test_a_sound_cluster_still_plays_when_the_cache_cannot_be_written(latentcode_home):
    cache_dir().parent.mkdir(parents=True, exist_ok=True)
    cache_dir().write_text("not a folder")  # (root may write anywhere: a file stops it)
    joined = part_cache.Joined.of("sounds:0", 128, ("a", "b"),
                                  lambda n: _member(n, 40, 0.2 if n == "a" else 0.5, 0.0))
    sound = part_cache.kept(cache_dir() / "part-k-x-0", lambda: joined)
    assert sound.name == "sounds:0" and sound.frames == 80 and sound.mu.flags.writeable
    assert np.array_equal(sound.mu, joined.sound().mu)


def test_a_frame_cluster_is_written_a_file_at_a_time_and_reads_back_as_gathered(latentcode_home):
    """Six files of 4 MB of frames, most of them in cluster 0: written, the cluster never
    takes much more than one file's share in memory (put together first, it took twice all
    of it: the pieces, then their copy end to end)."""
    import tracemalloc

    from latentcode.model.clusters import Labelled
    from latentcode.model.gathering import gather, pieces

    cache_dir().mkdir(parents=True)
    frames, width = 8000, 64
    stems = [f"f{i}" for i in range(6)]
    labels = np.tile(np.where(np.arange(frames) % 10 == 0, 1, 0), len(stems))

    def load(stem):  # made afresh at each read, as a file's encoding is read from the disk
        mu = np.random.default_rng(int(stem[1:])).standard_normal((frames, width), np.float32)
        return Sound(stem, mu, mu / 2, 128)

    labelled = Labelled.of(stems, [frames] * len(stems), labels, 2)
    one_file = 2 * frames * width * 4  # mu and logvar
    tracemalloc.start()
    try:
        stored = part_cache.kept(cache_dir() / "part-k-x-0", lambda: part_cache.Joined(
            "frames:0", 128, (), lambda: pieces(labelled, 0, load, 128)))
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    mu, logvar = gather(labelled, [0], load)[0]
    assert mu.nbytes + logvar.nbytes > 5 * one_file  # the cluster: most of the six files
    assert peak < 2.5 * one_file, f"{peak / 1e6:.1f} MB at most, one file is {one_file / 1e6} MB"
    assert not stored.mu.flags.writeable  # read back, mapped
    assert np.array_equal(stored.mu, mu) and np.array_equal(stored.logvar, logvar)
    assert (stored.name, stored.members, stored.onset, stored.match) == ("frames:0", (), 0, None)
