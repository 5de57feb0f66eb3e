"""A loaded llama.cpp model and the generation loop that runs on it.

A :class:`Runner` owns one ``llama_cpp.Llama`` (weights + context). llama.cpp
contexts are not thread-safe, so a runner serves one request at a time; the
scheduler (:mod:`labkit.ollama.scheduler`) queues the others. The generation
loop runs in a worker thread and hands each piece of text to a callback, so
the server's event loop never waits on inference. Introduced in
notebooks/02_ollama.
"""

from __future__ import annotations

import codecs
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.ollama.streaming import find_first, held_back, l2_normalise

log = logging.getLogger("labkit.ollama")

# A generation keeps the model for at least this many tokens before it lets a waiting request run.
SLICE_TOKENS = 16


@dataclass(frozen=True)
class LoadSettings:
    """What a model is loaded with; a request asking for other values causes a reload."""

    path: str
    num_ctx: int
    num_batch: int
    num_thread: int
    embedding: bool = False


@dataclass
class Job:
    """One generation request, already turned into tokens."""

    prompt_tokens: list[int]
    options: dict[str, Any]
    grammar: Any = None
    stop: list[str] = field(default_factory=list)
    logprobs: bool = False
    top_logprobs: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    # Asked every SLICE_TOKENS tokens: "is someone waiting for this model?" If yes, the job
    # pauses so that they get a turn (see labkit.ollama.scheduler). None: never pause.
    others_waiting: Callable[[], bool] | None = None
    progress: Progress = field(default_factory=lambda: Progress())


@dataclass
class Progress:
    """How far a generation got, kept in the job so that a paused one can go on later."""

    generated: list[int] = field(default_factory=list)
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))
    held: str = ""                  # text held back because it may be the start of a stop string
    started: float | None = None    # perf_counter when the job first ran
    first_at: float | None = None   # ... when its first token came
    waited: float = 0.0             # seconds spent paused in line (not generation time)
    paused_at: float = 0.0
    state: Any = None               # llama.cpp state (KV cache) saved at the pause


@dataclass
class Outcome:
    """Counts and timings of a finished generation (durations in nanoseconds)."""

    done_reason: str
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int
    tokens: list[int]


