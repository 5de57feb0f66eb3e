"""The runner's batch on the real course model: one request's fault ends that request only.

llama.cpp refuses a whole batch for one bad token; the runner then decodes each request's part alone,
so the request at fault ends with the error and the others in the batch give the very tokens they
give alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from labkit.ollama import options, store
from labkit.ollama.runner import Job, LoadSettings, Runner

MODEL = "smollm2:135m"
PROMPTS = ["The capital of France is", "Once upon a time", "Water boils at"]


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    model = store.find(MODEL)
    assert model is not None
    loaded = Runner(LoadSettings(path=str(model.gguf_path()), num_ctx=256, num_batch=64, num_thread=1, slots=4))
    try:
        yield loaded
    finally:
        loaded.close()


def _job(runner: Runner, prompt: str, extra: list[int] | None = None) -> Job:
    opts = options.merge({"temperature": 0, "num_predict": 40}, None)
    return Job(prompt_tokens=runner.tokenize(prompt) + (extra or []), options=opts)


def test_a_bad_token_ends_its_own_request_and_no_other(runner: Runner) -> None:
    alone = [runner.generate(_job(runner, p), lambda text, probs: None) for p in PROMPTS]
    generating = threading.Semaphore(0)
    jobs = [_job(runner, p) for p in PROMPTS]
    futures = [runner.submit(job, lambda text, probs: generating.release()) for job in jobs]
    for _ in PROMPTS:  # every good request is answering: the bad one joins their batch
        assert generating.acquire(timeout=60)
    bad = runner.submit(_job(runner, "Hi", [runner.n_vocab + 5]), lambda text, probs: None)
    with pytest.raises(RuntimeError, match="llama_decode returned"):
        bad.result(timeout=60)
    together = [future.result(timeout=120) for future in futures]
    assert [o.done_reason for o in together] == [o.done_reason for o in alone]
    assert [o.tokens for o in together] == [o.tokens for o in alone]
    # The runner goes on serving: the bad request's sequence is free and clean.
    again = runner.generate(_job(runner, PROMPTS[0]), lambda text, probs: None)
    assert again.tokens == alone[0].tokens


def test_one_waiter_pauses_one_generation_not_all(runner: Runner) -> None:
    """Four generations past their slice and one request in line: one of them pauses, three go on."""
    import asyncio

    from labkit.ollama.scheduler import Line

    async def scenario() -> list[object]:
        line = Line()
        waiter = asyncio.ensure_future(line.take("newcomer"))  # no free slot: it waits in line
        await asyncio.sleep(0)
        assert line.count == 1
        jobs = [_job(runner, p) for p in [*PROMPTS, "def fibonacci(n):"]]
        for job in jobs:
            job.others_waiting = line.claim  # what the server's generations ask (labkit.ollama.generation)
        futures = [runner.submit(job, lambda text, probs: None) for job in jobs]
        outcomes = [await asyncio.wrap_future(f) for f in futures]
        waiter.cancel()
        return outcomes

    outcomes = asyncio.run(scenario())
    paused = [o for o in outcomes if o is None]
    assert len(paused) == 1, f"{len(paused)} generations paused for one waiter"
    assert all(o.done_reason in ("length", "stop") for o in outcomes if o is not None)


def test_a_greedy_answer_is_the_same_whatever_ran_before(runner: Runner) -> None:
    """Prefix reuse keeps greedy answers reproducible: the same tokens, and log-probabilities equal to
    the last bit (a change in the last bits would show there first), whether the prompt is read from
    empty cells, after a long unrelated answer, from its own cached copy (all but its last token
    reused), after the same conversation went on, or after a long prompt that begins like it was read
    into empty cells (its cells come from llama.cpp's tiled attention, which this short prompt does
    not use: they are not reused; reusing them moved the first log-probability by about 0.13). Reuse
    is kept because it is proven identical here, and it saves the whole prompt's reading time (about
    5 s for 800 tokens on one thread)."""
    chat = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n" \
           "<|im_start|>assistant\n"
    prompt = chat.format("Write a poem about the sea.")

    def answer(text: str, n: int = 40) -> tuple[list[int], list[float]]:
        job = _job(runner, text)
        job.options = {**job.options, "num_predict": n}
        job.logprobs = True
        probs: list[float] = []
        outcome = runner.generate(job, lambda text, p: probs.extend(item["logprob"] for item in p or []))
        return outcome.tokens[len(job.prompt_tokens):], probs

    for seq in runner._sequences:  # empty cells everywhere: nothing to reuse
        runner._forget(seq)
    fresh = answer(prompt)
    assert answer(prompt) == fresh  # all but the last token reused
    answer(chat.format("Tell me a very long story about a dragon. " * 12), 120)
    assert answer(prompt) == fresh
    reply = runner.llm.detokenize(fresh[0]).decode("utf-8", errors="ignore")
    answer(prompt + reply + "<|im_end|>\n<|im_start|>user\nAnother one.<|im_end|>\n<|im_start|>assistant\n")
    assert answer(prompt) == fresh  # the conversation's longer prefix cached
    for seq in runner._sequences:
        runner._forget(seq)
    answer(chat.format("Tell me a very long story about a dragon. " * 12), 4)  # read first, in 64-token pieces
    assert answer(prompt) == fresh, "cells of another kernel were reused"


def test_a_long_prompt_is_read_the_same_beside_a_running_answer(runner: Runner) -> None:
    """A prompt of several 64-token pieces gives the same greedy answer read alone and read while
    another request answers (llama.cpp splits a batch into equal shares per sequence: a prompt piece
    batched with others' tokens was read partly one token at a time, with the other attention kernel)."""
    long_prompt = "Here is a list of the rivers of Europe and what each is known for: " * 8

    def answer(job: Job) -> tuple[list[int], list[float]]:
        probs: list[float] = []
        job.logprobs = True
        outcome = runner.generate(job, lambda text, p: probs.extend(item["logprob"] for item in p or []))
        return outcome.tokens, probs

    for seq in runner._sequences:
        runner._forget(seq)
    alone = answer(_job(runner, long_prompt))
    for seq in runner._sequences:
        runner._forget(seq)
    answering = threading.Semaphore(0)
    other = _job(runner, "Once upon a time")
    other.options = {**other.options, "num_predict": 200}
    background = runner.submit(other, lambda text, probs: answering.release())
    assert answering.acquire(timeout=60)  # the other request is answering: the prompt is read beside it
    beside = answer(_job(runner, long_prompt))
    assert not background.done(), "the other answer ended before the prompt was read beside it"
    background.result(timeout=120)
    assert beside == alone
