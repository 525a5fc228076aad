"""``latentcode train`` end to end on tiny data, its config handling, and the shipped model's
reconstruction quality on held-out corpus files."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from latentcode.errors import LatentcodeError
from latentcode.model.audiofiles import load_audio
from latentcode.model.train import TrainConfig, _configs, configure, read_ini, snr_db
from latentcode.model.vae import ModelConfig, load_model
from latentcode.shell import cli

torch.set_num_threads(1)

# Measured for the shipped model (2 epochs from the linear start on corpus v2, see README) on
# the corpus's held-out synthesized files, as the model alone decodes them (ola framing, decode
# of mu): pooled SNR 12.0 dB (the model before it, 19 epochs from random weights: 11.1), drone
# 28.1 (26.0), hiss added above each sound's bandwidth -38.0 dB (-36.6), energy above 8 kHz
# -10.7 dB from the original's (-12.7). The floors sit between the two models, so the old
# model, a worse one, a broken loader or framing fails.
SHIPPED_HELDOUT_SNR_FLOOR_DB = 11.6
SHIPPED_DRONE_SNR_FLOOR_DB = 27.0
SHIPPED_HISS_CEILING_DB = -37.3
SHIPPED_TOP_END_FLOOR_DB = -11.7

TINY = ["--n-units", "16", "--latent-dim", "4", "--hop", "1024", "--batch-size", "64",
        "--threads", "1", "--no-progress"]


@pytest.fixture
def tiny_dir(tmp_path):
    """Three 4-second sounds made here with numpy (a decaying partial, a drone, a vowel-ish
    buzz), so these tests need neither pyo nor the corpus."""
    d = tmp_path / "audio"
    d.mkdir()
    t = np.arange(4 * 44100) / 44100
    rng = np.random.default_rng(0)
    sounds = {
        "bell_00.wav": np.sin(2 * np.pi * 660 * t) * np.exp(-2 * t),
        "drone_01.wav": np.sin(2 * np.pi * 110 * t) + 0.3 * np.sin(2 * np.pi * 331 * t),
        "voice_02.wav": np.sign(np.sin(2 * np.pi * 150 * t)) * 0.3
        + 0.05 * rng.standard_normal(len(t)),
    }
    for name, x in sounds.items():
        sf.write(d / name, (0.5 * x / np.abs(x).max()).astype(np.float32), 44100)
    return d


def test_shipped_model_reconstructs_held_out_files(corpus_dir):
    from latentcode.model.corpus import RECORDINGS, family_of, training_split
    from latentcode.model.quality import measure, pool, reconstruct

    model = load_model()
    files = [f for f in training_split(sorted(corpus_dir.glob("*.wav")))[1]
             if family_of(f) not in RECORDINGS]
    assert len(files) == 86  # the 8th of every 8 files of each synthesized family
    measured = {}
    for f in files:
        x = load_audio(f, model.sample_rate)
        measured[f.name] = measure(x, reconstruct(model, x, "ola"))
    everything = pool(list(measured.values()))
    drones = pool([q for name, q in measured.items() if family_of(name) == "drone"])
    assert everything["snr_db"] > SHIPPED_HELDOUT_SNR_FLOOR_DB, everything
    assert drones["snr_db"] > SHIPPED_DRONE_SNR_FLOOR_DB, drones
    assert everything["hiss_db"] < SHIPPED_HISS_CEILING_DB, everything
    assert everything["high_db"] > SHIPPED_TOP_END_FLOOR_DB, everything


def test_train_one_epoch_writes_a_loadable_checkpoint_then_resumes(tiny_dir, tmp_path,
                                                                    capsys):
    out = tmp_path / "run"
    rc = cli.main(["train", str(tiny_dir), "-o", str(out), "--epochs", "1",
                   "--checkpoint-interval", "1", "--fp16-export", str(out / "small.pt"),
                   "--loss", "spectral", "--stft-weight", "0.05", *TINY])
    assert rc == 0
    text = capsys.readouterr().out
    assert "held-out reconstruction SNR" in text and "voice_02.wav" in text
    assert "the epochs ended the run (1 of 1)" in text.strip().splitlines()[-1]
    for name in ("last.pt", "small.pt", "checkpoint_0001.pt"):  # the loss is on record
        loss = torch.load(out / name, weights_only=True)["training"]["loss"]
        assert (loss["name"], loss["stft_weight"]) == ("spectral", 0.05)
    m = load_model(out / "checkpoint_0001.pt")
    assert (m.segment, m.config.n_units, m.latent_dim, m.hop) == (1024, 16, 4, 1024)
    assert m.config.corpus  # fingerprint of the training files
    small = load_model(out / "small.pt")
    assert small.net.fc1.weight.dtype == torch.float32
    x, sr = sf.read(out / "heldout_reconstruction.wav")
    assert sr == 44100 and len(x) > 2 * sf.info(tiny_dir / "voice_02.wav").frames
    first = torch.load(out / "last.pt", weights_only=True)
    assert first["epoch"] == 1 and first["optimizer"]["state"]

    rc = cli.main(["train", str(tiny_dir), "-o", str(out), "--epochs", "2",
                   "--checkpoint-interval", "1", "--resume", str(out / "last.pt"), *TINY])
    assert rc == 0
    text = capsys.readouterr().out
    assert "epochs 2..2" in text and "0.05 STFT" in text  # the resumed run keeps its loss
    second = torch.load(out / "last.pt", weights_only=True)
    assert second["epoch"] == 2 and (out / "checkpoint_0002.pt").exists()
    moved = [not torch.equal(first["state_dict"][k], second["state_dict"][k])
             for k in first["state_dict"]]
    assert all(moved)


def test_init_fine_tunes_a_model_keeping_its_sizes_from_a_fresh_schedule(tiny_dir, tmp_path,
                                                                         capsys):
    """``--init`` starts from a model's weights: its sizes win over the defaults, the epochs
    count from 1, and the weights move from the model's, not from a fresh network's."""
    base = tmp_path / "base"
    assert cli.main(["train", str(tiny_dir), "-o", str(base), "--epochs", "1", *TINY]) == 0
    start = _weights(base / "last.pt")
    out = tmp_path / "tuned"
    # the sizes come from the model even though no size flag is given here
    rc = cli.main(["train", str(tiny_dir), "-o", str(out), "--epochs", "1", "--init",
                   str(base / "last.pt"), "--lr", "1e-5", "--batch-size", "64", "--threads", "1",
                   "--no-progress"])
    assert rc == 0
    assert "epochs 1..1" in capsys.readouterr().out
    tuned = torch.load(out / "last.pt", weights_only=True)
    assert tuned["epoch"] == 1 and tuned["config"]["n_units"] == 16
    fresh = load_model(out / "last.pt")  # loads: the sizes fit the weights
    assert fresh.latent_dim == 4
    moved = max(float((tuned["state_dict"][k] - start[k]).abs().max()) for k in start)
    size = max(float(start[k].abs().max()) for k in start)
    assert 0 < moved < 0.05 * size  # a small step from the model's weights


def test_init_and_resume_together_are_one_clear_line(tiny_dir, tmp_path):
    r = _cli(tiny_dir, "-o", tmp_path / "o", "--init", tmp_path / "a.pt", "--resume",
             tmp_path / "b.pt")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "give one" in r.stderr
    r = _cli(tiny_dir, "-o", tmp_path / "o", "--init", tmp_path / "none.pt")
    assert r.returncode == 2 and "no such model file" in r.stderr and "Traceback" not in r.stderr


def test_init_default_is_the_shipped_model(tiny_dir, tmp_path, monkeypatch):
    import latentcode.model.train as tr

    seen = {}

    def fake_train(files, out, model_cfg, train_cfg, **kw):
        seen["init"] = kw["init"]
        raise LatentcodeError("stop here")  # the wiring is what this test checks

    monkeypatch.setattr(tr, "train", fake_train)
    with pytest.raises(LatentcodeError, match="stop here"):
        p = argparse.ArgumentParser()
        configure(p, "train")
        tr.run(p.parse_args([str(tiny_dir), "--init", "default", "-o", str(tmp_path / "o")]))
    assert seen["init"] == tr.default_model_path() and seen["init"].is_file()


def test_ini_overrides_defaults_and_flags_override_ini(tmp_path):
    ini = tmp_path / "default.ini"
    ini.write_text(
        "[audio]\nsampling_rate = 22050\nhop_length = 256\nsegment_length = 512\n"
        "[dataset]\ndatapath = [your_dataset_path]\n"
        "[VAE]\nlatent_dim = 16\nn_units = 128\nkl_beta = 0.01\ndevice = cuda:0\n"
        "[training]\nepochs = 7\nlearning_rate = 0.0001\nbatch_size = 131072\n"
        "checkpoint_interval = 90\nloss_reduction = mean # comment\n")
    m, t = read_ini(ini)
    assert m == ModelConfig(segment=512, n_units=128, latent_dim=16, sample_rate=22050,
                            hop=256, kl_beta=0.01)
    assert t == TrainConfig(epochs=7, learning_rate=1e-4, batch_size=131072,
                            checkpoint_interval=90)
    p = argparse.ArgumentParser()
    configure(p, "train")
    m2, t2 = _configs(p.parse_args(["--config", str(ini), "--hop", "64", "--epochs", "3"]))
    assert (m2.hop, m2.segment, t2.epochs, t2.batch_size) == (64, 512, 3, 131072)


def test_bad_ini_values_are_errors(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text("[VAE]\nlatent_dim = lots\n")
    with pytest.raises(LatentcodeError, match="latent_dim"):
        read_ini(ini)
    with pytest.raises(LatentcodeError, match="no such config file"):
        read_ini(tmp_path / "missing.ini")


def test_cuda_missing_is_a_clear_error(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    from latentcode.model.train import train

    with pytest.raises(LatentcodeError, match="--device cpu"):
        train(sorted(tiny_dir.iterdir()), tmp_path / "o", device="cuda")


def test_silent_and_short_training_files_are_skipped_or_refused(tmp_path):
    from latentcode.model.train import load_dataset

    sf.write(tmp_path / "silent.wav", np.zeros(5000, np.float32), 44100)
    sf.write(tmp_path / "short.wav", np.full(300, 0.5, np.float32), 44100)
    with pytest.raises(LatentcodeError, match="no training file"):
        load_dataset(sorted(tmp_path.glob("*.wav")), ModelConfig())


def test_snr_db():
    x = np.sin(np.arange(1000) / 10)
    assert snr_db(x, x * 0.9) == pytest.approx(20.0)
    assert snr_db(x, x) > 150


def _cli(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "latentcode.shell.cli", "train", *map(str, args)],
                          capture_output=True, text=True, env=env)


@pytest.mark.parametrize("case", ["empty", "missing", "not_audio", "bad_ini", "stft_weight"])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, case):
    d = tmp_path / "d"
    d.mkdir()
    args = [d]
    if case == "missing":
        args = [tmp_path / "nowhere"]
    elif case == "not_audio":
        (d / "a.wav").write_bytes(b"RIFF....WAVEjunk")
    elif case == "bad_ini":
        sf.write(d / "a.wav", np.full(5000, 0.3, np.float32), 44100)
        args += ["--config", tmp_path / "none.ini"]
    elif case == "stft_weight":
        sf.write(d / "a.wav", np.full(5000, 0.3, np.float32), 44100)
        args += ["--stft-weight", "0.1"]  # only means something with --loss spectral
    r = _cli(*args, "-o", tmp_path / "o")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("latentcode: ") and "Traceback" not in r.stderr


def test_a_non_finite_batch_is_skipped_not_learned(tiny_dir, tmp_path, monkeypatch, capsys):
    import latentcode.model.losses as losses
    import latentcode.model.train as tr

    calls = {"n": 0}
    real = losses.vae_loss

    def flaky(*a, **k):
        total, mse, kl = real(*a, **k)
        calls["n"] += 1
        return (total * float("nan") if calls["n"] == 2 else total), mse, kl

    monkeypatch.setattr(losses, "vae_loss", flaky)
    done = tr.train(sorted(tiny_dir.iterdir()), tmp_path / "o",
                    ModelConfig(n_units=16, latent_dim=4, hop=1024),
                    TrainConfig(epochs=1, batch_size=64), progress=False)
    assert done.epochs == 1 and calls["n"] > 2
    assert all(torch.isfinite(p).all() for p in done.net.parameters())
    assert "skipped 1 batches" in capsys.readouterr().out


# --------------------------------------------------------------------------- loss, schedule,
# stopping and resuming

TINY_MODEL = ModelConfig(n_units=16, latent_dim=4, hop=1024)


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("loss", ["paper", "spectral"])
def test_same_seed_and_epochs_give_the_same_weights(tiny_dir, tmp_path, loss):
    from latentcode.model.train import train

    files = sorted(tiny_dir.iterdir())
    cfg = TrainConfig(epochs=1, batch_size=64, loss=loss)
    for name in ("a", "b"):
        train(files, tmp_path / name, TINY_MODEL, cfg, progress=False)
    assert _same(_weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "b" / "last.pt"))
    train(files, tmp_path / "c", TINY_MODEL, replace(cfg, seed=1), progress=False)
    assert not _same(_weights(tmp_path / "a" / "last.pt"), _weights(tmp_path / "c" / "last.pt"))


def test_an_interrupted_run_resumes_to_exactly_the_uninterrupted_weights(tiny_dir, tmp_path,
                                                                          monkeypatch):
    """SIGTERM in the middle of epoch 2: the step finishes, last.pt keeps the position, and
    resuming gives bit for bit what the run would have given without the stop."""
    import latentcode.model.losses as losses
    from latentcode.model.resume import TrainingInterrupted
    from latentcode.model.train import train

    files = sorted(tiny_dir.iterdir())
    cfg = TrainConfig(epochs=3, batch_size=64, loss="spectral")
    whole = train(files, tmp_path / "whole", TINY_MODEL, cfg, progress=False)
    steps = whole.state["steps_per_epoch"]
    assert steps >= 4

    calls = {"n": 0}
    real = losses.vae_loss

    def signalling(*a, **k):
        calls["n"] += 1
        if calls["n"] == steps + 3:  # the 3rd step of epoch 2
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*a, **k)

    monkeypatch.setattr(losses, "vae_loss", signalling)
    out = tmp_path / "cut"
    with pytest.raises(TrainingInterrupted) as stopped:
        train(files, out, TINY_MODEL, cfg, progress=False)
    assert stopped.value.signal_name == "SIGTERM" and "epoch 2, step 3" in stopped.value.where
    blob = torch.load(out / "last.pt", weights_only=True)
    assert blob["epoch"] == 1 and blob["training"]["step"] == 3
    assert blob["training"]["stopped_by"] == "interrupt" and blob["optimizer"]["state"]
    monkeypatch.setattr(losses, "vae_loss", real)
    again = train(files, out, TINY_MODEL, cfg, resume=out / "last.pt", progress=False)
    assert again.epochs == 3 and again.stopped_by == "epochs"
    assert _same(_weights(tmp_path / "whole" / "last.pt"), _weights(out / "last.pt"))


def _start(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "latentcode.shell.cli", "train",
                             *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _wait_for_line(proc, prefix, timeout=60.0):
    """Lines of proc's stdout up to the first that starts with ``prefix``."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    seen, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=max(0.01, end - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if line.startswith(prefix):
            return seen
    proc.kill()
    raise AssertionError(f"no line starting with {prefix!r} in {seen!r}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_train_keeps_a_checkpoint_and_says_how_to_resume(tiny_dir, tmp_path,
                                                                         sig, capsys):
    out = tmp_path / "run"
    proc = _start(tiny_dir, "-o", out, "--epochs", "100000", "--loss", "spectral", *TINY)
    _wait_for_line(proc, "epoch 1/100000")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"latentcode: {sig.name}: stopped at ")
    assert f"--resume {out / 'last.pt'}" in lines[0] and "latentcode train" in lines[0]
    assert not (out / "heldout_reconstruction.wav").exists()  # the evaluation is skipped
    blob = torch.load(out / "last.pt", weights_only=True)
    state = blob["training"]
    assert state["stopped_by"] == "interrupt" and state["epochs"] == 100000
    assert state["loss"]["name"] == "spectral"
    done = blob["epoch"]
    assert 1 <= done < 100000
    if sig == signal.SIGINT:
        return  # resuming is the same after either signal: once is enough

    rc = cli.main(["train", str(tiny_dir), "-o", str(out), "--resume", str(out / "last.pt"),
                   "--epochs", str(done + 2), *TINY])
    text = capsys.readouterr().out
    assert rc == 0
    assert f"epochs {done + 1}..{done + 2}" in text and "loss spectral" in text
    again = torch.load(out / "last.pt", weights_only=True)
    assert again["epoch"] == done + 2 and again["training"]["stopped_by"] == "epochs"
    assert "the epochs ended the run" in text.strip().splitlines()[-1]


