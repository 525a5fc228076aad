"""Where the package's own files live: grammars, the pattern library, the default model.

In a wheel, ``grammar/`` and ``library/`` (the patterns written in the language, loaded with
``use``) are installed inside the package; in a source checkout (editable install) they sit
beside it at the top of the repository. Callers never need to care.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """The folder or file ``name`` shipped with latentcode.

    >>> data_path("grammar").is_dir()
    True
    """
    for base in (PACKAGE_DIR, PACKAGE_DIR.parent):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"latentcode is missing its {name!r} files: reinstall the package")


def user_data_dir() -> Path:
    """Per-user folder for caches and history (``$XDG_DATA_HOME/latentcode``)."""
    import os

    root = os.environ.get("LATENTCODE_HOME")
    if root:
        path = Path(root)
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(xdg) / "latentcode"
    path.mkdir(parents=True, exist_ok=True)
    return path
