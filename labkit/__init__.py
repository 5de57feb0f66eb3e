"""labkit: the lab kit behind the course "Local models" (LC1.2.5).

Each module matches one idea of the course; the notebooks in ``notebooks/``
call them. Heavy libraries (torch, transformers, llama_cpp) are imported
inside the functions that need them, so ``import labkit`` stays fast and a
learner missing one engine can still use the others.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Submodules load on first attribute access (``labkit.models`` ...), which
# keeps ``import labkit`` cheap while ``labkit.models.path(...)`` just works.
_SUBMODULES = {
    "bench", "check", "convert", "decision", "engines", "evaluate", "hardware", "health",
    "ladder", "logs", "memory", "models", "ollama", "quant", "tradeoffs", "widgets",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"labkit.{name}")
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def doctor(**kwargs: Any) -> Any:
    """Check this machine for the course; returns a report (see :mod:`labkit.health`)."""
    from labkit.health import run

    return run(**kwargs)