def test_a_time_budget_shorter_than_the_epochs_is_announced_and_ends_the_run(tiny_dir,
                                                                             tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli.main(["train", str(tiny_dir), "-o", str(out), "--epochs", "100000",
                   "--max-minutes", "0.04", *TINY])
    text = capsys.readouterr().out
    assert rc == 0
    assert "will stop after about 2 s (budget)" in text, text[:2000]
    assert "to the time budget" in text  # the epoch lines count down to the budget
    last = text.strip().splitlines()[-1]
    assert "the 0.04 min budget ended the run" in last, last
    blob = torch.load(out / "last.pt", weights_only=True)
    assert blob["training"]["stopped_by"] == "budget"
    assert 2.0 <= blob["training"]["seconds"] < 4.0
    # its budget is spent: going on needs a larger one
    rc = cli.main(["train", str(tiny_dir), "-o", str(out), "--resume", str(out / "last.pt"),
                   *TINY])
    assert rc == 2 and "larger --max-minutes" in capsys.readouterr().err


def test_the_fused_step_skips_a_non_finite_batch_entirely():
    """Weights, Adam moments and step count stay as they were (no sync needed to decide)."""
    from latentcode.model.loop import _optimizer, _step
    from latentcode.model.vae import VAE

    torch.manual_seed(0)
    net = VAE(64, 8, 2)
    opt, fused = _optimizer(net, 1e-3)
    x = torch.randn(4, 64)
    for bad in (False, True):
        recon, mu, logvar = net(x)
        loss = (recon - x).pow(2).mean() * (float("nan") if bad else 1.0)
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        before = {k: v.clone() for k, v in net.state_dict().items()}
        moments = [s["exp_avg"].clone() for s in opt.state.values()]
        steps = [float(s["step"]) for s in opt.state.values()]
        _step(opt, fused, torch.isfinite(norm) & torch.isfinite(loss))
        unchanged = _same(before, net.state_dict())
        assert unchanged == bad
    assert all(torch.equal(a, s["exp_avg"]) for a, s in zip(moments, opt.state.values(),
                                                            strict=True))
    assert [float(s["step"]) for s in opt.state.values()] == steps == [1.0] * len(steps)


def test_resuming_an_original_rawaudiovae_checkpoint_goes_on_from_its_epoch(tiny_dir, tmp_path):
    """Its layout ({'epoch', 'state_dict', 'optimizer'} of a plain Adam) continues with our
    fused optimiser, at the epoch after the stored one."""
    from latentcode.model.train import train
    from latentcode.model.vae import VAE

    torch.manual_seed(0)
    net = VAE(1024, 16, 4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(8, 1024) * 0.1
    recon, _, _ = net(x)
    (recon - x).pow(2).mean().backward()
    opt.step()
    torch.save({"epoch": 5, "state_dict": net.state_dict(), "optimizer": opt.state_dict()},
               tmp_path / "original.pt")
    done = train(sorted(tiny_dir.iterdir()), tmp_path / "o", TINY_MODEL,
                 TrainConfig(epochs=6, batch_size=64), resume=tmp_path / "original.pt",
                 progress=False)
    assert (done.epochs, done.stopped_by) == (6, "epochs")
    assert torch.load(tmp_path / "o" / "last.pt", weights_only=True)["epoch"] == 6
