"""The shape of the package: stages that import only downstream, no import cycle, small modules.

Data flows one way: text -> statements -> patterns -> events -> latent frames -> audio. Each
subpackage is a stage and may import only the stages it builds on (ALLOWED); the base modules
(errors, resources, the control table) are shared by all. Every import counts, including the
ones inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "latentcode"
BASE = {"errors", "resources", "controls", "quiet"}
STAGES = ("patterns", "language", "model", "playback", "audio", "ports", "shell")
ALLOWED = {
    "base": {"base"},
    "patterns": {"base", "patterns"},
    "language": {"base", "patterns", "language"},
    "model": {"base", "model"},
    "playback": {"base", "patterns", "model", "playback"},
    "audio": {"base", "audio"},
    "ports": {"base", "patterns", "ports"},
    "session": {"base", "patterns", "language", "model", "playback", "audio", "ports", "session"},
    "shell": {"base", "patterns", "language", "model", "playback", "audio", "ports", "session",
              "shell"},
    "facade": {"base", "patterns", "language", "model", "playback", "audio", "ports", "session",
               "shell"},
}
# The catalogue of pattern functions is one list of small functions, long by nature.
LONG_ALLOWED = {"latentcode.patterns.functions"}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage(module: str) -> str:
    """The stage a module belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "facade"
    if parts[1] in STAGES:
        return parts[1]
    if parts[1] == "session":
        return "session"
    if parts[1] in BASE:
        return "base"
    raise AssertionError(f"{module} is in no stage: add it to a subpackage or to BASE")


def imports(module: str) -> set[str]:
    """The latentcode modules ``module`` imports, anywhere in its text."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from latentcode.language import vocabulary`` imports a module, not a name
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES
                     else node.module for a in node.names]
        else:
            continue
        found.update(n for n in names if n == "latentcode" or n.startswith("latentcode."))
    return {n for n in found if n in MODULES} - {module}


GRAPH = {m: imports(m) for m in MODULES}


def test_every_module_is_in_a_stage():
    for module in MODULES:
        assert stage(module) in ALLOWED


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_stages_it_builds_on(module):
    bad = sorted(m for m in GRAPH[module] if stage(m) not in ALLOWED[stage(module)])
    assert not bad, f"{module} ({stage(module)}) imports {bad}, which flow back up the chain"


def test_no_import_cycle():
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module):] + [module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(GRAPH[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])


def test_the_checks_catch_what_they_are_for():
    # the walker must see lazy imports and ``from package import module``
    assert "latentcode.language.statements" in imports("latentcode.language.vocabulary")
    assert stage("latentcode.shell.repl") == "shell" and stage("latentcode.controls") == "base"
    assert "audio" not in ALLOWED["patterns"] and "language" not in ALLOWED["patterns"]


@pytest.mark.parametrize("module", sorted(set(MODULES) - LONG_ALLOWED))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by idea"
