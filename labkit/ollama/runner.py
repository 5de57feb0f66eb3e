"""A loaded llama.cpp model that decodes all of its requests together (continuous batching).

Why batch: to produce one token a model reads every one of its weights once, and on a CPU (far
more on a GPU) that read, not the arithmetic, sets the speed. Decoding the next token of several
requests in *one* ``llama_decode`` call reads the weights once for all of them, so a server's
total tokens/s grows with the number of requests it serves at once. llama.cpp's own server and
Ollama work this way; so does this runner, in about two hundred readable lines.

How: one llama.cpp context holds ``slots`` *sequences*, each with its own KV cells (``num_ctx``
of them). A decode thread loops:

1. admit new requests into free sequences (reusing the KV cells of the longest matching prefix
   a sequence still holds, or restoring the cells a paused request saved);
2. build one batch of the last sampled token of every sequence that is answering, and call
   ``llama_decode`` once for all of them;
3. read pieces of the prompts still being read, up to ``num_batch`` tokens in all, each in a
   ``llama_decode`` call of its own;
4. let each answering sequence's *own* sampler (temperature, seed, grammar, penalties) pick its
   next token, and hand the text to that request's callback (stop strings, ``num_predict``, the
   end of the context, a client that left, all per request). A finished sequence frees its slot
   at once.

Flash attention is on: with it a sequence's numbers do not depend on what else is in the batch
(without it they differ in the last bits). They do depend on how many of the sequence's own tokens
one decode holds (llama.cpp's CPU attention changes kernel at 64, see
:mod:`labkit.ollama.sequences`), and llama.cpp splits a batch into equal shares per sequence: so a
prompt piece is decoded alone, in the pieces a read from empty cells would use, and reuses only
cells made by the same kernel. A greedy answer is then the same alone or among others, whatever
other requests read before it.
Embeddings have a runner of their own (:mod:`labkit.ollama.embedder`); the job and outcome
types are in :mod:`labkit.ollama.jobs`.
Introduced in notebooks/02_ollama; measured in bench/classroom.py.
"""

from __future__ import annotations

import ctypes
import logging
import math
import threading
import time
from concurrent.futures import Future

from labkit.ollama import sampling
from labkit.ollama.jobs import SLICE_TOKENS, Emit, Job, LoadSettings, Outcome, Progress
from labkit.ollama.loaded import LoadedFile
from labkit.ollama.sequences import TILE_ROWS, _Part, _Sequence, _Work, fresh_piece, fresh_tiled, reusable
from labkit.ollama.streaming import find_first, held_back

__all__ = ["SLICE_TOKENS", "Emit", "Job", "LoadSettings", "LoadedFile", "Outcome", "Progress", "Runner"]

log = logging.getLogger("labkit.ollama")


