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


def test_the_readme_says_what_installing_torch_fetches_and_tests_what_ci_runs():
    """Set-up honesty: the plain command fetches the CUDA build on an ordinary machine; the
    README says so, offers PyTorch's CPU-only index, and its test command is the one CI runs."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    assert "CUDA build" in setup and "MB" in setup
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in setup
    assert "pip install -q torch==2.13.0 " in ci or "pip install -q torch==2.13.0\n" in ci
    assert "--index-url" not in ci  # CI keeps to the plain command
    # the README's test command installs the same torch and the same extras CI does
    assert ('pip install torch==2.13.0 && pip install -e ".[test]" && python -m pytest'
            in setup)
    assert 'pip install -q -e ".[test]"' in ci and "python -m pytest" in ci
