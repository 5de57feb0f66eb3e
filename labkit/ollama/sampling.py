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
another sequence of draws than with the grammar in the chain.

A *lazy* grammar (tool calls, :mod:`labkit.ollama.toolgrammar`) waits for one of its trigger
patterns, as llama.cpp's lazy grammars do, but the wait is kept here rather than in llama.cpp: when
the answer so far matches, a grammar is started and given the text from the pattern's group on,
and if the token that completed the match goes past what the grammar allows (``"}`` right after a
tool's name, say), that token is drawn again within the grammar. llama.cpp's own lazy sampler
throws a C++ exception in that case, which ends the whole process when called through ctypes.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import ctypes
import logging
import math
import random
import re
from collections.abc import Callable
from typing import Any

from labkit.ollama.grammars import Compiled

log = logging.getLogger("labkit.ollama")


class RequestSampler:
    """One request's chain and grammar; :meth:`sample` picks a token from a row of logits."""

    def __init__(self, chain: Any, grammar: Any | None, n_vocab: int, waiting: _Waiting | None = None) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self.chain = chain            # llama_cpp._internals.LlamaSampler, without the grammar
        self.grammar = grammar        # the same kind, holding only the grammar; or None
        self.waiting = waiting        # a lazy grammar not started yet
        self.n_vocab = n_vocab
        self._candidates = _internals.LlamaTokenDataArray(n_vocab=n_vocab)
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(data=self._one, size=1, selected=-1, sorted=False)
        self.redraws = 0              # tokens the grammar refused, for measurements

    def sample(self, ctx: Any, row: int) -> int:
        """The next token from row ``row`` of ``ctx``'s logits; the chain and grammar accept it."""
        import llama_cpp

        if self.grammar is None and self.waiting is None:  # the same chain, run and accepted in C: no copy
            return int(llama_cpp.llama_sampler_sample(self.chain.sampler, ctx.ctx, row))  # of the logits here
        import numpy as np

        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx.ctx, row), shape=(self.n_vocab,))
        token = self._draw(logits, with_grammar=False)
        if self.grammar is not None:
            if not self._allowed(self.grammar, token):
                self.redraws += 1
                token = self._draw(logits, with_grammar=True)
            self.grammar.accept(token)
        elif self.waiting is not None:
            token = self._watch(self.waiting, token, logits)
        self.chain.accept(token)
        return token

    def _watch(self, waiting: _Waiting, token: int, logits: Any) -> int:
        """Start the lazy grammar if the answer so far, with ``token``, matches one of its triggers."""
        seen = waiting.seen + waiting.piece(token)
        start = waiting.find(seen)
        if start is None:
            waiting.seen = seen
            return token
        grammar = self._started(waiting, seen[start:])
        if grammar is None and start < len(waiting.seen):
            grammar = self._started(waiting, waiting.seen[start:])
            if grammar is not None:  # the opening was written before; this token broke it: draw it again
                self.grammar, self.waiting = grammar, None
                self.redraws += 1
                token = self._draw(logits, with_grammar=True)
                grammar.accept(token)
                log.debug("tool-call grammar started at %r (the token after it drawn again)", waiting.seen[start:])
                return token
        if grammar is not None:
            self.grammar, self.waiting = grammar, None
            log.debug("tool-call grammar started at %r", seen[start:])
            return token
        log.debug("tool-call grammar cannot continue %r: the answer stays free", seen[start:])
        waiting.seen, waiting.skip = seen, start + 1  # a later opening may still start it
        return token

    def _started(self, waiting: _Waiting, text: bytes) -> Any | None:
        """A grammar that has read ``text``; None if ``text`` does not fit it."""
        rules = _rules(waiting.grammar)
        tokens = waiting.model.tokenize(text, add_bos=False, special=False)
        if b"".join(waiting.piece(t) for t in tokens) != text:
            return None
        for token in tokens:
            if not self._allowed(rules, token):
                return None
            rules.accept(token)
        return rules

    def _draw(self, logits: Any, with_grammar: bool) -> int:
        import llama_cpp

        cur = self._candidates
        cur.copy_logits(logits)
        if with_grammar:
            llama_cpp.llama_sampler_apply(self.grammar.sampler, ctypes.byref(cur.candidates))
        llama_cpp.llama_sampler_apply(self.chain.sampler, ctypes.byref(cur.candidates))
        return int(cur.candidates_data.id[cur.candidates.selected])

    def _allowed(self, grammar: Any, token: int) -> bool:
        import llama_cpp

        self._one[0].id, self._one[0].logit, self._one[0].p = token, 1.0, 0.0
        self._one_array.size, self._one_array.selected = 1, -1
        llama_cpp.llama_sampler_apply(grammar.sampler, ctypes.byref(self._one_array))
        return not math.isinf(self._one[0].logit)


