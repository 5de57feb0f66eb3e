"""What the quantization levels mean for the models people actually run: 7B, 13B, 70B.

The course models are tiny; this projects the same ladder onto common open models with
the memory estimator. Introduced in notebooks/03_llamacpp.
"""

from __future__ import annotations

from typing import Any

from labkit.measure import memory
from labkit.quant.ladder import LEVELS


def projection(levels: tuple[str, ...] = LEVELS,
               models: tuple[str, ...] = ("llama-2-7b", "llama-2-13b", "llama-3.3-70b"), n_ctx: int = 4096,
               memory_sizes_gb: tuple[float, ...] = (8, 16, 24, 80)) -> list[dict[str, Any]]:
    """What 7B, 13B and 70B models need at each quantization level, and which memory sizes they fit.

    Uses ``labkit.measure.memory`` (weights at the level's file bits per weight + f16 KV cache at
    ``n_ctx`` + reserved compute buffer), and ``memory.fits`` (a GPU's reserved total, with its
    headroom for everything else) to say which memory sizes they fit. Introduced in notebooks/03_llamacpp.
    """
    out = []
    for model in models:
        for level in levels:
            estimate = memory.estimate(model, n_ctx, bits_per_weight=memory.FILE_BITS_PER_WEIGHT[level])
            out.append({"model": model, "level": level, "need_gb": estimate.total_reserved / 1e9,
                        "fits": {size: memory.fits(estimate, size, gpu=True) for size in memory_sizes_gb}})
    return out


def plot_projection(rows: list[dict[str, Any]], memory_sizes_gb: tuple[float, ...] = (8, 16, 24, 80)):
    """Bars of memory needed per level and model, with the 8/16/24/80 GB lines to fit under.

    Each line sits at the size less ``memory.FIT_HEADROOM``, the share ``memory.fits`` keeps free.
    """
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    levels = list(dict.fromkeys(r["level"] for r in rows))
    fig, ax = plt.subplots(figsize=(9, 3.6), constrained_layout=True)
    width = 0.8 / len(models)
    for i, model in enumerate(models):
        needs = [next(r["need_gb"] for r in rows if r["model"] == model and r["level"] == lv) for lv in levels]
        ax.bar([x + i * width for x in range(len(levels))], needs, width, label=model)
    for size in memory_sizes_gb:
        ax.axhline(size * (1 - memory.FIT_HEADROOM), color="grey", linestyle="--", linewidth=0.8)
        ax.text(len(levels) - 0.4, size * (1 - memory.FIT_HEADROOM), f"fits in {size} GB", va="bottom", ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(levels))], levels)
    ax.set_ylabel("memory needed (GB, log scale)")
    ax.legend(fontsize=8)
    return fig
