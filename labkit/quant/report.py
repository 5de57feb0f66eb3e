"""The quantization ladder, read: tables, tensor types per level, plots, and published figures.

Introduced in notebooks/03_llamacpp.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.quant.ladder import LadderRow

if TYPE_CHECKING:  # pragma: no cover - only for type hints
    from matplotlib.figure import Figure


def format_table(rows: list[LadderRow]) -> str:
    """The ladder as a plain-text table; perplexity change is relative to the first (F16) row.

    Introduced in notebooks/03_llamacpp.
    """
    base = rows[0].perplexity if rows else float("nan")
    head = (f"{'level':<7} {'size MB':>8} {'bpw':>6} {'load s':>7} {'tok/s':>7} {'RSS MiB':>7} "
            f"{'PPL':>8} {'ΔPPL':>7} {'KL':>8} {'top-1':>6}  tensor types")
    lines = [head, "-" * len(head)]
    for r in rows:
        types = ", ".join(f"{t}×{n}" for t, n in r.tensor_types.items())
        lines.append(
            f"{r.level:<7} {r.size_mb:>8.1f} {r.bits_per_weight:>6.2f} {r.load_s:>7.2f} "
            f"{r.decode_tok_s:>7.1f} {r.peak_rss_mb:>7.0f} {r.perplexity:>8.3f} "
            f"{100 * (r.perplexity / base - 1):>+6.1f}% {r.kl_divergence:>8.4f} {r.top1_agreement:>6.1%}  {types}"
        )
    if rows:
        lines.append(f"({rows[0].n_tokens} tokens of held-out text; KL and top-1 against {rows[0].level})")
    return "\n".join(lines)


# Published figures for a model quantized from true F16 weights: LLaMA-1 7B, wikitext-2,
# ctx 512. Perplexity change in % (k-quants PR ggml-org/llama.cpp#1684 and the legacy table
# of examples/quantize/README.md, same F16 baseline 5.9066) and file bits per weight
# (measured on Llama-2-7B, examples/quantize/README.md).
PUBLISHED_7B = {
    "F16": (16.0, 0.0),
    "Q8_0": (8.5, 0.01),
    "Q6_K": (6.56, 0.07),
    "Q5_K_M": (5.68, 0.24),
    "Q4_K_M": (4.84, 0.91),
    "Q4_0": (4.5, 4.23),
    "Q3_K_M": (3.91, 4.13),
    "Q2_K": (3.35, 14.7),
}


def format_comparison(rows: list[LadderRow]) -> str:
    """Our ladder next to llama.cpp's published one for LLaMA-1 7B (bits per weight, perplexity change).

    A 7B model quantized from true F16 keeps its K-quant types (its rows are multiples of
    256); a small model re-quantized from an already-quantized file does not.
    Introduced in notebooks/03_llamacpp.
    """
    base = rows[0].perplexity
    lines = [f"{'level':<7} {'bpw here':>9} {'bpw 7B':>7} {'ΔPPL here':>10} {'ΔPPL 7B':>8}"]
    for r in rows:
        bpw_7b, dppl_7b = PUBLISHED_7B.get(r.level, (float("nan"), float("nan")))
        lines.append(
            f"{r.level:<7} {r.bits_per_weight:>9.2f} {bpw_7b:>7.2f} "
            f"{100 * (r.perplexity / base - 1):>+9.1f}% {dppl_7b:>+7.2f}%"
        )
    return "\n".join(lines)


def types_by_role(path: str | os.PathLike[str]) -> dict[str, str]:
    """Which type each kind of tensor got, e.g. {"blk.*.ffn_down.weight": "Q4_K×16, Q6_K×14"}.

    This is where fallbacks show: a K-quant needs rows that are a multiple of 256 weights,
    and SmolLM2's rows of 576 are not, so llama.cpp picks another type for those tensors.
    Introduced in notebooks/03_llamacpp.
    """
    from labkit.quant.anatomy import inspect

    roles: dict[str, Counter[str]] = {}
    for t in inspect(path).tensors:
        role = re.sub(r"^blk\.\d+\.", "blk.*.", t.name)
        roles.setdefault(role, Counter())[t.ggml_type] += 1
    return {
        role: ", ".join(f"{k}×{v}" if len(c) > 1 else k for k, v in sorted(c.items()))
        for role, c in roles.items()
    }


def format_types(paths: dict[str, Path]) -> str:
    """A role-by-level table of tensor types, e.g. for every file of `quantize_ladder`.

    Introduced in notebooks/03_llamacpp.
    """
    from labkit.quant.anatomy import inspect

    columns = {level: types_by_role(p) for level, p in paths.items()}
    first = next(iter(paths.values()))
    row_len = {re.sub(r"^blk\.\d+\.", "blk.*.", t.name): t.shape[0] for t in inspect(first).tensors}
    roles = list(next(iter(columns.values())))
    width = max(len(r) for r in roles)
    lines = [f"{'tensor':<{width}} {'row':>6} " + " ".join(f"{lv:<14}" for lv in columns)]
    for role in roles:
        lines.append(
            f"{role:<{width}} {row_len.get(role, 0):>6} "
            + " ".join(f"{columns[lv].get(role, '-'):<14}" for lv in columns)
        )
    return "\n".join(lines)


def plot_size_vs_perplexity(rows: list[LadderRow], title: str | None = None) -> "Figure":
    """File size (x) against perplexity increase over F16 (y), each point labelled with its level.

    Introduced in notebooks/03_llamacpp.
    """
    from matplotlib.figure import Figure

    base = rows[0].perplexity
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    xs = [r.size_mb for r in rows]
    ys = [100 * (r.perplexity / base - 1) for r in rows]
    ax.plot(xs, ys, "o", color="tab:blue")
    for i, (r, x, y) in enumerate(zip(rows, xs, ys)):  # alternate above/below: neighbours overlap
        ax.annotate(r.level, (x, y), textcoords="offset points", xytext=(5, 5 if i % 2 else -13))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("file size (MB)")
    ax.set_ylabel(f"perplexity increase over {rows[0].level} (%)")
    ax.set_title(title or f"Size vs quality ({rows[0].n_tokens} held-out tokens)")
    return fig


def plot_speed_vs_size(rows: list[LadderRow], title: str | None = None) -> "Figure":
    """Decode tokens/s (y) against file size (x): smaller files read fewer bytes per token.

    Introduced in notebooks/03_llamacpp.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    xs = [r.size_mb for r in rows]
    ys = [r.decode_tok_s for r in rows]
    ax.plot(xs, ys, "s", color="tab:green")
    for i, (r, x, y) in enumerate(zip(rows, xs, ys)):  # alternate above/below: neighbours overlap
        ax.annotate(r.level, (x, y), textcoords="offset points", xytext=(5, 5 if i % 2 else -13))
    ax.set_xlabel("file size (MB)")
    ax.set_ylabel("decode speed (tokens/s)")
    ax.set_ylim(bottom=0)
    ax.set_title(title or "Speed vs size")
    return fig


