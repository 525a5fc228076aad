"""Stems: one file per track slot and one for the reverb, sample-aligned with the mix.

They come out of the same pyo graph as the mix, tapped before the master limiter, so they sum
to the master bus; on material the limiter leaves alone that is the mix itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from latentcode.audio.engine import Engine
from latentcode.session import Session

SR = 44100


def render_with_stems(parts, piece: str, tmp_path, seconds: float = 4.0, stems: bool = True):
    model, bank = parts
    session = Session(model, bank, tracks=3)
    session.eval(piece)
    names = ["s0", "s1", "s2", "reverb"]
    paths = [tmp_path / f"{n}.wav" for n in names] if stems else None
    with Engine("offline", tracks=3, sr=SR) as engine:
        engine.render(session.scheduler(seed=0, snapshot=True), int(seconds * SR),
                      tmp_path / "mix.wav", stems=paths)
    mix, _ = sf.read(tmp_path / "mix.wav", dtype="float32")
    if not stems:
        return mix, {}
    return mix, {n: sf.read(p, dtype="float32")[0] for n, p in zip(names, paths, strict=True)}


QUIET = """tempo 0.5
t1 $ "bell ~" # legato 0.5 # gain 0.3 # room 0.4
t2 $ "~ drone" # legato 0.5 # gain 0.2 # delay 0.4 # pan 0.2
"""


def test_stems_sum_to_the_mix_and_are_aligned_with_it(session_parts, tmp_path):
    mix, stems = render_with_stems(session_parts, QUIET, tmp_path)
    assert all(s.shape == mix.shape for s in stems.values())
    assert np.abs(mix).max() > 0.05  # something plays, below the limiter's threshold
    total = sum(stems.values())
    assert np.abs(total - mix).max() < 1e-6
    assert np.abs(stems["reverb"]).max() > 1e-3  # t1's room is in the reverb's stem
    assert np.abs(stems["s2"]).max() == 0  # the third slot plays nothing


def test_each_stem_carries_only_its_track(session_parts, tmp_path):
    mix, stems = render_with_stems(session_parts, QUIET, tmp_path)
    half = SR  # a cycle lasts 2 s: t1 plays the first second of it, t2 the second
    t1, t2 = stems["s0"], stems["s1"]
    assert np.abs(t1[:half]).max() > 0.01 and np.abs(t2[:half]).max() == 0
    # t2's own echoes ring past its event, but never into t1's stem
    assert np.abs(t2[half : 2 * half]).max() > 0.01
    assert np.abs(t1[int(1.2 * half) : 2 * half]).max() < 1e-4


def test_a_render_with_stems_has_the_same_mix_as_one_without(session_parts, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_stems, _ = render_with_stems(session_parts, QUIET, tmp_path / "a")
    without, _ = render_with_stems(session_parts, QUIET, tmp_path / "b", stems=False)
    assert np.array_equal(with_stems, without)


def test_stems_are_not_limited(session_parts, tmp_path):
    loud = 't1 $ "bell*4" # gain 4 # legato 1\nt2 $ "drone" # gain 4'
    mix, stems = render_with_stems(session_parts, loud, tmp_path, seconds=2)
    assert np.abs(mix).max() <= 1.0
    assert np.abs(stems["s0"] + stems["s1"]).max() > 1.0  # the limiter acted on the mix only


def test_a_take_of_every_output_splits_into_the_master_and_its_stems(tmp_path):
    from latentcode.audio.takes import split_take

    rng = np.random.default_rng(0)
    take = rng.uniform(-1.5, 1.5, size=(70_000, 8)).astype(np.float32)  # 3 pairs + reverb
    sf.write(tmp_path / "all.wav", take, SR, subtype="FLOAT")
    (tmp_path / "stems").mkdir()
    written = split_take(tmp_path / "all.wav", [(0, tmp_path / "take.wav"),
                                                (4, tmp_path / "stems" / "t2.wav")])
    assert [p.name for p in written] == ["take.wav", "t2.wav"]
    master, _ = sf.read(tmp_path / "take.wav", dtype="float32")
    t2, _ = sf.read(tmp_path / "stems" / "t2.wav", dtype="float32")
    assert np.array_equal(master, np.clip(take[:, 0:2], -1, 1))  # the master, as heard
    assert np.array_equal(t2, take[:, 4:6])  # stems keep their level
    assert not list(tmp_path.glob("**/.*.part"))


def test_a_split_that_cannot_be_made_leaves_no_file(tmp_path):
    from latentcode.audio.takes import split_take
    from latentcode.errors import LatentcodeError

    sf.write(tmp_path / "all.wav", np.zeros((100, 2), np.float32), SR, subtype="FLOAT")
    with pytest.raises(LatentcodeError, match="no pair at channel 2"):
        split_take(tmp_path / "all.wav", [(0, tmp_path / "m.wav"), (2, tmp_path / "s.wav")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.wav"]


def test_session_render_names_the_stems_after_the_tracks(session_parts, tmp_path):
    model, bank = session_parts
    session = Session(model, bank, tracks=4)
    session.eval('tempo 0.5\ndrums $ "hit*2" # gain 0.3\nreverb $ "~ bell" # gain 0.3 # room 0.5')
    session.render(1, tmp_path / "mix.wav", stems=tmp_path / "stems")
    names = sorted(p.name for p in (tmp_path / "stems").iterdir())
    # a track may be called reverb: the reverb's own file then gets another name
    assert names == ["drums.wav", "reverb-return.wav", "reverb.wav"]
    mix, _ = sf.read(tmp_path / "mix.wav", dtype="float32")
    total = sum(sf.read(tmp_path / "stems" / n, dtype="float32")[0] for n in names)
    assert np.abs(total - mix).max() < 1e-6
