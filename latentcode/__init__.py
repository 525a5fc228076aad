"""latentcode: a live-coding language for the latent space of a raw-audio VAE.

The public API (see DESIGN §7)::

    from latentcode import mini, Pattern, Session, load_model

Names are imported on first use, so ``import latentcode`` stays light (no torch, no pyo).
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
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'latentcode' has no attribute {name!r}")
