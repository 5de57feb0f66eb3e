"""How each request picks its tokens: its own llama.cpp sampler chain, and log-probabilities.

Every request in a batch has its own chain (penalties, a grammar for ``format``, then greedy or
top-k / typical / top-p / min-p / temperature / a seeded random draw), kept with the request, so
its random state and grammar state survive a pause. The order is llama-cpp-python's, so an
answer matches what ``Llama`` gives with the same settings. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any


def sampler_chain(model: Any, n_vocab: int, n_ctx: int, opts: dict[str, Any], grammar: Any) -> Any:
    """A ``llama_cpp._internals.LlamaSampler`` for one request's options (Ollama's names).

    ``grammar``: None, a ``LlamaGrammar`` (``format``), or a
    :class:`labkit.ollama.toolgrammar.Constraint` (tool calls, possibly lazy).
    """
    from llama_cpp import _internals

    sampler = _internals.LlamaSampler()
    last_n = n_ctx if opts["repeat_last_n"] < 0 else opts["repeat_last_n"]
    sampler.add_penalties(n_vocab, last_n, opts["repeat_penalty"], opts["frequency_penalty"],
                          opts["presence_penalty"])
    if getattr(grammar, "triggers", ()):  # a tool-call grammar that waits for "<tool_call>"
        sampler.add_grammar_lazy_patterns(model, grammar.grammar, list(grammar.triggers), [])
    elif grammar is not None:
        sampler.add_grammar(model, getattr(grammar, "grammar", grammar))
    if opts["temperature"] <= 0:
        sampler.add_greedy()
    else:
        sampler.add_top_k(opts["top_k"])
        sampler.add_typical(opts["typical_p"], 1)
        sampler.add_top_p(opts["top_p"], 1)
        sampler.add_min_p(opts["min_p"], 1)
        sampler.add_temp(opts["temperature"])
        seed = opts["seed"]
        sampler.add_dist(seed if seed >= 0 else random.randint(0, 2**31 - 1))
    return sampler


def logprobs(ctx: Any, row: int, n_vocab: int, token: int, top: int,
             piece: Callable[[int], bytes]) -> list[dict[str, Any]]:
    """Log-probability of the chosen token (and the ``top`` best) from row ``row`` of the logits."""
    import llama_cpp
    import numpy as np

    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, row), shape=(n_vocab,))
    shifted = logits - logits.max()
    logp = shifted - np.log(np.exp(shifted).sum())

    def entry(tok: int) -> dict[str, Any]:
        raw = piece(tok)
        return {"token": raw.decode("utf-8", errors="replace"), "logprob": float(logp[tok]), "bytes": list(raw)}

    item = entry(token)
    if top > 0:
        best = np.argpartition(-logp, top)[:top]
        item["top_logprobs"] = [entry(int(t)) for t in sorted(best, key=lambda t: -logp[t])]
    return [item]