def sampler_chain(model: Any, n_vocab: int, n_ctx: int, opts: dict[str, Any], grammar: Any) -> RequestSampler:
    """The sampler for one request's options (Ollama's names).

    ``grammar``: None, a :class:`labkit.ollama.grammars.Compiled` (what the server passes: parsed
    before the request was admitted), a ``LlamaGrammar`` or a
    :class:`labkit.ollama.toolgrammar.Constraint` (tool calls, possibly lazy).
    """
    from llama_cpp import _internals

    chain = _internals.LlamaSampler()
    last_n = n_ctx if opts["repeat_last_n"] < 0 else min(opts["repeat_last_n"], n_ctx)  # a ring of last_n tokens
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
    if grammar is None:
        return RequestSampler(chain, None, n_vocab)
    compiled = _compiled(model, grammar)
    if compiled.triggers:  # a tool-call grammar that waits for a call to start
        return RequestSampler(chain, None, n_vocab, _Waiting(model, compiled, compiled.triggers))
    return RequestSampler(chain, _rules(compiled), n_vocab)


def _compiled(model: Any, grammar: Any) -> Compiled:
    """``grammar`` as parsed by llama.cpp: the server parses it before admitting the request; a
    ``LlamaGrammar`` or a tool-call ``Constraint`` (a caller in this process) is parsed here."""
    if isinstance(grammar, Compiled):
        return grammar
    inner = getattr(grammar, "grammar", grammar)  # a Constraint holds a LlamaGrammar
    return Compiled(model.vocab, inner._grammar, tuple(getattr(grammar, "triggers", ())), inner._root)


def _rules(compiled: Compiled) -> Any:
    """A sampler holding only a fresh copy of ``compiled`` (a chain, so it is freed with it)."""
    import llama_cpp
    from llama_cpp import _internals

    rules = _internals.LlamaSampler()
    llama_cpp.llama_sampler_chain_add(rules.sampler, compiled.copy())
    return rules


class _Waiting:
    """A lazy grammar before it starts: the answer so far and the patterns that start it."""

    def __init__(self, model: Any, grammar: Any, patterns: tuple[str, ...]) -> None:
        self.model = model            # llama_cpp._internals.LlamaModel
        self.grammar = grammar        # labkit.ollama.grammars.Compiled
        self.patterns = [re.compile(p.encode("utf-8")) for p in patterns]
        self.seen = b""               # the answer so far, as the grammar reads it
        self.skip = 0                 # matches that start before this did not fit the grammar

    def find(self, text: bytes) -> int | None:
        """Where the grammar would start in ``text`` (a pattern's first group), or None."""
        starts = []
        for pattern in self.patterns:
            match = pattern.search(text, self.skip)
            if match:
                starts.append(match.start(1) if match.lastindex else match.start())
        return min(starts) if starts else None

    def piece(self, token: int) -> bytes:
        """The token's text as llama.cpp's grammars read it (special tokens written out)."""
        import llama_cpp

        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self.model.vocab, token, buf, size, 0, True)
            if n >= 0:
                return buf.raw[:n]
            size = -n


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
