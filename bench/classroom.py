"""How many learners can one classroom server take? Simulated learners on loopback.

Three ways of serving the same requests, measured in one run on this machine:

* **batched**: ``labkit serve`` in its own process with ``OLLAMA_NUM_PARALLEL=16``: the requests of
  the model are decoded together, one llama.cpp batch per token (continuous batching);
* **time-sliced**: the same server with ``OLLAMA_NUM_PARALLEL=1``: one request decodes at a
  time and they take turns every 16 tokens (how the server worked before it batched);
* **raw ceiling**: llama.cpp alone decoding N sequences together, no HTTP, no scheduling
  (:mod:`labkit.measure.batching`): the most batching can give on this machine.

At each level N (1, 2, 4, 8, 16) N learners ask at once, each ``--rounds`` questions in turn
(``--tokens``-token answers, greedy, each learner its own ``X-Labkit-Client``), and the table
gives aggregate decode tokens/s (answer tokens / wall time), its ratio to one learner, and the
time to first token (TTFT) p50 / p95. Then a short question is asked five times alone and five
times while 8 long answers stream, and its TTFT p95 is compared.

    python bench/classroom.py [--levels 1 2 4 8 16] [--rounds 2] [--tokens 64] [--threads N] [--plot FILE]

Targets on 2 cores: batched at 8 streams >= 1.6x one stream and within 15 % of the raw ceiling;
the short question's TTFT p95 under 8 long streams <= 2x its TTFT alone. The figures feed the
capacity guidance in docs/instructor.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL = "smollm2:135m"
QUESTIONS = [
    "Explain in a few sentences what a context window is.",
    "Why does a quantized model use less memory?",
    "Give three reasons to run a language model locally.",
    "What does keep_alive do in Ollama?",
]
NUM_CTX = 1024


@dataclass
class Request:
    """One learner's request, timed."""

    ttft_s: float
    total_s: float
    tokens: int


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


