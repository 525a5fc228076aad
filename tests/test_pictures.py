"""Pictures: the latent map of the default bank, with a piece's trajectory, and render --plot."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def latentcode(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "latentcode.shell.cli", *args],
                          capture_output=True, text=True, timeout=300)


def test_map_of_the_default_bank_with_a_trajectory(tmp_path):
    png = tmp_path / "map.png"
    done = latentcode("map", "-o", str(png), "--size", "640x480",
                      "--piece", str(ROOT / "examples" / "first.lc"), "--cycles", "2")
    assert done.returncode == 0, done.stderr
    image = Image.open(png)
    assert image.format == "PNG" and image.size == (640, 480)
    # not a blank canvas: a map has many colours
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 50


def test_map_size_errors_are_one_line(tmp_path):
    done = latentcode("map", "-o", str(tmp_path / "m.png"), "--size", "big")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "WIDTHxHEIGHT" in done.stderr


def test_render_plot_writes_a_spectrogram_and_a_control_panel_beside_the_wav(tmp_path):
    wav = tmp_path / "first.wav"
    done = latentcode("render", str(ROOT / "examples" / "first.lc"), "-o", str(wav),
                      "--cycles", "2", "--plot")
    assert done.returncode == 0, done.stderr
    image = Image.open(wav.with_suffix(".png"))
    # waveform and spectrogram (600 px) and one 90 px lane for each of the piece's 3 tracks
    assert image.format == "PNG" and image.size == (1000, 600 + 3 * 90)
    trace = json.loads(wav.with_suffix(".controls.json").read_text())
    assert set(trace["tracks"]) == {"t1", "t2", "t3"}
    # t3 is "drone/2" # mix "voice" # alpha (slow 4 $ sine): one voice, alpha rising in it
    # (the scheduler may start voices in the blocks it fills past the end: not in the file)
    t3 = [v["sound"] for v in trace["voices"] if v["track"] == "t3" and v["start"] < 4]
    assert t3 == ["drone"]
    alpha = [a for a in trace["tracks"]["t3"]["controls"]["alpha"] if a is not None]
    assert alpha[0] == pytest.approx(0.5, abs=0.01) and max(alpha) > 0.9


@pytest.fixture(scope="module")
def traced():
    """A held drone whose pan follows a sine and a pluck with constant controls, traced."""
    from latentcode.session import Session

    session = Session(tracks=2)
    session.eval('t1 $ "drone" # legato 1 # pan sine # gain 0.5\n'
                 't2 $ "pluck*2" # legato 1 # pan 0.2 # lpf 3000')
    trace = session.trace(interval=0.05)
    session.render_dry(2, seed=1, trace=trace)
    return trace.to_dict()


def test_the_trace_follows_a_pan_that_moves_inside_a_held_sound(traced):
    lane = traced["tracks"]["t1"]
    times = np.array(lane["times"])
    pan = np.array(lane["controls"]["pan"], dtype=float)
    # tempo 0.5: cycle c is at 2c seconds, so the sine is 0.5 + 0.5 sin(pi t)
    assert np.abs(pan - (0.5 + 0.5 * np.sin(np.pi * times))).max() < 0.02
    assert pan.max() > 0.95 and pan.min() < 0.05
    assert set(lane["controls"]["gain"]) == {0.5}
    held = [v for v in traced["voices"] if v["track"] == "t1" and v["start"] < 4]
    assert [(v["sound"], v["start"], v["end"]) for v in held] == [("drone", 0, 2), ("drone", 2, 4)]


def test_the_trace_holds_constant_controls_and_every_voice(traced):
    lane = traced["tracks"]["t2"]
    assert {x for x in lane["controls"]["pan"] if x is not None} == {0.2}
    assert {x for x in lane["controls"]["lpf"] if x is not None} == {3000.0}
    plucks = [v for v in traced["voices"] if v["track"] == "t2" and v["start"] < 4]
    assert [v["start"] for v in plucks] == [0.0, 1.0, 2.0, 3.0]
    assert all(v["end"] - v["start"] == pytest.approx(1.0, abs=0.01) for v in plucks)


def test_the_trace_notes_the_sound_a_voice_morphs_from_and_how_far_it_has_come():
    from latentcode.session import Session

    session = Session(tracks=2)
    session.eval('t1 $ "bell" # legato 1 # morphfrom "drone" # morph saw\n'
                 't2 $ "bell" # legato 1 # morph 0.3')  # nothing to morph from: no morph
    trace = session.trace(interval=0.05)
    session.render_dry(2, seed=1, trace=trace)
    traced = trace.to_dict()
    first = [v for v in traced["voices"] if v["start"] == 0]
    assert {(v["track"], v["morphfrom"]) for v in first} == {("t1", "drone"), ("t2", None)}
    lane = traced["tracks"]["t1"]
    times = np.array(lane["times"])
    morph = np.array(lane["controls"]["morph"], dtype=float)
    # tempo 0.5: the saw rises from 0 to 1 over each two-second voice
    held = times < 1.9
    assert np.abs(morph[held] - times[held] / 2).max() < 0.03
    assert "morph" not in traced["tracks"]["t2"]["controls"]


def test_voices_sounding_at_once_are_traced_as_their_range_not_the_latest_one():
    from latentcode.session import Session

    session = Session(tracks=1)
    # jux: the same drone hard left and, a moment later, hard right
    session.eval('t1 $ jux (late 0.01) $ "drone" # legato 1 # gain 0.5')
    trace = session.trace(interval=0.05)
    session.render_dry(2, seed=1, trace=trace)
    lane = trace.to_dict()["tracks"]["t1"]
    both = [pan for t, pan in zip(lane["times"], lane["controls"]["pan"], strict=True)
            if 0.1 < t % 2 < 1.9]  # tempo 0.5: both sides sound from 0.02 s to 2 s of each cycle
    assert both and all(pan == [0.0, 1.0] for pan in both)
    assert set(lane["controls"]["gain"]) == {0.5}  # where they agree, one number


def test_the_panel_draws_one_lane_per_track_with_what_moved(traced, tmp_path):
    import soundfile as sf

    from latentcode.shell.plot import plot_audio

    wav = tmp_path / "held.wav"
    tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(44100 * 4) / 44100)
    sf.write(wav, np.stack([tone, tone], axis=1).astype(np.float32), 44100)
    png = plot_audio(wav, controls=traced)
    assert Image.open(png).size == (1000, 600 + 2 * 90)
    plain = plot_audio(wav, tmp_path / "plain.png")
    assert Image.open(plain).size == (1000, 600)


def test_the_panel_draws_voices_that_differ_as_a_band(tmp_path):
    import soundfile as sf

    from latentcode.shell.plot import plot_audio

    wav = tmp_path / "two.wav"
    sf.write(wav, np.zeros((44100 * 4, 2), np.float32), 44100)
    times = [round(0.05 * k, 2) for k in range(80)]
    line = [0.5 + 0.5 * np.sin(t) for t in times]  # one voice
    band = [[0.0, 1.0]] * 80  # jux: both sides at once

    def filled_rows(pan: list) -> int:
        """Rows of the picture tinted across its width: a pale fill, not the lines, the frames
        or the (black) spectrogram of silence."""
        controls = {"interval": 0.05, "voices": [],
                    "tracks": {"t1": {"times": times, "controls": {"pan": pan}}}}
        grey = np.asarray(Image.open(plot_audio(wav, controls=controls)).convert("L"))
        tinted = (grey[:, 100:880] > 180) & (grey[:, 100:880] < 230)
        return int((tinted.mean(axis=1) > 0.8).sum())

    assert filled_rows(line) <= 2 and filled_rows(band) >= 30  # (the waveform's zero line)


def test_the_trace_reads_along_a_moving_stretch_where_the_render_does_and_changes_nothing():
    """A voice's time under a moving stretch is how far it has walked: the trace reads it as
    the blocks are scheduled, before they are rendered, so it walks them first (it read the
    last position known, a staircase). The audio is the same with the trace or without."""
    import numpy as np

    from latentcode.session import Session

    session = Session(tracks=1)
    session.eval('tempo 0.5\nt1 $ "bell/4" # mix "drone" # alpha (along saw)'
                 ' # stretch (range 2 4 $ slow 2 sine)')
    trace = session.trace(interval=0.05)
    traced = session.render_dry(4, seed=1, trace=trace)
    # (where the next voice has started and the last still fades, a range: left out)
    alpha = [a for a in trace.to_dict()["tracks"]["t1"]["controls"]["alpha"]
             if isinstance(a, float)]
    alpha = alpha[: int(np.argmax(alpha)) + 1]  # the first voice, to its end (8 s)
    steps = np.diff(alpha)
    assert alpha[-1] > 0.9 and (steps > 0).mean() > 0.95 and steps.max() < 0.05
    assert np.array_equal(traced, session.render_dry(4, seed=1))


def test_a_scheduler_records_nothing_unless_a_trace_is_attached():
    from latentcode.session import Session

    session = Session(tracks=1)
    session.eval('t1 $ "bell"')
    assert session.scheduler().trace is None


# -- the map's axes and labels (issue 15): checked on the figure's data, not its pixels --------


def _boxes(fig):
    """Pixel boxes (x0, y0, x1, y1) of the map's group labels, as drawn."""
    fig.canvas.draw()
    ax = fig.axes[0]
    return {t.get_text(): tuple(t.get_bbox_patch().get_window_extent().extents)
            for t in ax.texts if t.get_bbox_patch() is not None and t.get_text() in LABELS}