class Runner(LoadedFile):
    """One llama.cpp model in memory, decoding up to ``settings.slots`` requests together.

    :meth:`submit` is safe to call from any thread; the decoding happens in the runner's own
    thread. The scheduler hands out at most ``slots`` leases, so a submitted job always finds
    a free sequence.
    """

    def __init__(self, settings: LoadSettings) -> None:
        import llama_cpp
        from llama_cpp import _internals

        from labkit.engines.llamacpp import batch_context, load

        self.settings = settings
        started = time.perf_counter()
        # The Llama object gives the weights, the tokenizer and a tiny context of its own that is
        # never used; the real context below holds ``slots`` sequences of ``num_ctx`` cells each.
        self.llm = load(settings.path, n_ctx=64, n_batch=64, n_threads=settings.num_thread,
                        n_threads_batch=settings.num_thread, n_gpu_layers=0)
        self._ctx = batch_context(self.llm, sequences=settings.slots, cells_per_sequence=settings.num_ctx,
                                  n_batch=settings.num_batch, threads=settings.num_thread)
        self.n_batch = llama_cpp.llama_n_batch(self._ctx.ctx)
        self._batch = _internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=1, verbose=False)
        self._memory = llama_cpp.llama_get_memory(self._ctx.ctx)
        self.n_ctx = llama_cpp.llama_n_ctx_seq(self._ctx.ctx)
        self.load_seconds = time.perf_counter() - started
        self._facts()
        self._n_vocab = self.n_vocab = self.llm.n_vocab()  # token ids run from 0 to n_vocab - 1
        self._sequences = [_Sequence(i) for i in range(settings.slots)]
        self._incoming: list[_Work] = []
        self._wake = threading.Condition()
        self._closing = False
        self.peak_together = 0  # the most requests decoded in one batch so far (for tests and curious learners)
        self.pauses = 0         # generations paused so far to let a waiting request in (likewise)
        self.resumes = 0        # ... and paused generations taken up again
        self._thread = threading.Thread(target=self._loop, name="labkit-decode", daemon=True)
        self._thread.start()

    # ---- the public side -----------------------------------------------------------------

    def submit(self, job: Job, emit: Emit) -> Future[Outcome | None]:
        """Queue ``job``; ``emit(text, logprobs)`` gets each new piece of text (from the decode thread).

        The future's result is the :class:`Outcome`, or None when the job paused to let a waiting
        request in: its KV cells are saved in ``job.progress``, and submitting it again goes on
        where it stopped.
        """
        future: Future[Outcome | None] = Future()
        with self._wake:
            if self._closing:
                raise RuntimeError("this model is being unloaded")
            self._incoming.append(_Work(job, emit, future))
            self._wake.notify()
        return future

    def generate(self, job: Job, emit: Emit) -> Outcome | None:
        """:meth:`submit` and wait (for a caller that has a thread to spare)."""
        return self.submit(job, emit).result()

    def close(self) -> None:
        """Stop the decode thread (cancelling what still runs) and free the model."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()
        self._batch.close()
        self._ctx.close()
        self.llm.close()

    # ---- the decode thread ---------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._incoming and not self._busy() and not self._closing:
                    self._wake.wait()
                if self._closing:
                    for work in self._incoming:
                        self._complete(work, "cancel")
                    self._incoming.clear()
                    for seq in self._busy():
                        self._finish(seq, "cancel")
                    return
                incoming, self._incoming = self._incoming, []
            for work in incoming:
                try:
                    self._admit(work)
                except Exception as exc:
                    log.exception("starting a request failed")
                    if not work.future.done():
                        work.future.set_exception(exc)
            try:
                self._step()
            except Exception as exc:  # a fault outside any one request's part: the requests in it end
                log.exception("decoding failed")
                for seq in self._busy():
                    self._fail(seq, exc)

    def _busy(self) -> list[_Sequence]:
        return [seq for seq in self._sequences if seq.work is not None]

    def _admit(self, work: _Work) -> None:
        """Put a job into a free sequence, reusing what the KV cells of that sequence already hold."""
        job, p = work.job, work.job.progress
        free = [seq for seq in self._sequences if seq.work is None]
        if not free:  # (the scheduler never hands out more leases than slots)
            work.future.set_exception(RuntimeError("no free sequence"))
            return
        now = time.perf_counter()
        opts = job.options
        if p.started is None:  # a new job
            p.started = now
            p.sampler = sampling.sampler_chain(self.llm._model, self._n_vocab, self.n_ctx, opts, job.grammar)
            tokens = job.prompt_tokens
            if len(tokens) >= self.n_ctx:
                from labkit.ollama.errors import OllamaError

                work.future.set_exception(OllamaError(400, f"the prompt ({len(tokens)} tokens) does not fit "
                                                           f"num_ctx={self.n_ctx}: raise num_ctx or shorten it"))
                return
            # A seeded sampled answer starts from empty cells, so that it never depends on what a
            # sequence held before: reuse gives the numbers of a read from empty cells only as far as
            # llama.cpp computes both the same way (see labkit.ollama.sequences), and a sampled token
            # can turn on the last bit.
            seeded = opts["seed"] >= 0 and opts["temperature"] > 0
            want = fresh_tiled(len(tokens), self.n_batch)
            reuse, seq = max(((0 if seeded else reusable(s, tokens, want, self.n_batch), s) for s in free),
                             key=lambda pair: pair[0])
            reuse = self._keep(seq, reuse)
            work.to_read = tokens[reuse:]
        else:  # a paused job going on: its tokens so far are in the cells, except the last one sampled
            self.resumes += 1
            p.waited += now - p.paused_at
            held = job.prompt_tokens + p.generated[:-1]
            untouched = [s for s in free if s.cached == held]
            seq = untouched[0] if untouched else free[0]
            if not untouched:
                import llama_cpp

                self._forget(seq)
                state = p.state
                if llama_cpp.llama_state_seq_set_data(self._ctx.ctx, state, len(state), seq.seq_id) == 0:
                    raise RuntimeError("could not restore a paused request")
                seq.cached = list(held)
                seq.tiled = fresh_tiled(len(job.prompt_tokens), self.n_batch) + [False] * (len(held) - len(job.prompt_tokens))
            p.state = None
        limit = opts["num_predict"]
        work.limit = math.inf if limit < 0 else limit  # -1 unlimited, -2 fill the context
        work.slice_end = len(p.generated) + SLICE_TOKENS
        seq.work = work
        if work.limit == 0 or not (work.to_read or p.generated):
            self._finish(seq, "length")

    def _step(self) -> None:
        """One step: a token for each answering sequence, decoded together; then prompt pieces, each alone."""
        for seq in self._busy():
            if seq.work is not None and seq.work.job.cancel.is_set():
                self._finish(seq, "cancel")
        busy = self._busy()
        if not busy:
            return
        answering: list[_Part] = []
        for seq in busy:  # the token sampled last
            work = seq.work
            if work is not None and not work.to_read:
                answering.append(_Part(seq, [work.job.progress.generated[-1]], len(seq.cached), True))
        reading: list[_Part] = []
        room = self.n_batch
        for seq in busy:  # reading a prompt: the rest of its piece, while the step has room (the first always fits)
            work = seq.work
            if work is None or not work.to_read:
                continue
            start = len(seq.cached)
            size = fresh_piece(start, len(work.job.prompt_tokens), self.n_batch)[1] - start
            if reading and size > room:
                continue
            chunk, work.to_read = work.to_read[:size], work.to_read[size:]
            reading.append(_Part(seq, chunk, start, not work.to_read))
            room -= size
        self.peak_together = max(self.peak_together, len(answering) + sum(part.wants_logits for part in reading))
        if answering:
            self._decode(answering)
        for part in reading:
            if part.seq.work is not None:
                self._decode([part])

    def _decode(self, parts: list[_Part]) -> None:
        """Decode ``parts`` in one batch and sample; if llama.cpp refuses the batch, find whose part it was.

        llama.cpp refuses a whole batch for one bad token (or one sequence that no longer fits), so a
        refused batch is undone and each part decoded alone: only the part that fails alone ends its
        request, with the error; the others go on (flash attention: the same numbers either way).
        """
        import llama_cpp

        batch = self._batch.batch
        batch.n_tokens = 0
        rows: list[tuple[_Sequence, int]] = []  # sequences that get logits, and their row
        for part in parts:
            seq = part.seq
            for i, token in enumerate(part.tokens):
                row = batch.n_tokens
                batch.token[row] = token
                batch.pos[row] = len(seq.cached)
                batch.n_seq_id[row] = 1
                batch.seq_id[row][0] = seq.seq_id
                batch.logits[row] = part.wants_logits and i == len(part.tokens) - 1
                batch.n_tokens += 1
                seq.cached.append(token)
            seq.tiled.extend([len(part.tokens) >= TILE_ROWS] * len(part.tokens))
            if part.wants_logits:
                rows.append((seq, batch.n_tokens - 1))
        status = llama_cpp.llama_decode(self._ctx.ctx, batch)
        if status == 0:
            for seq, row in rows:
                try:
                    self._next_token(seq, row)
                except Exception as exc:  # this request's sampler or callback failed: it alone ends
                    log.exception("sampling failed")
                    self._fail(seq, exc)
            return
        for part in parts:
            self._undo(part)
        if len(parts) == 1:
            log.error("llama_decode returned %d for one request; ending it", status)
            self._fail(parts[0].seq, RuntimeError(f"llama_decode returned {status}"))
            return
        for part in parts:
            if part.seq.work is not None:
                self._decode([part])

    def _undo(self, part: _Part) -> None:
        """Take ``part``'s tokens out of its sequence again (cells and bookkeeping)."""
        import llama_cpp

        seq = part.seq
        llama_cpp.llama_memory_seq_rm(self._memory, seq.seq_id, part.start, -1)
        seq.cached, seq.tiled = seq.cached[:part.start], seq.tiled[:part.start]

    def _fail(self, seq: _Sequence, exc: BaseException) -> None:
        """End the request in ``seq`` with ``exc``; its cells are dropped (they may be half written)."""
        work, seq.work = seq.work, None
        self._forget(seq)
        if work is not None and not work.future.done():
            work.future.set_exception(exc)

    def _next_token(self, seq: _Sequence, row: int) -> None:
        """Sample this sequence's next token from its row of logits and pass its text on."""
        work = seq.work
        assert work is not None
        job, p = work.job, work.job.progress
        token = p.sampler.sample(self._ctx, row)
        if p.first_at is None:
            p.first_at = time.perf_counter()
        if self._is_eog(self._vocab, token):
            self._finish(seq, "stop")
            return
        p.generated.append(token)
        probs = sampling.logprobs(self._ctx.ctx, row, self._n_vocab, token, job.top_logprobs, self.piece) if job.logprobs else None
        text = p.decoder.decode(self.piece(token))
        stops = [s for s in job.stop if s]
        if stops:
            p.held += text
            cut = find_first(p.held, stops)
            if cut is not None:
                if p.held[:cut]:
                    work.emit(p.held[:cut], probs)
                p.held = ""
                self._finish(seq, "stop")
                return
            keep = held_back(p.held, stops)
            text, p.held = p.held[: len(p.held) - keep], p.held[len(p.held) - keep:]
        if text or probs:
            work.emit(text, probs)
        if len(p.generated) >= work.limit or len(seq.cached) + 1 >= self.n_ctx:
            self._finish(seq, "length")
        elif (job.others_waiting is not None and len(p.generated) >= work.slice_end
              and job.others_waiting()):
            self._pause(seq)

    def _pause(self, seq: _Sequence) -> None:
        """Save this sequence's KV cells in the job and free its slot (see the scheduler's fair turns)."""
        import llama_cpp

        work = seq.work
        assert work is not None
        p = work.job.progress
        size = llama_cpp.llama_state_seq_get_size(self._ctx.ctx, seq.seq_id)
        state = (ctypes.c_uint8 * size)()
        llama_cpp.llama_state_seq_get_data(self._ctx.ctx, state, size, seq.seq_id)
        p.state, p.paused_at = state, time.perf_counter()
        self.pauses += 1
        seq.work = None  # the cells stay: if this slot is still untouched at its next turn, nothing is restored
        work.future.set_result(None)

    def _finish(self, seq: _Sequence, reason: str) -> None:
        """The job in ``seq`` is done: free the slot at once (its cells stay for prefix reuse)."""
        work = seq.work
        assert work is not None
        seq.work = None
        self._complete(work, reason)

    def _complete(self, work: _Work, reason: str) -> None:
        p = work.job.progress
        if p.held:  # text kept back in case it began a stop string (a matched one was cleared already)
            work.emit(p.held, None)
            p.held = ""
        ended = time.perf_counter()
        started = p.started if p.started is not None else ended
        first_at = p.first_at or ended
        if not work.future.done():
            work.future.set_result(Outcome(
                done_reason=reason, prompt_eval_count=len(work.job.prompt_tokens),
                prompt_eval_duration=int((first_at - started) * 1e9), eval_count=len(p.generated),
                eval_duration=int(max(0.0, ended - first_at - p.waited) * 1e9),
                tokens=work.job.prompt_tokens + p.generated,
            ))

    # ---- helpers ------------------------------------------------------------------------------

    def _keep(self, seq: _Sequence, n: int) -> int:
        """Keep the first ``n`` cached tokens of ``seq`` and drop the rest; returns how many stayed."""
        import llama_cpp

        if llama_cpp.llama_memory_seq_rm(self._memory, seq.seq_id, n, -1):
            seq.cached, seq.tiled = seq.cached[:n], seq.tiled[:n]
            return n
        self._forget(seq)  # some caches (sliding-window layers) cannot drop a tail: start empty
        return 0

    def _forget(self, seq: _Sequence) -> None:
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self._memory, seq.seq_id, -1, -1)
        seq.cached, seq.tiled = [], []
