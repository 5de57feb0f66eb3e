"""The shape of a transformer: the handful of numbers that decide how much memory it needs.

Layers, attention heads, head size, vocabulary, context, sliding windows: read from any
local GGUF file, or taken from ``data/common_models.csv`` for models you do not have
(7B to 72B, from their published configs). Introduced in notebooks/01_running_local_llms.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from labkit import DATA_DIR

SWA_PATTERN_DEFAULTS = {"gemma2": 2, "gemma3": 6}
"""Every n-th layer attends to the whole context, the others to a sliding window (llama.cpp defaults)."""

REPACKED_TYPES = {"Q4_0", "Q4_K", "IQ4_NL"}
"""Block types whose matrices llama.cpp's CPU backend copies into an interleaved layout (x86 AVX2, ARM)."""


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a transformer that decide its memory use.

    ``swa_layers`` of the ``layers`` attend only to the last ``sliding_window`` tokens (Gemma 2/3);
    with a sliding-window cache their KV cache holds only that window. ``weight_bytes`` is the size
    of the tensors when read from a GGUF file, else ``None`` (then parameters × bits per weight).
    ``repack_bytes`` is the part of them llama.cpp's CPU backend copies into a SIMD-friendly layout
    (known only from a GGUF file).

    Introduced in notebooks/01_running_local_llms.
    """

    name: str
    architecture: str
    parameters: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    d_model: int
    vocab: int
    context: int
    sliding_window: int = 0
    swa_layers: int = 0
    weight_bytes: int | None = None
    quantization: str | None = None
    value_dim: int | None = None
    repack_bytes: int = 0

    @property
    def kv_bytes_per_token(self) -> float:
        """f16 KV cache bytes one token adds across all layers (2 = K and V)."""
        return self.layers * self.kv_heads * (self.head_dim + (self.value_dim or self.head_dim)) * 2.0


def shape_from_gguf(path: str | os.PathLike[str]) -> ModelShape:
    """Read a model's shape from the metadata of any local GGUF file (:func:`labkit.models.gguf.header`).

    Introduced in notebooks/01_running_local_llms.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: give the path of a .gguf file, or use shape_from_table(name).")
    return _read_shape(path)


def _read_shape(path: Path) -> ModelShape:
    import numpy as np
    from gguf import LlamaFileType

    from labkit.models import gguf

    head = gguf.header(path)
    arch = head.get("general.architecture")
    if arch is None:
        raise ValueError(f"{path} has no general.architecture key; it is not a model GGUF.")

    def key(name: str, default: Any = None) -> Any:
        return head.get(f"{arch}.{name}", default)

    layers = int(key("block_count"))
    heads = key("attention.head_count")
    kv_heads = key("attention.head_count_kv", heads)
    heads = int(max(heads) if isinstance(heads, list) else heads)
    kv_heads = int(max(kv_heads) if isinstance(kv_heads, list) else kv_heads)
    d_model = int(key("embedding_length"))
    head_dim = int(key("attention.key_length", d_model // heads))
    value_dim = int(key("attention.value_length", head_dim))
    vocab = key("vocab_size")
    if vocab is None:
        vocab = head.array_lengths.get("tokenizer.ggml.tokens") or len(head.get("tokenizer.ggml.tokens") or [])
    window = int(key("attention.sliding_window", 0) or 0)
    swa_layers = 0
    if window:
        pattern = key("attention.sliding_window_pattern", SWA_PATTERN_DEFAULTS.get(arch, 0))
        if isinstance(pattern, list):
            swa_layers = sum(bool(p) for p in pattern[:layers])
        elif pattern:
            swa_layers = sum(1 for il in range(layers) if il % int(pattern) < int(pattern) - 1)
        else:
            swa_layers = layers
    repack = sum(t.n_bytes for t in head.tensors
                 if t.name.startswith("blk.") and len(t.shape) == 2 and t.ggml_type in REPACKED_TYPES)
    file_type = head.get("general.file_type")
    quantization = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else None
    return ModelShape(
        name=str(head.get("general.name", path.stem)),
        architecture=str(arch),
        parameters=int(sum(int(np.prod(t.shape)) for t in head.tensors)),
        layers=layers, heads=heads, kv_heads=kv_heads, head_dim=head_dim, d_model=d_model,
        vocab=int(vocab), context=int(key("context_length", 0) or 0),
        sliding_window=window, swa_layers=swa_layers,
        weight_bytes=int(sum(t.n_bytes for t in head.tensors)),
        quantization=quantization, value_dim=value_dim if value_dim != head_dim else None,
        repack_bytes=repack,
    )


def load_common_models(path: str | os.PathLike[str] | None = None) -> list[ModelShape]:
    """Read ``data/common_models.csv``: published shapes of open models from 135M to 72B.

    Introduced in notebooks/01_running_local_llms.
    """
    path = Path(path) if path else DATA_DIR / "common_models.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    shapes = []
    for row in rows:
        layers = int(row["layers"])
        every = int(row.get("full_attention_every") or 0)
        window = int(row.get("sliding_window") or 0)
        swa = layers - layers // every if (window and every) else (layers if window else 0)
        shapes.append(ModelShape(
            name=row["name"], architecture="", parameters=int(row["parameters"]), layers=layers,
            heads=int(row["heads"]), kv_heads=int(row["kv_heads"]), head_dim=int(row["head_dim"]),
            d_model=int(row["d_model"]), vocab=int(row["vocab"]), context=int(row["context"]),
            sliding_window=window, swa_layers=swa,
        ))
    return shapes


def shape_from_table(name: str, path: str | os.PathLike[str] | None = None) -> ModelShape:
    """The shape of a common open model by its name in ``data/common_models.csv`` (e.g. "llama-3.1-8b").

    Introduced in notebooks/01_running_local_llms.
    """
    shapes = load_common_models(path)
    for shape in shapes:
        if shape.name == name.lower():
            return shape
    raise KeyError(f"{name!r} is not in the common-models table; known: {', '.join(s.name for s in shapes)}")


def shape(model: str | os.PathLike[str] | ModelShape) -> ModelShape:
    """A ``ModelShape`` from a course model name, a table name or a GGUF path (whichever ``model`` is).

    Introduced in notebooks/01_running_local_llms.
    """
    if isinstance(model, ModelShape):
        return model
    text = str(model)
    if text.endswith(".gguf") or os.sep in text:
        return shape_from_gguf(text)
    from labkit import models

    try:
        return replace(shape_from_gguf(models.path(text)), name=models.resolve(text))
    except models.UnknownModelError:
        pass
    try:
        return shape_from_table(text)
    except KeyError:
        raise KeyError(f"{text!r} is neither a course model ({', '.join(models.names())}), a .gguf path, "
                       f"nor a row of data/common_models.csv") from None