LABELS = [f"group{i}" for i in range(30)]


def _overlapping(boxes):
    items = list(boxes.items())
    return [(a, b) for i, (a, p) in enumerate(items) for b, q in items[i + 1:]
            if p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]]


def test_a_few_far_frames_do_not_set_the_map_axes():
    from latentcode.shell.map import picture
    from latentcode.shell.plot import pyplot

    rng = np.random.default_rng(1)
    xy = np.concatenate([rng.normal(size=(10_000, 2)), [[400, 0], [0, -300], [250, 250],
                                                        [-500, 10], [80, -900]]])
    fig = picture(xy, np.arange(len(xy)) % 7, {}, {}, size=(800, 600))
    try:
        ax = fig.axes[0]
        lo, hi = np.percentile(xy, [1, 99], axis=0)
        for axis, (a, b) in enumerate([ax.get_xlim(), ax.get_ylim()]):
            # the central 98% of the frames spans most of each axis ...
            assert (hi[axis] - lo[axis]) / (b - a) > 0.8
            assert a < lo[axis] and hi[axis] < b
        # ... the far frames are drawn on the edge (clamped into the axes), and counted
        limits = np.array([ax.get_xlim(), ax.get_ylim()])
        edge = np.concatenate([c.get_offsets() for c in ax.collections])
        for far in xy[-5:]:
            clamped = np.clip(far, limits[:, 0], limits[:, 1])
            assert np.isclose(edge, clamped).all(axis=1).any()
        outside = int((~((xy >= limits[:, 0]) & (xy <= limits[:, 1])).all(axis=1)).sum())
        assert 5 <= outside < 500
        note = " ".join(t.get_text() for t in ax.texts)
        assert f"{outside} of {len(xy)} frames beyond" in note
    finally:
        pyplot().close(fig)


