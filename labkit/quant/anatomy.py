"""GGUF anatomy: what is in a model file, tensor by tensor.

``inspect(path)`` reports a file's metadata summary and every tensor's name, shape,
type, size and bits per weight (read by gguf-py through :mod:`labkit.models.gguf`,
never loading the weights). Introduced in notebooks/03_llamacpp.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.models.gguf import Tensor

TensorRow = Tensor  # one row of the anatomy table: name, shape, type, weights, bytes, bits per weight


@dataclass(frozen=True)
class GGUFReport:
    """What `inspect` found in a GGUF file: a metadata summary and one row per tensor."""

    path: Path
    file_size: int
    header_bytes: int  # metadata before the weights: tokenizer vocabulary, merges, chat template
    metadata: dict[str, Any]
    tensors: list[TensorRow] = field(repr=False)

    @property
    def n_weights(self) -> int:
        return sum(t.n_weights for t in self.tensors)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.n_bytes for t in self.tensors)

    @property
    def bits_per_weight(self) -> float:
        """Average bits per weight over all tensors, as llama.cpp prints it ("... BPW")."""
        return 8 * self.tensor_bytes / self.n_weights

    def by_type(self) -> dict[str, dict[str, float]]:
        """Per ggml type: how many tensors, weights and bytes, and the share of the file."""
        out: dict[str, dict[str, float]] = {}
        for t in self.tensors:
            row = out.setdefault(t.ggml_type, {"tensors": 0, "weights": 0, "bytes": 0})
            row["tensors"] += 1
            row["weights"] += t.n_weights
            row["bytes"] += t.n_bytes
        total = self.tensor_bytes or 1
        for row in out.values():
            row["bits_per_weight"] = 8 * row["bytes"] / row["weights"]
            row["share_of_bytes"] = row["bytes"] / total
        return dict(sorted(out.items(), key=lambda kv: -kv[1]["bytes"]))

    def type_counts(self) -> dict[str, int]:
        """{"Q4_K": 120, "F32": 61, ...}: how many tensors of each type the file holds."""
        return {k: int(v["tensors"]) for k, v in self.by_type().items()}

    def table(self, limit: int | None = None) -> str:
        """The per-tensor table as plain text (pass `limit` to show only the first rows)."""
        rows = self.tensors if limit is None else self.tensors[:limit]
        lines = [f"{'name':<32} {'shape':<16} {'type':<6} {'bytes':>12} {'bpw':>6}"]
        for t in rows:
            shape = "x".join(str(d) for d in t.shape)
            lines.append(
                f"{t.name:<32} {shape:<16} {t.ggml_type:<6} {t.n_bytes:>12,} {t.bits_per_weight:>6.2f}"
            )
        if limit is not None and len(self.tensors) > limit:
            lines.append(f"... {len(self.tensors) - limit} more tensors")
        lines.append(
            f"{'TOTAL':<32} {len(self.tensors):>4} tensors{'':<4} {'':<6} "
            f"{self.tensor_bytes:>12,} {self.bits_per_weight:>6.2f}"
        )
        return "\n".join(lines)

    def summary(self) -> str:
        """Metadata, totals and the by-type summary, as plain text."""
        lines = [
            f"{self.path.name}  ({self.file_size / 1e6:.1f} MB: {self.header_bytes / 1e6:.1f} MB header, "
            f"{self.tensor_bytes / 1e6:.1f} MB tensors)"
        ]
        for key, value in self.metadata.items():
            lines.append(f"  {key:<18} {value}")
        lines.append(
            f"  {'weights':<18} {self.n_weights:,} in {len(self.tensors)} tensors, "
            f"{self.bits_per_weight:.2f} bits per weight"
        )
        lines.append(f"  {'type':<8} {'tensors':>7} {'weights':>13} {'bytes':>13} {'bpw':>6} {'share':>6}")
        for name, row in self.by_type().items():
            lines.append(
                f"  {name:<8} {row['tensors']:>7} {row['weights']:>13,} {row['bytes']:>13,} "
                f"{row['bits_per_weight']:>6.2f} {row['share_of_bytes']:>6.1%}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def inspect(path: str | os.PathLike[str]) -> GGUFReport:
    """Read a GGUF file's header: metadata summary and per-tensor table (no weights loaded).

    Why: a GGUF file is self-describing. Everything llama.cpp needs (architecture, sizes,
    tokenizer, chat template, each tensor's quantization type) is in its header, and gguf-py
    reads it without touching the weights (:func:`labkit.models.gguf.header`, remembered
    until the file changes). Introduced in notebooks/03_llamacpp.
    """
    from gguf import LlamaFileType

    from labkit.models import gguf

    path = Path(path)
    head = gguf.header(path)
    arch = head.get("general.architecture") or "unknown"
    file_type = head.get("general.file_type")
    try:
        file_type_name = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else None
    except ValueError:
        file_type_name = str(file_type)
    metadata = {
        "name": head.get("general.name"),
        "architecture": arch,
        "context_length": head.get(f"{arch}.context_length"),
        "layers": head.get(f"{arch}.block_count"),
        "embedding": head.get(f"{arch}.embedding_length"),
        "heads": head.get(f"{arch}.attention.head_count"),
        "kv_heads": head.get(f"{arch}.attention.head_count_kv"),
        "vocabulary": head.array_lengths.get("tokenizer.ggml.tokens") or head.get(f"{arch}.vocab_size"),
        "chat_template": head.get("tokenizer.chat_template") is not None,
        "file_type": file_type_name,
    }
    tensors = list(head.tensors)
    return GGUFReport(path=path.resolve(), file_size=head.file_size, header_bytes=head.header_bytes,
                      metadata=metadata, tensors=tensors)
