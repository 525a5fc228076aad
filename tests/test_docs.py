"""Documentation that cannot go stale: the generated reference, and the docstring examples."""

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import latentcode
from latentcode.language import reference

ROOT = Path(__file__).resolve().parent.parent


def test_reference_md_is_what_the_registry_generates():
    on_disk = (ROOT / "docs" / "reference.md").read_text()
    assert on_disk == reference.markdown(), (
        "docs/reference.md is stale: python -m latentcode.language.reference > docs/reference.md"
    )


def test_the_reference_lists_every_function_and_control():
    from latentcode.controls import CONTROLS
    from latentcode.patterns.registry import FUNCTIONS

    text = reference.markdown()
    for name in FUNCTIONS:
        assert f"`{name}" in text, name
    for name in CONTROLS:
        assert f"| `{name}`" in text, name


MODULES = ["audio.analysis", "model.bank", "playback.clock", "errors", "shell.frontends",
           "shell.map", "resources", "playback.scheduler", "playback.voices", "controls"]
ALL_MODULES = sorted(m.name.removeprefix("latentcode.") for m in pkgutil.walk_packages(
    latentcode.__path__, "latentcode.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", ALL_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"latentcode.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    if name in MODULES:
        assert result.attempted > 0, f"latentcode.{name} has no examples"
    assert result.failed == 0