def test_a_piece_beyond_the_axes_is_drawn_on_the_edge_and_counted():
    from latentcode.shell.map import picture
    from latentcode.shell.plot import pyplot

    xy = np.random.default_rng(2).normal(size=(2000, 2))
    path = np.c_[np.linspace(0, 50, 100), np.zeros(100)]  # wanders far to the right
    fig = picture(xy, np.zeros(len(xy)), {}, {"track 1": path}, size=(600, 400))
    try:
        ax = fig.axes[0]
        beyond = int((path[:, 0] > ax.get_xlim()[1]).sum())
        assert beyond > 80
        assert f"track 1: {beyond} of 100" in " ".join(t.get_text() for t in ax.texts)
    finally:
        pyplot().close(fig)


def test_crowded_map_labels_never_overlap_and_the_left_out_are_counted():
    from latentcode.shell.map import picture
    from latentcode.shell.plot import pyplot

    rng = np.random.default_rng(3)
    xy = rng.normal(size=(3000, 2))
    # 30 groups whose centres all fall in a small patch: drawn as they are, a pile of labels
    centres = {name: rng.normal(scale=0.05, size=2) for name in LABELS}
    fig = picture(xy, np.zeros(len(xy)), centres, {}, size=(640, 480))
    try:
        boxes = _boxes(fig)
        assert len(boxes) >= 10  # most find a spot near their centre
        assert _overlapping(boxes) == []
        ax = fig.axes[0]
        area = ax.bbox.extents
        assert all(b[0] >= area[0] - 1 and b[2] <= area[2] + 1 and b[1] >= area[1] - 1
                   and b[3] <= area[3] + 1 for b in boxes.values())
        missing = sorted(set(LABELS) - set(boxes), key=LABELS.index)
        if missing:
            note = " ".join(t.get_text() for t in ax.texts)
            assert f"{len(missing)} label(s) left out for lack of room" in note
            assert all(name in note for name in missing)
    finally:
        pyplot().close(fig)


