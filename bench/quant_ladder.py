"""Print the quantization ladder of a course model: size, bpw, speed, perplexity, KL, top-1.

    python bench/quant_ladder.py                 # smollm2:135m, 1024 held-out tokens
    python bench/quant_ladder.py --gemma         # gemma3:270m as well
    python bench/quant_ladder.py --plots out/    # also save the two plots as PNG
    python bench/quant_ladder.py --threads 1     # on a 2-core machine busy with other work

Every figure is measured on this machine; each level runs in its own process. llama.cpp's
threads spin while they wait for each other, so when other programs keep the cores busy,
2 threads can be several times slower than 1: compare speeds only between runs made alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labkit.quant import ladder, report  # noqa: E402


def run(name: str, n_tokens: int, n_threads: int, plots: Path | None) -> None:
    start = time.perf_counter()
    rows = ladder.ladder(name, n_tokens=n_tokens, n_threads=n_threads)
    seconds = time.perf_counter() - start
    threads = f"{n_threads} thread" + ("s" if n_threads != 1 else "")
    print(f"\n== {name}: quantization ladder ({threads}, {seconds:.0f} s in all) ==")
    print(report.format_table(rows))
    print("\n== against llama.cpp's published ladder for LLaMA-1 7B (quantized from true F16) ==")
    print(report.format_comparison(rows))
    print(f"\n== {name}: tensor types read back from each file (row = weights per row) ==")
    print(report.format_types({r.level: r.path for r in rows}))
    if plots is not None:
        plots.mkdir(parents=True, exist_ok=True)
        stem = name.replace(":", "-")
        report.plot_size_vs_perplexity(rows, title=f"{name}: size vs quality").savefig(plots / f"{stem}_size_ppl.png")
        report.plot_speed_vs_size(rows, title=f"{name}: speed vs size").savefig(plots / f"{stem}_speed_size.png")
        print(f"plots saved in {plots}/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2:135m", help="course model name (default smollm2:135m)")
    parser.add_argument("--gemma", action="store_true", help="also run gemma3:270m")
    parser.add_argument("--tokens", type=int, default=1024, help="held-out tokens to score (default 1024)")
    parser.add_argument("--gemma-tokens", type=int, default=512,
                        help="tokens for gemma3:270m, whose 262k vocabulary makes logits 5x larger (default 512)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--plots", type=Path, default=None, help="folder to save PNG plots in")
    args = parser.parse_args()
    run(args.model, args.tokens, args.threads, args.plots)
    if args.gemma:
        run("gemma3:270m", args.gemma_tokens, args.threads, args.plots)


if __name__ == "__main__":
    main()
