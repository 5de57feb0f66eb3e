"""One model, three engines, measured the same way on this machine.

    python bench/engines.py [--model smollm2:135m] [--max-tokens 64] [--no-ollama] [--engines llama.cpp,...]

Prints load time, time to first token, prefill and decode tokens/s, peak RSS
and the decode speed as a fraction of this machine's bandwidth ceiling
(memory bandwidth / bytes of weights read per token). Each engine runs in a
fresh process. Ollama is measured through the server at OLLAMA_HOST, or the
kit's built-in Ollama-compatible server when none answers.
"""

from __future__ import annotations

import argparse
import platform

import pandas as pd

from labkit.measure import bench
from labkit.system import hardware


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2:135m")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompt", default="Explain in two sentences why the sky is blue.")
    parser.add_argument("--no-ollama", action="store_true", help="skip the Ollama engine")
    parser.add_argument("--engines", default="llama.cpp,transformers,ollama",
                        help="comma-separated subset of llama.cpp, transformers, ollama")
    args = parser.parse_args()

    wanted = args.engines.split(",")
    engines = [e for e in ("llama.cpp", "transformers") if e in wanted]
    settings: dict[str, dict] = {}
    if not args.no_ollama and "ollama" in wanted:
        from labkit.ollama import ensure_server

        settings["ollama"] = {"base_url": ensure_server()}
        engines.append("ollama")

    hw = hardware.probe(with_gpu=False)
    print(f"machine: {hw.cpu_model}, {hw.logical_cores} threads, {hw.ram_total / 2**30:.1f} GiB RAM, "
          f"{platform.system()}")
    table = bench.compare_engines(args.model, args.prompt, args.max_tokens, tuple(engines), plot=False,
                                  settings=settings)
    columns = ["load_s", "ttft_s", "prompt_tokens", "output_tokens", "prefill_tok_s", "decode_tok_s",
               "peak_rss_mb", "rss_increase_mb", "ceiling_tok_s", "of_ceiling"]
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.float_format", "{:.2f}".format):
        print(table[columns])
    fastest = table["decode_tok_s"].idxmax()
    for engine in table.index:
        ratio = table.loc[engine, "decode_tok_s"] / table.loc[fastest, "decode_tok_s"]
        print(f"decode speed of {engine}: {ratio:.2f} x {fastest}")


if __name__ == "__main__":
    main()
