"""latentcode: a live-coding language for the latent space of a raw-audio VAE.

The public API, the names scripts and notebooks import (they stay, wherever the code behind
them moves inside the package)::

    from latentcode import mini, Pattern, Session, load_model

Names are imported on first use, so ``import latentcode`` stays light (no lark, torch or pyo).
Taking a pattern name from here also loads the language, which hands the mini-notation parser
to the pattern core: strings work wherever a pattern is wanted (``Pattern.fast(2, "a b")``).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "mini": "latentcode.language.mininotation",
    "Pattern": "latentcode.patterns.core",
    "Event": "latentcode.patterns.core",
    "Span": "latentcode.patterns.core",
    "Session": "latentcode.session",
    "load_model": "latentcode.model.vae",
    "VAE": "latentcode.model.vae",
    "LatentcodeError": "latentcode.errors",
    "LanguageError": "latentcode.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = _EXPORTS[name]
        if module.startswith("latentcode.patterns."):
            importlib.import_module("latentcode.language")  # installs the string parser
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'latentcode' has no attribute {name!r}")
