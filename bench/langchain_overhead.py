"""What does the LangChain layer cost? A chain vs the bare engine call, on each engine.

For each engine the same question is answered greedily with the same answer length in two ways,
interleaved, ``--repeats`` times:

* **bare**: the engine's own API — the ``ollama`` client's ``chat``, llama-cpp-python's
  ``create_chat_completion``, a transformers ``pipeline`` on the chat-templated prompt;
* **chain**: ``ChatPromptTemplate | <LangChain chat model> | StrOutputParser()`` on that same
  engine object (``engines.chat_model``), as lesson 06 builds it.

Prints the median seconds per call, the answer tokens, and chain/bare as a speed ratio (1.00 =
free; below 1 the chain is slower). The server runs in its own process, as users run it.

    python bench/langchain_overhead.py [--tokens 48] [--repeats 5] [--engines ollama llama.cpp transformers]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODEL = "smollm2:135m"
SYSTEM = "You answer in two or three sentences."
QUESTION = "Why do people run language models on their own computers?"


def timed(call: Callable[[], str]) -> tuple[float, str]:
    start = time.perf_counter()
    text = call()
    return time.perf_counter() - start, text


def pairs(engine: str, tokens: int) -> tuple[Callable[[], str], Callable[[], str]]:
    """(bare call, chain call) for ``engine``, sharing one loaded model."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from labkit import engines

    llm = engines.chat_model(engine, MODEL, max_tokens=tokens, context=2048)
    chain = ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", "{question}")]) | llm | StrOutputParser()
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    if engine == "ollama":
        import ollama

        client = ollama.Client(host=llm.base_url)

        def bare() -> str:
            return client.chat(model=MODEL, messages=messages, keep_alive="30m",
                               options={"temperature": 0, "seed": 0, "num_predict": tokens, "num_ctx": 2048}).message.content
    elif engine == "llama.cpp":
        def bare() -> str:
            out = llm.client.create_chat_completion(messages=messages, max_tokens=tokens, temperature=0.0,
                                                    repeat_penalty=1.0, seed=0)
            return out["choices"][0]["message"]["content"]
    else:
        pipeline = llm.llm.pipeline
        prompt = pipeline.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

        def bare() -> str:
            return pipeline(prompt, max_new_tokens=tokens, do_sample=False, return_full_text=False)[0]["generated_text"]
    return bare, lambda: chain.invoke({"question": QUESTION})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engines", nargs="+", default=["ollama", "llama.cpp", "transformers"])
    args = parser.parse_args()

    import os

    from labkit.engines.tokens import count
    from labkit.ollama.server import start_process
    from labkit.system.hardware import cpu_model

    server = start_process() if "ollama" in args.engines else None
    if server is not None:
        os.environ["OLLAMA_HOST"] = server.url
    try:
        print(f"{cpu_model()}, {os.cpu_count()} cores; {MODEL}, greedy, up to {args.tokens} answer tokens, "
              f"{args.repeats} runs each (medians); labkit serve in its own process\n")
        print(f"{'engine':<13} {'bare s':>8} {'chain s':>8} {'tokens':>7} {'chain/bare speed':>17}  same text")
        for engine in args.engines:
            bare, chain = pairs(engine, args.tokens)
            bare(), chain()  # warm up: load, caches
            times: dict[str, list[float]] = {"bare": [], "chain": []}
            texts = {}
            for _ in range(args.repeats):
                for name, call in (("bare", bare), ("chain", chain)):
                    seconds, texts[name] = timed(call)
                    times[name].append(seconds)
            b, c = statistics.median(times["bare"]), statistics.median(times["chain"])
            tokens = count(MODEL, texts["chain"])
            print(f"{engine:<13} {b:>8.3f} {c:>8.3f} {tokens:>7} {b / c:>17.3f}  "
                  f"{'yes' if texts['bare'].strip() == texts['chain'].strip() else 'no'}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
