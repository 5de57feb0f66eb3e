"""How much does the Ollama HTTP layer cost? Decode speed and warm time to first token.

Three ways to stream the same answer from the same model, prompt, seed and
settings (greedy decoding, so all three produce the same tokens):

  (a) llama-cpp-python directly: ``Llama.create_chat_completion(stream=True)``
  (b) the official ``ollama`` client streaming from the kit's server
  (c) LangChain's ``ChatOllama.stream`` against the same server

Each is warmed up once (model loaded, prompt cached), then measured several
times, interleaved, and the medians are printed with the ratios to (a).
Targets: (b)/(a) >= 0.95 and (c)/(a) >= 0.90 in decode tokens/s, and (b)'s
time to first token no more than 15 ms above (a)'s.

    python bench/ollama_overhead.py [--tokens 128] [--repeats 5] [--threads N] [--server process|thread] [--json]

``--json`` measures JSON mode instead (a grammar on every path: ``response_format`` json_object
for (a), ``format="json"`` for (b) and (c)). llama-cpp-python masks the whole vocabulary with the
grammar at every token; the kit's server checks the grammar after sampling, as llama.cpp's own
server does (labkit/ollama/sampling.py), so here (b) and (c) may beat (a).

The server runs in its own process by default, as ``labkit serve``, ``ensure_server`` and a
classroom run it. ``--server thread`` puts it in a thread of this process instead: then (a)'s
llama.cpp and the server's share one process and its thread pool, which slows (a) down and makes
the ratios look better than they are (kept only to show that effect). The client and the server
share the same cores, so thread settings matter: ``--threads`` sets llama.cpp's threads for both
(a) and the server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL = "smollm2:135m"
PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
PROMPT_JSON = "List ten animals as JSON, each with a name, a habitat and a one-sentence description."
NUM_CTX = 2048
SEED = 42


def measure(stream: Callable[[], Iterator[str]]) -> tuple[float, float, int]:
    """(seconds to first piece, decode tokens/s after it, pieces) for one streamed answer."""
    started = time.perf_counter()
    first = last = None
    pieces = 0
    for piece in stream():
        if not piece:
            continue
        now = time.perf_counter()
        if first is None:
            first = now
        last = now
        pieces += 1
    assert first is not None and last is not None and pieces > 1, "no tokens streamed"
    return first - started, (pieces - 1) / (last - first), pieces


def start_server(mode: str, threads: int) -> tuple[str, Callable[[], None]]:
    os.environ["LABKIT_THREADS"] = str(threads)
    os.environ["OLLAMA_CONTEXT_LENGTH"] = str(NUM_CTX)
    from labkit.ollama.server import start_background
    from labkit.system.ports import free_port

    if mode == "thread":
        server = start_background()
        return server.url, server.stop
    port = free_port()
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{port}"}
    code = "import logging; from labkit.ollama.server import serve; serve()"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL,
                            cwd=str(Path(__file__).resolve().parents[1]))
    from labkit.system.ports import wait_for_http

    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/", process=proc, timeout=60)
    return url, lambda: (proc.terminate(), proc.wait(10))  # type: ignore[func-returns-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (default: physical cores)")
    parser.add_argument("--json", action="store_true", help="JSON mode on every path")
    parser.add_argument("--server", choices=["process", "thread"], default="process",
                        help="the server in its own process (as users run it; default) or in a thread of this one "
                             "(handicaps the direct baseline: see the docstring)")
    args = parser.parse_args()

    import ollama
    from langchain_ollama import ChatOllama

    from labkit import models
    from labkit.engines.llamacpp import load
    from labkit.system.hardware import default_threads

    threads = args.threads or default_threads()
    prompt = PROMPT_JSON if args.json else PROMPT
    messages = [{"role": "user", "content": prompt}]
    # Flash attention on, as the server runs it: the baseline at its full speed.
    llm = load(models.path(MODEL), n_ctx=NUM_CTX, n_threads=threads, n_threads_batch=threads, flash_attn=True)

    def direct() -> Iterator[str]:
        for chunk in llm.create_chat_completion(messages=messages, stream=True, max_tokens=args.tokens,
                                                temperature=0.0, top_k=40, top_p=0.9, min_p=0.0,
                                                repeat_penalty=1.0, seed=SEED,
                                                response_format={"type": "json_object"} if args.json else None):
            yield chunk["choices"][0]["delta"].get("content") or ""

    url, stop = start_server(args.server, threads)
    options = {"temperature": 0, "seed": SEED, "num_predict": args.tokens, "num_ctx": NUM_CTX}
    client = ollama.Client(host=url)

    def via_client() -> Iterator[str]:
        for part in client.chat(model=MODEL, messages=messages, options=options, stream=True,
                                format="json" if args.json else None):
            yield part.message.content or ""

    chat = ChatOllama(model=MODEL, base_url=url, temperature=0, seed=SEED, num_predict=args.tokens, num_ctx=NUM_CTX,
                      format="json" if args.json else None)

    def via_langchain() -> Iterator[str]:
        for chunk in chat.stream(prompt):
            yield str(chunk.content)

    ways = {"(a) llama-cpp-python": direct, "(b) ollama client": via_client, "(c) ChatOllama.stream": via_langchain}
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in ways}
    try:
        for fn in ways.values():
            measure(fn)  # warm up: load, cache the prompt
        for _ in range(args.repeats):
            for name, fn in ways.items():
                results[name].append(measure(fn))
    finally:
        stop()

    print(f"model {MODEL}, {threads} llama.cpp thread(s), up to {args.tokens} tokens, "
          f"{args.repeats} runs each (medians), server in a {args.server}{', JSON mode' if args.json else ''}")
    base_rate = statistics.median(r[1] for r in results["(a) llama-cpp-python"])
    base_ttft = statistics.median(r[0] for r in results["(a) llama-cpp-python"])
    print(f"{'path':24} {'tokens':>6} {'decode tok/s':>13} {'ratio':>6} {'TTFT ms':>8} {'+ms':>6}")
    for name, rows in results.items():
        rate = statistics.median(r[1] for r in rows)
        ttft = statistics.median(r[0] for r in rows)
        pieces = rows[-1][2]
        print(f"{name:24} {pieces:6d} {rate:13.1f} {rate / base_rate:6.3f} {ttft * 1000:8.1f} "
              f"{(ttft - base_ttft) * 1000:+6.1f}")
    b = statistics.median(r[1] for r in results["(b) ollama client"]) / base_rate
    c = statistics.median(r[1] for r in results["(c) ChatOllama.stream"]) / base_rate
    extra = (statistics.median(r[0] for r in results["(b) ollama client"]) - base_ttft) * 1000
    print(f"targets: (b)/(a) {b:.3f} >= 0.95 {'OK' if b >= 0.95 else 'MISSED'}; "
          f"(c)/(a) {c:.3f} >= 0.90 {'OK' if c >= 0.90 else 'MISSED'}; "
          f"TTFT overhead of (b) {extra:+.1f} ms <= 15 ms {'OK' if extra <= 15 else 'MISSED'}")


if __name__ == "__main__":
    main()
