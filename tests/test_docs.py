"""Documentation that cannot go stale: the generated reference, and the docstring examples."""

import doctest
import importlib
from pathlib import Path

import pytest

from latentcode import reference

ROOT = Path(__file__).resolve().parent.parent


def test_reference_md_is_what_the_registry_generates():
    on_disk = (ROOT / "docs" / "reference.md").read_text()
    assert on_disk == reference.markdown(), (
        "docs/reference.md is stale: python -m latentcode.reference > docs/reference.md"
    )


def test_the_reference_lists_every_function_and_control():
    from latentcode.controls import CONTROLS
    from latentcode.library import FUNCTIONS

    text = reference.markdown()
    for name in FUNCTIONS:
        assert f"`{name}" in text, name
    for name in CONTROLS:
        assert f"| `{name}`" in text, name


MODULES = ["analysis", "bank", "clock", "errors", "live", "map", "resources", "scheduler",
           "trajectory"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"latentcode.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"latentcode.{name} has no examples"
    assert result.failed == 0
