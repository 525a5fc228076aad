"""The bank: names, groups, indices, clusters and the prior, on real audio files."""

import numpy as np
import pytest
from sound_helpers import tone

from latentcode.errors import LatentcodeError
from latentcode.model.bank import Bank, kmeans


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "mysounds"
    d.mkdir()
    tone(d / "kick_1.wav", 60)
    tone(d / "kick_2.wav", 80, seconds=0.8)
    tone(d / "pad.wav", 220, seconds=1.0)
    (d / "notes.txt").write_text("not audio")
    return d


def test_groups_come_from_file_names_and_the_folder(bank):
    groups = bank.groups()
    assert groups["kick"] == ["kick_1", "kick_2"]
    assert groups["pad"] == ["pad"]
    assert set(groups["mysounds"]) == {"kick_1", "kick_2", "pad"}


def test_indices_pick_within_a_group_and_wrap(bank):
    assert bank.resolve("kick").name == "kick_1"
    assert bank.resolve("kick:1").name == "kick_2"
    assert bank.resolve("kick:2").name == "kick_1"  # wraps, as in Tidal
    assert bank.resolve("kick_2").name == "kick_2"
    pad = bank.resolve("pad")
    # 1 s at hop 128: one frame per hop over the whole file
    assert pad.frames == pytest.approx(44100 / 128, abs=9)
    assert pad.mu.shape == pad.logvar.shape == (pad.frames, 8)


def test_unknown_names_suggest_the_nearest(bank):
    with pytest.raises(LatentcodeError, match="did you mean 'kick'"):
        bank.resolve("kik:1")
    with pytest.raises(LatentcodeError, match="bad sound index"):
        bank.resolve("kick:x")


def test_bad_folders_are_one_clear_line(tiny_model, tmp_path):
    b = Bank(tiny_model, default=False)
    with pytest.raises(LatentcodeError, match="no folder"):
        b.add_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LatentcodeError, match="no audio files"):
        b.add_folder(tmp_path / "empty")


def test_the_bank_takes_the_files_training_takes(tiny_model, tmp_path, latentcode_home):
    from latentcode.model.audiofiles import find_audio

    for name in ("a.wav", "b.FLAC", "c.oga", "d.aif", "notes.txt"):
        (tmp_path / name).write_bytes(b"")  # only the names are looked at here
    b = Bank(tiny_model, default=False)
    names = b.add_folder(tmp_path)
    assert sorted(names) == sorted(p.stem for p in find_audio(tmp_path)) == ["a", "b", "c", "d"]


def test_clusters_partition_every_frame_of_the_bank(bank):
    total = sum(bank.resolve(n).frames for n in ("kick_1", "kick_2", "pad"))
    assert sum(c.frames for c in bank.clusters(k=4)) == total
    clusters = bank.clusters()  # the default k: what frames:N and cluster:N name
    assert sum(c.frames for c in clusters) == total
    assert bank.resolve("cluster:1").name == clusters[1].name == "frames:1"
    assert bank.resolve("frames:1") is bank.resolve("cluster:1")
    assert bank.resolve("cluster:40").name == clusters[40 % len(clusters)].name


def test_a_cluster_keeps_its_own_frames_only_and_a_new_folder_lets_the_old_go(bank, tmp_path):
    import gc
    import weakref

    cluster = bank.resolve("cluster:0")
    whole = bank.clusters()[0]
    np.testing.assert_array_equal(cluster.mu, whole.mu)  # the same frames, in the same order
    # the files read to cluster are not kept: only what was asked for
    assert sorted(bank._sounds) == ["cluster:0"]
    sounds = bank.resolve("sounds:0")
    assert sounds.members and np.array_equal(
        sounds.mu, np.concatenate([bank.resolve(m).mu for m in sounds.members]))
    old = weakref.ref(cluster)
    del cluster, whole
    more = tmp_path / "more"
    more.mkdir()
    tone(more / "bell.wav", 440)
    bank.add_folder(more)
    gc.collect()
    assert old() is None  # the clusters of the bank as it was are gone
    assert bank.resolve("cluster:0").name == "frames:0"  # and are built again on use


def test_prior_paths_are_seeded_and_smooth(bank):
    a, b, a2 = bank.resolve("prior"), bank.resolve("prior:1"), Bank(bank.model, default=False)
    assert np.array_equal(a.mu, a2.resolve("prior:0").mu)
    assert not np.array_equal(a.mu, b.mu)
    step = np.abs(np.diff(a.mu, axis=0)).mean()
    assert step < 0.2 * np.abs(a.mu).mean()  # a path, not white noise
    assert 0.7 < a.mu.std() < 1.3  # drawn from the unit prior


def test_kmeans_separates_clear_clusters():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.1, (50, 2)) for c in (0, 5, 10)]).astype(np.float32)
    labels = kmeans(x, 3)
    assert len(set(labels[:50])) == len(set(labels[50:100])) == len(set(labels[100:])) == 1
    assert len(set(labels)) == 3


def test_a_corrupt_file_is_left_out_of_the_clusters_with_a_message(tiny_model, folder,
                                                                  latentcode_home):
    (folder / "broken.wav").write_text("not a wav at all")
    said = []
    bank = Bank(tiny_model, default=False, report=said.append)
    bank.add_folder(folder)
    with pytest.raises(LatentcodeError, match="corrupt or not audio"):
        bank.resolve("broken")
    clusters = bank.clusters(k=2)
    assert sum(c.frames for c in clusters) == sum(
        bank.resolve(n).frames for n in ("kick_1", "kick_2", "pad"))
    assert len(said) == 1 and "leave out broken" in said[0]