class Runner:
    """One llama.cpp model in memory. Not thread-safe: one job at a time."""

    def __init__(self, settings: LoadSettings) -> None:
        import llama_cpp

        from labkit.engines.llamacpp import load

        self.settings = settings
        started = time.perf_counter()
        kwargs: dict[str, Any] = {}
        if settings.embedding:
            kwargs.update(embedding=True, n_ubatch=settings.num_batch)
            if not _has_pooling(settings.path):
                # A chat model has no pooling of its own: average the token vectors.
                kwargs["pooling_type"] = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        self.llm = load(settings.path, n_ctx=settings.num_ctx, n_batch=settings.num_batch,
                        n_threads=settings.num_thread, n_threads_batch=settings.num_thread,
                        n_gpu_layers=0, seed=random.randint(0, 2**31 - 1), **kwargs)
        self.load_seconds = time.perf_counter() - started
        self.n_ctx = self.llm.n_ctx()
        model = self.llm._model
        self.bos_text = model.token_get_text(self.llm.token_bos()) if self.llm.token_bos() != -1 else ""
        self.eos_text = model.token_get_text(self.llm.token_eos()) if self.llm.token_eos() != -1 else ""
        self.metadata: dict[str, str] = dict(self.llm.metadata)
        self._vocab = model.vocab
        self._is_eog = llama_cpp.llama_vocab_is_eog

    # ---- tokens ------------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        """Tokens of ``text``; special tokens such as ``<|im_start|>`` are parsed."""
        if not text:
            return []
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def piece(self, token: int) -> bytes:
        return self.llm.detokenize([token])

    # ---- generation ----------------------------------------------------------------------

    def generate(self, job: Job, emit: Callable[[str, list[dict[str, Any]] | None], None]) -> Outcome | None:
        """Run ``job``; call ``emit(text, logprobs)`` for each new piece of text.

        Stops at an end-of-generation token, a stop string, ``num_predict`` tokens,
        the end of the context, or when ``job.cancel`` is set (client gone).
        Returns None when the job paused to let a waiting request run: its KV
        cache is saved in ``job.progress``, and calling ``generate`` again (on
        this runner or another one of the same model) goes on where it stopped.
        """
        llm, opts, p = self.llm, job.options, job.progress
        now = time.perf_counter()
        repeat_last_n = opts["repeat_last_n"]
        llm.last_n_tokens_size = self.n_ctx if repeat_last_n < 0 else repeat_last_n
        seed = opts["seed"]
        if p.started is None:
            p.started = now
            llm.set_seed(seed if seed >= 0 else random.randint(0, 2**31 - 1))
            if seed >= 0 and opts["temperature"] > 0:
                # Reusing the KV cache of an earlier prompt evaluates the last prompt token on its own
                # instead of in one batch with the rest, and the logits differ in the last bits: enough
                # to change a sampled token. A seeded request starts clean, so the same seed always
                # gives the same answer, whatever ran before.
                llm.reset()
        else:  # resuming after a pause: another request used this context meanwhile
            p.waited += now - p.paused_at
            if not job.cancel.is_set():
                llm.load_state(p.state)
            p.state = None
            llm.set_seed(random.randint(0, 2**31 - 1))  # (a seeded sampled job never pauses: see below)
        limit = opts["num_predict"]
        if limit < 0:
            limit = math.inf  # -1 unlimited, -2 fill the context: both end at the context's end
        stops = [s for s in job.stop if s]
        # A grammar's parse state cannot be saved, so constrained output (format=json) never pauses;
        # nor can the sampler's random state, so a seeded sampled answer never pauses either (after a
        # pause it would go on with other random numbers, and the same seed would not repeat it).
        seeded = seed >= 0 and opts["temperature"] > 0
        may_pause = job.others_waiting is not None and job.grammar is None and not seeded
        slice_end = len(p.generated) + SLICE_TOKENS
        generated = p.generated
        reason = "length"
        gen = llm.generate(
            job.prompt_tokens + generated, top_k=opts["top_k"], top_p=opts["top_p"], min_p=opts["min_p"],
            typical_p=opts["typical_p"], temp=opts["temperature"], repeat_penalty=opts["repeat_penalty"],
            frequency_penalty=opts["frequency_penalty"], presence_penalty=opts["presence_penalty"],
            grammar=job.grammar,
        )
        try:
            if job.cancel.is_set():  # the client left while this job was paused
                reason = "cancel"
            if limit == 0 or reason == "cancel":
                gen.close()
            for token in gen if limit and reason != "cancel" else ():
                if p.first_at is None:
                    p.first_at = time.perf_counter()
                if job.cancel.is_set():
                    reason = "cancel"
                    break
                if self._is_eog(self._vocab, token):
                    reason = "stop"
                    break
                generated.append(token)
                probs = self._logprobs(token, job.top_logprobs) if job.logprobs else None
                text = p.decoder.decode(self.piece(token))
                if stops:
                    p.held += text
                    cut = find_first(p.held, stops)
                    if cut is not None:
                        if p.held[:cut]:
                            emit(p.held[:cut], probs)
                        reason = "stop"
                        break
                    keep = held_back(p.held, stops)
                    text, p.held = p.held[: len(p.held) - keep], p.held[len(p.held) - keep:]
                if text or probs:
                    emit(text, probs)
                if len(generated) >= limit or llm.n_tokens + 1 >= self.n_ctx:
                    reason = "length"
                    break
                if may_pause and len(generated) >= slice_end and job.others_waiting():  # type: ignore[misc]
                    p.state = llm.save_state()
                    p.paused_at = time.perf_counter()
                    return None
            if p.held and reason != "stop":
                emit(p.held, None)
        finally:
            gen.close()
        ended = time.perf_counter()
        first_at = p.first_at or ended
        return Outcome(
            done_reason=reason, prompt_eval_count=len(job.prompt_tokens),
            prompt_eval_duration=int((first_at - p.started) * 1e9), eval_count=len(generated),
            eval_duration=int(max(0.0, ended - first_at - p.waited) * 1e9), tokens=job.prompt_tokens + generated,
        )

    def _logprobs(self, token: int, top: int) -> list[dict[str, Any]]:
        """Log-probability of the chosen token (and the ``top`` best) from the last logits."""
        import llama_cpp
        import numpy as np

        n_vocab = self.llm.n_vocab()
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llm.ctx, -1), shape=(n_vocab,))
        shifted = logits - logits.max()
        logp = shifted - np.log(np.exp(shifted).sum())

        def entry(tok: int) -> dict[str, Any]:
            raw = self.piece(tok)
            return {"token": raw.decode("utf-8", errors="replace"), "logprob": float(logp[tok]),
                    "bytes": list(raw)}

        item = entry(token)
        if top > 0:
            best = np.argpartition(-logp, top)[:top]
            item["top_logprobs"] = [entry(int(t)) for t in sorted(best, key=lambda t: -logp[t])]
        return [item]

    # ---- embeddings ----------------------------------------------------------------------

    def embed(self, texts: list[str], normalize: bool, truncate: bool) -> tuple[list[list[float]], int]:
        """One vector per text (mean of token vectors for chat models) and the token count.

        Texts longer than the context are cut to fit (Ollama's ``truncate: true``);
        with ``truncate: false`` they are refused, as Ollama does.
        """
        limit = self.llm.n_batch  # an embedding runner is loaded with n_batch == n_ctx
        counts = [len(self.llm.tokenize(t.encode("utf-8"))) for t in texts]
        if not truncate and any(c > limit for c in counts):
            from labkit.ollama.errors import OllamaError

            raise OllamaError(400, "the input length exceeds the context length")
        vectors = [self.llm.embed(t, normalize=False, truncate=True) for t in texts]
        out = [l2_normalise(v) if normalize else [float(x) for x in v] for v in vectors]
        return out, sum(min(c, limit) for c in counts)

    def close(self) -> None:
        self.llm.close()


def _has_pooling(path: str) -> bool:
    """True if the GGUF declares a pooling type (a real embedding model)."""
    from labkit.ollama.metadata import gguf_metadata

    return any(key.endswith(".pooling_type") for key in gguf_metadata(Path(path)))
