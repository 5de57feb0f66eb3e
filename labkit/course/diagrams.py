"""Small drawings for the lessons, made with matplotlib (no image files to ship).

Introduced in notebooks/01_running_local_llms.
"""

from __future__ import annotations


def _box(ax, x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor=colour,
                                edgecolor="#333333"))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)


def _arrow(ax, x0: float, y0: float, x1: float, y1: float, label: str = "") -> None:
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "<->", "color": "#333333"})
    if label:
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.05, label, ha="center", fontsize=8)


def architectures():
    """The two ways to run a local model: an inference server, or an engine inside your process."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.2))
    for ax, title in ((left, "inference server (Ollama)"), (right, "embedded engine (llama.cpp, transformers)")):
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title(title, fontsize=11)
    # Server: two processes talking HTTP.
    _box(left, 0.02, 0.35, 0.36, 0.45, "your Python process\nChatOllama\n(HTTP client)", "#dde8f6")
    _box(left, 0.60, 0.35, 0.38, 0.45, "server process\nmodels in RAM/VRAM\nqueue, keep_alive", "#fbe3cf")
    _arrow(left, 0.39, 0.575, 0.59, 0.575, "HTTP :11434")
    left.text(0.5, 0.12, "+ shared by many apps, survives your crashes\n- one more process, HTTP overhead",
              ha="center", fontsize=8)
    # Embedded: one process.
    _box(right, 0.10, 0.30, 0.80, 0.55, "", "#dde8f6")
    right.text(0.5, 0.78, "your Python process", ha="center", fontsize=9)
    _box(right, 0.16, 0.36, 0.30, 0.32, "LangChain\nLlamaCpp /\nHuggingFacePipeline", "#ffffff")
    _box(right, 0.56, 0.36, 0.28, 0.32, "model weights\n+ KV cache", "#fbe3cf")
    _arrow(right, 0.465, 0.52, 0.555, 0.52, "calls")
    right.text(0.5, 0.12, "+ no server, raw logits, full control\n- blocks your process; a crash takes it down",
               ha="center", fontsize=8)
    fig.tight_layout()
    return fig
