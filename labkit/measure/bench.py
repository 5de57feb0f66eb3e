"""Measure a generation the same way on every engine.

For one prompt and greedy settings, :func:`measure` records

* **load time** — building the LangChain object (the model file is read);
* **time to first token (TTFT)** — from the call until the first streamed
  chunk: mostly prompt processing ("prefill");
* **prefill tokens/s** — prompt tokens / TTFT;
* **decode tokens/s** — output tokens after the first / time between the
  first and the last chunk, from streaming timestamps (not the engine's
  own report);
* **peak RSS** — the process's peak resident memory;

with every token counted by the model's own tokenizer. Each measurement
runs in a fresh Python process, so one engine's memory never inflates
another's. Introduced in notebooks/01_running_local_llms.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from labkit import models
from labkit.engines import tokens
from labkit.system.rss import peak_rss_mb, rss_mb

ENGINES = ("llama.cpp", "transformers", "ollama")


@dataclass
class Measurement:
    """One generation, measured."""

    engine: str
    model: str
    load_s: float
    ttft_s: float
    prompt_tokens: int
    output_tokens: int
    prefill_tok_s: float
    decode_tok_s: float
    rss_before_mb: float
    peak_rss_mb: float
    text: str

    @property
    def rss_increase_mb(self) -> float:
        return self.peak_rss_mb - self.rss_before_mb


def _ollama_client(settings: dict[str, Any]):
    import ollama

    from labkit.engines import ollama_base_url

    return ollama.Client(host=ollama_base_url(settings.get("base_url")))


def _build(engine: str, model: str, max_tokens: int, settings: dict[str, Any]):
    """The engine's LangChain object: the chat class for chat models, plain completion otherwise."""
    from labkit import engines

    chat = models.info(model).chat_template
    if engine == "llama.cpp":
        builder = engines.llamacpp_chat if chat else engines.llamacpp_llm
        return builder(model, max_tokens=max_tokens, **settings)
    if engine == "transformers":
        builder = engines.hf_chat if chat else engines.hf_pipeline
        return builder(model, max_new_tokens=max_tokens, **settings)
    if engine == "ollama":
        builder = engines.ollama_chat if chat else engines.ollama_llm
        llm = builder(model, num_predict=max_tokens, **settings)
        _ollama_client(settings).generate(model=model, prompt="", keep_alive="30m")  # loads, no tokens
        return llm
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def measure_here(engine: str, model: str, prompt: str, max_tokens: int = 64,
                 **settings: Any) -> Measurement:
    """Measure in this process (see :func:`measure` for a clean, separate process)."""
    tokens.count(model, "warm up")  # load the tokenizer before the clock starts
    if engine == "ollama":  # unload first, so the load time is a cold load
        _ollama_client(settings).generate(model=model, prompt="", keep_alive=0)
    rss_before = rss_mb()
    start = time.perf_counter()
    llm = _build(engine, model, max_tokens, settings)
    load_s = time.perf_counter() - start

    pieces: list[str] = []
    stamps: list[float] = []
    start = time.perf_counter()
    for chunk in llm.stream(prompt):
        piece = getattr(chunk, "content", chunk)  # chat models stream message chunks
        if piece:
            pieces.append(piece)
            stamps.append(time.perf_counter())
    if not stamps:
        raise RuntimeError(f"{engine} produced no output for this prompt; try a longer max_tokens.")
    text = "".join(pieces)
    ttft = stamps[0] - start
    prompt_tokens = tokens.count(model, tokens.chat_prompt(model, prompt))
    output_tokens = tokens.count(model, text)
    decode_time = stamps[-1] - stamps[0]
    decode = (output_tokens - 1) / decode_time if output_tokens > 1 and decode_time > 0 else float("nan")
    return Measurement(engine=engine, model=models.resolve(model), load_s=load_s, ttft_s=ttft,
                       prompt_tokens=prompt_tokens, output_tokens=output_tokens,
                       prefill_tok_s=prompt_tokens / ttft, decode_tok_s=decode,
                       rss_before_mb=rss_before, peak_rss_mb=peak_rss_mb(), text=text)


def measure(engine: str, model: str, prompt: str, max_tokens: int = 64, **settings: Any) -> Measurement:
    """Measure one generation in a fresh Python process (clean load time and peak RSS).

    ``settings`` go to the engine builder in :mod:`labkit.engines`
    (``n_threads``, ``n_ctx``, ``device``, ``base_url`` ...).
    """
    from labkit.system import child

    return child.run("labkit.measure.bench:measure_here", timeout=900, label=f"measuring {engine}", engine=engine,
                     model=model, prompt=prompt, max_tokens=max_tokens, **settings)


