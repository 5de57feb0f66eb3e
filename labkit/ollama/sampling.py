"""How each request picks its tokens: its own llama.cpp sampler chain, and log-probabilities.

Every request in a batch has its own chain (penalties, then greedy or top-k / typical / top-p /
min-p / temperature / a seeded random draw) and, for ``format`` or tool calls, its own grammar,
kept with the request, so its random state and grammar state survive a pause. The order is
llama-cpp-python's, so a greedy answer matches what ``Llama`` gives with the same settings.

A grammar is checked *after* sampling, as llama.cpp's own server does: checking one token against
the grammar is cheap, checking every token of the vocabulary (49,152 for SmolLM2) at every step
is not (on a 2-core machine it halved the speed of JSON mode; ``bench/ollama_overhead.py --json``). Only when the token the chain picked breaks the grammar are the logits
masked by the grammar and the token drawn again. Greedy picks the same token either way; a random
draw keeps the same distribution (the redraw is from the grammar's tokens only), but a seed gives
another sequence of draws than with the grammar in the chain. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import ctypes
import math
import random
from collections.abc import Callable
from typing import Any


class RequestSampler:
    """One request's chain and grammar; :meth:`sample` picks a token from a row of logits."""

    def __init__(self, chain: Any, grammar: Any | None, n_vocab: int) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self.chain = chain            # llama_cpp._internals.LlamaSampler, without the grammar
        self.grammar = grammar        # the same kind, holding only the grammar; or None
        self.n_vocab = n_vocab
        self._candidates = _internals.LlamaTokenDataArray(n_vocab=n_vocab)
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self.redraws = 0              # tokens the grammar refused, for measurements

    def sample(self, ctx: Any, row: int) -> int:
        """The next token from row ``row`` of ``ctx``'s logits; the chain and grammar accept it."""
        import llama_cpp
        import numpy as np

        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, row), shape=(self.n_vocab,))
        token = self._draw(logits, with_grammar=False)
        if self.grammar is not None and not self._allowed(token):
            self.redraws += 1
            token = self._draw(logits, with_grammar=True)
        self.chain.accept(token)
        if self.grammar is not None:
            self.grammar.accept(token)
        return token

    def _draw(self, logits: Any, with_grammar: bool) -> int:
        import llama_cpp

        cur = self._candidates
        cur.copy_logits(logits)
        if with_grammar:
            llama_cpp.llama_sampler_apply(self.grammar.sampler, ctypes.byref(cur.candidates))
        llama_cpp.llama_sampler_apply(self.chain.sampler, ctypes.byref(cur.candidates))
        return int(cur.candidates_data.id[cur.candidates.selected])

    def _allowed(self, token: int) -> bool:
        import llama_cpp

        self._one[0].id, self._one[0].logit, self._one[0].p = token, 1.0, 0.0
        self._one_array.size, self._one_array.selected = 1, -1
        llama_cpp.llama_sampler_apply(self.grammar.sampler, ctypes.byref(self._one_array))
        return not math.isinf(self._one[0].logit)


def sampler_chain(model: Any, n_vocab: int, n_ctx: int, opts: dict[str, Any], grammar: Any) -> RequestSampler:
    """The sampler for one request's options (Ollama's names).

    ``grammar``: None, a ``LlamaGrammar`` (``format``), or a
    :class:`labkit.ollama.toolgrammar.Constraint` (tool calls, possibly lazy).
    """
    from llama_cpp import _internals

    chain = _internals.LlamaSampler()
    last_n = n_ctx if opts["repeat_last_n"] < 0 else opts["repeat_last_n"]
    chain.add_penalties(n_vocab, last_n, opts["repeat_penalty"], opts["frequency_penalty"],
                        opts["presence_penalty"])
    if opts["temperature"] <= 0:
        chain.add_greedy()
    else:
        chain.add_top_k(opts["top_k"])
        chain.add_typical(opts["typical_p"], 1)
        chain.add_top_p(opts["top_p"], 1)
        chain.add_min_p(opts["min_p"], 1)
        chain.add_temp(opts["temperature"])
        seed = opts["seed"]
        chain.add_dist(seed if seed >= 0 else random.randint(0, 2**31 - 1))
    rules = None
    if getattr(grammar, "triggers", ()):  # a tool-call grammar that waits for "<tool_call>"
        rules = _internals.LlamaSampler()
        rules.add_grammar_lazy_patterns(model, grammar.grammar, list(grammar.triggers), [])
    elif grammar is not None:
        rules = _internals.LlamaSampler()
        rules.add_grammar(model, getattr(grammar, "grammar", grammar))
    return RequestSampler(chain, rules, n_vocab)


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
