"""Self-checks of notebooks/01_running_local_llms."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from labkit.course.check import Exercise, NotYet, close, number, run

Q4_K_M = 4.84  # bits per weight of a whole Q4_K_M file (llama.cpp's quantize README)


@lru_cache(maxsize=1)
def _reported_kv(n_ctx: int = 2048) -> float:
    """llama.cpp's own KV-cache size for the course model at ``n_ctx`` (a real load, in a child process)."""
    from labkit.measure import memory

    return memory.measure("smollm2:135m", n_ctx).reported_kv


def kv_cache_bytes(function: Any) -> tuple[bool, str]:
    """01.1: ``kv_cache_bytes(layers, n_ctx, kv_heads, head_dim, bytes_per_element=2)`` vs llama.cpp."""
    from labkit.measure import memory

    smol = memory.shape("smollm2:135m")
    got = number(run(function, smol.layers, 2048, smol.kv_heads, smol.head_dim), "bytes")
    reported = _reported_kv(2048)
    ratio = got / reported
    if close(ratio, 1, 0.01):
        llama = memory.shape("llama-3.1-8b")
        big = number(run(function, llama.layers, 131072, llama.kv_heads, llama.head_dim), "bytes")
        expected = 2 * llama.layers * 131072 * llama.kv_heads * llama.head_dim * 2
        if not close(big, expected, 0.01):
            raise NotYet(f"right for the course model, but for Llama 3.1 8B at 131072 tokens ({llama.layers} layers, "
                         f"{llama.kv_heads} KV heads of {llama.head_dim}) it gives {big / 2**30:.2f} GiB instead of "
                         f"{expected / 2**30:.0f} GiB: compute from the arguments, not from fixed numbers")
        return True, (f"{got / 2**20:.1f} MiB, exactly what llama.cpp allocated for n_ctx=2048; the same function "
                      f"gives {big / 2**30:.0f} GiB for Llama 3.1 8B at its full 128k context.")
    if close(ratio, 0.5, 0.01):
        raise NotYet("half of what llama.cpp allocates: the cache holds keys AND values (a factor 2)")
    if close(ratio, smol.heads / smol.kv_heads, 0.01):
        raise NotYet("too large by heads / kv_heads: only the KV heads are cached (grouped-query attention)")
    if close(ratio, 2, 0.01):
        raise NotYet("twice too large: f16 is 2 bytes per element, and K plus V is the other factor 2")
    raise NotYet(f"llama.cpp reports {reported / 2**20:.1f} MiB for n_ctx=2048; yours gives {got / 2**20:.1f} MiB. "
                 "2 x layers x n_ctx x kv_heads x head_dim x bytes per element")


def _largest(model: str, memory_gb: float) -> int:
    from labkit.measure import memory

    shape = memory.shape(model)
    best = 0
    for n_ctx in range(1024, shape.context + 1, 1024):
        if not memory.fits(memory.estimate(shape, n_ctx, bits_per_weight=Q4_K_M), memory_gb):
            break
        best = n_ctx
    return best


def largest_context(function: Any) -> tuple[bool, str]:
    """01.2: ``largest_context(model, memory_gb)`` from the estimator."""
    cases = [("llama-3.1-8b", 8), ("llama-3.1-8b", 6), ("llama-3.2-3b", 4), ("llama-3.1-8b", 4)]
    for model, gb in cases:
        expected = _largest(model, gb)
        got = int(number(run(function, model, gb), "a context length in tokens"))
        if got == expected:
            continue
        if expected == 0:
            raise NotYet(f"{model} does not fit in {gb} GB even at 1024 tokens: return 0 then")
        if got == expected + 1024:
            raise NotYet(f"{model} in {gb} GB: {got} is one step too far (it no longer fits); return the last that fits")
        if got == expected - 1024:
            raise NotYet(f"{model} in {gb} GB: {got} stops one step short; {expected} still fits (memory.fits is "
                         "True there), so keep stepping until the estimate no longer fits")
        raise NotYet(f"{model} in {gb} GB: the estimator allows {expected} tokens, you found {got}. Step n_ctx by 1024 "
                     f"with memory.estimate(model, n_ctx, bits_per_weight={Q4_K_M}) and memory.fits(estimate, gb)")
    return True, (f"Llama 3.1 8B at Q4_K_M fits an 8 GB machine up to {_largest('llama-3.1-8b', 8):,} tokens of "
                  "context: the weights are fixed, the KV cache is what you trade.")


def decode_upgrade(answer: Any) -> tuple[bool, str]:
    """01.3: which upgrade speeds up decoding a 40 GB model on a CPU."""
    choice = str(answer).strip().lower()[:1]
    if choice == "b":
        return True, ("every token reads all 40 GB of weights, so decode can go no faster than bandwidth / size "
                      "(section 4's ceiling: a few tokens/s for a 70B model). Twice the bandwidth doubles that "
                      "ceiling. A second core helped the 98 MB course model only because a model that small "
                      "stays below its ceiling.")
    if choice == "a":
        return False, ("section 5's sweep is a 98 MB model that stays far below its bandwidth ceiling, so cores "
                       "helped it. Compute section 4's ceiling for a 40 GB model: does that model have room "
                       "below its ceiling for more cores to use?")
    if choice == "c":
        return False, ("n_ctx sizes the KV cache (memory), and a short context's keys and values are small next to "
                       "40 GB of weights; each token still reads every weight. What does every token read?")
    return False, "answer 'a', 'b' or 'c'"


EXERCISES = {
    "01.1": Exercise("Write kv_cache_bytes(...) and compare it with llama.cpp's own report.", kv_cache_bytes),
    "01.2": Exercise("Write largest_context(model, memory_gb) with the memory estimator.", largest_context),
    "01.3": Exercise("Which upgrade speeds up decoding a 40 GB model on a CPU?", decode_upgrade),
}
