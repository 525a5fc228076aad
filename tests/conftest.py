"""Shared fixtures. Each area keeps its fixtures in its own clearly named block."""

from __future__ import annotations

import contextlib
import os

import pytest

# --------------------------------------------------------------------------- model/corpus area


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory):
    """The builtin corpus (seed 0, about 30 minutes of audio), built once per test session
    (about 10 s on two cores)."""
    from latentcode.model.corpus import build_corpus

    d = tmp_path_factory.mktemp("corpus")
    build_corpus(d, seed=0)
    return d


@pytest.fixture
def tiny_model():
    """A small random VAE (segment 1024, 32 units, latent 8) wrapped as a LatentModel."""
    import torch

    from latentcode.model.vae import VAE, LatentModel, ModelConfig

    torch.manual_seed(0)
    cfg = ModelConfig(segment=1024, n_units=32, latent_dim=8)
    return LatentModel(VAE(cfg.segment, cfg.n_units, cfg.latent_dim), cfg)


@pytest.fixture
def latentcode_home(tmp_path, monkeypatch):
    """A private LATENTCODE_HOME (caches, the default corpus) for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("LATENTCODE_HOME", str(home))
    return home


# --------------------------------------------------------------------------- bank area


@contextlib.contextmanager
def _closing_banks():
    """Record every Bank made inside the block and close them all when it ends: a background
    worker left encoding or clustering would take CPU from the tests after it (the real-time
    ones miss JACK periods)."""
    from latentcode.model.bank import Bank

    made: list[Bank] = []
    init = Bank.__init__

    def recording_init(self, *args, **kwargs):
        made.append(self)
        init(self, *args, **kwargs)

    Bank.__init__ = recording_init
    try:
        yield
    finally:
        Bank.__init__ = init
        for bank in made:
            bank.close()


@pytest.fixture(autouse=True)
def close_banks():
    """Close every Bank a test made."""
    with _closing_banks():
        yield


@pytest.fixture(autouse=True)
def ints_intact():
    """After every test, CPython's shared ints are as they were. quicktions (pattern time) once
    wrote a parsed digit into one of them when given a one-character string; afterwards
    ``int.from_bytes(b"\\0", "little")`` was 51 and torch could not load a checkpoint. Text
    becomes a Fraction only through ``read_fraction``: this says at once if a path does not."""
    yield
    assert int.from_bytes(b"\0", "little") == 0 and int.from_bytes(b"\1", "little") == 1, (
        "a shared int was overwritten (a string given to quicktions' Fraction?)")


@pytest.fixture(autouse=True)
def precision_intact():
    """After every test, the decoder precision's environment variable is as it was: a test
    that left ``LATENTCODE_PRECISION=fp32`` behind once made every later test decode in fp32,
    and two that compare with the network's own arithmetic passed only after it."""
    from latentcode.model.precision import ENV

    before = os.environ.get(ENV)
    yield
    assert os.environ.get(ENV) == before, f"the test left {ENV}={os.environ.get(ENV)!r}"


@pytest.fixture(autouse=True, scope="module")
def close_module_banks():
    """The same for banks made by a module's shared fixtures (a module-scoped Session): closed
    when the module ends. With the 691-file default bank, a worker left clustering after
    test_examples was still encoding when test_realtime ran, which then missed JACK periods."""
    with _closing_banks():
        yield


@pytest.fixture(scope="module")
def session_parts():
    """The shipped model and the default bank, loaded once per module (closed with it)."""
    from latentcode.model.bank import Bank
    from latentcode.model.vae import load_model

    model = load_model()
    return model, Bank(model)


@pytest.fixture
def bank(tiny_model, folder, latentcode_home):
    """A bank of the tiny model holding only the requesting module's ``folder`` of sounds."""
    from latentcode.model.bank import Bank

    b = Bank(tiny_model, default=False)
    b.add_folder(folder)
    return b
