"""Why a serving engine's throughput grows with the number of requests: batched decoding, measured.

Producing one token reads every weight of the model once. Decoding the next token of N
sequences in one ``llama_decode`` call reads the weights once for all N, so the total
tokens/s grows with N until the arithmetic, not the reading, is the limit. This module measures
that curve with llama.cpp directly (one context, N sequences, one call per step): the most a
server on this machine can get from batching, with no HTTP, JSON or scheduling in the way.

Used by notebooks/05_local_vs_cloud (how many machines for N users) and bench/classroom.py
(the ceiling the kit's server is compared with). Run it in a fresh process
(:func:`measure_curve`) so that no other llama.cpp work in the notebook shares its threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

PROMPT = "<|im_start|>user\nExplain in a few sentences what a context window is.<|im_end|>\n<|im_start|>assistant\n"


@dataclass(frozen=True)
class Point:
    """One level of concurrency: ``streams`` sequences decoded together."""

    streams: int
    tokens_per_s: float      # all sequences' new tokens / decode time
    per_stream_tok_s: float  # what each sequence sees


def batched_decode(model: str = "smollm2:135m", levels: tuple[int, ...] = (1, 2, 4, 8), tokens: int = 32,
                   threads: int = 0) -> list[Point]:
    """Aggregate decode tokens/s at each level, in this process (see :func:`measure_curve`)."""
    import llama_cpp
    from llama_cpp import _internals

    from labkit import models
    from labkit.engines.llamacpp import batch_context, load
    from labkit.system.hardware import default_threads

    threads = threads or default_threads()
    llm = load(models.path(model), n_ctx=64, n_batch=64, n_threads=threads, n_threads_batch=threads)
    prompt = llm.tokenize(PROMPT.encode(), add_bos=True, special=True)
    most = max(levels)
    n_batch = max(512, len(prompt) * most)
    ctx = batch_context(llm, sequences=most, cells_per_sequence=len(prompt) + tokens + 16, n_batch=n_batch,
                        threads=threads)
    batch = _internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
    memory = llama_cpp.llama_get_memory(ctx.ctx)
    sampler = _internals.LlamaSampler()
    sampler.add_greedy()
    points = []
    try:
        for streams in (levels[0], *levels):  # the first level twice: the first run warms up
            for seq in range(most):
                llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
            feed = {seq: list(prompt) for seq in range(streams)}
            done = 0
            for step in range(tokens + 1):
                b = batch.batch
                b.n_tokens = 0
                rows = {}
                for seq, new in feed.items():
                    for i, token in enumerate(new):
                        row = b.n_tokens
                        b.token[row], b.pos[row], b.n_seq_id[row] = token, (0 if step == 0 else len(prompt) + step - 1) + i, 1
                        b.seq_id[row][0], b.logits[row] = seq, i == len(new) - 1
                        b.n_tokens += 1
                    rows[seq] = b.n_tokens - 1
                if llama_cpp.llama_decode(ctx.ctx, b) != 0:
                    raise RuntimeError("llama_decode failed")
                if step == 0:
                    started = time.perf_counter()  # prompts read: decoding starts now
                else:
                    done += streams
                feed = {seq: [sampler.sample(ctx, row)] for seq, row in rows.items()}
            seconds = time.perf_counter() - started
            points.append(Point(streams, done / seconds, done / seconds / streams))
    finally:
        batch.close()
        ctx.close()
        llm.close()
    return points[1:]


def measure_curve(model: str = "smollm2:135m", levels: tuple[int, ...] = (1, 2, 4, 8), tokens: int = 32,
                  threads: int = 0) -> list[Point]:
    """:func:`batched_decode` in a fresh process (its own threads, and a crash stays there)."""
    from labkit.system import child

    return child.run("labkit.measure.batching:batched_decode", timeout=600, label="the batched decode curve",
                     model=model, levels=tuple(levels), tokens=tokens, threads=threads)