def compare_engines(model: str = "smollm2:135m",
                    prompt: str = "Explain in two sentences why the sky is blue.",
                    max_tokens: int = 48, engines: tuple[str, ...] = ("llama.cpp", "transformers"),
                    plot: bool = True, settings: dict[str, dict[str, Any]] | None = None):
    """The same model, prompt and greedy settings on each engine: a table and a bar chart.

    Returns a pandas DataFrame with one row per engine, including the decode
    ceiling ``memory bandwidth / bytes read per token`` and how close each
    engine gets to it. Ollama is included when ``"ollama"`` is in ``engines``
    (start a server first: ``labkit.ollama.ensure_server()``); its model lives in
    the server process, so its peak RSS is only the client's, and its load time
    is the server's cold load as seen by the client.
    """
    import pandas as pd

    from labkit.system.hardware import memory_bandwidth

    bandwidth = memory_bandwidth()
    rows = []
    for engine in engines:
        result = measure(engine, model, prompt, max_tokens, **(settings or {}).get(engine, {}))
        row = asdict(result)
        row["rss_increase_mb"] = result.rss_increase_mb
        row["bytes_per_token_mb"] = bytes_per_token(model, engine) / 2**20
        row["ceiling_tok_s"] = bandwidth / bytes_per_token(model, engine)
        row["of_ceiling"] = result.decode_tok_s / row["ceiling_tok_s"]
        rows.append(row)
    table = pd.DataFrame(rows).set_index("engine")
    if plot:
        plot_comparison(table)
    return table


def bytes_per_token(model: str, engine: str) -> int:
    """Bytes of weights each decoded token reads: the GGUF file for llama.cpp/Ollama,
    float32 parameters (4 bytes each) for the transformers export."""
    entry = models.info(model)
    return entry.parameters * 4 if engine == "transformers" else entry.size


def plot_comparison(table):
    """Bar charts of load time, TTFT, decode speed (with its ceiling) and peak RSS per engine."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    panels = [("load_s", "load (s)"), ("ttft_s", "time to first token (s)"),
              ("decode_tok_s", "decode (tokens/s)"), ("peak_rss_mb", "peak RSS (MB)")]
    for ax, (column, title) in zip(axes, panels):
        ax.bar(table.index, table[column], color=["#4c72b0", "#dd8452", "#55a868"][: len(table)])
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    axes[2].scatter(table.index, table["ceiling_tok_s"], marker="_", s=600, color="black",
                    label="bandwidth ceiling")
    axes[2].set_yscale("log")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- llama.cpp sweeps
def _timed_llama(model: str, prompt_tokens: int, decode_tokens: int, n_threads: int, n_ctx: int,
                 n_batch: int, n_gpu_layers: int = 0) -> dict[str, float]:
    """Prefill ``prompt_tokens`` then decode ``decode_tokens`` greedily; return both speeds."""
    from labkit.engines import gpu_layers
    from labkit.engines.llamacpp import load
    from labkit.engines.tokens import last_logits

    llm = load(models.path(model), n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch, n_threads=n_threads,
               n_threads_batch=n_threads, n_gpu_layers=gpu_layers(n_gpu_layers), seed=0)
    text = " ".join(["The quick brown fox jumps over the lazy dog."] * (prompt_tokens // 9 + 2))
    tokens = llm.tokenize(text.encode(), add_bos=False)[:prompt_tokens]
    start = time.perf_counter()
    llm.eval(tokens)
    prefill = time.perf_counter() - start
    llm.eval([int(last_logits(llm).argmax())])  # one untimed step: the first decode pays one-off set-up
    start = time.perf_counter()
    for _ in range(decode_tokens):
        next_token = int(last_logits(llm).argmax())  # greedy
        llm.eval([next_token])
    decode = time.perf_counter() - start
    llm.close()
    return {"prefill_tok_s": len(tokens) / prefill, "decode_tok_s": decode_tokens / decode}


def sweep(parameter: str, values: list[int], model: str = "smollm2:135m", prompt_tokens: int = 256,
          decode_tokens: int = 32, plot: bool = True, **fixed: int):
    """Prefill and decode speed as one llama.cpp setting changes.

    ``parameter`` is ``n_threads``, ``n_batch``, ``prompt_tokens`` or
    ``n_gpu_layers`` (the last only means something on a GPU build). Returns a
    DataFrame with one row per value, and draws it.
    """
    import pandas as pd

    from labkit.system.hardware import default_threads

    base = {"n_threads": default_threads(), "n_ctx": 2048, "n_batch": 512, "n_gpu_layers": 0,
            "prompt_tokens": prompt_tokens, "decode_tokens": decode_tokens, **fixed}
    if parameter not in base or parameter in ("n_ctx", "decode_tokens"):
        raise ValueError("sweep over n_threads, n_batch, prompt_tokens or n_gpu_layers")
    rows = []
    for value in values:
        run = {**base, parameter: value}
        run["n_ctx"] = max(run["n_ctx"], run["prompt_tokens"] + run["decode_tokens"] + 8)
        rows.append({parameter: value, **_timed_llama(model, **run)})
    table = pd.DataFrame(rows).set_index(parameter)
    if plot:
        ax = table.plot(marker="o", subplots=True, layout=(1, 2), figsize=(9, 3), legend=False,
                        title=["prefill (tokens/s)", "decode (tokens/s)"])
        ax.flat[0].figure.tight_layout()
    return table

