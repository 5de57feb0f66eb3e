"""What a model's GGUF file says about itself, as ``/api/show`` reports it: metadata,
template, capabilities.

The file is read by :mod:`labkit.models.gguf` (llama.cpp's vocabulary-only load for the
scalar keys, gguf-py for the token tables of a verbose ``/api/show``), cached per file,
so ``/api/show`` and the capability checks of every request stay cheap.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labkit.models import gguf
from labkit.ollama import templates
from labkit.ollama.store import Model

# Keys Ollama leaves out of model_info (they have their own fields in /api/show).
_HIDDEN = {"general.name", "tokenizer.chat_template"}


def _typed(value: str) -> Any:
    """llama.cpp gives metadata as text: turn numbers and booleans back into values."""
    if value in ("true", "false"):
        return value == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def gguf_metadata(path: Path, full: bool = False) -> dict[str, Any]:
    """Key/value metadata of a GGUF file, cached while the file is unchanged.

    Without ``full`` only scalar values (fast); with it also the token tables.
    """
    if full:
        return gguf.all_fields(path)
    return {key: _typed(value) for key, value in gguf.metadata(path).items() if not key.startswith("labkit.")}


def model_info(model: Model, verbose: bool = False) -> dict[str, Any]:
    """``model_info`` of /api/show: GGUF metadata; big token lists emptied unless verbose."""
    info: dict[str, Any] = {}
    meta = gguf_metadata(model.gguf_path(), full=verbose)
    for key, value in meta.items():
        if key not in _HIDDEN:
            info[key] = value
    if not verbose:  # the token tables are listed, but empty, as in Ollama
        for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                    "tokenizer.ggml.scores"):
            info.setdefault(key, None)
    info["general.parameter_count"] = model.parameter_count
    return dict(sorted(info.items()))


def chat_template(model: Model) -> str | None:
    """The Jinja2 chat template: the model's own (``/api/create``) or the GGUF's."""
    if model.template:
        return model.template
    return gguf_metadata(model.gguf_path()).get("tokenizer.chat_template")


def capabilities(model: Model) -> list[str]:
    """Ollama's capability names for this model."""
    meta = gguf_metadata(model.gguf_path())
    arch = meta.get("general.architecture", "")
    if f"{arch}.pooling_type" in meta:
        caps = ["embedding"]
    else:
        caps = ["completion"]
        template = chat_template(model)
        if templates.can_call_tools(template):
            caps.append("tools")
        if has_fim(meta):
            caps.append("insert")
        if template and "<think>" in template:
            caps.append("thinking")
    if f"{arch}.vision.block_count" in meta:
        caps.append("vision")
    return caps


def has_fim(meta: dict[str, Any]) -> bool:
    """Fill-in-the-middle tokens present (needed for ``suffix``)."""
    return all(f"tokenizer.ggml.fim_{p}_token_id" in meta for p in ("pre", "suf", "mid"))
