"""labkit: the lab kit behind the course "Local models" (LC1.2.5).

The kit is built in layers; each imports only from the layers below it:

    course/     the course's scaffolding: labkit doctor, self-checks, diagrams, widgets,
                student and instructor editions, the offline install bundle
    ollama/     the Ollama-compatible server (HTTP API, scheduler, batched runners)
    rag/        the capstone: private notes, a vector store on disk, a cited answer, a connection log
    measure/    speed and memory of a generation, measured the same way on every engine
    quant/      quantization: GGUF anatomy, block quantization in numpy, the ladder
    tradeoffs/  local vs cloud: cost, latency, scaling, privacy, capability, decision
    engines/    running a model: llama.cpp loading, LangChain builders, tokens and logits
    models/     the model store: every GGUF file, found by name and verified
    system/     this machine: hardware, child processes, memory readings, shared files, logs

Heavy libraries (torch, transformers, llama_cpp) are imported inside the functions
that need them, so ``import labkit`` stays fast and a learner missing one engine can
still use the others. Each part loads on first use: ``labkit.models.path(...)`` just works.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

DATA_DIR = Path(__file__).resolve().parent / "data"
"""The course's data files (prices, hardware, evaluation tasks, held-out text); see data/README.md."""

_PARTS = {"course", "engines", "measure", "models", "ollama", "quant", "rag", "system", "tradeoffs"}


def lazy_submodules(package: str, names: set[str]) -> Any:
    """A module ``__getattr__`` that imports ``package.NAME`` on first use of ``package.NAME``.

    Each part of the kit uses it, so ``labkit.course.check.answer(...)`` works after a plain
    ``import labkit`` while nothing heavy is imported before it is needed.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


__getattr__ = lazy_submodules(__name__, _PARTS)


def doctor(**kwargs: Any) -> Any:
    """Check this machine for the course; returns a report (see :mod:`labkit.course.doctor`)."""
    from labkit.course.doctor import run

    return run(**kwargs)
