"""The wheel carries what latentcode needs at run time: grammars, the pattern library, the
default model, and the console script."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_grammars_patterns_and_the_default_model(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT),
                           "-w", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("latentcode-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("latentcode/grammar/latentcode.lark", "latentcode/grammar/mini.lark",
                   "latentcode/model/default.pt", "latentcode/session/__init__.py"):
        assert needed in names, needed
    shipped = {Path(n).name for n in names if n.startswith("latentcode/library/")}
    assert shipped == {p.name for p in (ROOT / "library").glob("*.lc")}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "latentcode = latentcode.shell.cli:main" in text
