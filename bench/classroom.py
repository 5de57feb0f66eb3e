"""How many learners can one classroom server take? Simulated learners on loopback.

Starts ``labkit serve`` in its own process (as a workshop runs it), then at each level of
concurrency N sends N learners' chat requests at once, each learner asking ``--rounds``
questions one after another, and reports:

* aggregate decode tokens/s (all answers' tokens / wall time) and its ratio to one learner alone;
* time to first token (TTFT) p50 / p95 over every request: how long a learner waits before the
  answer starts;
* time to the whole answer p50 / p95.

    python bench/classroom.py [--levels 1 2 4 8 16] [--rounds 2] [--tokens 64] [--threads N]

Each simulated learner sends its own ``X-Labkit-Client`` name, so the server's fair turns apply
as they would in a room. The figures feed the capacity guidance in docs/instructor.md.
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


async def learner(client, url: str, name: str, rounds: int, tokens: int, offset: int) -> list[Request]:
    """One learner asking ``rounds`` questions in turn, streaming each answer."""
    done = []
    for turn in range(rounds):
        question = QUESTIONS[(offset + turn) % len(QUESTIONS)]
        body = {"model": MODEL, "messages": [{"role": "user", "content": question}], "stream": True,
                "options": {"temperature": 0, "num_predict": tokens, "num_ctx": 1024}}
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
        done.append(Request((first or end) - start, end - start, count))
    return done


async def level(url: str, learners: int, rounds: int, tokens: int) -> tuple[float, list[Request]]:
    """All ``learners`` at once: (wall seconds, every request)."""
    import httpx

    async with httpx.AsyncClient() as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(learner(client, url, f"learner-{i}", rounds, tokens, i)
                                         for i in range(learners)))
        return time.perf_counter() - start, [r for batch in results for r in batch]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--rounds", type=int, default=2, help="questions each learner asks in turn")
    parser.add_argument("--tokens", type=int, default=64, help="num_predict of each answer")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    os.environ["LABKIT_THREADS"] = str(args.threads)
    from labkit.ollama.server import start_process
    from labkit.system.hardware import cpu_model

    server = start_process()
    try:
        asyncio.run(level(server.url, 1, 1, 8))  # load the model once, outside the measurement
        print(f"{cpu_model()}, {os.cpu_count()} cores; labkit serve in its own process, {args.threads} threads; {MODEL}, "
              f"{args.tokens} tokens per answer, {args.rounds} questions per learner\n")
        print(f"{'learners':>8} {'agg tok/s':>10} {'vs 1':>6} {'TTFT p50':>9} {'TTFT p95':>9} "
              f"{'answer p50':>11} {'answer p95':>11}")
        single = None
        for n in args.levels:
            wall, requests = asyncio.run(level(server.url, n, args.rounds, args.tokens))
            aggregate = sum(r.tokens for r in requests) / wall
            single = single or aggregate
            ttft = [r.ttft_s for r in requests]
            total = [r.total_s for r in requests]
            print(f"{n:>8} {aggregate:>10.1f} {aggregate / single:>5.2f}x {statistics.median(ttft):>8.2f}s "
                  f"{percentile(ttft, 0.95):>8.2f}s {statistics.median(total):>10.2f}s {percentile(total, 0.95):>10.2f}s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