def test_labels_with_room_stay_on_their_centres():
    from latentcode.shell.map import picture
    from latentcode.shell.plot import pyplot

    xy = np.random.default_rng(4).uniform(-10, 10, size=(2000, 2))
    centres = {"group0": np.array([-5.0, -5.0]), "group1": np.array([5.0, 5.0])}
    fig = picture(xy, np.zeros(len(xy)), centres, {}, size=(600, 400))
    try:
        ax = fig.axes[0]
        boxes = _boxes(fig)
        for name, centre in centres.items():
            x0, y0, x1, y1 = boxes[name]
            cx, cy = ax.transData.transform(centre)
            assert abs((x0 + x1) / 2 - cx) < 1 and abs((y0 + y1) / 2 - cy) < 1
    finally:
        pyplot().close(fig)


def test_greedy_placement_keeps_boxes_apart_and_inside():
    from latentcode.shell.map import place_labels

    rng = np.random.default_rng(5)
    sizes = [(float(w), 14.0) for w in rng.uniform(20, 80, 60)]
    anchors = [tuple(a) for a in rng.normal(200, 15, size=(60, 2))]
    spots = place_labels(sizes, anchors, (0, 0, 400, 400), obstacles=[(300, 300, 400, 400)])
    boxes = {i: (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
             for i, ((w, h), s) in enumerate(zip(sizes, spots, strict=True))
             if s for x, y in [s]}
    assert 15 <= len(boxes) < 60
    assert _overlapping(boxes) == []
    boxes["obstacle"] = (300, 300, 400, 400)
    assert _overlapping(boxes) == []
    assert all(0 <= b[0] and b[2] <= 400 and 0 <= b[1] and b[3] <= 400 for b in boxes.values())


# -- render --plot: the spectrogram's dB colour bar --------------------------------------------


def _colour_bars(fig):
    axes = [a for ax in fig.axes for a in [ax, *ax.child_axes]]
    return [a for a in axes if getattr(a, "_colorbar", None) is not None]


def test_the_spectrogram_has_a_colour_bar_in_db_that_follows_the_level():
    from latentcode.shell.plot import audio_figure, pyplot

    tone = np.sin(2 * np.pi * 440 * np.arange(44100 * 2) / 44100).astype(np.float32)
    tops = []
    for amplitude in (1.0, 0.1):
        fig = audio_figure(np.stack([amplitude * tone] * 2, axis=1), 44100, "tone")
        try:
            bars = _colour_bars(fig)
            assert len(bars) == 1 and bars[0].get_ylabel() == "dB"
            bottom, top = bars[0].get_ylim()
            assert top - bottom == pytest.approx(100)
            tops.append(top)
            # the bar sits beside the spectrogram, which keeps the waveform's time axis
            wave, spectrogram = fig.axes[:2]
            assert spectrogram.get_position().x1 == pytest.approx(wave.get_position().x1)
        finally:
            pyplot().close(fig)
    # a tenth of the amplitude is 20 dB down: the bar reads the sound's level
    assert tops[0] - tops[1] == pytest.approx(20, abs=0.5)


def test_a_silent_render_draws_a_dark_spectrogram_not_its_noise_floor():
    from latentcode.shell.plot import QUIET, audio_figure, pyplot

    fig = audio_figure(np.zeros((44100, 2), np.float32), 44100, "silence")
    try:
        (bar,) = _colour_bars(fig)
        # the bar's top stays at QUIET: the 1e-9 floor (about -200 dB) is not drawn as loud
        assert bar.get_ylim()[1] == pytest.approx(QUIET)
        spectrogram = fig.axes[1].images[0]
        assert np.nanmax(spectrogram.get_array()) < QUIET - 50
    finally:
        pyplot().close(fig)
