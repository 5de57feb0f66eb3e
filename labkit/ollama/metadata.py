"""What a model's GGUF file says about itself: metadata, template, capabilities.

Read with gguf-py (never a parser of our own) and cached per file, so
``/api/show`` and the capability checks of every request stay cheap.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from labkit.ollama import templates
from labkit.ollama.store import Model

# Keys Ollama leaves out of model_info (they have their own fields in /api/show).
_HIDDEN = {"general.name", "tokenizer.chat_template"}


@lru_cache(maxsize=32)
def _read(path: str, mtime_ns: int) -> dict[str, Any]:
    """Scalar metadata through llama.cpp's vocabulary-only load (a tenth of a second)."""
    from labkit.llamacpp import load

    llm = load(path, vocab_only=True)
    try:
        return {key: _typed(value) for key, value in llm.metadata.items()}
    finally:
        llm.close()


@lru_cache(maxsize=4)
def _read_all(path: str, mtime_ns: int) -> dict[str, Any]:
    """Every key, arrays included, through gguf-py (seconds for a 49k-token vocabulary)."""
    from gguf import GGUFReader

    reader = GGUFReader(Path(path))
    out: dict[str, Any] = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        try:
            value = field.contents()
        except Exception:  # an exotic type gguf-py cannot turn into Python: skip it
            continue
        out[key] = value.tolist() if hasattr(value, "tolist") else value
    return out


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
    stamp = path.stat().st_mtime_ns
    return _read_all(str(path), stamp) if full else _read(str(path), stamp)


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