def quant_compute(rows: list[Any], level: str = "Q4_K_M") -> dict[str, Any]:
    """One rung of a measured quantization ladder, compared with the F16 rung.

    ``rows`` are the ``LadderRow`` objects of ``labkit.quant.ladder.ladder`` (measured on this machine);
    nothing here is assumed. Returns the chosen row's figures and its changes against F16.

    Used by the QuantExplorer widget; introduced in notebooks/03_llamacpp.
    """
    by_level = {row.level: row for row in rows}
    if level not in by_level:
        raise KeyError(f"level {level!r} was not measured; measured: {', '.join(by_level)}")
    chosen, base = by_level[level], by_level.get("F16", rows[0])
    return {
        "level": level, "size_mb": chosen.size_bytes / 1e6, "bits_per_weight": chosen.bits_per_weight,
        "perplexity": chosen.perplexity, "kl_divergence": chosen.kl_divergence,
        "top1_agreement": chosen.top1_agreement, "decode_tok_s": chosen.decode_tok_s,
        "size_saving": 1 - chosen.size_bytes / base.size_bytes,
        "perplexity_change": chosen.perplexity / base.perplexity - 1,
        "speedup": chosen.decode_tok_s / base.decode_tok_s,
        "tensor_types": dict(chosen.tensor_types),
    }