async def ask(client, url: str, name: str, question: str, tokens: int) -> Request:
    """One streamed chat request, timed from sending to the first and the last piece."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": question}], "stream": True,
            "options": {"temperature": 0, "num_predict": tokens, "num_ctx": NUM_CTX}}
    start = time.perf_counter()
    first, count = None, 0
    async with client.stream("POST", f"{url}/api/chat", json=body, headers={"X-Labkit-Client": name},
                             timeout=600) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line:
                continue
            chunk = json.loads(line)
            if chunk.get("message", {}).get("content") and first is None:
                first = time.perf_counter()
            if chunk.get("done"):
                count = chunk.get("eval_count", 0)
    end = time.perf_counter()
    return Request((first or end) - start, end - start, count)


async def level(url: str, learners: int, rounds: int, tokens: int) -> tuple[float, list[Request]]:
    """All ``learners`` at once, each asking ``rounds`` questions in turn: (wall seconds, every request)."""
    import httpx

    async def learner(client, index: int) -> list[Request]:
        return [await ask(client, url, f"learner-{index}", QUESTIONS[(index + turn) % len(QUESTIONS)], tokens)
                for turn in range(rounds)]

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(learner(client, i) for i in range(learners)))
        return time.perf_counter() - start, [r for batch in results for r in batch]


async def short_under_load(url: str, long_streams: int, repeats: int = 5) -> tuple[list[float], list[float]]:
    """TTFT of a short question alone, then while ``long_streams`` long answers stream."""
    import httpx

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        alone = [(await ask(client, url, "asker", "What is 2 + 2?", 8)).ttft_s for _ in range(repeats)]
        stop = asyncio.Event()

        async def long_learner(index: int) -> None:
            while not stop.is_set():
                await ask(client, url, f"long-{index}", "Write a long essay about the history of computing.", 256)

        background = [asyncio.create_task(long_learner(i)) for i in range(long_streams)]
        await asyncio.sleep(2.0)  # the long answers are all decoding now
        loaded = []
        for _ in range(repeats):
            loaded.append((await ask(client, url, "asker", "What is 2 + 2?", 8)).ttft_s)
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*background)
        return alone, loaded


def serve_and_measure(parallel: int, levels: list[int], rounds: int, tokens: int,
                      long_streams: int) -> tuple[dict[int, tuple[float, list[Request]]], tuple[list[float], list[float]]]:
    from labkit.ollama.server import start_process

    os.environ["OLLAMA_NUM_PARALLEL"] = str(parallel)
    server = start_process()
    try:
        asyncio.run(level(server.url, 1, 1, 8))  # load the model once, outside the measurement
        results = {n: asyncio.run(level(server.url, n, rounds, tokens)) for n in levels}
        short = asyncio.run(short_under_load(server.url, long_streams))
        return results, short
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--rounds", type=int, default=2, help="questions each learner asks in turn")
    parser.add_argument("--tokens", type=int, default=64, help="num_predict of each answer")
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (default: physical cores)")
    parser.add_argument("--plot", type=Path, default=None, help="save the curves as a PNG here")
    args = parser.parse_args()

    from labkit.measure.batching import measure_curve
    from labkit.system.hardware import cpu_model, default_threads

    threads = args.threads or default_threads()
    os.environ["LABKIT_THREADS"] = str(threads)
    long_streams = 8
    raw = {p.streams: p.tokens_per_s for p in measure_curve(MODEL, tuple(args.levels), args.tokens, threads)}
    batched, batched_short = serve_and_measure(max(args.levels), args.levels, args.rounds, args.tokens, long_streams)
    sliced, sliced_short = serve_and_measure(1, args.levels, args.rounds, args.tokens, long_streams)

    print(f"{cpu_model()}, {os.cpu_count()} cores; labkit serve in its own process, {threads} threads; {MODEL}, "
          f"{args.tokens} tokens per answer, {args.rounds} questions per learner\n")
    print(f"{'streams':>7} | {'raw ceiling':>11} | {'batched tok/s':>13} {'vs 1':>6} {'vs raw':>6} {'TTFT p50':>8} "
          f"{'p95':>6} | {'time-sliced':>11} {'vs 1':>6} {'TTFT p50':>8} {'p95':>6}")
    curves: dict[str, dict[int, float]] = {"raw ceiling": raw, "batched": {}, "time-sliced": {}}
    for n in args.levels:
        cells = []
        for name, results in (("batched", batched), ("time-sliced", sliced)):
            wall, requests = results[n]
            curves[name][n] = sum(r.tokens for r in requests) / wall
            ttft = [r.ttft_s for r in requests]
            cells.append((curves[name][n], curves[name][n] / curves[name][args.levels[0]],
                          statistics.median(ttft), percentile(ttft, 0.95)))
        (b, b1, b50, b95), (s, s1, s50, s95) = cells
        print(f"{n:>7} | {raw[n]:>11.1f} | {b:>13.1f} {b1:>5.2f}x {b / raw[n]:>6.2f} {b50:>7.2f}s {b95:>5.2f}s | "
              f"{s:>11.1f} {s1:>5.2f}x {s50:>7.2f}s {s95:>5.2f}s")
    print(f"\nraw ceiling at 8 streams: {raw.get(8, float('nan')) / raw[args.levels[0]]:.2f}x one stream")
    for name, (alone, loaded) in (("batched", batched_short), ("time-sliced", sliced_short)):
        a95, l95 = percentile(alone, 0.95), percentile(loaded, 0.95)
        print(f"{name}: a short question's TTFT p95 {a95 * 1000:.0f} ms alone, {l95 * 1000:.0f} ms under "
              f"{long_streams} long streams ({l95 / a95:.2f}x)")
    if 8 in args.levels:
        ratio, of_raw = curves["batched"][8] / curves["batched"][args.levels[0]], curves["batched"][8] / raw[8]
        print(f"targets: batched 8 streams {ratio:.2f}x one stream (>= 1.6), {of_raw:.2f} of the raw ceiling (>= 0.85)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in curves.items():
            ax.plot(list(curve), list(curve.values()), marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("learners asking at once")
        ax.set_ylabel("answer tokens/s, whole server")
        ax.set_title(f"{MODEL} on {os.cpu_count()} cores")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
