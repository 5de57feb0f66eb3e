"""How long a user waits for a whole answer, local or from an API, split into its parts.

Introduced in notebooks/05_local_vs_cloud.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.tradeoffs.data import _check_non_negative


@dataclass(frozen=True)
class Latency:
    """Seconds a user waits, split into parts: network, model load, first token, the rest of the answer.

    Introduced in notebooks/05_local_vs_cloud.
    """

    network: float
    load: float
    first_token: float
    generation: float
    total: float


def cloud_latency(output_tokens: int, *, rtt_s: float, ttft_s: float, tokens_per_s: float) -> Latency:
    """Time until a full API answer: network round trip + time to first token + tokens / speed.

    The provider's TTFT covers its queue and prompt processing; the RTT is your network's.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_non_negative(output_tokens=output_tokens, rtt_s=rtt_s, ttft_s=ttft_s)
    if tokens_per_s <= 0:
        raise ValueError("tokens_per_s must be positive.")
    generation = output_tokens / tokens_per_s
    return Latency(rtt_s, 0.0, ttft_s, generation, rtt_s + ttft_s + generation)


def local_latency(input_tokens: int, output_tokens: int, *, decode_tokens_per_s: float,
                  prefill_tokens_per_s: float | None = None, ttft_s: float | None = None,
                  load_s: float = 0.0, warm: bool = True) -> Latency:
    """Time until a full local answer: model load (cold only) + time to first token + tokens / speed.

    Give the measured ``ttft_s`` when you have it; otherwise it is estimated as
    ``input_tokens / prefill_tokens_per_s``. ``warm=True`` means the model is already in memory
    (Ollama keeps it 5 minutes by default), so ``load_s`` is not paid.

    Introduced in notebooks/05_local_vs_cloud.
    """
    _check_non_negative(input_tokens=input_tokens, output_tokens=output_tokens, load_s=load_s)
    if decode_tokens_per_s <= 0:
        raise ValueError("decode_tokens_per_s must be positive.")
    if ttft_s is None:
        if not prefill_tokens_per_s:
            raise ValueError("give ttft_s (measured) or prefill_tokens_per_s to estimate it.")
        ttft_s = input_tokens / prefill_tokens_per_s
    load = 0.0 if warm else load_s
    generation = output_tokens / decode_tokens_per_s
    return Latency(0.0, load, ttft_s, generation, load + ttft_s + generation)
